"""MailwardenAPI on a real database filled by scanning generated mail (no HTTP here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from companion.agent.api import MailwardenAPI
from companion.agent.errors import BadRequest, NotFound, Unavailable
from companion.config import Paths
from companion.policy import PolicyEngine, load_policy
from companion.records import Database
from companion.scan import scan_paths
from companion.settings import Settings
from companion.stores.discovery import StoreInfo
from tests.conftest import build_eml

DEFAULT_VERSION = load_policy().version
OFFER_KEY = "5f0c9d2e-offer-1"

# (folder, file, subject, body, date): Sent mail is judged by every rule, Inbox mail by the received rules.
MAILS = [
    (
        "Sent",
        "en-risky.eml",
        "Offer 1",
        "Dear buyer,\nWe guarantee the lowest price in town.\nBest",
        "Mon, 02 Nov 2026 09:00:00 +0000",
    ),
    (
        "Sent",
        "zh-risky.eml",
        "报价",
        "王总您好：\n这笔款请打到我个人账户，私下交易，不要告诉公司。\n谢谢",
        "Tue, 03 Nov 2026 09:00:00 +0000",
    ),
    (
        "Sent",
        "en-benign.eml",
        "Minutes",
        "Thanks for the meeting today, minutes attached.",
        "Wed, 04 Nov 2026 09:00:00 +0000",
    ),
    ("Sent", "zh-benign.eml", "合同", "您好，附件是合同，请查收。", "Thu, 05 Nov 2026 09:00:00 +0000"),
    (
        "Sent",
        "quoted.eml",
        "Re: Offer",
        "Agreed, see below.\n\nOn Mon, Nov 2, 2026, Buyer wrote:\n> can you do the lowest price?\n",
        "Fri, 06 Nov 2026 09:00:00 +0000",
    ),
    (
        "Inbox",
        "bank.eml",
        "Notice",
        "Please note our bank details have changed.",
        "Sat, 07 Nov 2026 09:00:00 +0000",
    ),
]


@pytest.fixture
def filled(tmp_path, isolated_home) -> tuple[MailwardenAPI, Paths, Path]:
    box = tmp_path / "box"
    for i, (folder, name, subject, body, date) in enumerate(MAILS):
        (box / folder).mkdir(parents=True, exist_ok=True)
        sender = "acc@supplier.example" if folder == "Inbox" else "sales@corp.example"
        # "Offer 1" went out through a mail client with Mailwarden: its header names the decision.
        stamp = (
            {"X_Mailwarden": f"policy {DEFAULT_VERSION}; warn; justified; key={OFFER_KEY}"} if i == 0 else {}
        )
        raw = build_eml(body, subject=subject, sender=sender, date=date, message_id=f"<m{i}@test>", **stamp)
        (box / folder / name).write_bytes(raw)
    paths = Paths(isolated_home).ensure()
    db = Database(paths.database)
    totals = scan_paths(db, PolicyEngine(load_policy()), [box])
    db.close()
    assert (totals.messages, totals.errors) == (len(MAILS), 0)
    api = MailwardenAPI(paths, Settings(), stores=[StoreInfo(box, "configured", True)])
    return api, paths, box


def _key(api: MailwardenAPI, subject: str) -> str:
    return next(m["id"] for m in api.messages(limit=100)["messages"] if m["subject"] == subject)


def test_status_counts_and_policy(filled):
    api, _, box = filled
    status = api.status()
    assert status["totals"] == {"messages": 6, "flagged": 4, "errors": 0, "appeals": {}, "outbox_queued": 0}
    assert status["policy"]["version"] == DEFAULT_VERSION and status["policy"]["source"] == "default"
    assert [(s["path"], s["kind"], s["readable"]) for s in status["stores"]] == [
        (str(box), "configured", True)
    ]
    assert status["scan"]["state"] == "off"  # no watcher in this process
    assert status["agent"]["pid"] == os.getpid()


def test_flags_newest_first_with_paging(filled):
    api, _, _ = filled
    flags = api.flags()
    assert flags["total"] == 4
    assert [f["subject"] for f in flags["flags"]] == ["Notice", "Re: Offer", "报价", "Offer 1"]
    dates = [f["date"] for f in flags["flags"]]
    assert dates == sorted(dates, reverse=True)
    page2 = api.flags(limit=2, offset=2)["flags"]
    assert [f["subject"] for f in page2] == ["报价", "Offer 1"]
    with pytest.raises(BadRequest, match="limit"):
        api.flags(limit=0)
    with pytest.raises(BadRequest, match="whole numbers"):
        api.flags(limit="ten")


def test_messages_filter_by_verdict(filled):
    api, _, _ = filled
    assert api.messages()["total"] == 6
    blocked = api.messages(verdict="block")["messages"]
    assert [m["subject"] for m in blocked] == ["报价"] and blocked[0]["findings"] >= 2
    assert {m["subject"] for m in api.messages(verdict="pass")["messages"]} == {
        "Minutes",
        "合同",
        "Re: Offer",
    }
    with pytest.raises(BadRequest, match="unknown verdict 'bad'"):
        api.messages(verdict="bad")


def test_flag_offsets_point_at_the_matched_text(filled):
    api, _, _ = filled
    for subject, expected in [
        ("Offer 1", "lowest price"),
        ("报价", "私下交易"),
        ("Re: Offer", "lowest price"),
    ]:
        flag = api.flag(_key(api, subject))["flag"]
        assert flag["subject"] == subject and flag["findings"]
        excerpts = {(e["field"]["kind"], e["field"]["name"]): e["text"] for e in flag["excerpts"]}
        for f in flag["findings"]:
            excerpt = excerpts[(f["field"]["kind"], f["field"]["name"])]
            assert excerpt[f["start"] : f["end"]] == f["text"]
            assert f["explanation"]["en"] and f["explanation"]["zh"]
        assert expected in [f["text"] for f in flag["findings"]]
    quoted = api.flag(_key(api, "Re: Offer"))["flag"]
    assert [(f["rule"], f["quoted"]) for f in quoted["findings"]] == [("commit.lowest-price", True)]
    assert quoted["verdict"] == "pass"
    with pytest.raises(NotFound, match="no message"):
        api.flag("0" * 32)
    with pytest.raises(NotFound):
        api.flag("../etc/passwd")


def test_file_appeal_is_stored_at_once_and_survives_reopening(filled):
    api, paths, _ = filled
    key = _key(api, "Offer 1")
    appeal = api.file_appeal(
        key, "false positive", comment="the price was approved", rule="commit.lowest-price"
    )
    appeal = appeal["appeal"]
    assert (appeal["status"], appeal["message_key"], appeal["rule"]) == (
        "pending",
        key,
        "commit.lowest-price",
    )
    db = Database(paths.database)  # a fresh connection: it was committed
    rows = list(db.db.query("SELECT message_key, reason, comment, status FROM appeals"))
    db.close()
    assert rows == [
        {
            "message_key": key,
            "reason": "false positive",
            "comment": "the price was approved",
            "status": "pending",
        }
    ]
    listed = MailwardenAPI(paths).appeals()["appeals"]
    assert [(a["id"], a["subject"], a["status"]) for a in listed] == [(appeal["id"], "Offer 1", "pending")]
    assert api.status()["totals"]["appeals"] == {"pending": 1}
    assert api.flag(key)["flag"]["appeals"][0]["id"] == appeal["id"]


def test_file_appeal_errors_are_clear(filled):
    api, _, _ = filled
    key = _key(api, "Offer 1")
    for reason in ("", "   ", None):
        with pytest.raises(BadRequest, match="'reason' is required"):
            api.file_appeal(key, reason)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="no message with the id"):
        api.file_appeal("ab" * 16, "false positive")
    with pytest.raises(BadRequest, match="no finding of rule 'offbook.private-deal'"):
        api.file_appeal(key, "false positive", rule="offbook.private-deal")
    assert api.appeals()["appeals"] == []


def test_outbox_is_empty_until_something_is_queued(filled):
    api, paths, _ = filled
    assert api.outbox() == {"outbox": []}
    db = Database(paths.database)
    with db.transaction():
        db.conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, status, attempts) VALUES "
            "('summary', '{\"n\": 1}', '2026-11-08', 'queued', 0)"
        )
        db.conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, status, attempts, acked_at) VALUES "
            "('summary', '{}', '2026-11-07', 'acked', 1, '2026-11-07')"
        )
        db.conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, status, attempts, last_error) VALUES "
            "('summary', '{}', '2026-11-06', 'failed', 1, 'sequence_conflict')"
        )
    db.close()
    (row,) = api.outbox()["outbox"]
    assert (row["kind"], row["payload"]) == ("summary", {"n": 1})
    assert api.status()["totals"]["outbox_queued"] == 1


def test_check_verdicts_and_offsets(filled):
    api, paths, _ = filled
    base = {"from": "Li Wei <li.wei@corp.example>", "to": ["buyer@client.example"], "subject": "Offer"}
    cases = [
        ("Keep this between us, pay to my personal account.", "block"),
        ("We offer the lowest price.", "warn"),
        ("我们保证最低价。", "warn"),
        ("Thanks, the contract is attached.", "pass"),
        ("谢谢，合同见附件。", "pass"),
        (
            "Noted.\n\n-----Original Message-----\nFrom: x\nSent: y\n\nkeep this between us, lowest price",
            "pass",
        ),
    ]
    for body, verdict in cases:
        result = api.check({**base, "body": body})
        assert result["verdict"] == verdict, body
        assert result["policy_version"] == DEFAULT_VERSION
        for f in result["findings"]:
            assert body[f["start"] : f["end"]] == f["text"] and f["field"] == {"kind": "body", "name": ""}
            assert f["explanation"]["en"] and f["explanation"]["zh"]
    # Quoted text is someone else's: not shown before sending, yet kept with the decision.
    quoted = api.check({**base, "body": cases[-1][0]})
    assert (quoted["verdict"], quoted["findings"], quoted["approvers"]) == ("pass", [], [])
    assert api.decisions()["decisions"] == []  # a check alone stores nothing
    row = api.record_decision({"check_id": quoted["check_id"], "choice": "sent"})["recorded"]
    [decision] = api.decisions()["decisions"]
    assert decision["id"] == row and decision["key"] == quoted["key"]
    assert decision["findings"] and all(f["quoted"] for f in decision["findings"])
    with pytest.raises(BadRequest, match="justification is required"):
        api.record_decision({"check_id": quoted["check_id"], "choice": "justified"})
    with_attachment = api.check(
        {
            **base,
            "body": "see attached",
            "attachments": [
                {"name": "terms.txt", "content_type": "text/plain", "text": "Lifetime warranty included."}
            ],
        }
    )
    assert with_attachment["verdict"] == "warn"
    assert [f["field"] for f in with_attachment["findings"]] == [{"kind": "attachment", "name": "terms.txt"}]
    # A role can lower a tier: the sales manager may promise the lowest price.
    assert api.check({**base, "body": "the lowest price", "role": "sales-manager"})["verdict"] == "pass"
    with pytest.raises(BadRequest, match="unknown role 'ceo'"):
        api.check({**base, "body": "x", "role": "ceo"})
    for bad, message in [
        ([], "JSON object"),
        ({"to": "x", "body": 3}, "must be strings"),
        ({"to": [1]}, "list of addresses"),
        ({"attachments": ["x"]}, "must be an object"),
        ({"attachments": [{"name": "a", "size": "big"}]}, "'size' must be a number"),
    ]:
        with pytest.raises(BadRequest, match=message):
            api.check(bad)
    assert api.status()["totals"]["messages"] == 6  # checks store nothing


POLICY = """[policy]
version = "{version}"
name = "test"
supervisor_addresses = ["Boss@corp.example"]
[[rule]]
id = "test.elephant"
tier = "{tier}"
category = "c"
approver = "supervisor"
explanation = {{ en = "No elephants.", zh = "不要大象。" }}
phrases = ["purple elephant", "紫色大象"]
"""


def _install(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # as an installer would: a new file, never a half-written one


def test_check_follows_the_policy_file_in_force(filled):
    api, paths, _ = filled
    body = {"to": ["a@client.example"], "body": "a purple elephant, the lowest price"}
    assert api.check(body)["verdict"] == "warn"  # default policy: lowest price only
    _install(paths.policy, POLICY.format(version="t.1", tier="forbidden"))
    result = api.check(body)
    assert (result["verdict"], result["policy_version"]) == ("block", "t.1")
    assert [f["rule"] for f in result["findings"]] == ["test.elephant"]
    _install(paths.policy, POLICY.format(version="t.22", tier="approval"))
    result = api.check(body)
    assert (result["verdict"], result["policy_version"], result["approvers"]) == (
        "warn",
        "t.22",
        ["boss@corp.example"],
    )
    assert api.status()["policy"] == {
        "version": "t.22",
        "name": "test",
        "source": str(paths.policy),
        "error": None,
    }
    # A broken policy is reported, and the last good one stays in force.
    _install(paths.policy, "[policy]\nversion = \n")
    assert api.check(body)["policy_version"] == "t.22"
    assert "TOML syntax error" in api.status()["policy"]["error"]
    paths.policy.unlink()
    assert api.check(body)["policy_version"] == DEFAULT_VERSION


def test_control_calls_without_an_agent(filled):
    api, _, _ = filled
    with pytest.raises(Unavailable):
        api.rescan()
    with pytest.raises(Unavailable):
        api.shutdown()


# -- what the tray needs ------------------------------------------------------------------------------


def test_new_flags_and_the_seen_marker(filled):
    api, _, _ = filled
    status = api.status()
    assert status["flags"] == {"new": 4, "seen": 0, "last": 6}
    seqs = {f["subject"]: f["seq"] for f in api.flags()["flags"]}
    assert api.flag(_key(api, "Offer 1"))["flag"]["seq"] == seqs["Offer 1"]
    assert api.mark_flags_seen(seqs["报价"]) == {"seen": seqs["报价"]}
    assert api.status()["flags"]["new"] == sum(1 for s in seqs.values() if s > seqs["报价"])
    assert api.mark_flags_seen(1) == {"seen": seqs["报价"]}  # never goes back
    assert api.mark_flags_seen() == {"seen": 6}
    assert api.status()["flags"] == {"new": 0, "seen": 6, "last": 6}
    for bad in (-1, "3", True, 1.5):
        with pytest.raises(BadRequest, match="'upto'"):
            api.mark_flags_seen(bad)


def test_settings_language_only_and_monitoring_stays_on(filled):
    api, paths, _ = filled
    settings = api.settings_view()["settings"]
    assert (
        settings["language"] == "" and settings["enrolled"] is False and settings["monitoring"] == "always on"
    )
    assert settings["policy_version"] == DEFAULT_VERSION and settings["policy_source"] == "default"
    assert api.update_settings({"language": "zh"})["settings"]["language"] == "zh"
    assert MailwardenAPI(paths).status()["language"] == "zh"  # stored: survives a restart of the agent
    with pytest.raises(BadRequest, match="'language'"):
        api.update_settings({"language": "fr"})
    for key in ("monitoring", "stores", "enabled"):
        with pytest.raises(BadRequest, match="cannot change"):
            api.update_settings({key: False})
    assert api.update_settings({"language": ""})["settings"]["language"] == ""


def test_flag_detail_has_the_decision_its_x_mailwarden_key_names(filled):
    """The scan ties a sent mail to the pre-send decision by the key in its X-Mailwarden header;
    another decision about a mail with the same subject and recipient is not taken for it."""
    from tests.fixtures import record_presend as record

    api, paths, _ = filled
    key = _key(api, "Offer 1")
    assert api.flag(key)["flag"]["decisions"] == []
    db = Database(paths.database)
    details = {
        "subject": "Offer 1",
        "to": ["Buyer@client.example"],
        "body": "We guarantee the lowest price in town.",
    }
    record(db, "outlook", details, "edited")  # the first try, sent back to edit: another decision
    record(db, "outlook", details, "justified", justification="approved by Wang", key=OFFER_KEY)
    db.close()
    (decision,) = api.flag(key)["flag"]["decisions"]
    assert decision["key"] == OFFER_KEY
    assert (decision["choice"], decision["justification"], decision["channel"]) == (
        "justified",
        "approved by Wang",
        "outlook",
    )
    assert (
        decision["recipients"] == ["buyer@client.example"]
        and decision["findings"][0]["rule"] == "commit.lowest-price"
    )
    assert (
        api.flag(_key(api, "Notice"))["flag"]["decisions"] == []
    )  # received mail: nothing decided at send time
    assert [d["choice"] for d in api.decisions()["decisions"]] == ["justified", "edited"]


def test_transparency_lists_every_outbox_item_with_its_exact_bytes(filled):
    import hashlib
    import json

    api, paths, _ = filled
    first = {"type": "summary", "seq": 1, "prev_hash": "", "events": [{"snippet": "…the »lowest price«…"}]}
    raw1 = json.dumps(
        {"device_id": "dev_1", "payload": first, "signature": "c2ln"},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    raw2 = json.dumps(
        {"device_id": "dev_1", "payload": {"seq": 2, "prev_hash": "ab12"}, "signature": "c2lnMg"},
        separators=(",", ":"),
        sort_keys=True,
    )
    db = Database(paths.database)
    with db.transaction():
        db.conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, status, attempts, acked_at) VALUES "
            "('summary', ?, '2026-11-07', 'acked', 1, '2026-11-07T10:00:00+00:00')",
            (raw1,),
        )
        db.conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, status, attempts, next_attempt_at, last_error)"
            " VALUES ('summary', ?, '2026-11-08', 'queued', 2, '2026-11-08T11:00:00+00:00',"
            " 'network: ConnectionError')",
            (raw2,),
        )
        db.conn.execute(
            "INSERT INTO device (id, device_id, collector_url, department, enrolled_at) VALUES "
            "(1, 'dev_1', 'https://collector.example', 'sales', '2026-11-01T00:00:00+00:00')"
        )
    db.close()
    answer = api.transparency()
    assert answer["total"] == 2
    newest, oldest = answer["items"]
    assert (oldest["raw"], newest["raw"]) == (raw1, raw2)
    assert oldest["sha256"] == hashlib.sha256(raw1.encode("utf-8")).hexdigest()
    assert oldest["bytes"] == len(raw1.encode("utf-8"))
    assert (oldest["seq"], oldest["prev_hash"], oldest["signature"], oldest["payload"]) == (
        1,
        "",
        "c2ln",
        first,
    )
    assert (newest["seq"], newest["prev_hash"], newest["status"], newest["last_error"]) == (
        2,
        "ab12",
        "queued",
        "network: ConnectionError",
    )
    sync = api.status()["sync"]
    assert sync == {
        "enrolled": True,
        "device_id": "dev_1",
        "collector_url": "https://collector.example",
        "department": "sales",
        "enrolled_at": "2026-11-01T00:00:00+00:00",
        "queued": 1,
        "last_upload": "2026-11-07T10:00:00+00:00",
        "collector_reachable": False,
        "last_error": "network: ConnectionError",
        "next_attempt_at": "2026-11-08T11:00:00+00:00",
    }
    assert api.settings_view()["settings"]["collector_url"] == "https://collector.example"
    with pytest.raises(BadRequest):
        api.transparency(limit=0)
