"""What leaves this computer: every outbox item (queued, acknowledged, failed), with the exact bytes
that are sent, pretty-printed, its signature and its place in the chain."""

from __future__ import annotations

import json
import sqlite3

from PySide6.QtCore import Qt

from companion.signing import obj_hash, verify

pytest_plugins = ("tests.ui_fixtures",)

WAIT = 15000


def test_the_transparency_view_shows_the_byte_exact_queued_payload(
    qtbot, real_agent, link_factory, file_keystore
):
    from companion.enroll import enroll
    from companion.outbox import upload_pending
    from companion.records import Database
    from companion.summary import queue_summary
    from tests.fake_collector import FakeCollector

    client = real_agent.client()
    key = next(f["id"] for f in client.flags()["flags"] if f["subject"] == "Re: order 4471")
    client.file_appeal(key, "call me on 13800138000 about it")  # personal data: masked before it leaves
    collector = FakeCollector().up()
    paths = real_agent.paths
    db = Database(paths.database)
    try:
        device = enroll(paths, collector.url, "good-token", "sales", db=db, hostname="PC-1")
        queue_summary(db, paths)  # seq 1, with masked snippets of the demo mailbox's flags
        assert upload_pending(db, paths)["accepted"] == 2  # the summary and the appeal: acknowledged
        queue_summary(db, paths)  # seq 2: waits in the queue
    finally:
        db.close()
        collector.down()

    tray = link_factory(real_agent)
    window = tray.show_transparency()
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        pass
    conn = sqlite3.connect(paths.database)
    conn.text_factory = bytes  # the stored bytes, not a decoded copy
    stored = {row[0]: row for row in conn.execute("SELECT id, kind, status, payload FROM outbox")}
    conn.close()
    assert window.proxy.rowCount() == len(stored) == 3
    kinds = {}
    for r in range(window.proxy.rowCount()):
        window.view.selectRow(r)
        item = window.item
        oid, kind, status, payload = stored[item["id"]]
        # Byte for byte what was queued (and what the collector received).
        assert window.raw.toPlainText().encode("utf-8") == payload
        envelope = json.loads(payload)
        assert json.loads(window.pretty.toPlainText()) == envelope
        assert window.pretty.toPlainText() == json.dumps(envelope, indent=2, ensure_ascii=False)
        assert verify(device["public_key"], envelope["payload"], envelope["signature"])
        info = window.info.text()
        assert f"Signature: {envelope['signature']}" in info
        kinds[(kind.decode(), status.decode())] = (envelope["payload"], window.proxy.index(r, 2).data())
    assert set(kinds) == {("summary", "acked"), ("appeal", "acked"), ("summary", "queued")}
    first, first_status = kinds[("summary", "acked")]
    second, second_status = kinds[("summary", "queued")]
    assert (first_status, second_status) == ("uploaded and acknowledged", "queued")
    assert (first["seq"], second["seq"]) == (1, 2) and second["prev_hash"] == obj_hash(first)
    window.view.selectRow(next(r for r in range(3) if window.proxy.index(r, 3).data() == "2"))
    assert f"Chain position: 2; previous hash: {obj_hash(first)}" in window.info.text()
    # Snippets are masked and no mail body leaves: the phone number and whole sentences are not there.
    everything = b"".join(row[3] for row in stored.values()).decode("utf-8")
    assert "13800138000" not in everything
    assert first["events"] and all(len(e.get("snippet", "")) <= 120 for e in first["events"])
    bodies = real_agent.query("SELECT text FROM flagged_fields WHERE field = 'body'")
    assert bodies and not any(b["text"] in everything for b in bodies)
    assert window.tabs.tabText(0) == "&Payload" and window.tabs.tabText(1) == "&Raw bytes"
    assert window.view.model().headerData(3, Qt.Orientation.Horizontal) == "Chain position"
