"""RFC 5322 / MIME messages (.eml files, mbox entries) to `Message`.

We use the stdlib parser with the compat32 policy: it never raises on malformed input (problems become
`defects` on the parts) and hands back raw header text, which we decode ourselves because real mail mixes
RFC 2047 encoded-words in mislabelled charsets with raw 8-bit GBK or UTF-8.
"""

from __future__ import annotations

import binascii
import mimetypes
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email.feedparser import BytesFeedParser
from email.message import Message as MimePart
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from os import PathLike
from pathlib import Path
from typing import cast

from companion.errors import NotAMailError, ParseError, os_reason
from companion.i18n import Msg
from companion.mailwarden_header import decision_key
from companion.message import Address, Attachment, Direction, Message
from companion.parsing.attachments import MAX_DEPTH, extract_text
from companion.parsing.charset import decode_bytes
from companion.parsing.html import html_to_text
from companion.parsing.quoted import find_quoted_spans

_FEED_CHUNK = 1 << 16  # feed the parser in pieces: parsebytes() would copy the input as UCS-4 (4x memory)
_MAX_MIME_DEPTH = 40  # multipart nesting beyond this is an attack or a bug, not mail

_LEADING_NEWLINES = re.compile(rb"[\r\n]*")
_BLANK_LINE = re.compile(rb"\n\r?\n")
_MAX_HEADER_BLOCK = 1 << 20
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_BAD_BASE64_CHAR = re.compile(rb"[^A-Za-z0-9+/=\s]")
_HEADER_LINE = re.compile(rb"(?:From |[!-9;-~]+[ \t]*:)")
_FIELD_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")
# Fields every mail carries some of. A header-like block naming none of them is not mail: a
# Makefile's "install: …" or a YAML file's "name: …" lines have the syntax of header fields.
_MAIL_FIELDS = frozenset(
    {
        b"from",
        b"sender",
        b"to",
        b"cc",
        b"bcc",
        b"reply-to",
        b"subject",
        b"date",
        b"message-id",
        b"in-reply-to",
        b"references",
        b"mime-version",
        b"content-type",
        b"received",
        b"return-path",
        b"delivered-to",
        b"x-mozilla-status",
    }
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_ADDRESS_FALLBACK = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_MESSAGE_ID = re.compile(r"<([^<>]*)>")

_DEFECTS = {
    email_errors.CloseBoundaryNotFoundDefect: "MIME: closing boundary not found (message truncated?)",
    email_errors.StartBoundaryNotFoundDefect: "MIME: start boundary not found; multipart body read as text",
    email_errors.NoBoundaryInMultipartDefect: "MIME: multipart part without boundary; body read as text",
    email_errors.FirstHeaderLineIsContinuationDefect: "headers: first header line is a continuation line",
    email_errors.MisplacedEnvelopeHeaderDefect: "headers: misplaced 'From ' envelope line",
    email_errors.MissingHeaderBodySeparatorDefect: "headers: a non-header line ended the header block",
    email_errors.MultipartInvariantViolationDefect: "MIME: multipart part has no subparts",
    email_errors.InvalidMultipartContentTransferEncodingDefect: "MIME: invalid transfer encoding on multipart",
    email_errors.InvalidBase64PaddingDefect: "base64: bad padding",
    email_errors.InvalidBase64CharactersDefect: "base64: invalid characters skipped",
    email_errors.InvalidBase64LengthDefect: "base64: invalid length; data may be cut",
}


@dataclass
class _Collected:
    """What a walk over MIME parts gathers: body texts (with their kind) and attachments."""

    texts: list[tuple[str, str]] = field(default_factory=list)  # ("plain" | "html", text)
    attachments: list[Attachment] = field(default_factory=list)


class _Context:
    """Per-message state: the charset hint for raw 8-bit headers, nesting depth, defects."""

    def __init__(self, tree: MimePart, depth: int) -> None:
        self.depth = depth
        self.defects: list[str] = []
        self.hint = _charset_hint(tree)
        self.unnamed = 0


def _charset_hint(tree: MimePart) -> str | None:
    """First charset any part declares: the best guess for raw 8-bit header bytes."""
    for i, part in enumerate(tree.walk()):
        if i > 50:
            break
        charset = part.get_param("charset")
        if isinstance(charset, str) and charset.strip().lower() not in ("", "us-ascii", "ascii"):
            return charset
    return None


# ---------------------------------------------------------------- headers


def _raw_bytes(value: str) -> bytes:
    # The byte parser keeps non-ASCII header bytes as surrogate escapes; get the bytes back.
    return value.encode("utf-8", "surrogateescape")


def _decode_raw(value: str, ctx: _Context, what: str) -> str:
    """Header text that may hold raw 8-bit bytes (UTF-8, GBK...) instead of encoded-words."""
    if value.isascii():
        return value
    raw = _raw_bytes(value)
    if ctx.hint:
        text, defect = decode_bytes(raw, ctx.hint)
        if defect is None:
            return text
    text, defect = decode_bytes(raw, None)
    if defect:
        ctx.defects.append(f"{what}: raw 8-bit text; {defect}")
    return text


def _b_decode(payload: str) -> bytes:
    data = _NOT_BASE64.sub(b"", payload.encode("ascii", "ignore"))
    if len(data) % 4 == 1:
        data = data[:-1]
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return b""


def _q_decode(payload: str) -> bytes:
    data = _raw_bytes(payload.replace("_", " "))
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def _decode_words(text: str, ctx: _Context, what: str) -> str:
    """Decode RFC 2047 encoded-words, joining adjacent ones of one charset before decoding.

    Mailers split multi-byte characters across encoded-words, so words are decoded together.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            decoded, defect = decode_bytes(bytes(pending), pending_charset)
            if defect:
                ctx.defects.append(f"{what}: {defect}")
            out.append(decoded)
            pending.clear()
            pending_charset = None

    for m in _ENCODED_WORD.finditer(text):
        gap = text[pos : m.start()]
        # Whitespace between two encoded-words is not part of the text (RFC 2047 section 6.2).
        if not (pending_charset is not None and not gap.strip()):
            flush()
            out.append(gap)
        charset = m.group(1).split("*", 1)[0]
        raw = _b_decode(m.group(3)) if m.group(2) in "bB" else _q_decode(m.group(3))
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            flush()
        if pending_charset is None:
            pending_charset = charset
        pending.extend(raw)
        pos = m.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def _header_text(value: str, ctx: _Context, what: str) -> str:
    return _decode_words(_decode_raw(_UNFOLD.sub("", value), ctx, what), ctx, what).strip()


def _headers(tree: MimePart) -> dict[str, str]:
    """First value of each header, raw (raw_items skips compat32's Header wrapping of 8-bit values)."""
    found: dict[str, str] = {}
    for name, value in tree.raw_items():
        found.setdefault(name.strip().lower(), str(value))
    return found


def _addresses(value: str | None, ctx: _Context, what: str) -> tuple[Address, ...]:
    if not value:
        return ()
    text = _decode_raw(_UNFOLD.sub("", value), ctx, what)
    result: list[Address] = []
    seen: set[tuple[str, str]] = set()
    try:
        pairs = getaddresses([text])
    except Exception:  # older getaddresses versions can trip over pathological lists
        pairs = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>").strip().lower()
        if not addr:
            continue
        name = _decode_words(name, ctx, what).strip().strip("\"'").strip()
        if (addr, name) not in seen:
            seen.add((addr, name))
            result.append(Address(addr, name))
    if not result and "@" in text:
        # getaddresses gives up on some broken lists; recover the bare addresses at least.
        result = [Address(a.lower()) for a in dict.fromkeys(_ADDRESS_FALLBACK.findall(text))]
        ctx.defects.append(f"{what}: malformed address list")
    return tuple(result)


# ---------------------------------------------------------------- bodies and attachments


def _payload_bytes(part: MimePart, ctx: _Context) -> bytes:
    """The decoded content of a leaf part; bad base64 is decoded as far as it goes, with a defect."""
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte != "base64":
        # compat32 returns the raw bytes for 7bit/8bit/binary and decodes quoted-printable and uuencode.
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else b""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return b""
    raw = payload.encode("ascii", "ignore")  # anything non-ASCII cannot be base64 anyway
    try:
        data = binascii.a2b_base64(raw)
    except binascii.Error:
        cleaned = _NOT_BASE64.sub(b"", raw)
        if len(cleaned) % 4 == 1:
            cleaned = cleaned[:-1]
        data = binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))
        ctx.defects.append("base64: bad padding or length; decoded what could be read")
    if _BAD_BASE64_CHAR.search(raw) or not payload.isascii():
        ctx.defects.append("base64: invalid characters skipped")
    return data


