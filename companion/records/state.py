"""One-row state tables: the enrolment (device), the summary chain and its cursors (sync_state),
and what the tray asked the agent to remember (tray_state)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from companion.records.database import Database

DEVICE_KEYS = (
    "device_id",
    "collector_url",
    "collector_id",
    "department",
    "public_key",
    "policy_key",
    "key_store",
    "enrolled_at",
)


@dataclass(frozen=True)
class Cursors:
    """Highest row ids a summary covers (inclusive): messages (rowid), pre-send decisions, appeals,
    scan errors."""

    message: int
    presend: int
    appeal: int
    error: int


# -- the device --------------------------------------------------------------------------------------


def device(db: Database) -> dict[str, str] | None:
    rows = db.query("SELECT * FROM device WHERE id = 1")
    return {k: rows[0][k] or "" for k in DEVICE_KEYS} if rows else None


def save_device(db: Database, values: dict[str, str]) -> None:
    """Write the enrolment (call inside a transaction)."""
    keys = [k for k in DEVICE_KEYS if k in values]
    db.conn.execute(
        f"INSERT OR REPLACE INTO device (id, {', '.join(keys)}) VALUES (1, {', '.join('?' * len(keys))})",
        tuple(values[k] for k in keys),
    )


def restart_chain(db: Database) -> None:
    """A new identity starts a new summary chain, and the new collector numbers its decisions from
    the start (call inside the transaction that saves the device)."""
    db.conn.execute(
        "UPDATE sync_state SET summary_seq = 0, summary_hash = '', decisions_cursor = 0 WHERE id = 1"
    )


# -- the summary chain ---------------------------------------------------------------------------------


def sync_state(db: Database) -> dict[str, Any]:
    return db.query("SELECT * FROM sync_state WHERE id = 1")[0]


def cursors(state: dict[str, Any]) -> Cursors:
    return Cursors(
        state["cursor_message"], state["cursor_presend"], state["cursor_appeal"], state["cursor_error"]
    )


def advance_chain(db: Database, seq: int, digest: str, period_end: str, covered: Cursors) -> None:
    """The chain and cursors after queueing summary `seq` (call in the transaction that queues it)."""
    db.conn.execute(
        "UPDATE sync_state SET summary_seq = ?, summary_hash = ?, summary_period_end = ?, cursor_message = ?,"
        " cursor_presend = ?, cursor_appeal = ?, cursor_error = ? WHERE id = 1",
        (seq, digest, period_end, covered.message, covered.presend, covered.appeal, covered.error),
    )


def last_period_end(db: Database) -> str:
    return db.value("SELECT summary_period_end FROM sync_state WHERE id = 1") or ""


def policy_applied(db: Database, version: str, at: str) -> None:
    with db.transaction():
        db.conn.execute(
            "UPDATE sync_state SET policy_version = ?, policy_applied_at = ? WHERE id = 1", (version, at)
        )


def decisions_cursor(db: Database) -> int:
    return db.value("SELECT decisions_cursor FROM sync_state WHERE id = 1") or 0


def set_decisions_cursor(db: Database, cursor: int) -> None:
    db.conn.execute("UPDATE sync_state SET decisions_cursor = ? WHERE id = 1", (cursor,))


# -- the tray ------------------------------------------------------------------------------------------


def tray(db: Database) -> dict[str, Any]:
    rows = db.query("SELECT flags_seen, language FROM tray_state WHERE id = 1")
    return rows[0] if rows else {"flags_seen": 0, "language": ""}


def mark_flags_seen(db: Database, upto: int) -> None:
    """The marker never goes back."""
    with db.transaction():
        db.conn.execute("UPDATE tray_state SET flags_seen = max(flags_seen, ?) WHERE id = 1", (upto,))


def set_language(db: Database, language: str) -> None:
    with db.transaction():
        db.conn.execute("UPDATE tray_state SET language = ? WHERE id = 1", (language,))
