"""Outlook data files (.pst archives and .ost caches) read with libpff (`pypff`), incrementally.

Every folder is walked and every mail item read as raw MAPI properties (libpff's own accessors
decode every ANSI string with one code page for the whole file, and hide which property a value
came from, e.g. an Exchange DN rather than an SMTP address). An unchanged file is skipped
whole; a changed one is walked again, but items read before (by their libpff identifier, stable
within a file) are not parsed again.

Two things libpff does not give us, done here:
- folder roles by the store's special-folder entry ids, so localised Outlook folder names
  ("Éléments envoyés", "送信済みアイテム") still count as Sent, Drafts...;
- the content of embedded messages: libpff only hands out their raw property heap, which
  `heap_properties` decodes (values stored outside the heap, such as long bodies, stay out of reach).
"""

from __future__ import annotations

import mimetypes
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from companion.errors import MailwardenError, os_reason, unexpected
from companion.i18n import msg
from companion.message import Address, Attachment, Direction, Message
from companion.stores.base import FileStamp, Item, StoreState, direction_for, folder_role, is_quiet

PST_SIGNATURE = b"!BDN"
PST_SUFFIXES = (".pst", ".ost")
MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024  # larger attachments are listed, not read (memory)

# MAPI property value types.
PT_SHORT, PT_LONG, PT_FLOAT, PT_ERROR, PT_BOOLEAN = 0x0002, 0x0003, 0x0004, 0x000A, 0x000B
PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY, PT_MV_BINARY = 0x001E, 0x001F, 0x0040, 0x0102, 0x1102
_INLINE_TYPES = frozenset({PT_SHORT, PT_LONG, PT_FLOAT, PT_ERROR, PT_BOOLEAN})  # value kept in the BTH record

# MAPI property ids.
PR_MESSAGE_CLASS, PR_SUBJECT, PR_BODY, PR_HTML, PR_DISPLAY_NAME = 0x001A, 0x0037, 0x1000, 0x1013, 0x3001
PR_RECIPIENT_TYPE, PR_ADDRTYPE, PR_EMAIL_ADDRESS, PR_SMTP_ADDRESS = 0x0C15, 0x3002, 0x3003, 0x39FE
PR_ATTACH_SIZE, PR_ATTACH_FILENAME, PR_ATTACH_METHOD = 0x0E20, 0x3704, 0x3705
PR_ATTACH_LONG_FILENAME, PR_ATTACH_MIME_TAG = 0x3707, 0x370E
ATTACH_EMBEDDED_MSG = 5
# Special folders: entry ids on the message store, drafts and junk on the root / IPM subtree / inbox.
STORE_FOLDER_ROLES = {0x35E2: "outbox", 0x35E3: "trash", 0x35E4: "sent"}
PR_IPM_DRAFTS_ENTRYID, PR_ADDITIONAL_REN_ENTRYIDS = 0x36D7, 0x36E4
JUNK_INDEX = 4  # in PR_ADDITIONAL_REN_ENTRYIDS

_MAIL_CLASS = "ipm.note"


def is_mail_class(message_class: str) -> bool:
    """IPM.Note and its subclasses (IPM.Note.SMIME...) are mail; contacts, appointments, posts,
    tasks, sticky notes, distribution lists and reports (REPORT.IPM.Note.NDR) are not."""
    lower = message_class.strip().lower()
    return lower == _MAIL_CLASS or lower.startswith(_MAIL_CLASS + ".")


class PstError(MailwardenError):
    """The file cannot be opened as an Outlook data file."""


# -- raw property values ---------------------------------------------------------------------------


def _filetime(data: bytes) -> datetime | None:
    if len(data) < 8:
        return None
    ticks = int.from_bytes(data[:8], "little")
    try:
        return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None


