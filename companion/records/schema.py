"""The schema of the companion's database, as sqlite-utils Migrations.

An applied migration is never edited: a change of schema is a new migration at the end, and a
user's database upgrades in place when it is next opened (tests/test_records.py opens one made by
an earlier version). Each migration runs in one transaction with the record of it having run.
"""

from __future__ import annotations

import json

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("mailwarden")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["messages"].create(
        {
            "key": str,
            "message_id": str,
            "content_hash": str,
            "source": str,
            "account": str,
            "folder": str,
            "direction": str,
            "sender": str,
            "recipients": str,
            "date": str,
            "subject": str,
            "counterpart": str,
            "verdict": str,
            "policy_version": str,
            "scanned_at": str,
        },
        pk="key",
    )
    db["messages"].create_index(["verdict", "date"])
    db["findings"].create(
        {
            "id": int,
            "message_key": str,
            "rule": str,
            "tier": str,
            "category": str,
            "field": str,
            "start": int,
            "end": int,
            "text": str,
            "quoted": int,
            "explanation_en": str,
            "explanation_zh": str,
        },
        pk="id",
        foreign_keys=[("message_key", "messages", "key")],
    )
    db["findings"].create_index(["message_key"])
    # The text of each field that has findings, so a flag can be shown with its matches highlighted.
    db["flagged_fields"].create(
        {"message_key": str, "field": str, "text": str},
        pk=("message_key", "field"),
        foreign_keys=[("message_key", "messages", "key")],
    )
    db["scan_errors"].create({"id": int, "source": str, "error": str, "at": str}, pk="id")
    # Per source (a file, an mbox, a PST): how far it was read (see companion.stores.base).
    db["sources"].create({"source": str, "state": str, "updated_at": str}, pk="source")
    # Items read from sources that are remembered item by item (PST entries, maildir files).
    db["seen_items"].create({"source": str, "item_id": str}, pk=("source", "item_id"))


@migrations()
def m002_appeals_and_outbox(db: sqlite_utils.Database) -> None:
    # Appeals against a flag: stored at once, sent to the collector by the outbox, decided there.
    db["appeals"].create(
        {
            "id": int,
            "message_key": str,
            "rule": str,
            "reason": str,
            "comment": str,
            "status": str,
            "created_at": str,
            "updated_at": str,
            "reviewer_comment": str,
        },
        pk="id",
        foreign_keys=[("message_key", "messages", "key")],
    )
    db["appeals"].create_index(["message_key"])
    # What waits to leave this computer (summaries, appeals) until the collector acknowledges it.
    db["outbox"].create(
        {
            "id": int,
            "kind": str,
            "payload": str,
            "created_at": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "acked_at": str,
            "last_error": str,
        },
        pk="id",
    )
    db["outbox"].create_index(["status"])


@migrations()
def m003_presend(db: sqlite_utils.Database) -> None:
    # What the sender decided at send time (companion.presend): the verdict, what was shown, the choice.
    db["presend"].create(
        {
            "id": int,
            "at": str,
            "channel": str,
            "verdict": str,
            "policy_version": str,
            "choice": str,
            "justification": str,
            "error": str,
            "subject": str,
            "recipients": str,
            "counterpart": str,
            "body_hash": str,
            "findings": str,
        },
        pk="id",
    )
    db["presend"].create_index(["at"])


@migrations()
def m004_sync(db: sqlite_utils.Database) -> None:
    # The enrolment with a collector (one row, id = 1): who we are there and whose policy we trust.
    db["device"].create(
        {
            "id": int,
            "device_id": str,
            "collector_url": str,
            "collector_id": str,
            "department": str,
            "public_key": str,
            "policy_key": str,
            "key_store": str,
            "enrolled_at": str,
        },
        pk="id",
    )
    # Sync state (one row, id = 1). The summary chain and the cursors advance in the same transaction
    # that queues a summary, so a crash never skips or repeats a sequence number or an event.
    db["sync_state"].create(
        {
            "id": int,
            "summary_seq": int,
            "summary_hash": str,
            "summary_period_end": str,
            "cursor_message": int,
            "cursor_presend": int,
            "cursor_appeal": int,
            "cursor_error": int,
            "policy_version": str,
            "policy_applied_at": str,
            "decisions_cursor": int,
        },
        pk="id",
        defaults={
            "summary_seq": 0,
            "summary_hash": "",
            "summary_period_end": "",
            "cursor_message": 0,
            "cursor_presend": 0,
            "cursor_appeal": 0,
            "cursor_error": 0,
            "policy_version": "",
            "policy_applied_at": "",
            "decisions_cursor": 0,
        },
    )
    db["sync_state"].insert({"id": 1})


