"""Errors that carry a title and a message a UI or the CLI can show as they are."""

from __future__ import annotations


class MailwardenError(Exception):
    """Base error: `title` is short, `message` says what is wrong and, where possible, what to do."""

    title = "Mailwarden error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class ParseError(MailwardenError):
    """A mail file could not be read as a message."""

    title = "Cannot read message"


class NotAMailError(ParseError):
    """The file is a valid Outlook item but not a mail (contact, appointment, sticky note...)."""

    title = "Not a mail item"


class PolicyError(MailwardenError):
    """The policy file is invalid; the message names the file and line."""

    title = "Invalid policy"