def multi_binary(data: bytes) -> list[bytes]:
    """The values of a PT_MV_BINARY property: a count, an offset per value, then the values."""
    if len(data) < 4:
        return []
    count = int.from_bytes(data[:4], "little")
    if count > (len(data) - 4) // 4:
        return []
    offsets = [*struct.unpack_from(f"<{count}I", data, 4), len(data)]
    return [data[offsets[i] : offsets[i + 1]] for i in range(count)]


def entry_id_nid(entry_id: bytes) -> int | None:
    """The node id a PST entry id points to (flags, provider uid, then the 4-byte node id)."""
    return int.from_bytes(entry_id[20:24], "little") if len(entry_id) >= 24 else None


class Props:
    """String, time and number properties of one item, read the way msg.py's `_Reader` reads them
    (so its sender, date and header helpers work on PST items too). ANSI strings are decoded with
    the item's declared code page, else its parent's (recipients and attachments declare none)."""

    def __init__(
        self, raw: Callable[[int], tuple[int, bytes | None] | None], parent: Props | None = None
    ) -> None:
        self._raw = raw
        self.parent = parent
        self.defects: list[str] = parent.defects if parent is not None else []

    @cached_property
    def codec(self) -> str | None:
        """Codec of the ANSI strings (PidTagMessageCodepage, else PidTagInternetCodepage)."""
        from companion.parsing.msg import codec_for_code_page

        for prop in (0x3FFD, 0x3FDE):
            number = self.integer(prop)
            codec = codec_for_code_page(number) if number and number > 0 else None
            if codec:
                return codec
        return self.parent.codec if self.parent is not None else None

    @cached_property
    def html_codec(self) -> str | None:
        """Codec of a binary HTML body: the internet code page."""
        from companion.parsing.msg import codec_for_code_page

        number = self.integer(0x3FDE)
        return (codec_for_code_page(number) if number and number > 0 else None) or self.codec

    def raw(self, prop: int) -> tuple[int, bytes | None] | None:
        try:
            return self._raw(prop)
        except Exception:  # a damaged value: treat as absent
            return None

    def data(self, prop: int) -> bytes | None:
        found = self.raw(prop)
        return found[1] if found else None

    def text(self, prop: int) -> str:
        """A PT_UNICODE or PT_STRING8 property, decoded; "" when absent."""
        found = self.raw(prop)
        if not found or found[1] is None:
            return ""
        kind, data = found
        if kind == PT_UNICODE:
            return data.decode("utf-16-le", "replace").replace("\x00", "").strip()
        if kind == PT_STRING8:
            from companion.parsing.charset import decode_bytes

            text, defect = decode_bytes(data.rstrip(b"\x00"), self.codec)
            if defect:
                self.defects.append(f"property {prop:04X}: {defect}")
            return text.replace("\x00", "").strip()
        return ""

    def integer(self, prop: int) -> int | None:
        data = self.data(prop)
        return int.from_bytes(data[:4], "little", signed=True) if data and len(data) >= 4 else None

    # The interface of msg._Reader: properties named by hex strings ("0037", "00390040").
    def string(self, prop: str) -> str:
        return self.text(int(prop[:4], 16))

    def prop(self, name: str) -> Any:
        found = self.raw(int(name[:4], 16))
        if not found or found[1] is None:
            return None
        kind, data = found
        if kind == PT_SYSTIME:
            return _filetime(data)
        if kind == PT_LONG:
            return int.from_bytes(data[:4], "little", signed=True)
        return data


def _entries_raw(record_sets: Any) -> Callable[[int], tuple[int, bytes | None] | None]:
    """Property lookup over pypff record sets; values are read only when asked for (bodies are big)."""
    entries: dict[int, Any] = {}
    for record_set in record_sets:
        for entry in record_set.entries:
            entries.setdefault(entry.entry_type, entry)

    def raw(prop: int) -> tuple[int, bytes | None] | None:
        entry = entries.get(prop)
        return (entry.value_type, entry.data) if entry is not None else None

    return raw


def item_props(item: Any, parent: Props | None = None) -> Props:
    """Props of a pypff item (message, folder, message store or attachment)."""
    return Props(_entries_raw(item.record_sets), parent)


