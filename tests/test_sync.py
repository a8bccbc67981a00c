"""Enrolment, summaries, the outbox and pulls against a fake collector over real HTTP
(tests/fake_collector.py), on a database filled by scanning generated mail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.collector_client import EnrollError
from companion.device import load_device
from companion.outbox import upload_pending
from companion.policy import PolicyEngine, load_policy
from companion.policy.loader import default_policy_text
from companion.policy_update import is_newer, pull_decisions, pull_policy
from companion.records import Database
from companion.scan import scan_paths
from companion.signing import obj_hash, public_key_b64, verify
from companion.summary import build_next_summary, queue_summary
from tests.conftest import REPO, build_eml
from tests.fake_collector import FakeCollector
from tests.fixtures import record_presend as record
from tests.fixtures import wait_until

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=1)  # past any backoff

CONFIDENTIAL = "The Zephyr-Falcon project budget stays confidential."
PREAMBLE = "Dear buyer, thank you for the visit to our Ningbo plant last week."
# (folder, file, subject, body): each flag is known (see the expected counts below).
MAILS = [
    (
        "Sent",
        "a.eml",
        "Secret offer Zephyr",
        f"{PREAMBLE}\nAs agreed on the phone we guarantee the lowest price in town; call me on +44 20 7946 0958"
        f" or write to li.wei@buyer.example.\n{CONFIDENTIAL}\nBest",
    ),
    (
        "Sent",
        "b.eml",
        "Quarterly terms Kestrel",
        "王总您好：\n这笔款请打到我个人账户，私下交易，不要告诉公司。\n谢谢",
    ),
    (
        "Sent",
        "c.eml",
        "Re: Offer Osprey",
        "Agreed, see below.\n\nOn Mon, Nov 2, 2026, Buyer wrote:\n> can you do the lowest price?\n",
    ),
    ("Inbox", "d.eml", "Notice Heron", "Please note our bank details have changed."),
    ("Sent", "e.eml", "Minutes Plover", "Thanks for the meeting today, minutes attached."),
    ("Sent", "f.eml", "Lowest price for Mr Wang Quail", "Please see the attached sheet."),
]
SUBJECTS = [m[2] for m in MAILS]
ADDRESSES = ["li.wei@buyer.example", "sales@corp.example", "acc@supplier.example", "li.wei"]


pytestmark = pytest.mark.usefixtures("memory_keyring")  # tests/fixtures.py


@pytest.fixture
def collector():
    fc = FakeCollector().up()
    yield fc
    fc.down()


@pytest.fixture
def enrolled(db, paths, collector):
    from companion.enroll import enroll

    return enroll(paths, collector.url, "good-token", "sales-east", db=db, hostname="PC-0421")


def scan_mails(db: Database, box: Path, mails=MAILS, start: int = 0) -> None:
    for i, (folder, name, subject, body) in enumerate(mails, start):
        (box / folder).mkdir(parents=True, exist_ok=True)
        sender = "acc@supplier.example" if folder == "Inbox" else "sales@corp.example"
        raw = build_eml(
            body,
            subject=subject,
            sender=sender,
            to="li.wei@buyer.example",
            date=f"Mon, {i + 2:02d} Nov 2026 09:00:00 +0000",
            message_id=f"<m{i}@test>",
        )
        (box / folder / name).write_bytes(raw)
    totals = scan_paths(db, PolicyEngine(load_policy()), [box])
    assert totals.errors == 0


def record_presend(db: Database) -> None:
    risky = {
        "subject": "Offer Wren",
        "to": ["ann@shop.example"],
        "body": "We can do the lowest price, call +44 20 7946 0958.",
    }
    record(db, "thunderbird", risky, "justified", justification="approved by phone")
    record(db, "thunderbird", {"subject": "hi", "to": ["a@b.example"], "body": "hello"}, "sent")
    record(db, "outlook", {"subject": "x", "to": ["a@b.example"], "body": "私下交易"}, "blocked")
    record(
        db,
        "outlook",
        {"subject": "Unchecked Grebe", "to": ["b@c.example"]},
        "unchecked_sent",
        error="companion not running",
    )


def file_appeal(db: Database, subject: str, reason: str) -> int:
    key = db.conn.execute("SELECT key FROM messages WHERE subject = ?", (subject,)).fetchone()[0]
    with db.transaction():
        cur = db.conn.execute(
            "INSERT INTO appeals (message_key, rule, reason, comment, status, created_at, updated_at,"
            " reviewer_comment) VALUES (?,?,?,?,?,?,?,?)",
            (
                key,
                "commit.lowest-price",
                reason,
                "call me on +44 20 7946 0958",
                "pending",
                "2026-11-24T09:00:00+00:00",
                "2026-11-24T09:00:00+00:00",
                "",
            ),
        )
    return cur.lastrowid


def outbox_rows(db: Database) -> list[dict]:
    return list(db.db.query("SELECT * FROM outbox ORDER BY id"))


# -- enrolment ---------------------------------------------------------------------------------------


def test_enrol_stores_the_device_and_pins_the_policy_key(db, paths, collector, enrolled):
    device = load_device(db)
    assert device is not None and device.device_id == enrolled["device_id"] == "dev_0001"
    assert device.policy_key == public_key_b64(collector.policy_key)
    assert device.collector_url == collector.url and device.key_store == "keyring"
    assert collector.state.devices["dev_0001"] == device.public_key
    with pytest.raises(EnrollError, match="already enrolled as dev_0001"):
        from companion.enroll import enroll

        enroll(paths, collector.url, "good-token", db=db)


@pytest.mark.parametrize(
    "token, message",
    [
        ("wrong", r"401 invalid_token\): unknown enrolment token"),
        ("old", r"403 revoked_token\): this enrolment token was revoked"),
    ],
)
def test_enrol_with_a_bad_token_says_what_the_collector_said(db, paths, collector, token, message):
    from companion.enroll import enroll

    collector.state.revoked_tokens.add("old")
    with pytest.raises(EnrollError, match=message):
        enroll(paths, collector.url, token, db=db)
    assert load_device(db) is None


def test_enrol_with_the_collector_down_is_a_clear_error(db, paths, collector):
    from companion.enroll import enroll

    collector.down()
    with pytest.raises(EnrollError, match=f"cannot reach the collector at {collector.url}"):
        enroll(paths, collector.url, "good-token", db=db)
    with pytest.raises(EnrollError, match="not a collector address"):
        enroll(paths, "ftp://x", "good-token", db=db)


# -- summary content ---------------------------------------------------------------------------------


def test_summary_counts_outcomes_and_events(db, paths, tmp_path, enrolled):
    scan_mails(db, tmp_path / "box")
    record_presend(db)
    file_appeal(db, "Secret offer Zephyr", "my manager approved it")
    s = build_next_summary(db, paths, now=T0, stores=(2, 0))
    assert (s["type"], s["schema"], s["device_id"], s["seq"], s["prev_hash"]) == (
        "summary",
        1,
        "dev_0001",
        1,
        "",
    )
    assert s["period"]["end"] == s["created_at"] == "2026-11-24T10:00:00+00:00"
    assert s["policy_version"] == load_policy().version and s["agent_version"] == "0.1.0"
    # Scan findings, quoted ones not counted: lowest-price in a body and in a subject; three off-book
    # phrases; the bank change received.
    assert s["counts"] == {
        "by_rule": {"commit.lowest-price": 2, "offbook.private-deal": 3, "payment.bank-change": 1},
        "by_tier": {"approval": 3, "forbidden": 3},
        "by_category": {"commitment": 2, "off-book": 3, "payment-change": 1},
        "by_direction": {"sent": 5, "received": 1},
    }
    assert s["presend"] == {
        "sent": 1,
        "edited": 0,
        "added_approver": 0,
        "justified": 1,
        "blocked": 1,
        "unchecked_sent": 1,
        "unchecked_cancelled": 0,
    }
    assert s["appeals_filed"] == 1
    assert s["health"] == {"stores": 2, "stores_unreadable": 0, "scan_errors": 0, "messages_scanned": 6}
    scan = [e for e in s["events"] if e["source"] == "scan"]
    presend = [e for e in s["events"] if e["source"] == "presend"]
    assert len(scan) == 7 and len(presend) == 2
    assert [e["quoted"] for e in scan].count(True) == 1
    assert {e["counterpart_domain"] for e in scan} == {"buyer.example", "supplier.example"}
    assert {e["counterpart_domain"] for e in presend} == {"shop.example", "b.example"}
    assert all(len(e["snippet"]) <= 120 and len(e["message_hash"]) == 64 for e in s["events"])
    lowest = next(e for e in scan if e["rule"] == "commit.lowest-price" and "in town" in e["snippet"])
    assert lowest["direction"] == "sent" and lowest["tier"] == "approval" and not lowest["quoted"]
    # A few words of the match's clause, no further: the phone and the address in the next clause
    # and the sentences around it stay home.
    assert lowest["snippet"] == "…phone we guarantee the »lowest price« in town…"
    assert lowest["at"] == "2026-11-02T09:00:00+00:00"
    quoted = next(e for e in scan if e["quoted"])
    assert quoted["snippet"] == "" and quoted["rule"] == "commit.lowest-price"
    private = [e["snippet"] for e in scan if e["rule"] == "offbook.private-deal"]
    assert private == ["…这笔款请»打到我个人账户«…", "…»私下交易«…", "…»不要告诉公司«…"]
    subject_event = next(e for e in scan if e["snippet"].lower() == "»lowest price«")
    assert subject_event["rule"] == "commit.lowest-price"


def test_nothing_personal_leaves_in_the_uploaded_json(db, paths, tmp_path, collector, enrolled):
    scan_mails(db, tmp_path / "box")
    record_presend(db)
    file_appeal(db, "Secret offer Zephyr", "write to li.wei@buyer.example or +44 20 7946 0958")
    queue_summary(db, paths, now=T0)
    assert upload_pending(db, paths, now=T0)["accepted"] == 2  # the summary and the appeal
    uploaded = "\n".join(row["payload"] for row in outbox_rows(db))
    at_collector = json.dumps(
        [p for _, p in collector.state.summaries.values()] + list(collector.state.appeals.values()),
        ensure_ascii=False,
    )
    for text in (uploaded, at_collector):
        for subject in SUBJECTS + ["Offer Wren", "Unchecked Grebe"]:
            assert subject not in text
        for needle in ADDRESSES + [
            "ann@shop.example",
            "b@c.example",
            "7946",
            "0958",
            "Zephyr",
            "Ningbo",
            "Dear buyer",
            CONFIDENTIAL,
            "Thanks for the meeting",
            "王总您好：\n",
        ]:
            assert needle not in text, needle
        for _, _, _, body in MAILS:
            assert body not in text
    appeal = next(iter(collector.state.appeals.values()))
    assert appeal["reason"] == "write to [email] or [phone]"


def test_build_next_summary_is_exactly_what_is_queued(db, paths, tmp_path, enrolled):
    scan_mails(db, tmp_path / "box")
    record_presend(db)
    preview = build_next_summary(db, paths, now=T0)
    queued = queue_summary(db, paths, now=T0)
    envelope = json.loads(outbox_rows(db)[0]["payload"])
    assert envelope["payload"] == preview and queued.seq == 1 and queued.hash == obj_hash(preview)
    assert verify(load_device(db).public_key, envelope["payload"], envelope["signature"])


def test_chain_and_cursors_cover_everything_once(db, paths, tmp_path, collector, enrolled):
    box = tmp_path / "box"
    scan_mails(db, box, MAILS[:3])
    first = queue_summary(db, paths, now=T0)
    second = queue_summary(db, paths, now=T0 + timedelta(hours=1))  # nothing new
    scan_mails(db, box, MAILS[3:], start=3)
    third = queue_summary(db, paths, now=T0 + timedelta(hours=2))
    payloads = [json.loads(r["payload"])["payload"] for r in outbox_rows(db)]
    assert [p["seq"] for p in payloads] == [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert [p["prev_hash"] for p in payloads] == ["", obj_hash(payloads[0]), obj_hash(payloads[1])]
    assert [p["health"]["messages_scanned"] for p in payloads] == [3, 0, 3]
    assert [len(p["events"]) for p in payloads] == [5, 0, 2]
    assert payloads[1]["period"] == {
        "start": payloads[0]["period"]["end"],
        "end": "2026-11-24T11:00:00+00:00",
    }
    assert upload_pending(db, paths, now=T0)["accepted"] == 3
    assert collector.seqs("dev_0001") == [1, 2, 3] and not collector.state.tamper and not collector.state.gaps


def test_a_big_backlog_is_split_across_summaries_without_loss(db, paths, tmp_path, enrolled):
    scan_mails(db, tmp_path / "box")
    record_presend(db)
    parts = []
    while True:
        queued = queue_summary(db, paths, now=T0, max_events=3)
        parts.append(json.loads(outbox_rows(db)[-1]["payload"])["payload"])
        if not queued.more:
            break
    assert len(parts) > 2
    assert sum(len(p["events"]) for p in parts) == 9  # 7 scan + 2 pre-send, none twice
    assert sum(p["health"]["messages_scanned"] for p in parts) == 6
    assert sum(sum(p["presend"].values()) for p in parts) == 4
    assert sum(p["counts"]["by_rule"].get("offbook.private-deal", 0) for p in parts) == 3


# -- upload ------------------------------------------------------------------------------------------


def test_upload_accepts_and_a_resend_is_a_harmless_duplicate(db, paths, collector, enrolled):
    queue_summary(db, paths, now=T0)
    assert upload_pending(db, paths, now=T0)["accepted"] == 1
    row = outbox_rows(db)[0]
    assert row["status"] == "acked" and row["acked_at"] == "2026-11-24T10:00:00+00:00"
    # The answer was lost: the same envelope goes again.
    db.conn.execute("UPDATE outbox SET status = 'queued', acked_at = NULL")
    db.conn.commit()
    assert upload_pending(db, paths, now=T0)["duplicate"] == 1
    assert outbox_rows(db)[0]["status"] == "acked"
    assert collector.seqs("dev_0001") == [1]
    assert [p[2] for p in collector.state.posts] == ["accepted", "duplicate"]


def test_collector_down_schedules_a_backoff_then_delivers(db, paths, collector, enrolled):
    queue_summary(db, paths, now=T0)
    queue_summary(db, paths, now=T0)
    collector.down()
    counts = upload_pending(db, paths, now=T0)
    assert counts["retry"] == 1 and counts["accepted"] == 0
    first, second = outbox_rows(db)
    assert first["status"] == "queued" and first["attempts"] == 1 and "network" in first["last_error"]
    assert first["next_attempt_at"] > "2026-11-24T10:00:00+00:00"
    assert second["attempts"] == 0  # not tried: the collector was unreachable
    collector.up()
    # Not due yet: neither goes (the second waits behind the first, so the collector sees no gap).
    assert upload_pending(db, paths, now=T0)["waiting"] == 2 and collector.seqs("dev_0001") == []
    again = upload_pending(db, paths, now=LATER)
    assert again["accepted"] == 2 and collector.seqs("dev_0001") == [1, 2] and not collector.state.gaps
    assert [r["status"] for r in outbox_rows(db)] == ["acked", "acked"]


def test_server_errors_back_off_exponentially(db, paths, collector, enrolled):
    import random

    queue_summary(db, paths, now=T0)
    collector.state.status = 500
    delays = []
    now = T0
    for _ in range(4):
        assert upload_pending(db, paths, now=now, rng=random.Random(1))["retry"] == 1
        row = outbox_rows(db)[0]
        nxt = datetime.fromisoformat(row["next_attempt_at"])
        delays.append((nxt - now).total_seconds())
        now = nxt
    assert row["attempts"] == 4 and row["last_error"].startswith("500 internal")
    # Same jitter each time (seeded), so each delay doubles.
    assert all(abs(b / a - 2) < 0.05 for a, b in zip(delays, delays[1:], strict=False))


def test_a_slow_collector_times_out_and_the_resend_is_a_duplicate(
    db, paths, collector, enrolled, monkeypatch
):
    monkeypatch.setattr("companion.outbox.TIMEOUT", 0.2)
    queue_summary(db, paths, now=T0)
    collector.state.delay = 0.6
    assert upload_pending(db, paths, now=T0)["retry"] == 1
    wait_until("the slow collector to store it after all", lambda: collector.seqs("dev_0001") == [1], 5)
    collector.state.delay = 0
    assert upload_pending(db, paths, now=LATER)["duplicate"] == 1
    assert collector.seqs("dev_0001") == [1]


def test_sequence_conflict_fails_and_is_not_retried(db, paths, collector, enrolled):
    queue_summary(db, paths, now=T0)
    upload_pending(db, paths, now=T0)
    # A restored backup: the chain state goes back and a *different* seq 1 is built.
    db.conn.execute("UPDATE sync_state SET summary_seq = 0, summary_hash = ''")
    db.conn.commit()
    record_presend(db)
    queue_summary(db, paths, now=T0 + timedelta(hours=1))
    counts = upload_pending(db, paths, now=T0)
    assert counts["failed"] == 1
    row = outbox_rows(db)[1]
    assert row["status"] == "failed" and "409 sequence_conflict" in row["last_error"]
    assert collector.state.tamper == [("dev_0001", 1, "different payload")]
    posts = len(collector.state.posts)
    assert upload_pending(db, paths, now=LATER) == dict.fromkeys(
        ("accepted", "duplicate", "failed", "retry", "waiting", "appeals_queued"), 0
    )
    assert len(collector.state.posts) == posts


def test_appeals_are_sent_once_and_decisions_come_back(db, paths, tmp_path, collector, enrolled):
    scan_mails(db, tmp_path / "box")
    appeal_id = file_appeal(db, "Secret offer Zephyr", "approved by my manager")
    counts = upload_pending(db, paths, now=T0)
    assert counts["appeals_queued"] == 1 and counts["accepted"] == 1
    status = db.conn.execute("SELECT status FROM appeals WHERE id = ?", (appeal_id,)).fetchone()[0]
    assert status == "sent"
    assert list(collector.state.appeals) == [("dev_0001", appeal_id)]
    assert upload_pending(db, paths, now=T0)["appeals_queued"] == 0  # not queued twice
    collector.state.decisions.append(
        {
            "id": 12,
            "appeal_id": appeal_id,
            "status": "upheld",
            "comment": "agreed, rule too strict",
            "decided_at": "2026-11-25T09:00:00+00:00",
        }
    )
    assert pull_decisions(db, paths) == {"updated": 1, "unknown": 0, "cursor": 12}
    row = next(db.db.query("SELECT status, reviewer_comment FROM appeals WHERE id = ?", [appeal_id]))
    assert row == {"status": "upheld", "reviewer_comment": "agreed, rule too strict"}
    collector.state.decisions.append(
        {
            "id": 13,
            "appeal_id": 999,
            "status": "rejected",
            "comment": "",
            "decided_at": "2026-11-25T09:00:00+00:00",
        }
    )
    assert pull_decisions(db, paths) == {"updated": 0, "unknown": 1, "cursor": 13}
    assert pull_decisions(db, paths) == {"updated": 0, "unknown": 0, "cursor": 13}


# -- policy pull --------------------------------------------------------------------------------------


def policy_text(version: str) -> str:
    current = load_policy().version
    return default_policy_text().replace(f'version = "{current}"', f'version = "{version}"', 1)


def test_version_order():
    assert is_newer("2026.11.10", "2026.11.9") and is_newer("2026.12.1", "2026.11.1")
    assert not is_newer("2026.11.1", "2026.11.1") and not is_newer("2026.9.1", "2026.11.1")


def test_a_newer_signed_policy_is_applied(db, paths, collector, enrolled):
    assert pull_policy(db, paths)["status"] == "none"
    collector.publish_policy("2099.1.1", policy_text("2099.1.1"))
    result = pull_policy(db, paths)
    assert result["status"] == "applied" and result["version"] == "2099.1.1"
    assert load_policy(paths.policy).version == "2099.1.1"
    assert pull_policy(db, paths)["status"] == "current"
    assert not list(paths.home.glob(".policy.toml.*"))  # no temp file left


@pytest.mark.parametrize(
    "case, reason",
    [
        ("bad signature", "does not verify against the pinned policy key"),
        ("older", "is not newer than the policy in force"),
        ("invalid", "the policy is invalid"),
        ("mismatch", "the policy text says version"),
    ],
)
def test_bad_policies_are_refused(db, paths, collector, enrolled, caplog, case, reason):
    from companion.signing import generate_private_key

    if case == "bad signature":
        collector.publish_policy("2099.1.1", policy_text("2099.1.1"), key=generate_private_key())
    elif case == "older":
        collector.publish_policy("2001.1.1", policy_text("2001.1.1"))
    elif case == "invalid":
        collector.publish_policy("2099.1.1", '[policy]\nversion = "2099.1.1"\nname = "x"\n[[rule]\n')
    else:
        collector.publish_policy("2099.1.1", policy_text("2099.1.2"))
    result = pull_policy(db, paths)
    assert result["status"] == "refused" and reason in result["reason"]
    assert reason in caplog.text
    assert not paths.policy.exists()


# -- crash safety ------------------------------------------------------------------------------------

WORKER = """
import sys
from pathlib import Path
from companion.config import Paths
from companion.records import Database
from companion.outbox import upload_pending
from companion.summary import queue_summary

