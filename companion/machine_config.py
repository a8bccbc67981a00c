"""The machine configuration the MSI writes: HKLM\\Software\\Mailwarden (64-bit registry view).

`msiexec /i Mailwarden-X.Y.Z-x64.msi COLLECTOR_URL=... ENROLL_TOKEN=... [DEPARTMENT=...]
[POLICY_FAIL_MODE=...]` stores these values (docs/deploy.md):

    CollectorUrl     the collector's address
    Enrollment\\EnrollToken  the enrolment token, in a subkey of its own whose permissions let
                     every user delete it (MsiLockPermissionsEx, see docs/deploy.md): consumed on
                     the first successful enrolment, then deleted
    Department       optional; sent with the enrolment
    PolicyFailMode   optional; what the mail-client add-ins do when the companion cannot answer
                     ("ask", "open" or "closed"; any other value is logged and ignored)
    InstallDir, Version, RemoveDataOnUninstall   written by the MSI for reference

Everything here returns plain data. The registry is reached through a small object with two methods
(`read_values(key)`, `delete_value(key, name)`); the real one, `WindowsRegistry`, imports winreg only
when called, so this module imports and is tested anywhere (with a fake registry).

At agent start: `enroll_from_machine_config(paths())` enrols once with the token (companion.enroll)
and deletes the token. It never raises for an expected failure; it says what happened.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from companion.config import Paths
from companion.errors import MailwardenError

log = logging.getLogger(__name__)

KEY = r"Software\Mailwarden"
FULL_KEY = r"HKLM\Software\Mailwarden"
# The token has a key of its own: the MSI gives users the right to delete values there (and only
# there), so a standard user's companion can remove the token once it has enrolled.
TOKEN_KEY = r"Software\Mailwarden\Enrollment"
FULL_TOKEN_KEY = r"HKLM\Software\Mailwarden\Enrollment"
TOKEN_VALUE = "EnrollToken"
# What a pre-send path does with a mail it could not check (Thunderbird, Outlook, the MSI property).
FAIL_MODES = ("ask", "open", "closed")


class MachineConfigError(MailwardenError):
    title = "Invalid machine configuration"


class Registry(Protocol):
    def read_values(self, key: str) -> Mapping[str, Any] | None:
        """Every value of HKLM\\`key` as name -> data, or None when the key does not exist."""

    def delete_value(self, key: str, name: str) -> None:
        """Delete one value of HKLM\\`key` (a missing value is not an error); raise OSError
        (PermissionError when access is denied) when it cannot."""


class WindowsRegistry:
    """HKLM through winreg, in the 64-bit view (where the 64-bit MSI writes), whatever this
    Python's bitness. winreg is imported only when a method is called."""

    def read_values(self, key: str) -> dict[str, Any] | None:
        import winreg

        try:
            handle = winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, key, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY
            )
        except FileNotFoundError:
            return None
        values: dict[str, Any] = {}
        with handle:
            index = 0
            while True:
                try:
                    name, data, _type = winreg.EnumValue(handle, index)
                except OSError:  # no more values
                    break
                values[name] = data
                index += 1
        return values

    def delete_value(self, key: str, name: str) -> None:
        import winreg

        access = winreg.KEY_SET_VALUE | winreg.KEY_WOW64_64KEY
        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key, 0, access) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            return  # already gone


@dataclass(frozen=True)
class MachineConfig:
    collector_url: str | None = None
    enroll_token: str | None = None
    department: str | None = None
    policy_fail_mode: str | None = None
    install_dir: str | None = None
    version: str | None = None

    def to_dict(self, *, with_token: bool = False) -> dict[str, Any]:
        """Plain data; the token itself only when asked for (`has_token` says whether there is one)."""
        data = asdict(self)
        if not with_token:
            data.pop("enroll_token")
        data["has_token"] = bool(self.enroll_token)
        return data


def _text(values: Mapping[str, Any], name: str, key: str = FULL_KEY) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MachineConfigError(f"{key}\\{name} is not a string value")
    value = value.strip()
    return value or None  # the MSI writes "" for a property that was not given


def default_registry() -> Registry | None:
    """The real registry on Windows, nothing elsewhere."""
    return WindowsRegistry() if sys.platform == "win32" else None