# -- embedded messages: the property context in an attachment's raw data -------------------------


def _heap_blocks(buf: bytes) -> list[int]:
    """Start of each heap-on-node block: a block ends with its page map (MS-PST 2.3.1)."""
    starts, pos = [], 0
    while pos + 2 <= len(buf):
        starts.append(pos)
        page_map = pos + int.from_bytes(buf[pos : pos + 2], "little")
        if page_map + 4 > len(buf):
            break
        count = int.from_bytes(buf[page_map : page_map + 2], "little")
        end = page_map + 4 + 2 * (count + 1)
        if end <= pos:
            break
        pos = end
    return starts


def _heap_item(buf: bytes, blocks: list[int], hid: int) -> bytes | None:
    """The heap allocation `hid` names, or None (a subnode reference or a bad id)."""
    index, block = (hid >> 5) & 0x7FF, hid >> 16
    if hid & 0x1F or index == 0 or block >= len(blocks):
        return None
    start = blocks[block]
    page_map = start + int.from_bytes(buf[start : start + 2], "little")
    count = int.from_bytes(buf[page_map : page_map + 2], "little")
    if index > count or page_map + 4 + 2 * (count + 1) > len(buf):
        return None
    begin, end = struct.unpack_from("<HH", buf, page_map + 4 + 2 * (index - 1))
    return buf[start + begin : start + end] if begin <= end else None


def heap_properties(buf: bytes) -> dict[int, tuple[int, bytes | None]]:
    """{property id: (type, value)} of a raw property context (an embedded message's data).
    Values stored in subnodes come back as None. Raises ValueError on data that is no such thing."""
    if len(buf) < 12 or buf[2:4] != b"\xec\xbc":  # heap signature, property-context client
        raise ValueError("not a property context")
    blocks = _heap_blocks(buf)
    header = _heap_item(buf, blocks, int.from_bytes(buf[4:8], "little"))
    if not header or len(header) < 8 or header[0] != 0xB5 or header[1:3] != b"\x02\x06":
        raise ValueError("no property table")
    props: dict[int, tuple[int, bytes | None]] = {}
    _read_btree(buf, blocks, int.from_bytes(header[4:8], "little"), header[3], props)
    return props


def _read_btree(buf: bytes, blocks: list[int], hid: int, levels: int, out: dict) -> None:
    records = _heap_item(buf, blocks, hid) if hid else b""
    if records is None:
        return
    if levels > 0:  # index level: (key, hid of the next level) records
        for pos in range(0, len(records) - 5, 6):
            _read_btree(buf, blocks, int.from_bytes(records[pos + 2 : pos + 6], "little"), levels - 1, out)
        return
    for pos in range(0, len(records) - 7, 8):
        prop, kind, value = struct.unpack_from("<HHI", records, pos)
        if kind in _INLINE_TYPES:
            out[prop] = (kind, value.to_bytes(4, "little"))
        else:
            out[prop] = (kind, _heap_item(buf, blocks, value))


# -- messages ------------------------------------------------------------------------------------


def subject(props: Props) -> str:
    # PST subjects start with "\x01" and the length of the "RE: " prefix they carry.
    text = props.text(PR_SUBJECT)
    return text[2:].strip() if text.startswith("\x01") else text


def _recipients(message: Any, props: Props) -> dict[int, list[Address]]:
    from companion.parsing.msg import smtp_address

    kinds: dict[int, list[Address]] = {1: [], 2: [], 3: []}
    rows = message.recipients
    for row in rows.record_sets if rows is not None else ():
        recipient = Props(_entries_raw([row]), props)
        kind = recipient.integer(PR_RECIPIENT_TYPE)
        name = recipient.text(PR_DISPLAY_NAME).strip("'\" ")
        address = smtp_address(recipient.text(PR_SMTP_ADDRESS))
        if not address and recipient.text(PR_ADDRTYPE).upper() == "SMTP":
            address = smtp_address(recipient.text(PR_EMAIL_ADDRESS))
        if kind in kinds and (address or name):
            kinds[kind].append(Address(address, name if name.lower() != address else ""))
    return kinds


