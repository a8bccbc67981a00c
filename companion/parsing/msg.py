"""Outlook .msg files (OLE2 compound files) to `Message`, with extract-msg.

Two things extract-msg does not do for us:
- ANSI .msg files store strings in the code page of the machine that wrote them; extract-msg assumes
  ISO-8859-15 unless PidTagMessageCodepage is set, which garbles Chinese mail. We read the declared code
  page (PidTagMessageCodepage, else PidTagInternetCodepage) and reopen the file with it.
- It decodes strings strictly, so one bad byte in a recipient name raises. We hand it a "lenient" codec
  (the same code page with errors replaced) and decode the important fields ourselves.
"""

from __future__ import annotations

import codecs
import mimetypes
from datetime import datetime
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from os import PathLike
from typing import Any, cast

from companion.errors import NotAMailError, ParseError, os_reason
from companion.mailwarden_header import NAME as HEADER_NAME
from companion.mailwarden_header import decision_key
from companion.message import Address, Attachment, Direction, Message
from companion.parsing.attachments import MAX_DEPTH, extract_text
from companion.parsing.charset import decode_bytes, preferred_codec
from companion.parsing.eml import message_text
from companion.parsing.html import html_to_text
from companion.parsing.quoted import find_quoted_spans

PS_INTERNET_HEADERS = "{00020386-0000-0000-C000-000000000046}"  # named properties that are headers
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Message classes we read as mail; everything else (contacts, notes, appointments...) is refused.
_MAIL_CLASSES = ("ipm.note", "report.", "ipm.schedule.meeting", "ipm.outlook.recall")
# Message class prefix -> the kind of Outlook item it is (error.outlook_<kind> in the catalogue).
_ITEM_KINDS = {
    "ipm.contact": "contact",
    "ipm.distlist": "distlist",
    "ipm.stickynote": "note",
    "ipm.appointment": "appointment",
    "ipm.post": "post",
    "ipm.task": "task",
    "ipm.activity": "journal",
}

_LENIENT_PREFIX = "mailwarden_lenient_"


def _lenient_search(name: str) -> codecs.CodecInfo | None:
    """Codec "mailwarden_lenient_<codec>": <codec> whose decoding replaces bad bytes instead of raising."""
    if not name.startswith(_LENIENT_PREFIX):
        return None
    try:
        base = codecs.lookup(name[len(_LENIENT_PREFIX) :])
    except LookupError:
        return None

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        return base.decode(data, "replace")

    return codecs.CodecInfo(base.encode, decode, name=name)


codecs.register(_lenient_search)


def _kind(message_class: str) -> str:
    lower = message_class.lower()
    return next((kind for prefix, kind in _ITEM_KINDS.items() if lower.startswith(prefix)), "item")


def _clean(value: Any) -> str:
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


class _Reader:
    """Reads string properties of one (possibly embedded) message, decoding ANSI ones with its code page."""

    def __init__(self, msg: Any, codec: str | None) -> None:
        self.msg = msg
        self.codec = codec
        self.defects: list[str] = []

    def stream(self, name: str) -> bytes | None:
        try:
            data = self.msg.getStream(name)
        except Exception:  # a damaged directory entry: treat as absent
            return None
        return data if isinstance(data, bytes) else None

    def string(self, prop: str) -> str:
        """PidTag string property `prop` (4 hex digits), Unicode (001F) or ANSI (001E) form."""
        data = self.stream(f"__substg1.0_{prop}001F")
        if data is not None:
            return data.decode("utf-16-le", "replace").replace("\x00", "").strip()
        data = self.stream(f"__substg1.0_{prop}001E")
        if data is None:
            return ""
        text, defect = decode_bytes(data.rstrip(b"\x00"), self.codec)
        if defect:
            self.defects.append(f"property {prop}: {defect}")
        return text.replace("\x00", "").strip()

    def prop(self, name: str) -> Any:
        try:
            return self.msg.getPropertyVal(name)
        except Exception:
            return None


def codec_for_code_page(code_page: int) -> str | None:
    """Python codec for a Windows code page number; None when unknown or not a byte encoding."""
    from extract_msg.encoding import lookupCodePage  # lazy: only ANSI files and binary HTML need it

    try:
        codec = preferred_codec(lookupCodePage(code_page))
    except Exception:  # unknown code page number
        return None
    return codec if codec and not codec.startswith(("utf-16", "utf-32")) else None


def _message_codec(msg: Any) -> str | None:
    """Code page the file's ANSI strings are in; None when its strings are Unicode or nothing is declared."""
    if msg.areStringsUnicode:
        return None
    for prop in ("3FFD0003", "3FDE0003"):  # PidTagMessageCodepage, PidTagInternetCodepage
        code_page = msg.getPropertyVal(prop)
        if isinstance(code_page, int) and code_page > 0:
            codec = codec_for_code_page(code_page)
            if codec:
                return codec
    return None


