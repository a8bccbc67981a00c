"""The policy engine in force, built once and rebuilt when the policy file changes.

The engine is read-only once built, so every thread (HTTP requests, the scan worker) shares it.
A stat per call is the whole cost of noticing a new policy, which keeps pre-send checks fast.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.policy import PolicyEngine

log = logging.getLogger(__name__)

_NEVER = ("never",)  # a stamp no stat result equals: forces the first build


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None  # no installed policy: the packaged default applies
    except OSError as exc:
        return ("unreadable", str(exc))
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class EngineCache:
    def __init__(self, policy_path: Path) -> None:
        self.path = policy_path
        self._lock = threading.Lock()
        self._stamp: tuple | None = _NEVER
        self._engine: PolicyEngine | None = None
        self.installed = False  # whether the engine in force comes from the installed policy file
        self.error: str | None = None  # why the installed policy could not be used, if it could not

    def get(self) -> PolicyEngine:
        stamp = _stamp(self.path)
        engine = self._engine
        if engine is not None and stamp == self._stamp:
            return engine
        with self._lock:
            if self._engine is None or stamp != self._stamp:
                self._engine = self._build(stamp)
                self._stamp = stamp
            return self._engine

    def _build(self, stamp: tuple | None) -> PolicyEngine:
        from companion.errors import PolicyError
        from companion.policy import PolicyEngine, load_policy

        if stamp is None:
            self.installed, self.error = False, None
            return PolicyEngine(load_policy())
        try:
            engine = PolicyEngine(load_policy(self.path))
        except PolicyError as exc:
            # Never stop checking mail because a bad policy was installed: keep the last good engine
            # (or the default) and say why in the status.
            log.error("policy not applied: %s", exc.message)
            self.error = exc.message
            if self._engine is not None:
                return self._engine
            self.installed = False
            return PolicyEngine(load_policy())
        log.info("policy %s in force (%s)", engine.version, self.path)
        self.installed, self.error = True, None
        return engine
