"""Where Mailwarden keeps its state: one per-user data directory (MAILWARDEN_HOME overrides it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "MAILWARDEN_HOME"


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def database(self) -> Path:
        return self.home / "mailwarden.db"

    @property
    def policy(self) -> Path:
        """The policy in force, when one was installed (else the packaged default applies)."""
        return self.home / "policy.toml"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    def ensure(self) -> Paths:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        return self


def data_home() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # lazy: only needed when no override is given

    return Path(platformdirs.user_data_dir("Mailwarden", "Mailwarden"))


def paths() -> Paths:
    return Paths(data_home())
