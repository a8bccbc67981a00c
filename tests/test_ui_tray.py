"""The tray icon's state follows the real agent (running, new flags, collector down, stopped); the
tray starts the agent when it is not running; quitting the tray leaves the agent running; a new
high-risk received mail is notified."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtGui import QIcon
from PySide6.QtSvg import QSvgRenderer

from companion.agent.client import read_agent_file
from ui.agent_link import STATES, tray_state
from ui.tray import ICONS

pytest_plugins = ("tests.ui_fixtures",)

WAIT = 20000


def test_one_svg_icon_per_state_renders_at_every_size(qapp):
    assert sorted(p.stem for p in ICONS.glob("*.svg")) == sorted(STATES)
    for state in STATES:
        path = ICONS / f"{state}.svg"
        assert QSvgRenderer(str(path)).isValid()
        icon = QIcon(str(path))
        for size in (16, 32, 64, 256):  # crisp at any scale factor: vector, not a bitmap
            pixmap = icon.pixmap(size, size)
            assert not pixmap.isNull() and pixmap.width() == size
    images = {s: QIcon(str(ICONS / f"{s}.svg")).pixmap(32, 32).toImage() for s in STATES}
    assert len({images[s].pixel(16, 5) for s in STATES}) == 4  # four different colours at a glance


def test_signals_do_not_drain_the_true_singleton(qapp):
    """PySide6 6.12's Signal.emit() steals a reference to True; a tray emitting all day would die
    with "bool_dealloc". ui.qtcompat.emit gives it back."""
    import sys

    from PySide6.QtCore import QObject, Signal

    from ui.qtcompat import emit

    class Probe(QObject):
        ping = Signal(object)

    probe = Probe()
    probe.ping.connect(lambda _value: None)
    before = sys.getrefcount(True)
    for _ in range(1000):
        emit(probe.ping, {"quoted": True})
    assert sys.getrefcount(True) >= before


def test_state_rules():
    assert tray_state(None) == "stopped"
    assert tray_state({"flags": {"new": 2}, "sync": {"collector_reachable": False}}) == "attention"
    assert tray_state({"flags": {"new": 0}, "sync": {"collector_reachable": False}}) == "offline"
    assert tray_state({"flags": {"new": 0}, "sync": {"collector_reachable": None}}) == "ok"


def test_tray_state_follows_the_agent(qtbot, real_agent, link_factory, file_keystore):
    from companion.enroll import enroll
    from companion.outbox import upload_pending
    from companion.records import Database
    from companion.summary import queue_summary
    from tests.fake_collector import FakeCollector

    tray = link_factory(real_agent)
    tray.start()
    qtbot.waitUntil(lambda: tray.state == "attention", timeout=WAIT)  # 5 flags nobody has looked at
    assert tray.tooltip() == "Mailwarden: 5 new flag(s) to look at"
    assert not tray.actions["start"].isVisible()
    window = tray.show_flags()  # looking at them marks them seen (in the agent)
    qtbot.waitUntil(lambda: tray.state == "ok", timeout=WAIT)
    window.close()
    assert real_agent.query("SELECT flags_seen FROM tray_state") == [{"flags_seen": 7}]
    assert tray.tooltip() == "Mailwarden: protected and in sync"

    collector = FakeCollector().up()
    paths = real_agent.paths
    db = Database(paths.database)
    try:  # what `mailwarden upload` does, with the collector going away in between
        enroll(paths, collector.url, "good-token", "sales", db=db, hostname="PC-1")
        queue_summary(db, paths)
        assert upload_pending(db, paths)["accepted"] == 1
        queue_summary(db, paths)
        collector.down()
        assert upload_pending(db, paths)["retry"] == 1
        qtbot.waitUntil(lambda: tray.state == "offline", timeout=WAIT)
        assert tray.tooltip() == "Mailwarden: collector unreachable, 1 summary(ies) queued"
        collector.up()
        later = datetime.now(UTC) + timedelta(days=1)
        assert upload_pending(db, paths, now=later)["accepted"] == 1
        qtbot.waitUntil(lambda: tray.state == "ok", timeout=WAIT)
    finally:
        db.close()
        collector.down()

    real_agent.stop()
    qtbot.waitUntil(lambda: tray.state == "stopped", timeout=WAIT)
    assert tray.tooltip() == "Mailwarden: the agent is stopped" and tray.actions["start"].isVisible()
    tray.actions["start"].trigger()  # the user asks the tray to start it again
    # the restarted agent runs; its own collector schedule finds the collector still down
    qtbot.waitUntil(lambda: tray.state == "offline", timeout=WAIT)
    assert not tray.actions["start"].isVisible()
    (pid,) = tray.link.started_pids
    assert read_agent_file(real_agent.home / "agent.json").pid == pid


def test_the_tray_starts_the_agent_and_quitting_it_leaves_the_agent_running(
    qtbot, tmp_path, link_factory, monkeypatch
):
    from tests.ui_fixtures import make_agent

    agent = make_agent(tmp_path / "agent", start=False)
    monkeypatch.setenv("MAILWARDEN_HOME", str(agent.home))
    assert not (agent.home / "agent.json").exists()
    tray = link_factory(agent, autostart=True)
    tray.start()
    qtbot.waitUntil(lambda: tray.state == "attention", timeout=WAIT)  # started, scanned, flags to see
    (pid,) = tray.link.started_pids
    assert read_agent_file(agent.home / "agent.json").pid == pid
    assert agent.wait_scanned()["totals"]["flagged"] == 5
    tray.quit()
    qtbot.wait(500)
    os.kill(pid, 0)  # still running: quitting the tray never stops the checks
    assert agent.client().status()["agent"]["pid"] == pid


def test_a_new_high_risk_received_mail_is_notified(qtbot, real_agent, link_factory):
    tray = link_factory(real_agent)
    tray.start()
    qtbot.waitUntil(lambda: tray.state == "attention" and tray.link.watching, timeout=WAIT)
    with qtbot.waitSignal(tray.notified, timeout=WAIT) as notified:
        real_agent.add_received(
            "URGENT: our bank details have changed",
            "Dear customer, our bank details have changed. Please pay the invoice to the new "
            "account below from today.",
        )
    title, text = notified.args
    assert title == "High-risk mail received"
    assert "URGENT: our bank details have changed" in text and "accounts@new-supplier.example" in text
    assert "bank" in text.lower() or "account" in text.lower()  # the rule's explanation
    board = tray.windows["notices"]
    assert board.isVisible() and board.list.count() == 1  # in-app fallback: this desktop has no tray
    assert tray.notices == [(title, text)]


def test_a_high_risk_mail_with_an_old_date_among_many_new_flags_is_notified(qtbot, real_agent, link_factory):
    """Phishing often carries an old or forged Date: the tray finds new flags by their place in the
    database (seq), not by date, and fetches more than one page when many arrive at once."""
    from companion.agent.errors import BadRequest
    from companion.demo import DEMO_IDENTITY
    from tests.ui_fixtures import DEMO_MESSAGES

    tray = link_factory(real_agent)
    tray.start()
    qtbot.waitUntil(lambda: tray.state == "attention" and tray.link.watching, timeout=WAIT)
    baseline = real_agent.client().status()["flags"]["last"]
    # 120 of the user's own mails (flagged, not worth a notification) dated today, then one received
    # phishing mail dated 2014: by date it is far below the first page of the flags.
    own = [
        (
            f"Offer {i}",
            "We guarantee the lowest price in town.",
            DEMO_IDENTITY,
            "Thu, 26 Nov 2026 10:00:00 +0800",
        )
        for i in range(120)
    ]
    phishing = (
        "Invoice 2014-03: our bank details have changed",
        "Dear customer, our bank details have changed. Please pay the invoice to the new account below.",
        "accounts@old-supplier.example",
        "Mon, 03 Mar 2014 09:00:00 +0800",
    )
    with qtbot.waitSignal(tray.notified, timeout=WAIT * 2) as notified:
        real_agent.add_mails([*own, phishing])
    title, text = notified.args
    assert title == "High-risk mail received" and phishing[0] in text
    last = real_agent.wait_scanned(DEMO_MESSAGES + 121)["flags"]["last"]
    qtbot.waitUntil(lambda: tray.link._last_flag == last, timeout=WAIT)  # every page fetched
    qtbot.wait(500)
    assert tray.notices == [(title, text)]  # once, and the user's own mails are not notified

    client = real_agent.client()
    assert phishing[0] not in {f["subject"] for f in client.flags(limit=100)["flags"]}  # newest Date first
    first = client.flags(limit=100, after_seq=baseline)
    assert first["total"] == 121 and first["after_seq"] == baseline and len(first["flags"]) == 100
    seqs = [f["seq"] for f in first["flags"]]
    assert seqs == sorted(seqs) and seqs[0] > baseline
    rest = client.flags(limit=100, after_seq=seqs[-1])
    assert rest["total"] == 21 and rest["flags"][-1]["subject"] == phishing[0]
    for bad in (-1, "x"):
        with pytest.raises(BadRequest):
            client.flags(after_seq=bad)  # type: ignore[arg-type]


def test_the_appeals_list_is_fetched_only_when_the_counts_change(qtbot, real_agent, link_factory):
    tray = link_factory(real_agent)
    link = tray.link
    asked: list[str] = []
    call = link.call

    def spy(method, *args, **kwargs):
        asked.append(method)
        return call(method, *args, **kwargs)

    link.call = spy  # type: ignore[method-assign]
    tray.start()
    qtbot.waitUntil(lambda: link.watching, timeout=WAIT)
    qtbot.waitUntil(lambda: asked.count("status") >= 5, timeout=WAIT)  # polls every 200 ms here
    assert asked.count("appeals") == 1  # the baseline only: nothing changed since
    key = real_agent.client().flags()["flags"][0]["id"]
    real_agent.client().file_appeal(key, "a reason")
    qtbot.waitUntil(lambda: link._appeal_counts == {"pending": 1}, timeout=WAIT)
    polls = asked.count("status")
    qtbot.waitUntil(lambda: asked.count("status") >= polls + 5, timeout=WAIT)
    assert asked.count("appeals") == 2
