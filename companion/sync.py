"""One round of talking to the collector, shared by `mailwarden upload` and the agent's schedule.

A round: sign the summaries that are due into the outbox, send what waits (each item at its own
retry time, see companion.outbox), then pull the signed policy and the appeal decisions. Every step
is its own transaction, so a round cut short by a crash or a dead network is simply finished by
the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from companion.config import Paths
from companion.errors import MailwardenError

if TYPE_CHECKING:
    from companion.records import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncPlan:
    """What a round does: `summary` queues summaries, `pull` fetches policy and decisions."""

    summary: bool = True
    pull: bool = True


def summary_due(db: Database, now: datetime, interval: timedelta) -> bool:
    """True when the last summary's period ended at least `interval` ago (or there was none). The
    period end is kept in the database, so a restarted agent does not sign an extra summary."""
    from companion.records import state

    last = state.last_period_end(db)
    if not last:
        return True
    try:
        ended = datetime.fromisoformat(last)
    except ValueError:
        return True
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    return now - ended >= interval


def sync_round(
    db: Database,
    paths: Paths,
    plan: SyncPlan = SyncPlan(),
    *,
    stores: tuple[int, int] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run one round for an enrolled device (NotEnrolledError otherwise) and report what happened:
    {"summaries_queued", "upload": counts, "policy": ..., "decisions": ...}. Transport problems
    of the pulls are reported in the answer, never raised: the outbox keeps its own retry state.
    `now` decides which outbox items are due (their retry times)."""
    from companion.device import require_device
    from companion.outbox import upload_pending
    from companion.policy_update import pull_decisions, pull_policy
    from companion.summary import queue_summary

    require_device(db)
    report: dict[str, Any] = {"summaries_queued": 0}
    if plan.summary:
        while True:  # a long period is split into several summaries (MAX_EVENTS each)
            result = queue_summary(db, paths, stores=stores)
            report["summaries_queued"] += 1
            if not result.more:
                break
    report["upload"] = upload_pending(db, paths, now=now)
    if plan.pull:
        for name, pull in (("policy", pull_policy), ("decisions", pull_decisions)):
            try:
                report[name] = pull(db, paths)
            except MailwardenError as exc:
                report[name] = {"status": "error", "reason": exc.message}
    return report
