"""Scanned messages and scan errors; the flags (messages with findings) every reader lists.

Each message is written with its findings in the caller's transaction, keyed by Message-ID +
content hash, so a scan killed at any moment leaves no half-written message and a rescan adds no
duplicate. A message's "seq" is its rowid: rows are only appended, so "seq > n" is "scanned since".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from companion.message import Field
from companion.records import findings as findings_
from companion.records.database import now_iso

if TYPE_CHECKING:
    from companion.message import Message
    from companion.policy.engine import Verdict
    from companion.records.database import Database

FLAGGED = "key IN (SELECT message_key FROM findings WHERE message_key IS NOT NULL)"
NEWEST_FIRST = "date DESC, scanned_at DESC, key"


# -- writing -------------------------------------------------------------------------------------


def has_message(db: Database, key: str) -> bool:
    return db.conn.execute("SELECT 1 FROM messages WHERE key = ?", (key,)).fetchone() is not None


def add_message(db: Database, message: Message, verdict: Verdict) -> bool:
    """Store `message` and its findings; False if it was already stored. Call inside a transaction."""
    row = {
        "key": message.key,
        "message_id": message.message_id,
        "content_hash": message.content_hash,
        "source": message.source,
        "account": message.account,
        "folder": message.folder,
        "direction": message.direction,
        "sender": message.sender.address if message.sender else "",
        "recipients": json.dumps([a.address for a in message.recipients]),
        "date": message.date.isoformat() if message.date else "",
        "subject": message.subject,
        "counterpart": message.counterpart(),
        "verdict": verdict.verdict,
        "policy_version": verdict.policy_version,
        "scanned_at": now_iso(),
        # sender first: companion.summary masks these names wherever they occur in a snippet
        "people": json.dumps(
            [[a.address, a.name] for a in (message.sender, *message.recipients) if a is not None],
            ensure_ascii=False,
        ),
        "decision_key": message.decision_key,
    }
    cur = db.conn.execute(
        f"INSERT OR IGNORE INTO messages ({','.join(row)}) VALUES ({','.join('?' * len(row))})",
        tuple(row.values()),
    )
    if cur.rowcount == 0:
        return False
    findings_.add(db, verdict.findings, message_key=message.key)
    texts = message.field_texts()
    for field in dict.fromkeys(f.field for f in verdict.findings if f.field in texts):
        db.conn.execute(
            "INSERT OR IGNORE INTO flagged_fields (message_key, field, field_name, text) VALUES (?,?,?,?)",
            (message.key, field.kind, field.name, texts[field]),
        )
    return True


def add_error(db: Database, source: str, error: str) -> None:
    db.conn.execute("INSERT INTO scan_errors (source, error, at) VALUES (?,?,?)", (source, error, now_iso()))


# -- reading -------------------------------------------------------------------------------------


def message_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["key"],
        "date": row["date"],
        "direction": row["direction"],
        "sender": row["sender"],
        "recipients": json.loads(row["recipients"] or "[]"),
        "counterpart": row["counterpart"],
        "subject": row["subject"],
        "verdict": row["verdict"],
        "policy_version": row["policy_version"],
        "source": row["source"],
        "account": row["account"],
        "folder": row["folder"],
        "scanned_at": row["scanned_at"],
        "seq": row.get("seq"),
    }


def flags(db: Database, limit: int, offset: int, after_seq: int | None = None) -> dict[str, Any]:
    """Flagged messages, each with its findings: newest first by date, or with `after_seq` only
    those scanned after that seq, oldest scan first (what was flagged since the caller looked)."""
    where, params, order = FLAGGED, [], NEWEST_FIRST
    if after_seq is not None:
        where, params, order = f"{FLAGGED} AND rowid > ?", [after_seq], "rowid"
    total = db.value(f"SELECT count(*) FROM messages WHERE {where}", params)
    rows = db.query(
        f"SELECT rowid AS seq, * FROM messages WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    found = findings_.of_messages(db, [r["key"] for r in rows])
    return {"flags": [{**message_data(r), "findings": found[r["key"]]} for r in rows], "total": total}


def messages(db: Database, limit: int, offset: int, verdict: str | None = None) -> dict[str, Any]:
    """Every scanned message, newest first (optionally those of one verdict), with its number of findings."""
    where, params = ("WHERE verdict = ?", [verdict]) if verdict else ("", [])
    total = db.value(f"SELECT count(*) FROM messages {where}", params)
    rows = db.query(
        "SELECT m.rowid AS seq, m.*, (SELECT count(*) FROM findings f WHERE f.message_key = m.key) AS n_findings"
        f" FROM messages m {where} ORDER BY {NEWEST_FIRST} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return {"messages": [{**message_data(r), "findings": r["n_findings"]} for r in rows], "total": total}


def message(db: Database, key: str) -> dict[str, Any] | None:
    """One stored message row (with its seq and decision key), or None."""
    rows = db.query("SELECT rowid AS seq, * FROM messages WHERE key = ?", [key])
    return rows[0] if rows else None


def excerpts(db: Database, key: str) -> list[dict[str, Any]]:
    """The text of each field of a message that has findings (their offsets index it)."""
    rows = db.query(
        "SELECT field, field_name, text FROM flagged_fields WHERE message_key = ? ORDER BY field, field_name",
        [key],
    )
    return [{"field": Field(r["field"], r["field_name"]).to_dict(), "text": r["text"]} for r in rows]


def totals(db: Database, flags_seen: int) -> dict[str, int]:
    """Counts for the agent's status: messages, flagged, scan errors; flags since the tray's marker
    and the seq of the newest flag."""
    q = db.value
    return {
        "messages": q("SELECT count(*) FROM messages"),
        "flagged": q("SELECT count(DISTINCT message_key) FROM findings WHERE message_key IS NOT NULL"),
        "errors": q("SELECT count(*) FROM scan_errors"),
        "new_flags": q(f"SELECT count(*) FROM messages WHERE rowid > ? AND {FLAGGED}", (flags_seen,)),
        "last_flag": q(f"SELECT coalesce(max(rowid), 0) FROM messages WHERE {FLAGGED}"),
    }


def last_seq(db: Database) -> int:
    return db.value("SELECT coalesce(max(rowid), 0) FROM messages")


# -- for the summary -----------------------------------------------------------------------------


def findings_in_range(db: Database, after: int, top: int) -> list[dict[str, Any]]:
    """Every finding of the messages with seq in (after, top], with its message's seq, key,
    direction, counterpart and dates and its field's text, message by message."""
    rows = db.query(
        "SELECT m.rowid AS mrow, m.key, m.direction, m.counterpart, m.date, m.scanned_at, m.people, f.*,"
        " ff.text AS field_text"
        " FROM messages m JOIN findings f ON f.message_key = m.key"
        " LEFT JOIN flagged_fields ff ON ff.message_key = m.key AND ff.field = f.field"
        " AND ff.field_name = f.field_name"
        " WHERE m.rowid > ? AND m.rowid <= ? ORDER BY m.rowid, f.id",
        [after, top],
    )
    return [
        {
            **findings_.stored_finding(r),
            **{
                k: r[k]
                for k in (
                    "mrow",
                    "key",
                    "direction",
                    "counterpart",
                    "date",
                    "scanned_at",
                    "people",
                    "field_text",
                )
            },
        }
        for r in rows
    ]


def people_in_range(db: Database, after: int, top: int) -> list[list[list[str]]]:
    """The [address, name] pairs of the messages with seq in (after, top], sender first, per message."""
    rows = db.conn.execute(
        "SELECT DISTINCT people FROM messages WHERE rowid > ? AND rowid <= ?", (after, top)
    )
    return [json.loads(people) for (people,) in rows if people]


def people_of_sent_mail(db: Database) -> list[list[list[str]]]:
    """The [address, name] pairs of every sent message, sender first."""
    rows = db.conn.execute("SELECT DISTINCT people FROM messages WHERE direction = 'sent'")
    return [json.loads(people) for (people,) in rows if people]


def count_in_range(db: Database, after: int, top: int) -> int:
    return db.value("SELECT count(*) FROM messages WHERE rowid > ? AND rowid <= ?", (after, top))


def errors_top(db: Database) -> int:
    return db.value("SELECT coalesce(max(id), 0) FROM scan_errors")


def errors_in_range(db: Database, after: int, top: int) -> int:
    return db.value("SELECT count(*) FROM scan_errors WHERE id > ? AND id <= ?", (after, top))
