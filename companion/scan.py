"""Scanning: read stores, judge every message with the engine, record it once in the database."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.i18n import Msg, msg
from companion.message import Message
from companion.policy.engine import PolicyEngine
from companion.records import Database, scans
from companion.stores import open_store
from companion.stores.base import Item

log = logging.getLogger(__name__)

BATCH = 200  # messages per transaction: each message is whole or absent, whatever the batch size


@dataclass
class ScanTotals:
    messages: int = 0  # new messages read
    skipped: int = 0  # already seen
    flagged: int = 0
    errors: int = 0
    by_rule: Counter = field(default_factory=Counter)
    error_list: list[tuple[str, str | Msg]] = field(default_factory=list)  # say() them to a reader

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "skipped": self.skipped,
            "flagged": self.flagged,
            "errors": self.errors,
            "by_rule": dict(sorted(self.by_rule.items())),
        }


def _with_direction(message: Message, identities: frozenset[str]) -> Message:
    if message.direction != "sent" and message.sender and message.sender.address.lower() in identities:
        return dataclasses.replace(message, direction="sent")
    return message


def scan_paths(
    db: Database,
    engine: PolicyEngine,
    paths: list[Path],
    identities: frozenset[str] = frozenset(),
    role: str | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> ScanTotals:
    """Scan `paths` (any path an adapter claims); `stop()` is asked between messages so the agent
    can shut down promptly. Everything committed is consistent whenever the process dies."""
    totals = ScanTotals()
    conn = db.conn
    pending = 0
    try:
        for path in paths:
            store = open_store(path)
            if store is None:
                reason = msg("error.os.not_found") if not path.exists() else msg("error.not_a_store")
                _record_error(db, totals, str(path), reason)
                continue
            for item in store.items(db):
                if stop():
                    break
                _record_item(db, engine, item, identities, role, totals)
                pending += 1
                if pending >= BATCH:
                    conn.commit()
                    pending = 0
            if stop():
                break
        conn.commit()
    except BaseException:
        conn.rollback()  # the open batch is lost whole; what was committed stays consistent
        raise
    return totals


def _record_item(
    db: Database,
    engine: PolicyEngine,
    item: Item,
    identities: frozenset[str],
    role: str | None,
    totals: ScanTotals,
) -> None:
    totals.skipped += item.skipped
    if item.message is not None:
        message = _with_direction(item.message, identities)
        if scans.has_message(db, message.key):
            totals.skipped += 1
        else:
            verdict = engine.check(message, role=role)
            scans.add_message(db, message, verdict)
            totals.messages += 1
            if verdict.findings:
                totals.flagged += 1
                totals.by_rule.update({f.rule for f in verdict.findings})
    if item.error is not None:
        _record_error(db, totals, item.source, item.error)
    if item.item_id is not None:
        db.mark_item(*item.item_id)
    if item.checkpoint is not None:
        db.save_checkpoint(*item.checkpoint)


def _record_error(db: Database, totals: ScanTotals, source: str, error: str | Msg) -> None:
    totals.errors += 1
    totals.error_list.append((source, error))
    scans.add_error(db, source, str(error))  # English, as the log
    log.warning("%s: %s", source, error)