@migrations()
def m005_tray(db: sqlite_utils.Database) -> None:
    # What the tray asked the agent to remember (one row, id = 1): up to which message (rowid) the
    # user has looked at the flags, and the language chosen ("" follows the system locale).
    db["tray_state"].create(
        {"id": int, "flags_seen": int, "language": str}, pk="id", defaults={"flags_seen": 0, "language": ""}
    )
    db["tray_state"].insert({"id": 1})


@migrations()
def m006_decision_keys(db: sqlite_utils.Database) -> None:
    # A decision reported by a mail client carries a key of its own: sent again (its answer was
    # lost on the way), it is recorded once.
    db["presend"].add_column("decision_key", str, not_null_default="")
    db.execute("CREATE UNIQUE INDEX presend_decision_key ON presend (decision_key) WHERE decision_key != ''")


@migrations()
def m007_people(db: sqlite_utils.Database) -> None:
    # The mail's sender and recipients as [address, display name] pairs (sender first): their
    # names are masked wherever they occur in a snippet (companion.snippets). "" for older rows.
    db["messages"].add_column("people", str, not_null_default="")


@migrations()
def m008_one_finding_shape(db: sqlite_utils.Database) -> None:
    # The findings of scans and of pre-send checks in one table, in one shape: a finding belongs to a
    # scanned message (message_key) or to a pre-send decision (decision_id). Its field is a kind and
    # a name (an attachment's file name), no longer one "attachment:NAME" string to split; and it
    # keeps the approver its rule names.
    conn = db.conn
    conn.execute("ALTER TABLE findings ADD COLUMN field_name TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE findings ADD COLUMN approver TEXT")
    conn.execute("ALTER TABLE findings ADD COLUMN decision_id INTEGER REFERENCES presend(id)")
    for table in ("findings", "flagged_fields"):
        if table == "flagged_fields":
            conn.execute("ALTER TABLE flagged_fields ADD COLUMN field_name TEXT NOT NULL DEFAULT ''")
        conn.execute(
            f"UPDATE {table} SET field_name = substr(field, instr(field, ':') + 1),"
            " field = substr(field, 1, instr(field, ':') - 1) WHERE instr(field, ':') > 0"
        )
    db["flagged_fields"].transform(pk=("message_key", "field", "field_name"))
    # Pre-send findings were a JSON list in presend.findings: one row each now.
    for decision_id, stored in conn.execute("SELECT id, findings FROM presend ORDER BY id").fetchall():
        for f in json.loads(stored or "[]"):
            field = f.get("field")
            kind, _, name = (
                field.partition(":") if isinstance(field, str) else (field["kind"], "", field["name"])
            )
            conn.execute(
                "INSERT INTO findings (decision_id, rule, tier, category, field, field_name, start, [end], text,"
                " quoted, explanation_en, explanation_zh, approver) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    decision_id,
                    f["rule"],
                    f["tier"],
                    f["category"],
                    kind,
                    name,
                    f["start"],
                    f["end"],
                    f["text"],
                    int(bool(f.get("quoted"))),
                    f.get("explanation") or "",
                    f.get("explanation_zh") or "",
                    f.get("approver"),
                ),
            )
    conn.execute("ALTER TABLE presend DROP COLUMN findings")
    db["findings"].create_index(["decision_id"])


@migrations()
def m009_decision_key_of_sent_mail(db: sqlite_utils.Database) -> None:
    # The pre-send decision key a sent mail carries in its X-Mailwarden header: ties the scanned
    # copy in the Sent folder to what the sender decided (no more guessing by subject).
    db["messages"].add_column("decision_key", str, not_null_default="")
    db.execute("CREATE INDEX messages_decision_key ON messages (decision_key) WHERE decision_key != ''")
