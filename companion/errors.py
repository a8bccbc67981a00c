"""Errors that carry a title and a message a UI or the CLI can show as they are."""

from __future__ import annotations


class MailwardenError(Exception):
    """Base error: `title` is short, `message` says what is wrong and, where possible, what to do.
    `code` is stable (programs decide by it, never by the English title) and `retryable` says
    whether the same request may succeed if sent again (a busy database) or never will (bad input)."""

    title = "Mailwarden error"
    code = "error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        title: str | None = None,
        code: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable

    def to_dict(self) -> dict[str, object]:
        """What a client is told: {code, retryable, title, message}."""
        return {"code": self.code, "retryable": self.retryable, "title": self.title, "message": self.message}

    def __str__(self) -> str:
        return self.message


class ParseError(MailwardenError):
    """A mail file could not be read as a message."""

    title = "Cannot read message"
    code = "unreadable_message"


class NotAMailError(ParseError):
    """The file is a valid Outlook item but not a mail (contact, appointment, sticky note...)."""

    title = "Not a mail item"
    code = "not_a_mail"


class PolicyError(MailwardenError):
    """The policy file is invalid; the message names the file and line."""

    title = "Invalid policy"
    code = "invalid_policy"
