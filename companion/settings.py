"""The user's settings: `config.toml` in the data directory. Every key is optional; with no file at
all the agent finds the user's stores by itself."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from companion.config import Paths
from companion.errors import MailwardenError


class SettingsError(MailwardenError):
    title = "Invalid settings"


@dataclass(frozen=True)
class Settings:
    identities: tuple[str, ...] = ()  # the user's own addresses, beyond those the stores declare
    role: str | None = None  # the policy role the user's sent mail is judged as
    stores: tuple[Path, ...] = ()  # store paths to watch beyond those discovered (PST archives...)
    discover: bool = True  # look for Thunderbird profiles and Outlook data files
    rescan_minutes: float = 10.0  # the safety-net rescan, for stores that give no file events
    debounce_seconds: float = 2.0  # wait for a burst of writes to end before scanning
    summary_minutes: float = 60.0  # how often the agent signs a summary for the collector
    pull_minutes: float = 15.0  # how often it asks the collector for policy and appeal decisions


_TYPES = {
    "identities": list,
    "role": str,
    "stores": list,
    "discover": bool,
    "rescan_minutes": (int, float),
    "debounce_seconds": (int, float),
    "summary_minutes": (int, float),
    "pull_minutes": (int, float),
}


def load_settings(paths: Paths) -> Settings:
    path = paths.config
    if not path.is_file():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    for key, value in data.items():
        if key not in _TYPES:
            raise SettingsError(f"{path}: unknown setting '{key}' (known: {', '.join(_TYPES)})")
        if not isinstance(value, _TYPES[key]) or (isinstance(value, bool) and _TYPES[key] is not bool):
            raise SettingsError(f"{path}: '{key}' has the wrong type")
    return Settings(
        identities=tuple(str(i).lower() for i in data.get("identities", [])),
        role=data.get("role"),
        stores=tuple(Path(str(p)).expanduser() for p in data.get("stores", [])),
        discover=data.get("discover", True),
        rescan_minutes=float(data.get("rescan_minutes", 10.0)),
        debounce_seconds=float(data.get("debounce_seconds", 2.0)),
        summary_minutes=_positive(path, data, "summary_minutes", 60.0),
        pull_minutes=_positive(path, data, "pull_minutes", 15.0),
    )


def _positive(path: Path, data: dict, key: str, default: float) -> float:
    value = float(data.get(key, default))
    if value <= 0:
        raise SettingsError(f"{path}: '{key}' must be more than 0 minutes")
    return value
