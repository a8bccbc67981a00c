"""Delivery of the outbox (signed summaries and appeals) to the collector.

All state is in SQLite and every status change is its own transaction, so the process may be killed
at any instant: an item sent but not yet marked is sent again, and the collector answers
"duplicate" (same payload, same seq / appeal id), which marks it delivered.

Statuses: queued -> acked (200 accepted/duplicate), queued -> failed (409 sequence_conflict, or an
answer a retry cannot change); network errors, 5xx, 429 and device-level 401/403 keep it queued
with exponential backoff. Summaries go strictly in sequence order: while the oldest waits for its
retry time, later ones wait too, so the collector never sees a false gap.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from companion.clock import now_iso
from companion.collector_client import TIMEOUT, error_of, new_session
from companion.config import Paths
from companion.device import device_private_key, require_device
from companion.pii import mask_text
from companion.records import appeals, outbox
from companion.signing import message_hash, signed_envelope

if TYPE_CHECKING:
    import requests

    from companion.records import Database

log = logging.getLogger(__name__)

SCHEMA = 1
BACKOFF_BASE = 30.0  # seconds
BACKOFF_MAX = 6 * 3600.0
ROUTES = {"summary": "/summaries", "appeal": "/appeals"}
_RETRY_CODES = {401, 403, 408, 429}  # the device may be re-admitted / the server may calm down


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Delay before retry number `attempts` (1 = first retry): doubling, capped, jittered by ±50 %
    so a fleet that lost its collector does not come back all at the same second."""
    base = min(2**attempts * BACKOFF_BASE, BACKOFF_MAX)
    return base * (rng or random).uniform(0.5, 1.5)


def queue_appeals(db: Database, paths: Paths) -> int:
    """Turn pending appeals into signed envelopes in the outbox (appeal status -> "queued")."""
    device = require_device(db)
    rows = appeals.pending(db)
    if not rows:
        return 0
    key = device_private_key(paths, device)
    for row in rows:
        payload = {
            "type": "appeal",
            "schema": SCHEMA,
            "device_id": device.device_id,
            "appeal_id": row["id"],
            "message_hash": message_hash(row["message_key"]),
            "rule": row["rule"] or "",
            "reason": mask_text(row["reason"] or ""),
            "comment": mask_text(row["comment"] or ""),
            "filed_at": row["created_at"] or "",
        }
        with db.transaction():  # the envelope and the status change together: never queued twice
            if appeals.mark_queued(db, row["id"]):
                outbox.queue(db, "appeal", signed_envelope(device.device_id, key, payload), now_iso())
    return len(rows)


def upload_pending(
    db: Database,
    paths: Paths,
    *,
    now: datetime | None = None,
    session: requests.Session | None = None,
    rng: random.Random | None = None,
    limit: int | None = None,
) -> dict[str, int]:
    """Send what is due, oldest first. Returns counts: accepted, duplicate, failed, retry (kept for
    later), waiting (not due yet), appeals_queued."""
    import requests

    device = require_device(db)
    counts = dict.fromkeys(("accepted", "duplicate", "failed", "retry", "waiting", "appeals_queued"), 0)
    counts["appeals_queued"] = queue_appeals(db, paths)
    now = now or datetime.now(UTC)
    due = now_iso(now)
    session = session or new_session()
    summaries_held = False
    rows = outbox.queued(db)
    for n, row in enumerate(rows):
        if limit is not None and n >= limit:
            break
        if row["kind"] not in ROUTES:
            outbox.fail(db, row["id"], f"unknown kind {row['kind']!r}")
            counts["failed"] += 1
            continue
        if (row["kind"] == "summary" and summaries_held) or (row["next_attempt_at"] or "") > due:
            summaries_held |= row["kind"] == "summary"
            counts["waiting"] += 1
            continue
        try:
            response = session.post(
                device.url(ROUTES[row["kind"]]),
                data=row["payload"].encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            _retry(db, row, now, f"network: {type(exc).__name__}", rng)
            counts["retry"] += 1
            break  # the collector is unreachable: the rest would fail the same way
        status = response.status_code
        if status == 200:
            answer = _json(response)
            outcome = "duplicate" if answer.get("status") == "duplicate" else "accepted"
            _acknowledge(db, row, now, outcome, answer)
            counts[outcome] += 1
        elif status >= 500 or status in _RETRY_CODES:
            code, message = error_of(response)
            _retry(db, row, now, f"{status} {code}: {message}".rstrip(": "), rng)
            counts["retry"] += 1
            break
        else:  # 409 sequence_conflict, 400, 413...: sending the same bytes again cannot help
            code, message = error_of(response)
            log.error("the collector refused outbox item %s (%s %s): %s", row["id"], status, code, message)
            outbox.fail(db, row["id"], f"{status} {code}: {message}".rstrip(": "))
            counts["failed"] += 1
    return counts


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def _acknowledge(
    db: Database, row: dict[str, Any], now: datetime, outcome: str, answer: dict[str, Any]
) -> None:
    with db.transaction():
        outbox.acknowledge(db, row["id"], now_iso(now), duplicate=outcome == "duplicate")
        if row["kind"] == "appeal":
            appeals.mark_sent(db, json.loads(row["payload"])["payload"]["appeal_id"], now_iso(now))
    if answer.get("gap"):
        log.warning("the collector recorded a gap before summary %s: %s", answer.get("seq"), answer["gap"])


def _retry(db: Database, row: dict[str, Any], now: datetime, error: str, rng: random.Random | None) -> None:
    attempts = (row["attempts"] or 0) + 1
    when = now + timedelta(seconds=backoff_seconds(attempts, rng))
    log.warning(
        "outbox item %s not delivered (%s); retry %d at %s", row["id"], error, attempts, now_iso(when)
    )
    outbox.retry_later(db, row["id"], attempts, now_iso(when), error)
