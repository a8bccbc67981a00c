"""The policy in force: the engine, the user's role and the policy version, for every path that judges
mail (the agent's scans and local API, the Thunderbird host, the Outlook add-in).

One freshness rule for all of them: each `get()` stats policy.toml and config.toml (a few
microseconds), rebuilds the engine when the policy file changed and re-reads the role when the
settings changed. A Thunderbird or Outlook session lasts hours; a new policy or role applies at the
next check without a restart, and nothing is read when nothing changed, which keeps checks fast.

The engine is read-only once built, so every thread (HTTP requests, the scan worker, the host's
writer) shares the same `InForce`.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from companion.config import Paths

if TYPE_CHECKING:
    from companion.policy.engine import PolicyEngine

log = logging.getLogger(__name__)

Stamp = tuple | None
_NEVER = ("never",)  # a stamp no stat result equals: forces the first build


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None  # no file: the packaged default policy / the default settings apply
    except OSError as exc:
        return ("unreadable", str(exc))
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class InForce:
    """What judges mail right now."""

    engine: PolicyEngine
    role: str | None  # the configured role when this policy defines it, else None (the policy's tiers)
    installed: bool  # the engine comes from the installed policy file (else the packaged default)
    error: str | None = None  # why the installed policy file is not in force, when it is not
    configured_role: str | None = None  # the role config.toml names, known to the policy or not

    @property
    def version(self) -> str:
        return self.engine.version

    def role_for(self, requested: str | None) -> str | None:
        """The role a check runs as: `requested` when a caller names one (the engine refuses a role
        the policy does not define), else the configured role."""
        return requested if requested is not None else self.role


class PolicyInForce:
    """`get()` gives the `InForce` for a data directory, rebuilt only when policy.toml or config.toml
    changed since the last call."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self._lock = threading.Lock()
        self._stamps: tuple[Stamp, Stamp] = (_NEVER, _NEVER)
        self._current: InForce | None = None

    def get(self) -> InForce:
        stamps = (_stamp(self.paths.policy), _stamp(self.paths.config))
        current = self._current
        if current is not None and stamps == self._stamps:
            return current
        with self._lock:
            if self._current is None or stamps != self._stamps:
                policy_changed = self._current is None or stamps[0] != self._stamps[0]
                self._current = self._build(stamps[0], policy_changed)
                self._stamps = stamps
            return self._current

    def _build(self, policy_stamp: Stamp, policy_changed: bool) -> InForce:
        if policy_changed or self._current is None:
            engine, installed, error = self._engine(policy_stamp)
        else:
            engine, installed, error = self._current.engine, self._current.installed, self._current.error
        configured = self._configured_role()
        role = configured if configured and configured in engine.policy.roles else None
        if configured and role is None:
            log.warning(
                "role %r is not defined by policy %s: the policy's own tiers apply",
                configured,
                engine.version,
            )
        return InForce(engine, role, installed, error, configured)

    def _engine(self, stamp: Stamp) -> tuple[PolicyEngine, bool, str | None]:
        from companion.errors import PolicyError
        from companion.policy import PolicyEngine, load_policy

        if stamp is None:
            return PolicyEngine(load_policy()), False, None
        try:
            engine = PolicyEngine(load_policy(self.paths.policy))
        except PolicyError as exc:
            # Never stop checking mail because a bad policy was installed: keep the last good engine
            # (or the default) and say why in the status.
            log.error("policy not applied: %s", exc.message)
            if self._current is not None:
                return self._current.engine, self._current.installed, exc.message
            return PolicyEngine(load_policy()), False, exc.message
        log.info("policy %s in force (%s)", engine.version, self.paths.policy)
        return engine, True, None

    def _configured_role(self) -> str | None:
        from companion.errors import MailwardenError
        from companion.settings import load_settings

        try:
            return load_settings(self.paths).role
        except MailwardenError as exc:  # a bad config.toml must not stop the checks
            log.warning("settings not read, no role applied: %s", exc.message)
            return None


class StaticPolicy:
    """A fixed engine standing in for the policy in force: a policy file named on the command line,
    the demo's policy, a test's."""

    def __init__(self, engine: PolicyEngine, role: str | None = None) -> None:
        self._in_force = InForce(engine, role, installed=False, configured_role=role)

    def get(self) -> InForce:
        return self._in_force