paths = Paths(Path(sys.argv[1]))
db = Database(paths.database)
for i in range(int(sys.argv[2])):
    queue_summary(db, paths)
    upload_pending(db, paths)
    print(i, flush=True)
"""


def test_sigkill_never_skips_or_repeats_a_sequence_number(db, paths, collector, tmp_path):
    import keyring
    from keyring.backends.fail import Keyring

    from companion.enroll import enroll

    keyring.set_keyring(Keyring())  # the key goes to the 0600 file, which the worker can read
    enroll(paths, collector.url, "good-token", db=db)
    collector.state.delay = 0.003  # widen the window between "sent" and "marked sent"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    target = 0
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(paths.home), "100000"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        target += 8 + 3 * round_
        deadline = time.monotonic() + 60
        while len(collector.state.posts) < target and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.002)
        time.sleep((0.0, 0.004, 0.009)[round_])  # land the kill at different points of the loop
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        target = len(collector.state.posts)
    counts = upload_pending(db, paths, now=datetime.now(UTC) + timedelta(days=1))
    assert counts["failed"] == counts["retry"] == 0
    last = db.conn.execute("SELECT summary_seq FROM sync_state").fetchone()[0]
    assert last > 20
    assert collector.seqs("dev_0001") == list(range(1, last + 1))
    assert not collector.state.gaps and not collector.state.tamper
    assert {r["status"] for r in outbox_rows(db)} == {"acked"} and len(outbox_rows(db)) == last


def test_cli_enroll_summary_upload_against_a_real_http_collector(tmp_path, isolated_home):
    """The three commands a person runs, end to end over HTTP on 127.0.0.1."""
    import json

    from click.testing import CliRunner

    from companion.cli import cli
    from tests.conftest import build_eml
    from tests.fake_collector import FakeCollector

    collector = FakeCollector()
    collector.up()
    try:
        token = "good-token"
        runner = CliRunner()
        box = tmp_path / "Sent"
        box.mkdir()
        (box / "a.eml").write_bytes(build_eml("We promise the lowest price. Call me on +44 20 7946 0958."))
        assert runner.invoke(cli, ["scan", str(box)]).exit_code == 0
        result = runner.invoke(cli, ["enroll", "--collector", collector.url, "--token", token])
        assert result.exit_code == 0, result.output
        device_id = json.loads(result.output.splitlines()[0])["device_id"]
        preview = json.loads(runner.invoke(cli, ["summary"]).output)
        assert preview["counts"]["by_rule"] == {"commit.lowest-price": 1}
        assert "7946" not in json.dumps(preview) and preview["device_id"] == device_id
        result = runner.invoke(cli, ["upload"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["upload"]["accepted"] == 1
        assert collector.seqs(device_id) == [1]
    finally:
        collector.down()


def test_enrolling_again_starts_the_decision_cursor_over(db, paths, tmp_path, collector, enrolled):
    """A new collector numbers its decisions from 1: the old cursor must not hide them."""
    from companion.enroll import enroll

    scan_mails(db, tmp_path / "box")
    appeal_id = file_appeal(db, "Secret offer Zephyr", "approved by my manager")
    upload_pending(db, paths, now=T0)
    collector.state.decisions.append(
        {
            "id": 40,
            "appeal_id": 999,
            "status": "rejected",
            "comment": "",
            "decided_at": "2026-11-25T09:00:00+00:00",
        }
    )
    assert pull_decisions(db, paths)["cursor"] == 40
    enroll(paths, collector.url, "good-token", db=db, force=True)
    collector.state.decisions[:] = [
        {
            "id": 3,
            "appeal_id": appeal_id,
            "status": "upheld",
            "comment": "ok",
            "decided_at": "2026-11-26T09:00:00+00:00",
        }
    ]
    upload_pending(db, paths, now=T0)  # the appeal, re-queued under the new identity
    assert pull_decisions(db, paths)["cursor"] == 3


def test_a_failed_re_enrolment_leaves_the_old_identity_whole(db, paths, collector, enrolled, monkeypatch):
    """The new key replaces the old one in the credential store only once the database has the new
    identity: a failure in between must not leave the old device row with the new key."""
    from companion import enroll as enroll_module
    from companion.device import device_private_key
    from companion.signing import sign, verify

    before = load_device(db)

    def broken(_db):
        raise RuntimeError("disk full")

    monkeypatch.setattr(enroll_module, "_forget_old_identity", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        enroll_module.enroll(paths, collector.url, "good-token", db=db, force=True)
    after = load_device(db)
    assert after == before
    signature = sign(device_private_key(paths, after), {"probe": 1})
    assert verify(after.public_key, {"probe": 1}, signature)  # the stored key is still the old one
    monkeypatch.undo()
    renewed = enroll_module.enroll(paths, collector.url, "good-token", db=db, force=True)
    current = load_device(db)
    assert renewed["device_id"] == current.device_id != before.device_id
    assert verify(current.public_key, {"probe": 1}, sign(device_private_key(paths, current), {"probe": 1}))
