"""The periodic summary (docs/protocol.md "Summary"): counts, pre-send outcomes and masked events of
what happened since the last summary, signed and chained by sequence number and prev_hash.

What a summary covers is tracked by row-id cursors (messages, presend, appeals, scan_errors), not by
timestamps: rows are only ever appended, so "id > cursor" never misses a row written in the same
second as the previous summary and never counts one twice. The cursors, the sequence number and the
chain hash advance in the same transaction that puts the signed summary in the outbox.

Nothing leaves as written by the user except snippets: at most 120 characters around a match in a
body or attachment text, masked with companion.pii. Subjects, addresses, attachment names and bodies
never appear; the counterpart is reduced to its domain and the message to a hash of its key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from companion import __version__
from companion.clock import now_iso
from companion.config import Paths
from companion.device import device_private_key, load_device, require_device
from companion.pii import mask_text
from companion.presend import CHOICES
from companion.signing import canonical, obj_hash, sign

if TYPE_CHECKING:
    from companion.database import Database

SCHEMA = 1
SNIPPET_MAX = 120
MAX_EVENTS = 1000  # keeps a summary well under the collector's 1 MiB; the rest goes in the next one
_MASK_MARGIN = 300  # text masked around a snippet, so PII cut by the snippet's edge is still recognised
_TEXT_FIELDS = ("body", "attachment:")  # snippets come from these; subjects and file names never


@dataclass(frozen=True)
class Cursors:
    """Highest row ids a summary covers (inclusive)."""

    message: int
    presend: int
    appeal: int
    error: int


@dataclass(frozen=True)
class QueuedSummary:
    outbox_id: int
    seq: int
    hash: str
    events: int
    more: bool  # MAX_EVENTS was reached: call again for the rest


def build_next_summary(
    db: Database,
    paths: Paths,
    now: datetime | None = None,
    *,
    stores: tuple[int, int] | None = None,
    max_events: int = MAX_EVENTS,
) -> dict[str, Any]:
    """The payload the next queue_summary would sign, built from the same data (for `mailwarden
    summary`). Before enrolment device_id is ""; `stores` is (stores, unreadable) when known."""
    payload, _, _ = _build(db, paths, now_iso(now), _policy_version(paths), stores, max_events)
    return payload


def queue_summary(
    db: Database,
    paths: Paths,
    now: datetime | None = None,
    *,
    stores: tuple[int, int] | None = None,
    max_events: int = MAX_EVENTS,
) -> QueuedSummary:
    """Sign the next summary and put it in the outbox, advancing the chain in the same transaction."""
    device = require_device(db)
    key = device_private_key(paths, device)
    policy_version = _policy_version(paths)
    conn = db.conn
    # IMMEDIATE: take the write lock before reading the chain state, so two processes queueing at
    # once cannot both build seq N.
    conn.execute("BEGIN IMMEDIATE")
    try:
        payload, cursors, more = _build(db, paths, now_iso(now), policy_version, stores, max_events)
        envelope = {"device_id": device.device_id, "payload": payload, "signature": sign(key, payload)}
        digest = obj_hash(payload)
        cur = conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, status, attempts, next_attempt_at, acked_at, last_error)"
            " VALUES ('summary', ?, ?, 'queued', 0, '', NULL, '')",
            (canonical(envelope).decode("utf-8"), payload["created_at"]),
        )
        conn.execute(
            "UPDATE sync_state SET summary_seq = ?, summary_hash = ?, summary_period_end = ?, cursor_message = ?,"
            " cursor_presend = ?, cursor_appeal = ?, cursor_error = ? WHERE id = 1",
            (
                payload["seq"],
                digest,
                payload["period"]["end"],
                cursors.message,
                cursors.presend,
                cursors.appeal,
                cursors.error,
            ),
        )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return QueuedSummary(cur.lastrowid, payload["seq"], digest, len(payload["events"]), more)


def _policy_version(paths: Paths) -> str:
    from companion.policy import load_policy

    try:
        return load_policy(paths.policy if paths.policy.is_file() else None).version
    except Exception:  # an unreadable policy must not stop reporting; the collector sees ""
        return ""


def _one(db: Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return db.conn.execute(sql, params).fetchone()[0]


def _build(
    db: Database, paths: Paths, now: str, policy_version: str, stores: tuple[int, int] | None, max_events: int
) -> tuple[dict[str, Any], Cursors, bool]:
    state = next(db.db.query("SELECT * FROM sync_state WHERE id = 1"))
    device = load_device(db)
    # Upper bounds first: rows written while we read belong to the next summary.
    top = Cursors(
        _one(db, "SELECT coalesce(max(rowid), 0) FROM messages"),
        _one(db, "SELECT coalesce(max(id), 0) FROM presend"),
        _one(db, "SELECT coalesce(max(id), 0) FROM appeals"),
        _one(db, "SELECT coalesce(max(id), 0) FROM scan_errors"),
    )
    scan_events, counts, message_top, more = _scan_events(
        db, state["cursor_message"], top.message, max_events
    )
    if more:  # the scan events filled this summary: pre-send decisions wait for the next one
        presend_events, outcomes, presend_top, more_presend = (
            [],
            dict.fromkeys(CHOICES, 0),
            state["cursor_presend"],
            True,
        )
    else:
        presend_events, outcomes, presend_top, more_presend = _presend_events(
            db, state["cursor_presend"], top.presend, max_events - len(scan_events)
        )
    cursors = Cursors(message_top, presend_top, top.appeal, top.error)
    stores_count, unreadable = stores or (0, 0)
    start = state["summary_period_end"] or (device.enrolled_at if device else "") or now
    payload = {
        "type": "summary",
        "schema": SCHEMA,
        "device_id": device.device_id if device else "",
        "seq": state["summary_seq"] + 1,
        "prev_hash": state["summary_hash"],
        "period": {"start": start, "end": now},
        "created_at": now,
        "agent_version": __version__,
        "policy_version": policy_version,
        "counts": counts,
        "presend": outcomes,
        "appeals_filed": _one(
            db, "SELECT count(*) FROM appeals WHERE id > ? AND id <= ?", (state["cursor_appeal"], top.appeal)
        ),
        "health": {
            "stores": stores_count,
            "stores_unreadable": unreadable,
            "scan_errors": _one(
                db,
                "SELECT count(*) FROM scan_errors WHERE id > ? AND id <= ?",
                (state["cursor_error"], top.error),
            ),
            "messages_scanned": _one(
                db,
                "SELECT count(*) FROM messages WHERE rowid > ? AND rowid <= ?",
                (state["cursor_message"], message_top),
            ),
        },
        "events": scan_events + presend_events,
    }
    return payload, cursors, more or more_presend


def _scan_events(db: Database, after: int, top: int, budget: int) -> tuple[list[dict], dict, int, bool]:
    """Events and counts of findings in messages (after, top]; stops at a message boundary when the
    event budget runs out. Returns (events, counts, the last message row covered, cut short?)."""
    rows = db.db.query(
        "SELECT m.rowid AS mrow, m.key, m.direction, m.counterpart, m.date, m.scanned_at, f.rule, f.tier,"
        " f.category, f.field, f.start, f.[end], f.text, f.quoted, ff.text AS field_text"
        " FROM messages m JOIN findings f ON f.message_key = m.key"
        " LEFT JOIN flagged_fields ff ON ff.message_key = m.key AND ff.field = f.field"
        " WHERE m.rowid > ? AND m.rowid <= ? ORDER BY m.rowid, f.id",
        [after, top],
    )
    events: list[dict[str, Any]] = []
    by = {k: Counter() for k in ("rule", "tier", "category", "direction")}
    group: list[dict[str, Any]] = []
    covered, cut = top, False

    def flush() -> bool:
        if events and len(events) + len(group) > budget:
            return False
        for r in group:
            events.append(_event(r, "scan", r["date"] or r["scanned_at"], r["direction"], r["key"]))
            if not r["quoted"]:  # quoted text was counted when the mail it came from was scanned
                for k in ("rule", "tier", "category", "direction"):
                    by[k][r[k]] += 1
        return True

    for row in rows:
        if group and row["mrow"] != group[0]["mrow"]:
            if not flush():
                covered, cut = group[0]["mrow"] - 1, True
                break
            group = []
        group.append(row)
    else:
        if group and not flush():
            covered, cut = group[0]["mrow"] - 1, True
    counts = {f"by_{k}": dict(sorted(v.items())) for k, v in by.items()}
    counts["by_direction"] = {"sent": by["direction"]["sent"], "received": by["direction"]["received"]}
    return events, counts, covered, cut


def _presend_events(db: Database, after: int, top: int, budget: int) -> tuple[list[dict], dict, int, bool]:
    outcomes = dict.fromkeys(CHOICES, 0)
    events: list[dict[str, Any]] = []
    covered = after
    for row in db.db.query("SELECT * FROM presend WHERE id > ? AND id <= ? ORDER BY id", [after, top]):
        findings = json.loads(row["findings"] or "[]")
        if events and len(events) + len(findings) > budget:
            return events, outcomes, covered, True
        if row["choice"] in outcomes:
            outcomes[row["choice"]] += 1
        # No message key before sending: the body hash stands in for it (a hash of a hash).
        ref = "presend:" + (row["body_hash"] or str(row["id"]))
        for f in findings:
            events.append(
                _event(
                    {**f, "counterpart": row["counterpart"], "field_text": None},
                    "presend",
                    row["at"],
                    "sent",
                    ref,
                )
            )
        covered = row["id"]
    return events, outcomes, top, False


def _event(f: dict[str, Any], source: str, at: str, direction: str, key: str) -> dict[str, Any]:
    counterpart = f.get("counterpart") or ""
    return {
        "rule": f["rule"],
        "tier": f["tier"],
        "category": f["category"],
        "at": at,
        "direction": direction,
        "source": source,
        "counterpart_domain": counterpart.rpartition("@")[2].lower() if "@" in counterpart else "",
        "snippet": snippet(f.get("field_text"), f["field"], f["start"], f["end"], f.get("text") or ""),
        "quoted": bool(f.get("quoted")),
        "message_hash": hashlib.sha256(key.encode("utf-8")).hexdigest(),
    }


def snippet(field_text: str | None, field: str, start: int, end: int, match: str) -> str:
    """At most SNIPPET_MAX characters: the match in »«, with context when the field is a text (body,
    attachment), all of it PII-masked. Subjects and file names give the match alone."""
    if not field_text or not field.startswith(_TEXT_FIELDS) or not 0 <= start <= end <= len(field_text):
        masked = mask_text(match)
        return _one_line(
            "»" + masked[: SNIPPET_MAX - 3] + ("…" if len(masked) > SNIPPET_MAX - 2 else "") + "«"
        )
    lo, hi = max(0, start - _MASK_MARGIN), min(len(field_text), end + _MASK_MARGIN)
    text = mask_text(field_text[lo:hi])  # length-preserving, so offsets shift by lo only
    start, end = start - lo, end - lo
    inner = text[start:end][: SNIPPET_MAX - 4]
    side = max(0, (SNIPPET_MAX - 4 - len(inner)) // 2)  # 4: the two marks and two ellipses
    before, after = text[max(0, start - side) : start], text[end : end + side]
    head = "…" if start - side > 0 else ""
    tail = "…" if end + side < len(text) else ""
    return _one_line(f"{head}{before}»{inner}«{after}{tail}")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
