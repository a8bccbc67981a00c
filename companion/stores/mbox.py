"""mbox files (Thunderbird's folders, exports) and maildirs, read incrementally.

An mbox is remembered by the offset after the last message read and a checksum of the bytes just
before it (Mailpile's trick): if the file was compacted or rewritten, the checksum no longer
matches and the file is read again from the start (messages already stored are recognised and
skipped). Thunderbird appends in place, so normally only the new tail is read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from companion.errors import os_reason
from companion.i18n import msg
from companion.stores.base import FileStamp, Item, StoreState, direction_for, is_quiet
from companion.stores.files import read_mail_file

TAIL = 128  # bytes before the saved offset whose checksum must still match
CHECKPOINT_EVERY = 100  # messages

_STATUS = re.compile(rb"^X-Mozilla-Status: *([0-9A-Fa-f]{4})", re.MULTILINE)
_STATUS2 = re.compile(rb"^X-Mozilla-Status2: *([0-9A-Fa-f]{8})", re.MULTILINE)
MSG_FLAG_EXPUNGED = 0x0008
MSG_FLAG_IMAP_DELETED = 0x00200000


def looks_like_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(5) == b"From "
    except OSError:
        return False


def is_expunged(raw: bytes) -> bool:
    """Deleted in Thunderbird but not compacted away yet (X-Mozilla-Status flags in the headers)."""
    head = raw[: raw.find(b"\n\n") + 1 or 8192]
    m = _STATUS.search(head)
    if m and int(m.group(1), 16) & MSG_FLAG_EXPUNGED:
        return True
    m = _STATUS2.search(head)
    return bool(m and int(m.group(1), 16) & MSG_FLAG_IMAP_DELETED)


def _without_separator(raw: bytes) -> bytes:
    # The blank line before the next "From " line belongs to the mbox, not to the message.
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    return raw[:-1] if raw.endswith(b"\n") else raw


def tail_checksum(path: Path, offset: int) -> str:
    with path.open("rb") as f:
        f.seek(max(0, offset - TAIL))
        return hashlib.sha256(f.read(min(offset, TAIL))).hexdigest()[:16]


def split_mbox(path: Path, start: int = 0, *, last_complete: bool = True) -> Iterator[tuple[int, int, bytes]]:
    """(offset, end, raw message) for every message from `start`, streaming (memory holds one
    message). The last message runs to the end of the file; it is yielded only when
    `last_complete` (the file ends with a line break and has been quiet for a moment), since
    Thunderbird may be appending it right now."""
    with path.open("rb") as f:
        f.seek(start)
        begin, lines, pos, previous_blank, last_line = None, [], start, True, b""
        for line in f:
            if line.startswith(b"From ") and previous_blank:
                if begin is not None:
                    yield begin, pos, _without_separator(b"".join(lines))
                begin, lines = pos, []
            elif begin is not None:
                lines.append(line)
            pos += len(line)
            previous_blank = line in (b"\n", b"\r\n")
            last_line = line
        if begin is not None and last_complete and last_line.endswith(b"\n"):
            yield begin, pos, _without_separator(b"".join(lines))


class MboxFile:
    name: ClassVar[str] = "mbox"

    def __init__(
        self, path: Path, folder: str | None = None, direction: str | None = None, account: str = ""
    ) -> None:
        self.path = path
        self.folder = folder if folder is not None else path.name
        self.direction = direction or direction_for(self.folder)
        self.account = account

    @classmethod
    def claims(cls, path: Path) -> bool:
        return (
            path.is_file() and path.suffix.lower() not in (".msf", ".eml", ".msg") and looks_like_mbox(path)
        )

    def _resume(self, state: dict[str, Any] | None, size: int) -> tuple[int, int]:
        """(offset to read from, messages already counted before it)."""
        if not state:
            return 0, 0
        offset = state.get("offset", 0)
        if 0 < offset <= size and tail_checksum(self.path, offset) == state.get("tail"):
            return offset, state.get("messages", 0)
        return 0, 0  # compacted or rewritten: read it all again (stored messages are recognised)

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
        offset, counted = self._resume(previous, stamp.size)
        if counted:
            yield Item(source, skipped=counted)
        try:
            yield from self._read(source, offset, counted, stamp)
        except OSError as exc:  # unreadable, or vanished mid-read: what was read stays; retry next scan
            yield Item(source, error=msg("error.cannot_read", source=source, reason=os_reason(exc)))

    def _read(self, source: str, offset: int, counted: int, stamp: FileStamp) -> Iterator[Item]:
        from companion.errors import MailwardenError, unexpected
        from companion.parsing import parse_eml_bytes

        read_to = offset
        since_checkpoint = 0
        for begin, end, raw in split_mbox(self.path, offset, last_complete=is_quiet(stamp.mtime_ns)):
            counted += 1
            read_to = end
            if is_expunged(raw):
                item = Item(f"{source}#{begin}")
            else:
                try:
                    message = parse_eml_bytes(
                        raw,
                        source=f"{source}#{begin}",
                        direction=self.direction,
                        folder=self.folder,
                        account=self.account,
                    )
                    item = Item(f"{source}#{begin}", message=message)
                except MailwardenError as exc:
                    item = Item(f"{source}#{begin}", error=exc.msg)
                except Exception as exc:  # one bad message must not stop the scan
                    item = Item(f"{source}#{begin}", error=unexpected(exc))
            since_checkpoint += 1
            if since_checkpoint >= CHECKPOINT_EVERY:
                since_checkpoint = 0
                item = Item(item.source, item.message, item.error, checkpoint=self._checkpoint(end, counted))
            yield item
        done = read_to == stamp.size  # everything read: next time an unchanged file is skipped outright
        yield Item(source, checkpoint=self._checkpoint(read_to, counted, stamp if done else None))

    def _checkpoint(
        self, offset: int, messages: int, stamp: FileStamp | None = None
    ) -> tuple[str, dict[str, Any]]:
        state: dict[str, Any] = {
            "offset": offset,
            "tail": tail_checksum(self.path, offset),
            "messages": messages,
        }
        if stamp is not None:
            state.update(size=stamp.size, mtime_ns=stamp.mtime_ns)
        return str(self.path), state


class Maildir:
    """A maildir folder: messages are files in cur/ and new/; each is read once (by its unique
    name, without the flags Thunderbird and others rewrite into the file name)."""

    name: ClassVar[str] = "maildir"

    def __init__(
        self, path: Path, folder: str | None = None, direction: str | None = None, account: str = ""
    ) -> None:
        self.path = path
        self.folder = folder if folder is not None else path.name.lstrip(".")
        self.direction = direction or direction_for(self.folder)
        self.account = account

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_dir() and (path / "cur").is_dir()

    def items(self, state: StoreState) -> Iterator[Item]:
        source = str(self.path)
        for sub in ("cur", "new"):
            folder = self.path / sub
            try:
                names = sorted(folder.iterdir()) if folder.is_dir() else []
            except OSError as exc:
                yield Item(
                    str(folder), error=msg("error.cannot_list", source=str(folder), reason=os_reason(exc))
                )
                continue
            for path in names:
                unique = path.name.split(":", 1)[0]
                if not path.is_file():
                    continue
                if state.has_item(source, unique):
                    yield Item(str(path), skipped=1)
                    continue
                for item in read_mail_file(path, _Fresh(), self.folder, self.direction, self.account):
                    if item.message is not None or item.error is not None:
                        yield Item(item.source, item.message, item.error, item_id=(source, unique))
                    # else: not a mail, or not quiet yet: nothing to remember


class _Fresh:
    """A StoreState that knows nothing: maildir files are remembered by name, not by stamp."""

    def checkpoint(self, source: str) -> None:
        return None

    def has_item(self, source: str, item_id: str) -> bool:
        return False