def _html_text(props: Props) -> str | None:
    """The HTML body as text; None when there is none."""
    from companion.parsing.charset import decode_bytes
    from companion.parsing.html import html_to_text

    found = props.raw(PR_HTML)
    if not found or not found[1]:
        return None
    kind, data = found
    if kind != PT_BINARY:
        return html_to_text(props.text(PR_HTML))
    text, defect = decode_bytes(data, props.html_codec)
    if defect:
        props.defects.append(f"body: {defect}")
    return html_to_text(text)


def rtf_text(rtf: bytes) -> str:
    """Text of an RTF body that encapsulates HTML or plain text (what Outlook writes); slow."""
    import RTFDE  # lazy: a heavy import (lark) that only RTF-only messages need

    from companion.parsing.charset import decode_bytes
    from companion.parsing.html import html_to_text

    end = rtf.rfind(b"}")
    deencapsulator = RTFDE.DeEncapsulator(rtf[: end + 1] if end >= 0 else rtf)
    deencapsulator.deencapsulate()
    if deencapsulator.content_type == "html":
        html = deencapsulator.html
        return html_to_text(html if isinstance(html, str) else decode_bytes(html, None)[0])
    text = deencapsulator.text
    return text if isinstance(text, str) else decode_bytes(text or b"", None)[0]


def body(props: Props, rtf: Callable[[], bytes | None] = lambda: None) -> str:
    """Plain body first; the HTML body as text when there is no plain text; RTF only when the item
    stores neither (de-encapsulating RTF takes about a second)."""
    plain = props.text(PR_BODY)
    if plain.strip():
        return plain
    html = _html_text(props)
    if html is not None:
        return html
    if props.raw(PR_BODY) is not None:
        return plain
    try:
        data = rtf()
        return rtf_text(data) if data else ""
    except Exception as exc:  # RTFDE raises on RTF that encapsulates nothing, and on malformed RTF
        props.defects.append(f"body: cannot read RTF body ({type(exc).__name__})")
        return ""


def _embedded_text(data: bytes, parent: Props) -> str:
    from companion.parsing.eml import message_text

    props = Props(heap_properties(data).get, parent)
    return message_text(Message(subject=subject(props), body=body(props)))


def _attachment(attachment: Any, index: int, parent: Props) -> Attachment:
    from companion.parsing.attachments import attachment_kind, extract_text

    props = item_props(attachment, parent)
    names = (props.text(p) for p in (PR_ATTACH_LONG_FILENAME, PR_DISPLAY_NAME, PR_ATTACH_FILENAME))
    name = next((n for n in names if n), "")
    if props.integer(PR_ATTACH_METHOD) == ATTACH_EMBEDDED_MSG:
        name = name if name.lower().endswith(".msg") else f"{name or 'message'}.msg"
        size = max(props.integer(PR_ATTACH_SIZE) or 0, 0)
        try:
            text = _embedded_text(_read_data(attachment), props)
        except ValueError as exc:
            return Attachment(
                name, "application/vnd.ms-outlook", size, None, f"cannot read embedded message ({exc})"
            )
        return Attachment(name, "application/vnd.ms-outlook", size, text)
    name = name or f"attachment-{index}"
    guessed = mimetypes.guess_type(name, strict=False)[0]
    content_type = props.text(PR_ATTACH_MIME_TAG) or guessed or "application/octet-stream"
    size = attachment.size or 0
    if attachment_kind(name, content_type) is None:
        return Attachment(name, content_type, size)  # not a kind we read: do not load its bytes
    if size > MAX_ATTACHMENT_BYTES:
        return Attachment(name, content_type, size, None, f"attachment too large to read ({size >> 20} MB)")
    text, error = extract_text(name, content_type, _read_data(attachment))
    return Attachment(name, content_type, size, text, error)


