"""Errors that carry a title and a message a UI or the CLI can show as they are.

An error raised with a catalogue `key` (and its `values`) can also say itself in the reader's
language: `exc.text(lang)`; `exc.message` is its English text, for logs.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping


class MailwardenError(Exception):
    """Base error: `title` is short, `message` says what is wrong and, where possible, what to do.
    `code` is stable (programs decide by it, never by the English title) and `retryable` says
    whether the same request may succeed if sent again (a busy database) or never will (bad input)."""

    title = "Mailwarden error"
    code = "error"
    retryable = False

    def __init__(
        self,
        message: str | None = None,
        *,
        title: str | None = None,
        key: str | None = None,
        values: Mapping[str, object] | None = None,
        code: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.key = key
        self.values = dict(values or {})
        if message is None:
            if key is None:
                raise TypeError("an error needs a message or a catalogue key")
            message = self.text("en")
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

    @property
    def msg(self):
        """What to show later, in its reader's language: a catalogue Msg, or the one text."""
        from companion.i18n import Msg

        return Msg(self.key, self.values) if self.key is not None else self.message

    def text(self, lang: str | None = None) -> str:
        """The message in `lang` (None: the system language); errors without a key have one text."""
        if self.key is None:
            return self.message
        from companion.i18n import t

        return t(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.message


class ParseError(MailwardenError):
    """A mail file could not be read as a message."""

    title = "Cannot read message"
    code = "unreadable_message"


class NotAMailError(ParseError):
    """The input is not an e-mail message: an Outlook item of another kind (contact, appointment,
    sticky note...), or a file with no mail header block (a README, a Makefile, a word on stdin)."""

    title = "Not an e-mail message"
    code = "not_a_mail"


class PolicyError(MailwardenError):
    """The policy file is invalid; the message names the file and line."""

    title = "Invalid policy"
    code = "invalid_policy"


# errno -> catalogue key: the usual reasons a file cannot be read, in the user's language.
_OS_REASONS = {
    errno.ENOENT: "error.os.not_found",
    errno.EACCES: "error.os.denied",
    errno.EPERM: "error.os.denied",
    errno.EISDIR: "error.os.is_dir",
    errno.ENOTDIR: "error.os.not_dir",
    errno.ENOSPC: "error.os.no_space",
    errno.EBUSY: "error.os.busy",
}


def unexpected(exc: BaseException):
    """A bug met while reading one item: said as such, with the exception's own words."""
    from companion.i18n import Msg

    return Msg("error.unexpected", {"detail": f"{type(exc).__name__}: {exc}"})


def os_reason(exc: OSError):
    """Why an OSError happened, as a catalogue Msg when it is a usual reason (the system's own
    words, in its language, otherwise)."""
    from companion.i18n import Msg

    key = _OS_REASONS.get(exc.errno or -1)
    return Msg(key) if key else (exc.strerror or str(exc))
