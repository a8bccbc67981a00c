"""Scanning: read stores, judge every message with the engine, record it once in the database."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.database import Database
from companion.message import Message
from companion.policy.engine import PolicyEngine
from companion.stores import open_store

log = logging.getLogger(__name__)

BATCH = 200  # messages per transaction: each message is whole or absent, whatever the batch size


@dataclass
class ScanTotals:
    messages: int = 0  # new messages read
    skipped: int = 0  # already seen
    flagged: int = 0
    errors: int = 0
    by_rule: Counter = field(default_factory=Counter)
    error_list: list[tuple[str, str]] = field(default_factory=list)

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
) -> ScanTotals:
    totals = ScanTotals()
    skipped_files: dict[str, int] = {}

    def skip_file(path: str, size: int, mtime_ns: int) -> bool:
        count = db.unchanged_file_messages(path, size, mtime_ns)
        if count is not None:
            skipped_files[path] = count
        return count is not None

    per_file: Counter = Counter()
    pending = 0
    conn = db.conn
    try:
        for path in paths:
            store = open_store(path)
            if store is None:
                totals.errors += 1
                reason = "no such file or folder" if not path.exists() else "not a mail file, mbox, maildir or folder"
                totals.error_list.append((str(path), reason))
                db.add_error(str(path), reason)
                continue
            for item in store.items(skip_file):
                if item.message is not None:
                    message = _with_direction(item.message, identities)
                    per_file[item.source.split("#", 1)[0]] += 1
                    if db.has_message(message.key):
                        totals.skipped += 1
                        continue
                    verdict = engine.check(message, role=role)
                    db.add_message(message, verdict)
                    totals.messages += 1
                    if verdict.findings:
                        totals.flagged += 1
                        totals.by_rule.update({f.rule for f in verdict.findings})
                elif item.error is not None:
                    totals.errors += 1
                    totals.error_list.append((item.source, item.error))
                    db.add_error(item.source, item.error)
                    log.warning("%s: %s", item.source, item.error)
                if item.file_stamp is not None:
                    path_str, size, mtime_ns = item.file_stamp
                    db.mark_file(path_str, size, mtime_ns, per_file.get(path_str, 0))
                pending += 1
                if pending >= BATCH:
                    conn.commit()
                    pending = 0
        conn.commit()
    except BaseException:
        conn.rollback()  # the open batch is lost whole; what was committed stays consistent
        raise
    totals.skipped += sum(skipped_files.values())
    return totals
