"""Pre-send decisions recorded as the mail clients record them (through companion.presend), for
tests that need some in the database."""

from __future__ import annotations

from typing import Any

from companion.policy import PolicyEngine, load_policy
from companion.policy.in_force import StaticPolicy
from companion.presend import Choice, Decision, PresendSession
from companion.records import Database


def record(
    db: Database,
    channel: str,
    details: dict[str, Any],
    choice: str,
    *,
    engine: PolicyEngine | None = None,
    **fields: Any,
) -> int:
    """Check `details` (unless the choice says the check could not run) and record `choice`; the
    row id. `fields`: key, justification, error."""
    session = PresendSession(channel, StaticPolicy(engine or PolicyEngine(load_policy())), None)
    check = session.check(details, key=fields.get("key")) if Choice(choice).checked else None
    decision = Decision(Choice(choice), details=None if check else details, **fields)
    return session.record(decision, db, check=check)