def read_machine_config(registry: Registry | None = None) -> MachineConfig | None:
    """The machine configuration, or None when there is none (not installed by the MSI, not Windows)."""
    registry = registry if registry is not None else default_registry()
    if registry is None:
        return None
    values = registry.read_values(KEY)
    if values is None:
        return None
    mode = _text(values, "PolicyFailMode")
    if mode is not None and mode.lower() not in FAIL_MODES:
        # not a reason to refuse the whole configuration (that would block every user's enrolment):
        # the add-ins keep their default, and the log says why
        log.warning(
            "%s\\PolicyFailMode is '%s' (expected one of: %s): ignored", FULL_KEY, mode, ", ".join(FAIL_MODES)
        )
        mode = None
    return MachineConfig(
        collector_url=_text(values, "CollectorUrl"),
        enroll_token=_text(registry.read_values(TOKEN_KEY) or {}, TOKEN_VALUE, FULL_TOKEN_KEY),
        department=_text(values, "Department"),
        policy_fail_mode=mode.lower() if mode else None,
        install_dir=_text(values, "InstallDir"),
        version=_text(values, "Version"),
    )


EnrollFunction = Callable[..., dict[str, Any]]


def _delete_token(registry: Registry, result: dict[str, Any]) -> dict[str, Any]:
    try:
        registry.delete_value(TOKEN_KEY, TOKEN_VALUE)
    except OSError as exc:
        reason = "access denied" if isinstance(exc, PermissionError) else f"{type(exc).__name__}: {exc}"
        message = (
            f"the enrolment token could not be deleted from {FULL_TOKEN_KEY}\\{TOKEN_VALUE} ({reason}); it stays "
            "readable by every user of this computer until an administrator deletes it"
        )
        log.warning(message)
        return {**result, "token_deleted": False, "warning": message}
    log.info("enrolment token deleted from %s", FULL_TOKEN_KEY)
    return {**result, "token_deleted": True}


def enroll_from_machine_config(
    paths: Paths, *, registry: Registry | None = None, enroll: EnrollFunction | None = None, db: Any = None
) -> dict[str, Any]:
    """Enrol this user's companion once with the machine's token, then delete the token.

    Returns {"status": ...} plus details, never raising for an expected failure:
      "no-config"         no machine configuration (or not Windows)
      "no-token"          nothing to do: no token, or no collector address
      "already-enrolled"  enrolled before; the token is deleted all the same (it is not needed here)
      "enrolled"          enrolled now ("device" is the enrolment) and the token deleted
      "failed"            the enrolment failed ("error"); the token is kept, so the next start retries
    A token that could not be deleted adds "token_deleted": False and a clear "warning".
    """
    registry = registry if registry is not None else default_registry()
    try:
        config = read_machine_config(registry)
    except MachineConfigError as exc:
        return {"status": "failed", "error": str(exc)}
    if config is None or registry is None:
        return {"status": "no-config"}
    if not config.enroll_token or not config.collector_url:
        return {"status": "no-token", "collector_url": config.collector_url}
    from companion import device as device_module
    from companion import enroll as enroll_module

    own_db = db is None
    if own_db:
        from companion.records import Database

        db = Database(paths.ensure().database)
    try:
        if device_module.load_device(db) is not None:
            return _delete_token(registry, {"status": "already-enrolled"})
        enroll = enroll or enroll_module.enroll
        try:
            device = enroll(paths, config.collector_url, config.enroll_token, config.department, db=db)
        except MailwardenError as exc:
            log.warning("enrolment with the machine's token failed: %s", exc)
            return {"status": "failed", "error": str(exc), "collector_url": config.collector_url}
        return _delete_token(registry, {"status": "enrolled", "device": device})
    finally:
        if own_db:
            db.close()


class FirstRunEnrolment:
    """The agent's first-run hook (SyncLoop's `enrol_from_machine`): enrol from the machine
    configuration, at most once every `retry_seconds` while it cannot (no token yet, collector down,
    token refused), so a broken rollout does not hammer the collector. `last` is the latest result."""

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        retry_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.last: dict[str, Any] | None = None
        self._not_before: float | None = None

    def __call__(self, paths: Paths) -> bool:
        now = self.clock()
        if self._not_before is not None and now < self._not_before:
            return False
        self.last = enroll_from_machine_config(paths, registry=self.registry)
        if self.last["status"] in ("enrolled", "already-enrolled"):
            return True
        self._not_before = now + self.retry_seconds
        return False


def first_run_enrolment() -> FirstRunEnrolment | None:
    """The hook for this machine: on Windows (where the MSI writes the configuration), else None."""
    registry = default_registry()
    return FirstRunEnrolment(registry) if registry is not None else None
