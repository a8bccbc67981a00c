"""Which stores this user has: Thunderbird profiles, Outlook data files, and configured paths."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StoreInfo:
    path: Path
    kind: str  # "thunderbird-profile", "outlook-pst", "outlook-ost", "configured"
    readable: bool
    account: str = ""
    identities: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "readable": self.readable,
            "account": self.account,
            "identities": list(self.identities),
        }


def readable(path: Path) -> bool:
    return os.access(path, os.R_OK) and (path.is_file() or path.is_dir())


def discover_stores(
    configured: tuple[Path, ...] = (),
    *,
    discover: bool = True,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
) -> list[StoreInfo]:
    """Every store found for this user, plus the configured ones (deduplicated, in a stable order)."""
    from companion.stores.outlook import discover_outlook_stores, outlook_identities_from_pst
    from companion.stores.thunderbird import discover_profiles

    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    platform = sys.platform if platform is None else platform
    found: list[StoreInfo] = []
    if discover:
        for profile in discover_profiles(env=env, home=home, platform=platform):
            found.append(
                StoreInfo(
                    profile.path,
                    "thunderbird-profile",
                    readable(profile.path),
                    profile.name,
                    profile.identities,
                )
            )
        for path in discover_outlook_stores(env=env, home=home, platform=platform):
            kind = "outlook-ost" if path.suffix.lower() == ".ost" else "outlook-pst"
            ok = readable(path)
            # The user's addresses, from the senders in the store's Sent Items
            found.append(
                StoreInfo(path, kind, ok, identities=outlook_identities_from_pst(path) if ok else ())
            )
    for path in configured:
        found.append(StoreInfo(path, "configured", readable(path)))
    unique: dict[Path, StoreInfo] = {}
    for info in found:
        unique.setdefault(info.path.resolve() if info.path.exists() else info.path, info)
    return list(unique.values())
