"""The local SQLite database (sqlite-utils, WAL, schema versioned with Migrations).

Each message is written with its findings in one transaction, keyed by Message-ID + content hash,
so a scan killed at any moment leaves no half-written message and a rescan adds no duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from companion.message import Message
from companion.policy.engine import Verdict

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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FlaggedMessage:
    key: str
    date: str
    direction: str
    counterpart: str
    subject: str
    verdict: str
    policy_version: str
    source: str
    findings: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "date": self.date,
            "direction": self.direction,
            "counterpart": self.counterpart,
            "subject": self.subject,
            "verdict": self.verdict,
            "policy_version": self.policy_version,
            "source": self.source,
            "findings": list(self.findings),
        }


class Database:
    """The companion's database. One writer (the agent or a CLI command) at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=30)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(self.db)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        with self.conn:
            yield

    # -- writing ----------------------------------------------------------------------------

    def has_message(self, key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM messages WHERE key = ?", (key,)).fetchone() is not None

    def add_message(self, message: Message, verdict: Verdict) -> bool:
        """Store `message` and its findings; False if it was already stored. Call inside transaction()."""
        key = message.key
        row = (
            key,
            message.message_id,
            message.content_hash,
            message.source,
            message.account,
            message.folder,
            message.direction,
            message.sender.address if message.sender else "",
            json.dumps([a.address for a in message.recipients]),
            message.date.isoformat() if message.date else "",
            message.subject,
            message.counterpart(),
            verdict.verdict,
            verdict.policy_version,
            _now(),
            json.dumps(
                [[a.address, a.name] for a in (message.sender, *message.recipients) if a is not None],
                ensure_ascii=False,
            ),
        )
        cur = self.conn.execute(f"INSERT OR IGNORE INTO messages VALUES ({','.join('?' * len(row))})", row)
        if cur.rowcount == 0:
            return False
        fields = message.field_texts()
        for f in verdict.findings:
            self.conn.execute(
                "INSERT INTO findings (message_key, rule, tier, category, field, start, [end], text, quoted,"
                " explanation_en, explanation_zh) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    f.rule,
                    f.tier,
                    f.category,
                    f.field,
                    f.start,
                    f.end,
                    f.text,
                    int(f.quoted),
                    f.explanation.en,
                    f.explanation.zh,
                ),
            )
            if f.field in fields:
                self.conn.execute(
                    "INSERT OR IGNORE INTO flagged_fields VALUES (?,?,?)", (key, f.field, fields[f.field])
                )
        return True

    def add_error(self, source: str, error: str) -> None:
        self.conn.execute(
            "INSERT INTO scan_errors (source, error, at) VALUES (?,?,?)", (source, error, _now())
        )

    # -- incremental state (companion.stores.base.StoreState) ------------------------------

    def checkpoint(self, source: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT state FROM sources WHERE source = ?", (source,)).fetchone()
        return None if row is None else json.loads(row[0])

    def save_checkpoint(self, source: str, state: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?)",
            (source, json.dumps(state, sort_keys=True), _now()),
        )

    def has_item(self, source: str, item_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM seen_items WHERE source = ? AND item_id = ?", (source, item_id)
        )
        return row.fetchone() is not None

    def mark_item(self, source: str, item_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO seen_items VALUES (?,?)", (source, item_id))

    # -- reading ----------------------------------------------------------------------------

    def count(self, table: str, where: str | None = None) -> int:
        return self.db[table].count_where(where) if where else self.db[table].count

    def presend_decisions(self, limit: int | None = None, flagged_only: bool = True) -> list[dict[str, Any]]:
        """Pre-send decisions, newest first (by default those where something was found or the
        check could not run)."""
        where = "WHERE verdict != 'pass' OR findings != '[]'" if flagged_only else ""
        sql = f"SELECT * FROM presend {where} ORDER BY at DESC, id DESC" + (
            f" LIMIT {int(limit)}" if limit else ""
        )
        rows = []
        for row in self.db.query(sql):
            row["recipients"] = json.loads(row["recipients"] or "[]")
            row["findings"] = json.loads(row["findings"] or "[]")
            rows.append(row)
        return rows

    def flags(self, limit: int | None = None) -> list[FlaggedMessage]:
        """Messages with findings, newest first."""
        sql = (
            "SELECT * FROM messages WHERE key IN (SELECT message_key FROM findings)"
            " ORDER BY date DESC, scanned_at DESC" + (f" LIMIT {int(limit)}" if limit else "")
        )
        out = []
        for row in self.db.query(sql):
            findings = tuple(
                {k: (bool(v) if k == "quoted" else v) for k, v in f.items() if k not in ("id", "message_key")}
                for f in self.db.query(
                    "SELECT * FROM findings WHERE message_key = ? ORDER BY field, start", [row["key"]]
                )
            )
            out.append(
                FlaggedMessage(
                    row["key"],
                    row["date"],
                    row["direction"],
                    row["counterpart"],
                    row["subject"],
                    row["verdict"],
                    row["policy_version"],
                    row["source"],
                    findings,
                )
            )
        return out
