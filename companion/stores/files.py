"""Adapters for loose files: one .eml/.msg file, and a folder tree of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from companion.errors import MailwardenError, NotAMailError
from companion.stores.base import Item, SkipFile, is_sent_folder, stamp

MAIL_SUFFIXES = (".eml", ".msg")


def read_mail_file(path: Path, skip_file: SkipFile, folder: str = "") -> Iterator[Item]:
    from companion.parsing import parse_file  # lazy: the parsers pull in extract-msg

    try:
        file_stamp = stamp(path)
    except OSError as exc:
        yield Item(str(path), error=f"cannot read file: {exc.strerror or exc}")
        return
    if skip_file(*file_stamp):
        return
    direction = "sent" if is_sent_folder(folder) else "received"
    try:
        message = parse_file(path, direction=direction, folder=folder)
    except NotAMailError as exc:
        yield Item(str(path), error=f"skipped: {exc.message}", file_stamp=file_stamp)
        return
    except MailwardenError as exc:
        yield Item(str(path), error=exc.message, file_stamp=file_stamp)
        return
    except Exception as exc:  # a parser bug must cost one message, not the scan
        yield Item(str(path), error=f"unexpected error: {type(exc).__name__}: {exc}", file_stamp=file_stamp)
        return
    yield Item(str(path), message=message, file_stamp=file_stamp)


class MailFile:
    name: ClassVar[str] = "mail file"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in MAIL_SUFFIXES

    def items(self, skip_file: SkipFile) -> Iterator[Item]:
        yield from read_mail_file(self.path, skip_file, self.path.parent.name)


class MailFolder:
    """A folder tree holding .eml/.msg files (exports, test fixtures)."""

    name: ClassVar[str] = "folder of mail files"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_dir()

    def items(self, skip_file: SkipFile) -> Iterator[Item]:
        from companion.stores import open_store  # mbox files and maildirs inside the tree

        for child in sorted(self.path.rglob("*")):
            if child.is_file() and child.suffix.lower() in MAIL_SUFFIXES:
                yield from read_mail_file(child, skip_file, child.parent.name)
            elif child.is_file() or child.is_dir():
                store = open_store(child, nested=True)
                if store is not None:
                    yield from store.items(skip_file)
