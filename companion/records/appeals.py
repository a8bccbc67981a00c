"""Appeals against a flag: filed by the user ("pending"), put in the outbox ("queued"), delivered
("sent"), decided at the collector ("upheld" / "rejected")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.records.database import now_iso

if TYPE_CHECKING:
    from companion.records.database import Database

KEYS = (
    "id",
    "message_key",
    "rule",
    "reason",
    "comment",
    "status",
    "created_at",
    "updated_at",
    "reviewer_comment",
)
DECIDED = ("upheld", "rejected")


def _data(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in KEYS}


def file(db: Database, message_key: str, reason: str, comment: str, rule: str | None) -> dict[str, Any]:
    now = now_iso()
    with db.transaction():
        cur = db.conn.execute(
            "INSERT INTO appeals (message_key, rule, reason, comment, status, created_at, updated_at,"
            " reviewer_comment) VALUES (?,?,?,?,?,?,?,?)",
            (message_key, rule, reason, comment, "pending", now, now, ""),
        )
    return _data(db.query("SELECT * FROM appeals WHERE id = ?", [cur.lastrowid])[0])


def listing(db: Database, status: str | None = None) -> list[dict[str, Any]]:
    """Appeals, newest first, each with the subject of the message appealed."""
    where, params = ("WHERE a.status = ?", [status]) if status else ("", [])
    rows = db.query(
        f"SELECT a.*, m.subject FROM appeals a LEFT JOIN messages m ON m.key = a.message_key {where}"
        " ORDER BY a.id DESC",
        params,
    )
    return [{**_data(r), "subject": r["subject"]} for r in rows]


def of_message(db: Database, message_key: str) -> list[dict[str, Any]]:
    return [
        _data(r) for r in db.query("SELECT * FROM appeals WHERE message_key = ? ORDER BY id", [message_key])
    ]


def counts_by_status(db: Database) -> dict[str, int]:
    return dict(
        db.conn.execute("SELECT status, count(*) FROM appeals GROUP BY status ORDER BY status").fetchall()
    )


def pending(db: Database) -> list[dict[str, Any]]:
    return db.query("SELECT * FROM appeals WHERE status = 'pending' ORDER BY id")


def any_pending(db: Database) -> bool:
    return db.value("SELECT 1 FROM appeals WHERE status = 'pending' LIMIT 1") is not None


def mark_queued(db: Database, appeal_id: int) -> bool:
    """pending -> queued; False when it was not pending any more. Call in the transaction that
    puts its envelope in the outbox, so an appeal is never queued twice."""
    cur = db.conn.execute(
        "UPDATE appeals SET status = 'queued' WHERE id = ? AND status = 'pending'", (appeal_id,)
    )
    return cur.rowcount > 0


def mark_sent(db: Database, appeal_id: int, at: str) -> None:
    db.conn.execute(
        "UPDATE appeals SET status = 'sent', updated_at = ? WHERE id = ? AND status = 'queued'",
        (at, appeal_id),
    )


def requeue(db: Database) -> None:
    """queued -> pending: what an old identity queued is queued again under the new one."""
    db.conn.execute("UPDATE appeals SET status = 'pending' WHERE status = 'queued'")


def decide(db: Database, appeal_id: Any, status: str, comment: str, at: str) -> bool:
    """Apply a decision the collector made; False when this database has no such appeal."""
    if status not in DECIDED:
        raise ValueError(f"unknown appeal decision {status!r}")
    cur = db.conn.execute(
        "UPDATE appeals SET status = ?, reviewer_comment = ?, updated_at = ? WHERE id = ?",
        (status, comment, at, appeal_id),
    )
    return cur.rowcount > 0


def top(db: Database) -> int:
    return db.value("SELECT coalesce(max(id), 0) FROM appeals")


def count_in_range(db: Database, after: int, top: int) -> int:
    return db.value("SELECT count(*) FROM appeals WHERE id > ? AND id <= ?", (after, top))
