"""The access log: who saw which flag events, snippets or reports, and when.

Append-only and hash-chained: row n stores hash(row n-1) and its own hash over its fields and
that previous hash, so changing, inserting or deleting a row in the middle breaks the chain at
that row.

The chain has no key, so someone who can write the database could rewrite it whole. Hence each
day's head (its last entry) is signed with the collector's audit key (collector/keys.py) when
the next day's first entry is written, or by `mailwarden-collector seal-access-log`, and kept in
`access_log_heads`; the auditor downloads the signed heads (dashboard, or the files that command
writes) and keeps them elsewhere. A rewritten chain no longer holds a head the auditor kept, and
the rewriter cannot make a new one without the audit key (`verify_heads`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from collector.dashboard.tables import access_log, access_log_heads
from collector.keys import verify as verify_signature
from collector.service import Collector
from companion.signing import obj_hash

GENESIS = "0" * 64  # prev_hash of the first row (prev_hash is unique, so it cannot be empty twice)
_PG_LOCK_ID = 847100  # pg_advisory_xact_lock key: one appender at a time keeps the chain linear
HEAD_TYPE = "mailwarden-access-log-head"  # what the audit key signs, and nothing else


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
    collector.audit_signer  # noqa: B018  loaded (maybe created) before the transaction, not inside it
    with collector.storage.transaction() as tx:
        conn = tx.conn
        _lock(conn)
        last = conn.execute(
            sa.select(access_log.c.seq, access_log.c.hash, access_log.c.at)
            .order_by(access_log.c.seq.desc())
            .limit(1)
        ).first()
        if last is not None and last.at.date() < at.date():  # the first entry of a new day
            _seal(conn, collector, last.at.date(), last.seq, last.hash)
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


# -- signed day heads --------------------------------------------------------------------------------


def _lock(conn: sa.Connection) -> None:
    # SQLite's BEGIN IMMEDIATE makes every writer the only one already.
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})


def statement(collector_id: str, day: str, seq: int, digest: str) -> dict[str, Any]:
    """What the audit key signs for one day: this collector's log held entry `seq` with hash
    `digest` as its last entry of `day` (UTC)."""
    return {"type": HEAD_TYPE, "collector": collector_id, "day": day, "seq": seq, "hash": digest}


def _seal(conn: sa.Connection, collector: Collector, day: date, seq: int, digest: str) -> None:
    if conn.execute(
        sa.select(access_log_heads.c.day).where(access_log_heads.c.day == day.isoformat())
    ).first():
        return
    signer = collector.audit_signer
    conn.execute(
        sa.insert(access_log_heads).values(
            day=day.isoformat(),
            seq=seq,
            hash=digest,
            signature=signer.sign(statement(collector.collector_id, day.isoformat(), seq, digest)),
            public_key=signer.public_key_b64,
            signed_at=collector.now().replace(microsecond=0),
        )
    )


def seal_complete_days(collector: Collector) -> int:
    """Sign the head of every finished day (before today, UTC) that has entries and no signed
    head yet (days whose next entry came later than the day after, or before any next entry).
    Returns how many heads were signed."""
    today = collector.now().date()
    sealed = 0
    collector.audit_signer  # noqa: B018  (see append)
    with collector.storage.transaction() as tx:
        conn = tx.conn
        _lock(conn)
        newest = conn.execute(sa.select(sa.func.max(access_log_heads.c.day))).scalar()
        first = conn.execute(sa.select(sa.func.min(access_log.c.at))).scalar()
        if first is None:
            return 0
        day = date.fromisoformat(newest) + timedelta(days=1) if newest else first.date()
        while day < today:
            start = datetime.combine(day, datetime.min.time())
            last = conn.execute(
                sa.select(access_log.c.seq, access_log.c.hash, access_log.c.at)
                .where(access_log.c.at < start + timedelta(days=1))
                .order_by(access_log.c.seq.desc())
                .limit(1)
            ).first()
            if last is not None and last.at >= start:  # the day had entries
                _seal(conn, collector, day, last.seq, last.hash)
                sealed += 1
            day += timedelta(days=1)
    return sealed


def signed_heads(collector: Collector) -> list[dict[str, Any]]:
    """Every signed day head as the document an auditor keeps (oldest first)."""
    with collector.storage.read() as tx:
        rows = tx.conn.execute(sa.select(access_log_heads).order_by(access_log_heads.c.day)).all()
    return [
        {
            **statement(collector.collector_id, r.day, r.seq, r.hash),
            "signature": r.signature,
            "public_key": r.public_key,
        }
        for r in rows
    ]


def head_file_name(day: str) -> str:
    return f"access-log-head-{day}.json"


def export_heads(collector: Collector, directory: Path) -> list[Path]:
    """Write each signed head not yet in `directory` as its own file (never overwriting one)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for head in signed_heads(collector):
        path = directory / head_file_name(head["day"])
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue  # kept already: what the auditor holds is not ours to change
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(head, f, indent=2, sort_keys=True)
            f.write("\n")
        written.append(path)
    return written


def read_head_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Head documents from files or folders of them (a file may also hold a list of heads, as the
    dashboard's "all heads" download does)."""
    heads: list[dict[str, Any]] = []
    for path in paths:
        files = sorted(path.glob("access-log-head*.json")) if path.is_dir() else [path]
        for file in files:
            data = json.loads(file.read_text(encoding="utf-8"))
            heads.extend(data if isinstance(data, list) else [data])
    return heads


@dataclass(frozen=True)
class HeadProblem:
    day: str
    reason: str  # "bad_signature", "other_collector", "rewritten", "missing"
    detail: str


def verify_heads(
    collector: Collector, heads: Iterable[dict[str, Any]], public_key: str | None = None
) -> list[HeadProblem]:
    """Check signed heads against the chain as it is now: each must be signed by the audit key
    (`public_key`, the one the auditor pinned; else the collector's current key), name this
    collector, and still be in the chain (same seq, same hash)."""
    key = public_key or collector.audit_signer.public_key_b64
    problems = []
    with collector.storage.read() as tx:
        for head in heads:
            day = str(head.get("day", "?"))
            fields = {k: head.get(k) for k in ("collector", "day", "seq", "hash")}
            signed = statement(fields["collector"], fields["day"], fields["seq"], fields["hash"])
            if not verify_signature(key, signed, str(head.get("signature", ""))):
                problems.append(HeadProblem(day, "bad_signature", "not signed by the audit key"))
                continue
            if fields["collector"] != collector.collector_id:
                problems.append(HeadProblem(day, "other_collector", f"signed for {fields['collector']}"))
                continue
            found = tx.conn.execute(
                sa.select(access_log.c.hash).where(access_log.c.seq == fields["seq"])
            ).scalar()
            if found is None:
                problems.append(HeadProblem(day, "missing", f"entry {fields['seq']} is gone from the chain"))
            elif found != fields["hash"]:
                problems.append(
                    HeadProblem(
                        day, "rewritten", f"entry {fields['seq']} differs from the one signed that day"
                    )
                )
    return problems
