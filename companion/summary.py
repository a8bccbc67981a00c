"""The periodic summary (docs/protocol.md "Summary"): counts, pre-send outcomes and masked events of
what happened since the last summary, signed and chained by sequence number and prev_hash.

What a summary covers is tracked by row-id cursors (messages, presend, appeals, scan_errors), not by
timestamps: rows are only ever appended, so "id > cursor" never misses a row written in the same
second as the previous summary and never counts one twice. The cursors, the sequence number and the
chain hash advance in the same transaction that puts the signed summary in the outbox.

Nothing leaves as written by the user except snippets (companion.snippets): the matched phrase and a
few words of its clause, personal data replaced by placeholders; none for quoted text. Subjects,
addresses, attachment names and bodies never appear; the counterpart is reduced to its domain, the
message to a hash of its key, and an event's time to its hour.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from companion import __version__
from companion.clock import now_iso
from companion.config import Paths
from companion.device import device_private_key, load_device, require_device
from companion.message import Field
from companion.pii import People
from companion.policy.model import SnippetRules
from companion.presend import Choice
from companion.records import appeals, decisions, outbox, scans, state
from companion.records.state import Cursors
from companion.signing import message_hash, obj_hash, signed_envelope
from companion.snippets import snippet

if TYPE_CHECKING:
    from companion.records import Database

SCHEMA = 1
MAX_EVENTS = 1000  # keeps a summary well under the collector's 1 MiB; the rest goes in the next one


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
    # IMMEDIATE: take the write lock before reading the chain state, so two processes queueing at
    # once cannot both build seq N.
    with db.immediate():
        payload, cursors, more = _build(db, paths, now_iso(now), policy_version, stores, max_events)
        digest = obj_hash(payload)
        outbox_id = outbox.queue(
            db, "summary", signed_envelope(device.device_id, key, payload), payload["created_at"]
        )
        state.advance_chain(db, payload["seq"], digest, payload["period"]["end"], cursors)
    return QueuedSummary(outbox_id, payload["seq"], digest, len(payload["events"]), more)


def _policy_version(paths: Paths) -> str:
    from companion.policy import load_policy

    try:
        return load_policy(paths.policy if paths.policy.is_file() else None).version
    except Exception:  # an unreadable policy must not stop reporting; the collector sees ""
        return ""


def _build(
    db: Database, paths: Paths, now: str, policy_version: str, stores: tuple[int, int] | None, max_events: int
) -> tuple[dict[str, Any], Cursors, bool]:
    chain = state.sync_state(db)
    covered = state.cursors(chain)
    device = load_device(db)
    # Upper bounds first: rows written while we read belong to the next summary.
    top = Cursors(scans.last_seq(db), decisions.top(db), appeals.top(db), scans.errors_top(db))
    context = _EventContext(
        _snippet_rules(paths), _directory(db, covered.message, top.message, _own_names(db))
    )
    scan_events, counts, message_top, more = _scan_events(
        db, covered.message, top.message, max_events, context
    )
    if more:  # the scan events filled this summary: pre-send decisions wait for the next one
        presend_events, outcomes, presend_top, more_presend = [], _no_outcomes(), covered.presend, True
    else:
        presend_events, outcomes, presend_top, more_presend = _presend_events(
            db, covered.presend, top.presend, max_events - len(scan_events), context
        )
    cursors = Cursors(message_top, presend_top, top.appeal, top.error)
    stores_count, unreadable = stores or (0, 0)
    start = chain["summary_period_end"] or (device.enrolled_at if device else "") or now
    payload = {
        "type": "summary",
        "schema": SCHEMA,
        "device_id": device.device_id if device else "",
        "seq": chain["summary_seq"] + 1,
        "prev_hash": chain["summary_hash"],
        "period": {"start": start, "end": now},
        "created_at": now,
        "agent_version": __version__,
        "policy_version": policy_version,
        "counts": counts,
        "presend": outcomes,
        "appeals_filed": appeals.count_in_range(db, covered.appeal, top.appeal),
        "health": {
            "stores": stores_count,
            "stores_unreadable": unreadable,
            "scan_errors": scans.errors_in_range(db, covered.error, top.error),
            "messages_scanned": scans.count_in_range(db, covered.message, message_top),
        },
        "events": scan_events + presend_events,
    }
    return payload, cursors, more or more_presend


@dataclass(frozen=True)
class _EventContext:
    """What every event's snippet is built with: the policy's snippet rules and the directory of
    everyone this summary's mail is with (and the user's own names), masked in every snippet."""

    rules: SnippetRules
    directory: People

    def people(self, pairs_json: str | None) -> tuple[People, ...]:
        pairs = json.loads(pairs_json) if pairs_json else []
        return (People.of((a, n) for a, n in pairs), self.directory)


def _snippet_rules(paths: Paths) -> SnippetRules:
    from companion.policy import load_policy

    try:
        return load_policy(paths.policy if paths.policy.is_file() else None).snippets
    except Exception:  # an unreadable policy must not stop reporting: the default rules apply
        return SnippetRules()


def _directory(db: Database, after: int, top: int, own_names: tuple[str, ...]) -> People:
    """The senders and recipients of the messages (after, top], as one People."""
    pairs = [tuple(pair) for people in scans.people_in_range(db, after, top) for pair in people]
    return People.of(pairs, own_names)


def _own_names(db: Database) -> tuple[str, ...]:
    """The user's own display names: the senders' names of the mail they sent."""
    return tuple(
        sorted({people[0][1] for people in scans.people_of_sent_mail(db) if people and people[0][1]})
    )


def _scan_events(
    db: Database, after: int, top: int, budget: int, context: _EventContext
) -> tuple[list[dict], dict, int, bool]:
    """Events and counts of findings in messages (after, top]; stops at a message boundary when the
    event budget runs out. Returns (events, counts, the last message row covered, cut short?)."""
    rows = scans.findings_in_range(db, after, top)
    events: list[dict[str, Any]] = []
    by = {k: Counter() for k in ("rule", "tier", "category", "direction")}
    group: list[dict[str, Any]] = []
    covered, cut = top, False

    def flush() -> bool:
        if events and len(events) + len(group) > budget:
            return False
        for r in group:
            events.append(_event(r, "scan", r["date"] or r["scanned_at"], r["direction"], r["key"], context))
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


def _no_outcomes() -> dict[str, int]:
    return dict.fromkeys((c.value for c in Choice), 0)


def _presend_events(
    db: Database, after: int, top: int, budget: int, context: _EventContext
) -> tuple[list[dict], dict, int, bool]:
    outcomes = _no_outcomes()
    events: list[dict[str, Any]] = []
    covered = after
    for row in decisions.in_range(db, after, top):
        findings = row["findings"]
        if events and len(events) + len(findings) > budget:
            return events, outcomes, covered, True
        if row["choice"] in outcomes:
            outcomes[row["choice"]] += 1
        # No message key before sending: the body hash stands in for it (a hash of a hash).
        ref = "presend:" + (row["body_hash"] or str(row["id"]))
        for f in findings:
            event = _event(
                {**f, "counterpart": row["counterpart"], "field_text": None},
                "presend",
                row["at"],
                "sent",
                ref,
                context,
            )
            # What the sender did with this flag: the collector reports outcomes per rule.
            events.append({**event, "outcome": row["choice"]})
        covered = row["id"]
    return events, outcomes, top, False


def _event(
    f: dict[str, Any], source: str, at: str, direction: str, key: str, context: _EventContext
) -> dict[str, Any]:
    counterpart = f.get("counterpart") or ""
    quoted = bool(f.get("quoted"))
    return {
        "rule": f["rule"],
        "tier": f["tier"],
        "category": f["category"],
        "at": _hour(at),
        "direction": direction,
        "source": source,
        "counterpart_domain": counterpart.rpartition("@")[2].lower() if "@" in counterpart else "",
        # Quoted text is someone else's words, counted where it was written: the rule is enough.
        "snippet": ""
        if quoted
        else snippet(
            f.get("field_text"),
            str(Field.from_dict(f["field"])),
            f["start"],
            f["end"],
            f.get("text") or "",
            people=context.people(f.get("people")),
            rules=context.rules,
        ),
        "quoted": quoted,
        "message_hash": message_hash(key),
    }


def _hour(at: str) -> str:
    """`at` rounded down to its hour: when within the day a mail was written says more than needed."""
    try:
        return datetime.fromisoformat(at).replace(minute=0, second=0, microsecond=0).isoformat()
    except ValueError:
        return at[:13] + ":00:00" if len(at) >= 13 else at
