"""Scanning into the database: dedup, mbox and maildir, consistency after SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from companion.policy import PolicyEngine, load_policy
from companion.records import Database, scans
from companion.scan import scan_paths
from tests.conftest import age, build_eml, write_mbox
from tests.fixtures import wait_until


def engine() -> PolicyEngine:
    return PolicyEngine(load_policy())


def test_database_is_wal_and_migrated(isolated_home):
    db = Database(isolated_home / "m.db")
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [r["name"] for r in db.db.query("SELECT name FROM _sqlite_migrations")]
    assert applied[:4] == ["m001_initial", "m002_appeals_and_outbox", "m003_presend", "m004_sync"]
    assert applied == sorted(applied) and len(applied) == len(set(applied))
    db.close()
    again = Database(isolated_home / "m.db")  # reopening applies nothing twice
    assert [r["name"] for r in again.db.query("SELECT name FROM _sqlite_migrations")] == applied
    again.close()


def test_an_older_database_is_migrated_keeping_its_data(isolated_home):
    import sqlite_utils

    from companion.records.schema import migrations

    isolated_home.mkdir(parents=True, exist_ok=True)
    old = sqlite_utils.Database(isolated_home / "old.db")
    migrations.apply(old, stop_before="m002_appeals_and_outbox")
    old["scan_errors"].insert({"source": "x", "error": "kept", "at": "2026-01-01"})
    old.close()
    db = Database(isolated_home / "old.db")
    assert db.db["appeals"].exists() and db.db["outbox"].exists()
    assert [r["error"] for r in db.db["scan_errors"].rows] == ["kept"]


def test_maildir_and_sent_folder_direction(tmp_path, isolated_home):
    maildir = tmp_path / "Sent"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1:2,S").write_bytes(build_eml("lowest price", message_id="<m1@x>"))
    (maildir / "new" / "2").write_bytes(build_eml("hello", message_id="<m2@x>"))
    db = Database(isolated_home / "m.db")
    totals = scan_paths(db, engine(), [maildir])
    assert (totals.messages, totals.flagged) == (2, 1)
    (row,) = db.db.query("SELECT direction, folder, verdict FROM messages WHERE verdict = 'warn'")
    assert row == {"direction": "sent", "folder": "Sent", "verdict": "warn"}


def test_received_mail_from_outside_with_bank_change(tmp_path, isolated_home):
    inbox = write_mbox(
        tmp_path / "Inbox",
        [
            build_eml(
                "Please note our bank details have changed.",
                sender="acc@supplier.example",
                message_id="<r1@x>",
            ),
            build_eml("We offer the lowest price", sender="acc@supplier.example", message_id="<r2@x>"),
        ],
    )
    db = Database(isolated_home / "m.db")
    totals = scan_paths(db, engine(), [inbox])
    assert (totals.messages, totals.flagged, dict(totals.by_rule)) == (2, 1, {"payment.bank-change": 1})
    flags = scans.flags(db, 50, 0)["flags"]
    assert [(f["direction"], f["counterpart"]) for f in flags] == [("received", "acc@supplier.example")]


def test_bad_messages_are_counted_and_logged_never_fatal(tmp_path, isolated_home):
    box = tmp_path / "box"
    box.mkdir()
    (box / "empty.eml").write_bytes(b"")
    (box / "ok.eml").write_bytes(build_eml("fine"))
    db = Database(isolated_home / "m.db")
    totals = scan_paths(db, engine(), [box])
    assert (totals.messages, totals.errors) == (1, 1)
    assert db.count("scan_errors") == 1


SCAN_SCRIPT = """
import sys
from pathlib import Path
from companion.records import Database
from companion.policy import PolicyEngine, load_policy
from companion.scan import scan_paths
import companion.scan as scan
scan.BATCH = 7
db = Database(sys.argv[1])
scan_paths(db, PolicyEngine(load_policy()), [Path(sys.argv[2])], frozenset({"sales@corp.example"}))
print("done", flush=True)
"""


def test_sigkill_mid_scan_loses_nothing_and_duplicates_nothing(tmp_path, isolated_home):
    n = 4000
    bodies = [
        build_eml(
            f"Mail {i}: " + ("lowest price " if i % 3 == 0 else "hello ") + "x" * 400, message_id=f"<k{i}@x>"
        )
        for i in range(n)
    ]
    mbox = age(write_mbox(tmp_path / "Sent", bodies))
    db_path = isolated_home / "kill.db"
    script = tmp_path / "scan.py"
    script.write_text(SCAN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db_path), str(mbox)], env=env, stdout=subprocess.PIPE
    )

    # Kill once some batches have been committed, but long before the end.
    def committed() -> bool:
        if not db_path.exists():  # (connecting would create it)
            return False
        try:
            with sqlite3.connect(db_path, timeout=1) as c:
                return c.execute("SELECT count(*) FROM messages").fetchone()[0] > 50
        except sqlite3.OperationalError:  # no table yet, or busy
            return False

    wait_until("some batches committed", committed, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = Database(db_path)
    partial = db.count("messages")
    assert 0 < partial < n, "the kill must land mid-scan"
    # Every stored message has all its findings: no half-written message.
    orphans = db.db.execute(
        "SELECT count(*) FROM messages m WHERE verdict != 'pass' AND NOT EXISTS "
        "(SELECT 1 FROM findings f WHERE f.message_key = m.key)"
    ).fetchone()[0]
    assert orphans == 0
    totals = scan_paths(db, engine(), [mbox], frozenset({"sales@corp.example"}))
    assert totals.messages == n - partial and totals.skipped == partial
    assert db.count("messages") == n
    assert db.db.execute("SELECT count(DISTINCT message_id) FROM messages").fetchone()[0] == n
    assert db.count("findings") == len(range(0, n, 3))
