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

The rows are read and written through the report store (collector/dashboard/store.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from collector.dashboard.store import AccessLogWriter
from collector.keys import verify as verify_signature
from collector.service import Collector
from companion.signing import obj_hash

GENESIS = "0" * 64  # prev_hash of the first row (prev_hash is unique, so it cannot be empty twice)
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
    """Write one entry (sealing the day before when this is a new day's first); return its seq."""
    at = collector.now().replace(microsecond=0)  # both backends keep whole seconds identically
    collector.audit_signer  # noqa: B018  loaded (maybe created) before the transaction, not inside it
    with collector.storage.reports.access_log_writer() as log:
        last = log.last_entry()
        if last is not None and last.at.date() < at.date():
            _seal(log, collector, last.at.date(), last.seq, last.hash)
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        log.add_entry(
            {
                "seq": seq,
                "at": at,
                "username": username,
                "role": role,
                "action": action,
                "target": target,
                "prev_hash": prev,
                "hash": row_hash(seq, at, username, role, action, target, prev),
            }
        )
    return seq


def entries(collector: Collector, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    return collector.storage.reports.access_entries(limit, offset)


@dataclass(frozen=True)
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
    while True:
        rows = collector.storage.reports.access_entries_from(expected_seq, page)
        for r in rows:
            if r["seq"] != expected_seq:
                return Verification(False, checked, prev, expected_seq, "missing")
            if r["prev_hash"] != prev:
                return Verification(False, checked, prev, r["seq"], "prev_hash")
            fields = (r["seq"], r["at"], r["username"], r["role"], r["action"], r["target"], r["prev_hash"])
            if row_hash(*fields) != r["hash"]:
                return Verification(False, checked, prev, r["seq"], "hash")
            prev, expected_seq, checked = r["hash"], expected_seq + 1, checked + 1
        if len(rows) < page:
            return Verification(True, checked, prev)


def has_entry(collector: Collector, digest: str) -> bool:
    """True when an entry with this hash exists (a head noted earlier must still be in the chain)."""
    return collector.storage.reports.access_hash_exists(digest)


# -- signed day heads --------------------------------------------------------------------------------


def statement(collector_id: str, day: str, seq: int, digest: str) -> dict[str, Any]:
    """What the audit key signs for one day: this collector's log held entry `seq` with hash
    `digest` as its last entry of `day` (UTC)."""
    return {"type": HEAD_TYPE, "collector": collector_id, "day": day, "seq": seq, "hash": digest}


def _seal(log: AccessLogWriter, collector: Collector, day: date, seq: int, digest: str) -> None:
    if log.has_head(day.isoformat()):
        return
    signer = collector.audit_signer
    log.add_head(
        {
            "day": day.isoformat(),
            "seq": seq,
            "hash": digest,
            "signature": signer.sign(statement(collector.collector_id, day.isoformat(), seq, digest)),
            "public_key": signer.public_key_b64,
            "signed_at": collector.now().replace(microsecond=0),
        }
    )


def seal_complete_days(collector: Collector) -> int:
    """Sign the head of every finished day (before today, UTC) that has entries and no signed
    head yet (the days after the newest signed one). Returns how many heads were signed."""
    today = collector.now().date()
    sealed = 0
    collector.audit_signer  # noqa: B018  (see append)
    with collector.storage.reports.access_log_writer() as log:
        newest, first = log.newest_head_day(), log.first_entry_at()
        if first is None:
            return 0
        day = date.fromisoformat(newest) + timedelta(days=1) if newest else first.date()
        while day < today:
            start = datetime.combine(day, datetime.min.time())
            last = log.last_entry(before=start + timedelta(days=1))
            if last is not None and last.at >= start:  # the day had entries
                _seal(log, collector, day, last.seq, last.hash)
                sealed += 1
            day += timedelta(days=1)
    return sealed


def signed_heads(collector: Collector) -> list[dict[str, Any]]:
    """Every signed day head as the document an auditor keeps (oldest first)."""
    return [
        {
            **statement(collector.collector_id, r["day"], r["seq"], r["hash"]),
            "signature": r["signature"],
            "public_key": r["public_key"],
        }
        for r in collector.storage.reports.access_heads()
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
        # Signed by the audit key, so the statement is ours: seq is the integer signed that day.
        found = collector.storage.reports.access_entry_hash(fields["seq"])
        if found is None:
            problems.append(HeadProblem(day, "missing", f"entry {fields['seq']} is gone from the chain"))
        elif found != fields["hash"]:
            problems.append(
                HeadProblem(day, "rewritten", f"entry {fields['seq']} differs from the one signed that day")
            )
    return problems