def _read_data(attachment: Any) -> bytes:
    size = attachment.size or 0
    if size > MAX_ATTACHMENT_BYTES:
        raise ValueError("too large")
    attachment.seek_offset(0, 0)
    return attachment.read_buffer(size) if size else b""


def _attachments(message: Any, props: Props) -> tuple[Attachment, ...]:
    result = []
    for index in range(message.number_of_attachments):
        try:
            result.append(_attachment(message.get_attachment(index), index + 1, props))
        except Exception as exc:  # one unreadable attachment costs that attachment, not the mail
            props.defects.append(f"attachment {index + 1}: cannot read ({type(exc).__name__}: {exc})")
    return tuple(result)


def convert_message(
    message: Any, props: Props, *, source: str, folder: str, direction: str, account: str = ""
) -> Message:
    """A pypff message (already known to be mail) to a Message."""
    from companion.parsing.msg import mapi_date, sender_address, transport_headers
    from companion.parsing.quoted import find_quoted_spans

    headers = transport_headers(props)
    text = body(props, lambda: message.rtf_body).replace("\r\n", "\n").replace("\r", "\n")
    message_id = props.text(0x1035) or (str(headers.get("Message-ID", "")) if headers is not None else "")
    kinds = _recipients(message, props)
    return Message(
        subject=subject(props),
        body=text,
        sender=sender_address(props, headers),
        to=tuple(kinds[1]),
        cc=tuple(kinds[2]),
        bcc=tuple(kinds[3]),
        date=mapi_date(props, headers),
        message_id=message_id.strip().strip("<>").strip(),
        direction=_direction(direction),
        account=account,
        folder=folder,
        attachments=_attachments(message, props),
        quoted=find_quoted_spans(text),
        source=source,
        defects=tuple(dict.fromkeys(props.defects)),
    )


def _direction(value: str) -> Direction:
    return "sent" if value == "sent" else "received"


# -- the file ------------------------------------------------------------------------------------


def open_pst(path: Path) -> Any:
    """An open pypff.file; PstError (naming the file) when it is not a readable Outlook data file."""
    import pypff  # lazy: a native extension only PST users need

    pst = pypff.file()
    try:
        pst.open(str(path))
    except Exception as exc:
        detail = str(exc).split(". ")[1:2] or [str(exc)]
        raise PstError(
            key="error.pst.open", values={"source": str(path), "detail": detail[0].rstrip(".")}
        ) from None
    return pst


def special_folders(pst: Any) -> dict[int, str]:
    """{folder node id: role} from the store's own records, whatever language the folders are named in."""
    roles: dict[int, str] = {}
    try:
        store = item_props(pst.message_store)
        for prop, role in STORE_FOLDER_ROLES.items():
            nid = entry_id_nid(store.data(prop) or b"")
            if nid:
                roles[nid] = role
        root = pst.root_folder
        holders = [root, *_children(root)]
        for holder in holders:
            props = item_props(holder)
            nid = entry_id_nid(props.data(PR_IPM_DRAFTS_ENTRYID) or b"")
            if nid:
                roles.setdefault(nid, "drafts")
            ren = multi_binary(props.data(PR_ADDITIONAL_REN_ENTRYIDS) or b"")
            nid = entry_id_nid(ren[JUNK_INDEX]) if len(ren) > JUNK_INDEX else None
            if nid:
                roles.setdefault(nid, "junk")
    except Exception:  # roles are a refinement: folder names still give most of them
        pass
    return roles


def _children(folder: Any) -> list[Any]:
    return [folder.get_sub_folder(i) for i in range(folder.number_of_sub_folders)]


