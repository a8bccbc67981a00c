"""One interface for every mail store: each adapter says whether a path is its format and yields
the messages in it (or the reason one could not be read)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from companion.message import Message

SENT_FOLDER_NAMES = frozenset(
    {"sent", "sent items", "sent mail", "sent messages", "已发送", "已发送邮件", "发件箱", "寄件備份", "寄件备份"}
)


@dataclass(frozen=True)
class Item:
    """What an adapter yields: a parsed message, or the error met instead (counted and logged, never
    fatal), or only a file stamp once a whole file has been read."""

    source: str
    message: Message | None = None
    error: str | None = None
    # For whole files that were read completely: (path, size, mtime_ns), so they can be skipped next time.
    file_stamp: tuple[str, int, int] | None = None


class Store(Protocol):
    name: ClassVar[str]

    @classmethod
    def claims(cls, path: Path) -> bool:
        """True when `path` is in this adapter's format."""

    def items(self, skip_file: SkipFile) -> Iterator[Item]:
        """Every message in the store; files for which skip_file(...) is true are not read."""


class SkipFile(Protocol):
    def __call__(self, path: str, size: int, mtime_ns: int) -> bool: ...


def is_sent_folder(folder: str) -> bool:
    return folder.strip().lower() in SENT_FOLDER_NAMES


def stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns
