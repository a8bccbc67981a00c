"""Timestamps as the protocol and the database write them: ISO 8601, UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
