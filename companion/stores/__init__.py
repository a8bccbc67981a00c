"""Store adapters behind one interface (see base.Store)."""

from __future__ import annotations

from pathlib import Path

from companion.stores.base import Item, Store
from companion.stores.files import MailFile, MailFolder
from companion.stores.mbox import Maildir, MboxFile
from companion.stores.pst import PstFile
from companion.stores.thunderbird import ThunderbirdHome, ThunderbirdProfile

# Most specific first: a maildir or a Thunderbird profile is also a folder.
ADAPTERS: tuple[type, ...] = (
    MailFile,
    PstFile,
    ThunderbirdHome,
    ThunderbirdProfile,
    MboxFile,
    Maildir,
    MailFolder,
)


def open_store(path: Path, nested: bool = False) -> Store | None:
    """The adapter that claims `path`, or None. Nested lookups (inside a folder walk) skip plain folders."""
    for adapter in ADAPTERS:
        if nested and adapter in (MailFile, MailFolder):
            continue
        if adapter.claims(path):
            return adapter(path)
    return None


__all__ = ["ADAPTERS", "Item", "Store", "open_store"]