def transport_headers(reader: _Reader) -> Any:
    """Transport headers (PidTagTransportMessageHeaders) of received mail, as an email Message, or None."""
    raw = reader.string("007D")
    return HeaderParser().parsestr(raw) if raw else None


def smtp_address(value: str) -> str:
    value = value.strip().strip("<>").strip()
    return value.lower() if "@" in value and not value.startswith("/") else ""


def sender_address(reader: _Reader, headers: Any) -> Address | None:
    name = reader.string("0C1A") or reader.string("0042")
    candidates = [reader.string("5D01"), reader.string("5D02")]  # PidTagSender/SentRepresentingSmtpAddress
    for type_prop, addr_prop in (("0C1E", "0C1F"), ("0064", "0065")):
        if reader.string(type_prop).upper() == "SMTP":
            candidates.append(reader.string(addr_prop))
    if headers is not None and headers.get("From"):
        pairs = getaddresses([str(headers.get("From"))])
        candidates += [addr for _, addr in pairs]
    candidates += [reader.string("0C1F"), reader.string("0065")]
    address = next((a for a in map(smtp_address, candidates) if a), "")
    if not address and not name:
        return None
    if not address:
        reader.defects.append("sender: no SMTP address (Exchange address only)")
    return Address(address, name)


def _recipients(msg: Any, reader: _Reader) -> dict[int, list[Address]]:
    kinds: dict[int, list[Address]] = {1: [], 2: [], 3: []}
    try:
        recipients = msg.recipients or []
    except Exception as e:
        reader.defects.append(f"recipients: cannot read ({e})")
        return kinds
    for r in recipients:
        try:
            kind = int(r.type)
            name = _clean(r.name)
            smtp = smtp_address(_clean(r.getStringStream("__substg1.0_39FE")))  # PidTagSmtpAddress
            email = _clean(r.getStringStream("__substg1.0_3003"))  # PidTagEmailAddress
        except Exception as e:
            reader.defects.append(f"recipient: cannot read ({e})")
            continue
        address = smtp or smtp_address(email)
        if kind in kinds and (address or name):
            kinds[kind].append(Address(address, name if name.lower() != address else ""))
    return kinds


def mapi_date(reader: _Reader, headers: Any) -> datetime | None:
    for prop in ("00390040", "0E060040"):  # PidTagClientSubmitTime, PidTagMessageDeliveryTime
        value = reader.prop(prop)
        if isinstance(value, datetime) and value.year > 1601:
            return value
    if headers is not None and headers.get("Date"):
        try:
            return parsedate_to_datetime(str(headers.get("Date")))
        except (TypeError, ValueError, IndexError, OverflowError):
            reader.defects.append("Date: cannot parse transport header date")
    return None


def _body(msg: Any, reader: _Reader) -> str:
    """Plain body if there is one; else the HTML body as text; RTF only as a last resort (slow)."""
    plain = reader.string("1000")
    if plain.strip():
        return plain
    html_bytes = reader.stream("__substg1.0_10130102")
    if html_bytes:
        # HTML is stored as bytes in the Internet code page.
        declared = None
        code_page = reader.prop("3FDE0003")
        if isinstance(code_page, int):
            from extract_msg.encoding import lookupCodePage

            try:
                declared = lookupCodePage(code_page)
            except Exception:
                declared = None
        text, defect = decode_bytes(html_bytes, declared)
        if defect:
            reader.defects.append(f"body: {defect}")
        return html_to_text(text)
    html_text = reader.string("1013")
    if html_text:
        return html_to_text(html_text)
    try:
        rtf_html = msg.htmlBody  # de-encapsulates the RTF body when that is all there is
        if rtf_html:
            text, _ = decode_bytes(rtf_html if isinstance(rtf_html, bytes) else str(rtf_html).encode(), None)
            return html_to_text(text)
        return _clean(msg.body)
    except Exception as e:
        reader.defects.append(f"body: cannot read RTF body ({e})")
        return ""


def _attachments(msg: Any, reader: _Reader, depth: int) -> tuple[Attachment, ...]:
    try:
        attachments = msg.attachments or []
    except Exception as e:
        reader.defects.append(f"attachments: cannot read ({e})")
        return ()
    result: list[Attachment] = []
    for index, att in enumerate(attachments, 1):
        try:
            result.append(_attachment(att, index, reader, depth))
        except Exception as e:
            reader.defects.append(f"attachment {index}: cannot read ({e})")
    return tuple(result)


