"""The one message model every source (.eml, .msg, mbox, maildir, PST, pre-send hooks) produces."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal, get_args

Direction = Literal["sent", "received"]
FieldKind = Literal["subject", "body", "attachment", "attachment_name", "recipients"]
FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)


@dataclass(frozen=True)
class Address:
    """One mailbox: display name and address (lower-cased when parsed)."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) into a text."""

    start: int
    end: int

    def contains(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True, order=True)
class Field:
    """Where in a message a finding is: its kind and, for the attachment kinds, the file name.
    Travels as {"kind", "name"} (never as one string to split: a file name may hold any character)."""

    kind: FieldKind
    name: str = ""  # the attachment's file name ("attachment", "attachment_name"); "" otherwise

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}

    @classmethod
    def from_dict(cls, value: Any) -> Field:
        """The field a client or a stored row names; ValueError when it names none."""
        if not isinstance(value, dict) or value.get("kind") not in FIELD_KINDS:
            raise ValueError(f"not a field: {value!r} (kinds: {', '.join(FIELD_KINDS)})")
        name = value.get("name") or ""
        if not isinstance(name, str):
            raise ValueError(f"a field's name must be a string, not {name!r}")
        return cls(value["kind"], name)

    @property
    def is_text(self) -> bool:
        """A free text (body, attachment content), as opposed to a subject, a file name or a count."""
        return self.kind in ("body", "attachment")

    def __str__(self) -> str:  # for people (logs, the terminal report); never parsed back
        return f"{self.kind}:{self.name}" if self.kind.startswith("attachment") else self.kind


SUBJECT = Field("subject")
BODY = Field("body")
RECIPIENTS = Field("recipients")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    # Extracted text for text-like attachments (txt, csv, html, eml, docx, xlsx, pdf); None if not text-like.
    text: str | None = None
    # Why extraction failed, when it did (the message is still usable).
    error: str | None = None


@dataclass(frozen=True)
class Message:
    subject: str = ""
    body: str = ""
    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    date: datetime | None = None
    message_id: str = ""
    direction: Direction = "sent"
    account: str = ""
    folder: str = ""
    attachments: tuple[Attachment, ...] = ()
    # Spans of `body` quoted from earlier mail (reply/forward history, "> " lines).
    quoted: tuple[Span, ...] = ()
    # Where the message came from (a file path, "path#offset" for mbox, "-" for stdin).
    source: str = ""
    # Problems met while parsing that did not stop it (bad charset, truncated MIME, ...).
    defects: tuple[str, ...] = field(default=())
    # The pre-send decision key stamped in the X-Mailwarden header when the mail was sent ("" if none).
    decision_key: str = ""

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc + self.bcc

    @cached_property  # frozen dataclass: cached in the instance __dict__, fields stay immutable
    def content_hash(self) -> str:
        """Stable hash of what the message says, independent of where it is stored."""
        h = hashlib.sha256()
        for part in (
            self.sender.address if self.sender else "",
            ",".join(a.address for a in self.recipients),
            self.date.isoformat() if self.date else "",
            self.subject.strip(),
            self.body.rstrip(),  # stores differ in trailing blank lines (mbox separators)
            ",".join(f"{a.name}:{a.size}" for a in self.attachments),
        ):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()

    @cached_property
    def key(self) -> str:
        """The identity under which the message is stored once: Message-ID plus content hash."""
        h = hashlib.sha256()
        h.update(self.message_id.strip().lower().encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
        h.update(self.content_hash.encode("ascii"))
        return h.hexdigest()[:32]

    def field_texts(self) -> dict[Field, str]:
        """The text each field refers to (offsets of findings index these)."""
        fields = {SUBJECT: self.subject, BODY: self.body}
        for a in self.attachments:
            fields[Field("attachment_name", a.name)] = a.name
            if a.text:
                fields[Field("attachment", a.name)] = a.text
        return fields

    def is_quoted(self, start: int, end: int) -> bool:
        return any(span.contains(start, end) for span in self.quoted)

    def counterpart(self) -> str:
        """Who the mail is with: first recipient for sent mail, the sender for received."""
        if self.direction == "sent":
            return self.recipients[0].address if self.recipients else ""
        return self.sender.address if self.sender else ""
