"""Classic Outlook (Windows only): where its data files live, and whose mail they hold.

Outlook keeps account caches (.ost) and data files (.pst) in two default folders; data files
elsewhere are found only when the user configures their paths.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from companion.stores.pst import PST_SUFFIXES

log = logging.getLogger(__name__)

MAX_SENT_MESSAGES = 500  # enough to see every identity; a big Sent Items folder is not read whole


def outlook_folders(*, env: Mapping[str, str], home: Path) -> list[tuple[Path, tuple[str, ...]]]:
    """(folder, suffixes of the data files Outlook keeps there) on Windows."""
    local = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
    profile = Path(env["USERPROFILE"]) if env.get("USERPROFILE") else home
    return [
        (local / "Microsoft" / "Outlook", PST_SUFFIXES),  # .ost caches, and .pst files of newer versions
        (profile / "Documents" / "Outlook Files", (".pst",)),
    ]


def discover_outlook_stores(*, env: Mapping[str, str], home: Path, platform: str) -> list[Path]:
    """Outlook data files in the default folders, sorted; [] off Windows (classic Outlook runs only there)."""
    if not (platform.startswith("win") or platform == "cygwin"):
        return []
    found: list[Path] = []
    for folder, suffixes in outlook_folders(env=env, home=home):
        try:
            # Not glob(): Windows file names are case-insensitive, and "X.PST" is as good as "x.pst".
            found += [p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file()]
        except OSError:  # no such folder (Outlook never ran), or not readable
            continue
    return sorted(dict.fromkeys(found))


def outlook_identities_from_pst(path: Path) -> tuple[str, ...]:
    """Best effort: the SMTP addresses that sent the mail in the file's Sent Items folder(s),
    most frequent first; () when the file cannot be read."""
    from companion.parsing.msg import sender_address
    from companion.stores import pst as store

    try:
        pst = store.open_pst(Path(path))
    except store.PstError as exc:
        log.info("%s", exc)
        return ()
    counts: dict[str, int] = {}
    try:
        for folder, _, role, _ in store.walk_folders(pst):
            if role != "sent":
                continue
            for index in range(min(folder.number_of_sub_messages, MAX_SENT_MESSAGES)):
                props = store.item_props(folder.get_sub_message(index))
                if not store.is_mail_class(props.text(store.PR_MESSAGE_CLASS)):
                    continue
                sender = sender_address(props, None)
                if sender is not None and sender.address:
                    counts[sender.address] = counts.get(sender.address, 0) + 1
    except Exception as exc:  # a damaged file: keep what was found
        log.info("%s: reading identities stopped: %s", path, exc)
    finally:
        pst.close()
    return tuple(sorted(counts, key=lambda a: (-counts[a], a)))