def walk_folders(pst: Any) -> Iterator[tuple[Any, str, str | None, str | None]]:
    """(folder, path, role, error) for every folder, depth first; a folder whose subfolders cannot
    be listed comes with the error and its subtree is left out."""
    roles = special_folders(pst)
    stack: list[tuple[Any, str]] = [(pst.root_folder, "")]
    while stack:
        folder, path = stack.pop()
        name = (folder.name or "").strip()
        role = roles.get(folder.identifier) or folder_role(name)
        try:
            children = _children(folder)
        except Exception as exc:
            yield folder, path, role, f"cannot list subfolders: {exc}"
            children = []
        else:
            yield folder, path, role, None
        for child in reversed(children):
            child_name = (child.name or "").strip()
            stack.append((child, f"{path}/{child_name}" if path else child_name))


class PstFile:
    """One Outlook data file: every mail in every folder."""

    name: ClassVar[str] = "outlook data file"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        if not path.is_file() or path.suffix.lower() not in PST_SUFFIXES:
            return False
        try:
            with path.open("rb") as f:
                return f.read(4) == PST_SIGNATURE
        except OSError:
            return False

    def items(self, state: StoreState) -> Iterator[Item]:
        source = str(self.path)
        try:
            stamp = FileStamp.of(self.path)
        except OSError as exc:
            yield Item(source, error=msg("error.cannot_read", source=source, reason=os_reason(exc)))
            return
        previous = state.checkpoint(source)
        if stamp.matches(previous):
            yield Item(source, skipped=previous.get("messages", 0))
            return
        try:
            pst = open_pst(self.path)
        except PstError as exc:
            yield Item(source, error=exc.msg)
            return
        tally = {"messages": 0, "folder_errors": 0}
        try:
            yield from self._read(pst, state, tally)
        except Exception as exc:  # libpff failing mid-walk: what was read stays, the rest waits
            tally["folder_errors"] += 1
            yield Item(source, error=msg("error.pst.stopped", source=source, detail=str(exc)))
        finally:
            pst.close()
        # Outlook keeps its files open and writing: a file changed moments ago, or one with a
        # folder we could not list, is looked at again next time (read items are skipped by id).
        if is_quiet(stamp.mtime_ns) and not tally["folder_errors"]:
            state_out = {"size": stamp.size, "mtime_ns": stamp.mtime_ns, "messages": tally["messages"]}
            yield Item(source, checkpoint=(source, state_out))

    def _read(self, pst: Any, state: StoreState, tally: dict[str, int]) -> Iterator[Item]:
        source = str(self.path)
        for folder, path, role, error in walk_folders(pst):
            if error:
                tally["folder_errors"] += 1
                yield Item(
                    f"{source}#{path}", error=msg("error.pst.folder", folder=path or "/", detail=error)
                )
            direction = direction_for(folder.name or "", role)
            try:
                count = folder.number_of_sub_messages
            except Exception as exc:
                tally["folder_errors"] += 1
                yield Item(
                    f"{source}#{path}", error=msg("error.pst.list", folder=path or "/", detail=str(exc))
                )
                continue
            for index in range(count):
                item = self._message(folder, index, path, direction, state)
                if item is not None:
                    tally["messages"] += 1
                    yield item

    def _message(self, folder: Any, index: int, path: str, direction: str, state: StoreState) -> Item | None:
        """The Item for the index-th item of a folder; None for items that are not mail."""
        source = str(self.path)
        try:
            message = folder.get_sub_message(index)
            item_id = str(message.identifier)
        except Exception as exc:
            return Item(
                f"{source}#{path}/#{index + 1}",
                error=msg("error.pst.item", n=index + 1, folder=path or "/", detail=str(exc)),
            )
        label = f"{source}#{path}/{item_id}"
        if state.has_item(source, item_id):
            return Item(label, skipped=1)
        try:
            props = item_props(message)
            if not is_mail_class(props.text(PR_MESSAGE_CLASS)):
                return None  # a contact, an appointment, a report...: not mail, not an error
            parsed = convert_message(message, props, source=label, folder=path, direction=direction)
        except Exception as exc:  # one damaged message costs that message, not the file
            return Item(label, error=unexpected(exc), item_id=(source, item_id))
        return Item(label, message=parsed, item_id=(source, item_id))
