"""The evidence record of one message: its fingerprint, where it was, and what DKIM said.

What the fingerprint covers depends on what the store keeps (the record's `form` says which):
- "rfc822": the message's bytes exactly as stored (.eml file, mbox entry without its "From " line,
  maildir file): the strongest form, and the one DKIM can be checked on;
- "outlook-msg": the bytes of an Outlook .msg file, plus the normalised MIME of its content;
- "outlook-item": an item inside a .pst/.ost, whose original bytes Outlook does not keep: only the
  normalised MIME (`normalised_mime`) of what Mailwarden reads from it.

The record is canonical JSON (companion.signing), and its hash is what the device's chain commits to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any, Literal

from companion.clock import now_iso
from companion.evidence.dkim import DkimResult, TxtLookup, snapshot_keys, verify_dkim
from companion.message import Message
from companion.signing import obj_hash

Form = Literal["rfc822", "outlook-msg", "outlook-item"]
DkimMode = Literal["verify", "snapshot", "off"]
FORMS: tuple[str, ...] = ("rfc822", "outlook-msg", "outlook-item")
RECORD_VERSION = 1
NORMALISED_FORM = "outlook-mime/1"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class EvidenceRecord:
    """Everything the chain commits to for one message (never leaves the device by itself)."""

    form: Form
    sha256: str  # of the bytes as stored; of the normalised MIME for "outlook-item"
    size: int
    message_id: str
    date: str | None  # the message's Date, ISO 8601 with its offset
    direction: str
    store: str  # the mailbox file or folder
    position: str  # where in it: the mbox offset, the Outlook item id, "" for a single file
    seen_at: str  # when this device first recorded it (UTC)
    normalised_sha256: str | None = None  # Outlook forms: of normalised_mime(message)
    dkim: DkimResult | None = None  # received mail in rfc822 form
    version: int = RECORD_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "form": self.form,
            "sha256": self.sha256,
            "size": self.size,
            "normalised_sha256": self.normalised_sha256,
            "message_id": self.message_id,
            "date": self.date,
            "direction": self.direction,
            "store": self.store,
            "position": self.position,
            "seen_at": self.seen_at,
            "dkim": self.dkim.to_dict() if self.dkim else None,
        }

    @property
    def hash(self) -> str:
        """Lowercase hex SHA-256 of the record's canonical JSON."""
        return obj_hash(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvidenceRecord:
        from companion.evidence.errors import EvidenceError

        try:
            if data["form"] not in FORMS or int(data["version"]) != RECORD_VERSION:
                raise ValueError(f"unknown record form {data['form']!r} or version {data['version']!r}")
            dkim = data.get("dkim")
            return cls(
                form=data["form"],
                sha256=_hex64(data["sha256"]),
                size=int(data["size"]),
                message_id=str(data["message_id"]),
                date=data.get("date"),
                direction=str(data["direction"]),
                store=str(data["store"]),
                position=str(data["position"]),
                seen_at=str(data["seen_at"]),
                normalised_sha256=_hex64(data["normalised_sha256"])
                if data.get("normalised_sha256")
                else None,
                dkim=DkimResult.from_dict(dkim) if dkim else None,
                version=int(data["version"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvidenceError(key="evidence.err.not_record", values={"detail": str(exc)}) from None

    def matches(self, data: bytes) -> str | None:
        """Which fingerprint `data` matches ("stored bytes", "normalised content"), None if neither."""
        digest = sha256_hex(data)
        if digest == self.sha256:
            return "stored" if self.form != "outlook-item" else "normalised"
        if digest == self.normalised_sha256:
            return "normalised"
        return None


def _hex64(value: Any) -> str:
    text = str(value)
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"not a lowercase hex SHA-256: {text[:80]!r}")
    return text


def record_for_rfc822(
    raw: bytes,
    message: Message,
    store: str,
    position: str = "",
    *,
    lookup: TxtLookup | None = None,
    dkim: DkimMode = "snapshot",
) -> EvidenceRecord:
    """The record of a message whose bytes are stored as they travelled, with DKIM (through
    `lookup`; the DNS by default): "snapshot" keeps the signing keys as published now (what a scan
    does for received mail: companion.evidence.dkim says why that is enough), "verify" also
    checks the signatures (a proof made on demand), "off" does neither (sent mail)."""
    result = None
    if dkim != "off":
        result = verify_dkim(raw, lookup) if dkim == "verify" else snapshot_keys(raw, lookup)
    return _record("rfc822", raw, message, store, position, dkim=result)


def record_for_outlook(
    message: Message, store: str, position: str = "", file_bytes: bytes | None = None
) -> EvidenceRecord:
    """The record of an Outlook item: a .msg file (`file_bytes`) or an item in a .pst/.ost."""
    normalised = normalised_mime(message)
    if file_bytes is None:
        return _record(
            "outlook-item", normalised, message, store, position, normalised_sha256=sha256_hex(normalised)
        )
    return _record(
        "outlook-msg", file_bytes, message, store, position, normalised_sha256=sha256_hex(normalised)
    )


def _record(
    form: Form, stored: bytes, message: Message, store: str, position: str, **extra: Any
) -> EvidenceRecord:
    return EvidenceRecord(
        form=form,
        sha256=sha256_hex(stored),
        size=len(stored),
        message_id=message.message_id,
        date=message.date.isoformat() if message.date else None,
        direction=message.direction,
        store=store,
        position=position,
        seen_at=now_iso(),
        **extra,
    )


def normalised_mime(message: Message) -> bytes:
    """A deterministic MIME rendering of an Outlook item as read: identifying headers, the text of
    the body, and the attachments' names, types and sizes (their bytes Outlook keeps apart, and
    the readers do not load them all). The same item gives the same bytes, byte for byte, on any
    machine, so the exported .eml can be checked against the record; any mail program opens it."""
    from email import policy
    from email.message import EmailMessage

    mime = EmailMessage(policy=policy.SMTPUTF8.clone(linesep="\r\n", max_line_length=998))
    mime["X-Mailwarden-Normalised"] = NORMALISED_FORM
    if message.message_id:
        mime["Message-ID"] = f"<{message.message_id.strip('<> ')}>"
    if message.date:
        mime["Date"] = format_datetime(message.date)
    if message.sender:
        mime["From"] = _address(message.sender)
    for name, addresses in (("To", message.to), ("Cc", message.cc), ("Bcc", message.bcc)):
        if addresses:
            mime[name] = ", ".join(_address(a) for a in addresses)
    mime["Subject"] = _one_line(message.subject)
    for attachment in message.attachments:
        mime["X-Mailwarden-Attachment"] = _one_line(
            f"size={attachment.size}; type={attachment.content_type}; name={attachment.name}"
        )
    mime.set_content(message.body, charset="utf-8", cte="base64")
    return mime.as_bytes()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _address(address: Any) -> str:
    # Names are written as read, quoted; no RFC 2047 encoding (the SMTPUTF8 form keeps UTF-8 as is).
    name = _one_line(address.name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{address.address}>' if name else f"<{address.address}>"