def _text_of(part: MimePart, data: bytes, html: bool, ctx: _Context) -> str:
    charset = part.get_param("charset")
    declared = charset if isinstance(charset, str) else None
    if html and not declared:
        m = _META_CHARSET.search(data[:4096])
        declared = m.group(1).decode("ascii") if m else None
    text, defect = decode_bytes(data, declared)
    if defect:
        ctx.defects.append(f"body: {defect}")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return html_to_text(text) if html else text


def _param(part: MimePart, header: str, param: str, ctx: _Context) -> str | tuple[str, str, str] | None:
    """A header parameter; raw 8-bit header bytes are decoded first (compat32 would replace them)."""
    raw = next((str(v) for k, v in part.raw_items() if k.lower() == header), None)
    if raw is None:
        return None
    if raw.isascii():
        return cast(str | tuple[str, str, str] | None, part.get_param(param, header=header))
    decoded = MimePart()
    decoded[header] = _decode_raw(_UNFOLD.sub("", raw), ctx, "attachment name")
    return cast(str | tuple[str, str, str] | None, decoded.get_param(param, header=header))


def _filename(part: MimePart, ctx: _Context) -> str:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = _param(part, header, param, ctx)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, text whose chars are the bytes)
            charset, _language, text = value
            name, defect = decode_bytes(str(text).encode("raw-unicode-escape"), charset or None)
            if defect:
                ctx.defects.append(f"attachment name: {defect}")
        else:
            name = _header_text(str(value), ctx, "attachment name")
        # Keep only the last path component: names like "C:\\Users\\x\\a.doc" come from old clients.
        name = re.sub(r"[\x00-\x1f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
        if name:
            return name
    return ""


def _default_name(ctx: _Context, content_type: str) -> str:
    ctx.unnamed += 1
    extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"part-{ctx.unnamed}{extension}"


def _attach_message(part: MimePart, out: _Collected, ctx: _Context) -> None:
    """A message/rfc822 part: an attachment whose text is the attached mail's subject and body."""
    payload = part.get_payload()
    sub = payload[0] if isinstance(payload, list) and payload else None
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    name = _filename(part, ctx)
    nested: Message | None = None
    error: str | None = None
    size = 0
    if ctx.depth + 1 > MAX_DEPTH:
        error = f"attached e-mail nested more than {MAX_DEPTH} levels deep; not read"
    elif sub is not None and cte in ("base64", "quoted-printable") and not sub.is_multipart():
        # Non-conforming but seen: the attached mail itself is transfer-encoded.
        inner = MimePart()
        inner.set_payload(sub.get_payload())
        inner["Content-Transfer-Encoding"] = cte
        raw = _payload_bytes(inner, ctx)
        size = len(raw)
        try:
            nested = parse_eml_bytes(raw, _depth=ctx.depth + 1)
        except ParseError as e:
            error = f"cannot read attached e-mail: {e}"
    elif sub is not None:
        nested = _build(sub, ctx.depth + 1, source="", direction="sent", folder="", account="")
        try:
            size = len(sub.as_bytes())
        except Exception:  # re-serialising odd input can fail; the size is only informative
            size = len(nested.body.encode("utf-8", "replace"))
    else:
        error = "attached e-mail is empty"
    if not name:
        subject = nested.subject if nested is not None else ""
        name = (re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", subject).strip()[:100] or "message") + ".eml"
    text = message_text(nested) if nested is not None else None
    if nested is not None and nested.defects:
        ctx.defects.extend(f"attached e-mail {name!r}: {d}" for d in nested.defects)
    out.attachments.append(Attachment(name, "message/rfc822", size, text, error))


def _walk(part: MimePart, out: _Collected, ctx: _Context, level: int = 0) -> None:
    """Collect body texts and attachments from a part and its children, in document order."""
    ctx.defects.extend(_DEFECTS.get(type(d), f"MIME: {type(d).__name__}") for d in part.defects)
    if level > _MAX_MIME_DEPTH:
        ctx.defects.append(f"MIME: parts nested more than {_MAX_MIME_DEPTH} deep were skipped")
        return
    content_type = part.get_content_type()
    # Checked first: compat32 reports message/* parts as multipart (their payload is a list).
    if part.get_content_maintype() == "message" and isinstance(part.get_payload(), list):
        if content_type in ("message/rfc822", "message/global", "message/news"):
            _attach_message(part, out, ctx)
        else:
            _attach_status(part, out, ctx)
        return
    if part.is_multipart():
        children = cast(list[MimePart], part.get_payload())
        if content_type == "multipart/alternative" and len(children) > 1:
            _walk_alternative(children, out, ctx, level)
        else:
            for child in children:
                _walk(child, out, ctx, level + 1)
        return
    try:
        _leaf(part, content_type, out, ctx)
    except Exception as e:  # a last line of defence: one odd part must not lose the whole message
        ctx.defects.append(f"MIME: a {content_type} part could not be read ({type(e).__name__}: {e})")


def _leaf(part: MimePart, content_type: str, out: _Collected, ctx: _Context) -> None:
    data = _payload_bytes(part, ctx)
    name = _filename(part, ctx)
    disposition = part.get_content_disposition()
    # A multipart whose boundary is missing arrives as one text blob: read it as plain text.
    body_type = "text/plain" if part.get_content_maintype() == "multipart" else content_type
    if body_type in ("text/plain", "text/html") and disposition != "attachment" and not name:
        html = body_type == "text/html"
        out.texts.append(("html" if html else "plain", _text_of(part, data, html, ctx)))
        return
    name = name or _default_name(ctx, content_type)
    charset = part.get_param("charset")
    full_type = f"{content_type}; charset={charset}" if isinstance(charset, str) else content_type
    text, error = extract_text(name, full_type, data, depth=ctx.depth)
    out.attachments.append(Attachment(name, content_type, len(data), text, error))


def _attach_status(part: MimePart, out: _Collected, ctx: _Context) -> None:
    """message/delivery-status and the like: blocks of header fields, kept as a text attachment."""
    content_type = part.get_content_type()
    blocks = [
        "\n".join(f"{k}: {_header_text(str(v), ctx, content_type)}" for k, v in block.raw_items())
        for block in cast(list[MimePart], part.get_payload())
    ]
    text = "\n\n".join(blocks)
    name = _filename(part, ctx) or _default_name(ctx, "text/plain")
    out.attachments.append(Attachment(name, content_type, len(text.encode()), text, None))


def _walk_alternative(children: list[MimePart], out: _Collected, ctx: _Context, level: int) -> None:
    """multipart/alternative: one body, the plain-text version when there is a non-empty one.

    Attachments of every branch are kept (inline images of the HTML branch are still files sent).
    """
    branches: list[list[tuple[str, str]]] = []
    for child in children:
        branch = _Collected(attachments=out.attachments)
        _walk(child, branch, ctx, level + 1)
        branches.append(branch.texts)

    def has_text(texts: list[tuple[str, str]]) -> bool:
        return any(t and not t.isspace() for _, t in texts)

    plain = [b for b in branches if has_text(b) and all(kind == "plain" for kind, _ in b)]
    rich = [b for b in branches if has_text(b)]
    # RFC 2046: later alternatives are richer, so without plain text take the last one.
    chosen = plain[0] if plain else (rich[-1] if rich else [])
    out.texts.extend(chosen)


# ---------------------------------------------------------------- entry points


def _feed(data: bytes) -> MimePart:
    parser = BytesFeedParser(policy=compat32)
    view = memoryview(data)
    for start in range(0, len(data), _FEED_CHUNK):
        parser.feed(bytes(view[start : start + _FEED_CHUNK]))
    return cast(MimePart, parser.close())


def _parse_tree(data: bytes) -> MimePart:
    # Single-part mail (the usual shape of a huge body) skips the line-by-line parser for its body:
    # parse only the header block, then take the rest as the payload, as the parser itself would.
    end = _BLANK_LINE.search(data, 0, _MAX_HEADER_BLOCK)
    if end is not None:
        tree = _feed(data[: end.end()])
        if tree.get_content_maintype() not in ("multipart", "message") and not tree.defects and tree.keys():
            tree.set_payload(data[end.end() :].decode("ascii", "surrogateescape"))
            return tree
    return _feed(data)


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    return len(_CONTROL.findall(sample)) * 20 > len(sample)


def _build(tree: MimePart, depth: int, *, source: str, direction: str, folder: str, account: str) -> Message:
    ctx = _Context(tree, depth)
    headers = _headers(tree)
    if not headers:
        ctx.defects.append("headers: none found; the whole input was read as the body")

    subject = _header_text(headers.get("subject", ""), ctx, "Subject")
    senders = _addresses(headers.get("from"), ctx, "From") or _addresses(headers.get("sender"), ctx, "Sender")
    to = _addresses(headers.get("to"), ctx, "To")
    cc = _addresses(headers.get("cc"), ctx, "Cc")
    bcc = _addresses(headers.get("bcc"), ctx, "Bcc")

    date = None
    raw_date = _decode_raw(_UNFOLD.sub("", headers.get("date", "")), ctx, "Date").strip()
    if raw_date:
        try:
            date = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError, IndexError, OverflowError):
            ctx.defects.append(f"Date: cannot parse {raw_date[:80]!r}")

    raw_id = _decode_raw(_UNFOLD.sub("", headers.get("message-id", "")), ctx, "Message-ID").strip()
    m = _MESSAGE_ID.search(raw_id)
    message_id = (m.group(1) if m else raw_id).strip()

    collected = _Collected()
    try:
        _walk(tree, collected, ctx)
    except RecursionError:
        ctx.defects.append("MIME: structure nested too deeply; part of the message was skipped")

    body = "\n\n".join(t.strip("\n") for _, t in collected.texts if t and not t.isspace())
    stamp = _decode_raw(_UNFOLD.sub("", headers.get("x-mailwarden", "")), ctx, "X-Mailwarden")
    return Message(
        subject=subject,
        body=body,
        sender=senders[0] if senders else None,
        to=to,
        cc=cc,
        bcc=bcc,
        date=date,
        message_id=message_id,
        direction=cast(Direction, direction),
        account=account,
        folder=folder,
        attachments=tuple(collected.attachments),
        quoted=find_quoted_spans(body),
        source=source,
        decision_key=decision_key(stamp),
        defects=tuple(dict.fromkeys(ctx.defects)),
    )


def message_text(message: Message) -> str:
    """Subject, body and attachment texts of a message, as one text (for mail attached to mail)."""
    pieces = [message.subject, message.body]
    pieces += [f"[{a.name}]\n{a.text}" for a in message.attachments if a.text]
    return "\n\n".join(p for p in pieces if p)


def has_mail_headers(data: bytes) -> bool:
    """Whether `data` opens with a mail's header block: header fields (and their continuation
    lines) up to a blank line or the end, after an mbox "From " line, naming at least one field
    mail carries (From, To, Subject, Date, Message-ID, Received…)."""
    data = _ascii_compatible(data)
    leading = _LEADING_NEWLINES.match(data)
    start = leading.end() if leading else 0
    blank = _BLANK_LINE.search(data, start, _MAX_HEADER_BLOCK)
    block = data[start : blank.start() if blank else _MAX_HEADER_BLOCK]
    names: set[bytes] = set()
    for i, line in enumerate(block.splitlines()):
        if i == 0 and line.startswith(b"From "):
            continue  # the envelope line of an mbox entry
        if line[:1] in (b" ", b"\t") and names:
            continue  # a folded field goes on
        field = _FIELD_NAME.match(line)
        if field is None:
            return False
        names.add(field.group(1).lower())
    return bool(names & _MAIL_FIELDS)


def _ascii_compatible(data: bytes) -> bytes:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Saved as UTF-16 by a text editor: the parser needs bytes in an ASCII-compatible encoding.
        return data.decode("utf-16", errors="replace").encode("utf-8")
    return data


def parse_eml_bytes(
    data: bytes,
    *,
    source: str = "",
    direction: str = "sent",
    folder: str = "",
    account: str = "",
    strict: bool = False,
    _depth: int = 0,
) -> Message:
    """Parse one RFC 5322 message. Raises ParseError only for empty input or input that is not
    mail; text without headers is read as a body (with a defect) unless `strict`, when anything
    without a mail header block raises NotAMailError."""
    if direction not in ("sent", "received"):
        raise ValueError(f"direction must be 'sent' or 'received', not {direction!r}")
    label = source or Msg("error.the_message")
    if not data or data.isspace():
        raise ParseError(key="error.empty", values={"source": label})
    data = _ascii_compatible(data)
    if strict and not has_mail_headers(data):
        raise NotAMailError(key="error.not_mail", values={"source": label})
    leading = _LEADING_NEWLINES.match(data)
    start = leading.end() if leading else 0
    if _HEADER_LINE.match(data, start):
        data = data[start:]  # stray blank lines before the headers would make them part of the body
    elif _looks_binary(data):
        raise ParseError(key="error.binary", values={"source": label})
    try:
        tree = _parse_tree(data)
    except RecursionError:
        raise ParseError(key="error.too_deep", values={"source": label}) from None
    return _build(tree, _depth, source=source, direction=direction, folder=folder, account=account)


def parse_text_bytes(data: bytes, *, source: str = "", direction: str = "sent") -> Message:
    """Plain text (a draft, a note) judged as the body of a mail without headers."""
    label = source or Msg("error.the_text")
    if not data or data.isspace():
        raise ParseError(key="error.empty", values={"source": label})
    if _looks_binary(data):
        raise NotAMailError(key="error.not_text", values={"source": label})
    text, _ = decode_bytes(data, None)
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    return Message(
        body=body, direction=cast(Direction, direction), quoted=find_quoted_spans(body), source=source
    )


def parse_eml_file(
    path: str | PathLike[str],
    *,
    direction: str = "sent",
    folder: str = "",
    account: str = "",
    strict: bool = False,
) -> Message:
    """Parse a .eml file; the path becomes the message's source (`strict`: see parse_eml_bytes)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ParseError(key="error.cannot_read", values={"source": str(path), "reason": os_reason(e)}) from e
    return parse_eml_bytes(
        data, source=str(path), direction=direction, folder=folder, account=account, strict=strict
    )
