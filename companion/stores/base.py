"""One interface for every mail store: each adapter says whether a path is its format and yields
the messages in it (or the reason one could not be read), reading only what is new.

Incremental state is kept by the scan pipeline, not by adapters: an adapter reads the last
checkpoint of a source through `StoreState` and yields new checkpoints; the pipeline saves a
checkpoint in the same transaction as the messages before it, so a killed scan never records a
position past a message it did not store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from companion.i18n import Msg
from companion.message import Message

# Folder names (lower case) by role, in the languages our users' clients speak.
FOLDER_ROLES: dict[str, frozenset[str]] = {
    "inbox": frozenset({"inbox", "收件箱", "收件匣"}),
    "sent": frozenset(
        {
            "sent",
            "sent items",
            "sent mail",
            "sent messages",
            "已发送",
            "已发送邮件",
            "已发邮件",
            "发件箱",
            "寄件備份",
            "寄件备份",
            "已傳送郵件",
            "已寄出郵件",
            "[gmail]/sent mail",
        }
    ),
    "drafts": frozenset({"drafts", "draft", "草稿", "草稿箱", "草稿夹"}),
    "trash": frozenset(
        {
            "trash",
            "deleted items",
            "deleted messages",
            "bin",
            "已删除",
            "已删除邮件",
            "垃圾桶",
            "廢紙簍",
            "回收站",
        }
    ),
    "junk": frozenset({"junk", "spam", "junk e-mail", "junk email", "垃圾邮件", "垃圾郵件"}),
    "outbox": frozenset({"outbox", "unsent messages", "待发邮件"}),
}
OUTGOING_ROLES = frozenset({"sent", "drafts", "outbox"})

# A file changed less than this long ago may still be being written: wait for the next scan.
QUIET_SECONDS = 2.0


def folder_role(folder: str) -> str | None:
    name = folder.strip().lower()
    return next((role for role, names in FOLDER_ROLES.items() if name in names), None)


def direction_for(folder: str, role: str | None = None) -> str:
    """sent for mail in a Sent/Drafts/Outbox folder, else received (identities may still make it sent)."""
    return "sent" if (role or folder_role(folder)) in OUTGOING_ROLES else "received"


def is_sent_folder(folder: str) -> bool:
    return folder_role(folder) == "sent"


def is_quiet(mtime_ns: int) -> bool:
    return time.time() - mtime_ns / 1e9 >= QUIET_SECONDS


@dataclass(frozen=True)
class Item:
    """What an adapter yields: a parsed message, the error met instead (counted and logged, never
    fatal), a count of messages skipped as already read, and/or a checkpoint to save."""

    source: str
    message: Message | None = None
    error: str | Msg | None = None  # a Msg is said in the reader's language (companion.i18n)
    skipped: int = 0
    # (source id, state): saved once every message yielded before it is stored.
    checkpoint: tuple[str, dict[str, Any]] | None = None
    # (source id, item id): remembered with this message so the item is not read again.
    item_id: tuple[str, str] | None = None


class StoreState(Protocol):
    def checkpoint(self, source: str) -> dict[str, Any] | None:
        """The last saved checkpoint of `source`, if any."""

    def has_item(self, source: str, item_id: str) -> bool:
        """Whether the item was read before."""


class Store(Protocol):
    name: ClassVar[str]

    @classmethod
    def claims(cls, path: Path) -> bool:
        """True when `path` is in this adapter's format."""

    def items(self, state: StoreState) -> Iterator[Item]:
        """Every message in the store not read before (see StoreState)."""


@dataclass(frozen=True)
class FileStamp:
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns)

    def matches(self, state: dict[str, Any] | None) -> bool:
        return bool(state) and state.get("size") == self.size and state.get("mtime_ns") == self.mtime_ns
