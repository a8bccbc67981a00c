"""The access log: who saw which flag events, snippets or reports, and when.

Append-only and hash-chained: row n stores hash(row n-1) and its own hash over its fields and
that previous hash, so changing, inserting or deleting a row in the middle breaks the chain at
that row. (Removing rows at the end is only visible against an exported head hash.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from collector.dashboard.tables import access_log
from collector.service import Collector
from companion.signing import obj_hash

GENESIS = "0" * 64  # prev_hash of the first row (prev_hash is unique, so it cannot be empty twice)
_PG_LOCK_ID = 847100  # pg_advisory_xact_lock key: one appender at a time keeps the chain linear


def row_hash(
    seq: int, at: datetime, username: str, role: str, action: str, target: str, prev_hash: str
) -> str:
    fields = {
        "seq": seq,
        "at": at.isoformat(),
        "username": username,
        "role": role,
        "action": action,
        "target": target,
        "prev_hash": prev_hash,
    }
    return obj_hash(fields)  # the protocol's canonical JSON, hashed (companion.signing)


def append(collector: Collector, username: str, role: str, action: str, target: str = "") -> int:
    """Write one entry; return its seq."""
    at = collector.now().replace(microsecond=0)  # both backends keep whole seconds identically
    with collector.storage.transaction() as tx:
        conn = tx.conn
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
        last = conn.execute(
            sa.select(access_log.c.seq, access_log.c.hash).order_by(access_log.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        digest = row_hash(seq, at, username, role, action, target, prev)
        conn.execute(
            sa.insert(access_log).values(
                seq=seq,
                at=at,
                username=username,
                role=role,
                action=action,
                target=target,
                prev_hash=prev,
                hash=digest,
            )
        )
    return seq


def entries(collector: Collector, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    with collector.storage.read() as tx:
        rows = tx.conn.execute(
            sa.select(access_log).order_by(access_log.c.seq.desc()).limit(limit).offset(offset)
        )
        return [dict(r._mapping) for r in rows]


@dataclass
class Verification:
    ok: bool
    checked: int
    head: str  # hash of the last row: write it down to detect later truncation
    broken_at: int | None = None  # seq of the first bad row
    reason: str = ""


def verify(collector: Collector) -> Verification:
    """Walk the whole chain in seq order (in pages, so a long log does not fill memory)."""
    expected_seq, prev, checked = 1, GENESIS, 0
    page = 1000
    with collector.storage.read() as tx:
        while True:
            rows = tx.conn.execute(
                sa.select(access_log)
                .where(access_log.c.seq >= expected_seq)
                .order_by(access_log.c.seq)
                .limit(page)
            ).all()
            for r in rows:
                if r.seq != expected_seq:
                    return Verification(False, checked, prev, expected_seq, "missing")
                if r.prev_hash != prev:
                    return Verification(False, checked, prev, r.seq, "prev_hash")
                if row_hash(r.seq, r.at, r.username, r.role, r.action, r.target, r.prev_hash) != r.hash:
                    return Verification(False, checked, prev, r.seq, "hash")
                prev, expected_seq, checked = r.hash, expected_seq + 1, checked + 1
            if len(rows) < page:
                return Verification(True, checked, prev)


def has_entry(collector: Collector, digest: str) -> bool:
    """True when an entry with this hash exists (a head noted earlier must still be in the chain)."""
    with collector.storage.read() as tx:
        return (
            tx.conn.execute(sa.select(access_log.c.seq).where(access_log.c.hash == digest)).first()
            is not None
        )
