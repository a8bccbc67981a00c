"""Errors of the evidence modules, in companion/errors.py's style (a title and a message)."""

from __future__ import annotations

from companion.errors import MailwardenError


class EvidenceError(MailwardenError):
    """A proof cannot be made or read: the message says which part and why."""

    title = "Evidence error"


class TimestampError(EvidenceError):
    """A time-stamping authority did not answer, refused, or gave a token that does not verify."""

    title = "Time-stamp error"
