"""The outbox: what waits to leave this computer (signed summaries, appeals) until the collector
acknowledges it. Statuses: queued -> acked, queued -> failed (never re-sent). What is stored is the
exact bytes that are sent: the canonical JSON of the signed envelope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from companion.records.database import now_iso

if TYPE_CHECKING:
    from companion.records.database import Database

KINDS = ("summary", "appeal")
WAITING = "status = 'queued'"  # failed items are not waiting: they are never re-sent


def queue(db: Database, kind: str, envelope: dict[str, Any], created_at: str | None = None) -> int:
    """Put a signed envelope in the outbox (as its canonical JSON); returns its id. Call inside the
    transaction that records why it was queued (the chain advancing, the appeal's status)."""
    from companion.signing import canonical

    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    cur = db.conn.execute(
        "INSERT INTO outbox (kind, payload, created_at, status, attempts, next_attempt_at, acked_at, last_error)"
        " VALUES (?, ?, ?, 'queued', 0, '', NULL, '')",
        (kind, canonical(envelope).decode("utf-8"), created_at or now_iso()),
    )
    return cur.lastrowid


def queued(db: Database) -> list[dict[str, Any]]:
    """What waits to be sent, oldest first (the order it goes in)."""
    return db.query(
        f"SELECT id, kind, payload, attempts, next_attempt_at FROM outbox WHERE {WAITING} ORDER BY id"
    )


def acknowledge(db: Database, outbox_id: int, at: str, duplicate: bool) -> None:
    db.conn.execute(
        "UPDATE outbox SET status = 'acked', acked_at = ?, last_error = ? WHERE id = ?",
        (at, "duplicate" if duplicate else "", outbox_id),
    )


def retry_later(db: Database, outbox_id: int, attempts: int, when: str, error: str) -> None:
    with db.transaction():
        db.conn.execute(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            (attempts, when, error, outbox_id),
        )


def fail(db: Database, outbox_id: int, error: str) -> None:
    with db.transaction():
        db.conn.execute(
            "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", (error, outbox_id)
        )


def supersede(db: Database, reason: str) -> None:
    """Every queued item fails: a new enrolment starts a new chain under a new identity."""
    db.conn.execute(f"UPDATE outbox SET status = 'failed', last_error = ? WHERE {WAITING}", (reason,))


def due(db: Database, at: str) -> bool:
    """Something is due: the oldest queued summary (summaries go strictly in order, so only its time
    counts) or any other queued item whose retry time has come."""
    oldest = db.conn.execute(
        f"SELECT next_attempt_at FROM outbox WHERE {WAITING} AND kind = 'summary' ORDER BY id LIMIT 1"
    ).fetchone()
    if oldest is not None and (oldest[0] or "") <= at:
        return True
    other = db.value(
        f"SELECT 1 FROM outbox WHERE {WAITING} AND kind != 'summary' AND coalesce(next_attempt_at, '') <= ? LIMIT 1",
        (at,),
    )
    return other is not None


def waiting(db: Database, limit: int) -> list[dict[str, Any]]:
    return db.query(f"SELECT * FROM outbox WHERE {WAITING} ORDER BY id LIMIT ?", [limit])


def newest(db: Database, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Everything ever queued, newest first, whatever its status; and how many there are."""
    return db.query("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", [limit]), db.value(
        "SELECT count(*) FROM outbox"
    )


def delivery(db: Database) -> dict[str, Any]:
    """How delivery goes: items waiting, the last acknowledgement, and the oldest waiting item that
    failed to go at least once (attempts, last_error, next_attempt_at), if any."""
    failing = db.query(
        f"SELECT attempts, last_error, next_attempt_at FROM outbox WHERE {WAITING} AND attempts > 0 ORDER BY id LIMIT 1"
    )
    return {
        "queued": db.value(f"SELECT count(*) FROM outbox WHERE {WAITING}"),
        "last_upload": db.value("SELECT max(acked_at) FROM outbox WHERE status = 'acked'") or "",
        "failing": failing[0] if failing else None,
    }
