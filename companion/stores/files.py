"""Adapters for loose files: one .eml/.msg file, and a folder tree of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from companion.errors import MailwardenError, NotAMailError, os_reason
from companion.errors import unexpected as _unexpected
from companion.i18n import msg
from companion.stores.base import FileStamp, Item, StoreState, direction_for, is_quiet

MAIL_SUFFIXES = (".eml", ".msg")


def read_mail_file(
    path: Path, state: StoreState, folder: str = "", direction: str | None = None, account: str = ""
) -> Iterator[Item]:
    """One .eml/.msg file, unless it was read whole before and has not changed since."""
    from companion.parsing import parse_file  # lazy: the parsers pull in extract-msg

    source = str(path)
    try:
        stamp = FileStamp.of(path)
    except OSError as exc:
        yield Item(source, error=msg("error.cannot_read", source=source, reason=os_reason(exc)))
        return
    previous = state.checkpoint(source)
    if stamp.matches(previous):
        yield Item(source, skipped=previous.get("messages", 0))
        return
    if not is_quiet(stamp.mtime_ns):
        return  # may still be being written (a half-saved .msg): the next scan picks it up
    read = {"size": stamp.size, "mtime_ns": stamp.mtime_ns, "messages": 0}
    try:
        message = parse_file(
            path, direction=direction or direction_for(folder), folder=folder, account=account
        )
    except NotAMailError:
        yield Item(source, checkpoint=(source, read))  # a contact, a note: skipped cleanly
        return
    except MailwardenError as exc:
        yield Item(source, error=exc.msg, checkpoint=(source, read))
        return
    except Exception as exc:  # a parser bug must cost one message, not the scan
        yield Item(source, error=_unexpected(exc), checkpoint=(source, read))
        return
    yield Item(source, message=message, checkpoint=(source, {**read, "messages": 1}))


class MailFile:
    name: ClassVar[str] = "mail file"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in MAIL_SUFFIXES

    def items(self, state: StoreState) -> Iterator[Item]:
        yield from read_mail_file(self.path, state, self.path.parent.name)


class MailFolder:
    """A folder tree holding .eml/.msg files, mbox files and maildirs (exports, test fixtures)."""

    name: ClassVar[str] = "folder of mail files"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_dir()

    def items(self, state: StoreState) -> Iterator[Item]:
        from companion.stores import open_store

        yield from self._walk(self.path, state, open_store)

    def _walk(self, folder: Path, state: StoreState, open_store) -> Iterator[Item]:
        try:
            children = sorted(folder.iterdir())
        except OSError as exc:
            yield Item(str(folder), error=msg("error.cannot_list", source=str(folder), reason=os_reason(exc)))
            return
        for child in children:
            if child.is_file() and child.suffix.lower() in MAIL_SUFFIXES:
                yield from read_mail_file(child, state, folder.name)
                continue
            store = open_store(child, nested=True)
            if store is not None:
                yield from store.items(state)
            elif child.is_dir():
                yield from self._walk(child, state, open_store)