def _attachment(att: Any, index: int, reader: _Reader, depth: int) -> Attachment:
    name = ""
    for attr in ("longFilename", "displayName", "shortFilename"):
        name = _clean(getattr(att, attr, None))
        if name:
            break
    data = getattr(att, "data", None)
    if data is not None and not isinstance(data, bytes) and hasattr(data, "getStream"):
        # An embedded .msg: its text is its subject and body.
        name = name if name.lower().endswith(".msg") else f"{name or 'message'}.msg"
        if depth + 1 > MAX_DEPTH:
            return Attachment(
                name, "application/vnd.ms-outlook", 0, None, "embedded message nested too deeply"
            )
        inner = _convert(data, reader.codec, depth + 1, source="", direction="sent", folder="", account="")
        size = _clean_int(att.props.getValue("0E200003") if hasattr(att, "props") else None)
        return Attachment(name, "application/vnd.ms-outlook", size, message_text(inner), None)
    name = name or f"attachment-{index}"
    content_type = _clean(getattr(att, "mimetype", None)) or (
        mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
    )
    if not isinstance(data, bytes):
        return Attachment(name, content_type, 0, None, "attachment content is not stored in the file")
    text, error = extract_text(name, content_type, data, depth=depth)
    return Attachment(name, content_type, len(data), text, error)


def _clean_int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _convert(
    msg: Any, codec: str | None, depth: int, *, source: str, direction: str, folder: str, account: str
) -> Message:
    reader = _Reader(msg, codec)
    headers = transport_headers(reader)
    subject = reader.string("0037")
    body = _body(msg, reader).replace("\r\n", "\n").replace("\r", "\n")
    message_id = reader.string("1035") or (str(headers.get("Message-ID", "")) if headers is not None else "")
    kinds = _recipients(msg, reader)
    stamp = _stamped_header(msg, headers)
    return Message(
        subject=subject,
        body=body,
        sender=sender_address(reader, headers),
        to=tuple(kinds[1]),
        cc=tuple(kinds[2]),
        bcc=tuple(kinds[3]),
        date=mapi_date(reader, headers),
        message_id=message_id.strip().strip("<>").strip(),
        direction=cast(Direction, direction),
        account=account,
        folder=folder,
        attachments=_attachments(msg, reader, depth),
        quoted=find_quoted_spans(body),
        source=source,
        defects=tuple(dict.fromkeys(reader.defects)),
        decision_key=decision_key(stamp),
    )


def _stamped_header(msg: Any, headers: Any) -> str:
    """The X-Mailwarden value: in the transport headers of a mail that went through a server, or,
    for the copy Outlook keeps in Sent Items, in the named property the add-in set (property set
    PS_INTERNET_HEADERS, which Outlook turns into the header when it sends)."""
    if headers is not None and headers.get(HEADER_NAME):
        return str(headers.get(HEADER_NAME))
    for name in (HEADER_NAME, HEADER_NAME.lower()):
        try:
            value = msg.getNamedProp(name, PS_INTERNET_HEADERS)
        except Exception:  # noqa: BLE001 - a damaged name map loses the key, not the mail
            return ""
        if isinstance(value, bytes):
            value = value.decode("utf-16-le", "replace").rstrip("\x00")
        if isinstance(value, str) and value:
            return value
    return ""


def parse_msg_file(
    path: str | PathLike[str], *, direction: str = "sent", folder: str = "", account: str = ""
) -> Message:
    """Parse an Outlook .msg mail. Raises NotAMailError for contacts, notes..., ParseError for bad files."""
    if direction not in ("sent", "received"):
        raise ValueError(f"direction must be 'sent' or 'received', not {direction!r}")
    label = str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise ParseError(key="error.cannot_read", values={"source": label, "reason": os_reason(e)}) from e
    if not head:
        raise ParseError(key="error.empty", values={"source": label})
    if head != OLE_MAGIC:
        raise ParseError(key="error.msg.not_ole", values={"source": label})

    import extract_msg  # lazy: a heavy import most runs never need
    from extract_msg.enums import ErrorBehavior

    options: dict[str, Any] = {"errorBehavior": ErrorBehavior.SUPPRESS_ALL, "delayAttachments": True}
    try:
        probe = extract_msg.MSGFile(label, **options)
    except Exception as e:
        raise ParseError(key="error.msg.unreadable", values={"source": label, "detail": str(e)}) from e
    try:
        message_class = _clean(probe.classType)
        codec = _message_codec(probe)
    except Exception as e:
        raise ParseError(key="error.msg.damaged", values={"source": label, "detail": str(e)}) from e
    finally:
        probe.close()

    if not message_class:
        raise ParseError(key="error.msg.no_class", values={"source": label})
    if not message_class.lower().startswith(_MAIL_CLASSES):
        kind = _kind(message_class)
        raise NotAMailError(
            key=f"error.outlook_{kind}", values={"source": label, "message_class": message_class}
        )

    if codec:
        options["overrideEncoding"] = _LENIENT_PREFIX + codec
    try:
        msg = extract_msg.openMsg(label, strict=False, **options)
    except Exception as e:
        raise ParseError(key="error.msg.unreadable", values={"source": label, "detail": str(e)}) from e
    try:
        return _convert(msg, codec, 0, source=label, direction=direction, folder=folder, account=account)
    finally:
        msg.close()
