"""What several test files share, written once (loaded for every test by tests/conftest.py):

- `wait_until(what, check)`: wait for something to happen, polling with a deadline; never a fixed
  sleep where an event can be awaited;
- `MemoryKeyring`, the `memory_keyring` fixture (an in-memory OS credential store for the test) and
  `restore_keyring` (whatever a test sets, the previous back-end comes back);
- `FakeRegistry` and `MSI_VALUES`: HKLM as the MSI leaves it, for companion.machine_config;
- `paths`: the test's data directory (tests/conftest.py isolates it), created; `free_port()`;
- `record_presend(db, channel, details, choice, ...)`: a pre-send decision recorded as the mail
  clients record theirs (through companion.presend).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from companion import machine_config as mc
from companion.config import Paths

T = TypeVar("T")

POLL_SECONDS = 0.02  # short: a wait ends soon after its event, and checks are cheap


def wait_until(what: str, check: Callable[[], T], timeout: float = 10.0, interval: float = POLL_SECONDS) -> T:
    """check() until it returns something truthy (returned), or fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class MemoryKeyring:
    """A stand-in OS credential store, built on keyring's own backend base class."""

    def __new__(cls) -> Any:
        from keyring.backend import KeyringBackend

        class _Memory(KeyringBackend):
            priority = 1  # type: ignore[assignment]

            def __init__(self) -> None:
                super().__init__()
                self.items: dict[tuple[str, str], str] = {}

            def get_password(self, service: str, username: str) -> str | None:
                return self.items.get((service, username))

            def set_password(self, service: str, username: str, password: str) -> None:
                self.items[(service, username)] = password

            def delete_password(self, service: str, username: str) -> None:
                self.items.pop((service, username), None)

        return _Memory()


@pytest.fixture
def restore_keyring() -> Iterator[Any]:
    """The keyring module; the back-end in use before the test is put back after it."""
    import keyring

    before = keyring.get_keyring()
    yield keyring
    keyring.set_keyring(before)


@pytest.fixture
def memory_keyring(restore_keyring: Any) -> Any:
    """An in-memory OS credential store for this test (returned, to look inside)."""
    store = MemoryKeyring()
    restore_keyring.set_keyring(store)
    return store


class FakeRegistry:
    """HKLM as a dict of key -> {name: data}; deletions can be made to fail like Windows does."""

    def __init__(
        self, values: dict[str, object] | None = None, *, delete_error: OSError | None = None
    ) -> None:
        self.keys: dict[str, dict[str, object]] = {}
        if values is not None:  # laid out as the MSI writes them: the token in a key of its own
            self.keys[mc.KEY] = {k: v for k, v in values.items() if k != mc.TOKEN_VALUE}
            if mc.TOKEN_VALUE in values:
                self.keys[mc.TOKEN_KEY] = {mc.TOKEN_VALUE: values[mc.TOKEN_VALUE]}
        self.delete_error = delete_error
        self.deleted: list[tuple[str, str]] = []

    def read_values(self, key: str):
        return None if key not in self.keys else dict(self.keys[key])

    def delete_value(self, key: str, name: str) -> None:
        if self.delete_error is not None:
            raise self.delete_error
        self.keys.get(key, {}).pop(name, None)
        self.deleted.append((key, name))


MSI_VALUES = {
    "CollectorUrl": "https://collector.corp",
    "EnrollToken": "tok-123",
    "Department": "Sales",
    "PolicyFailMode": "",
    "InstallDir": "C:\\Program Files\\Mailwarden\\",
    "Version": "0.1.0",
    "RemoveDataOnUninstall": "0",
}


@pytest.fixture
def paths(isolated_home: Path) -> Paths:
    """The test's data directory (MAILWARDEN_HOME), created."""
    return Paths(isolated_home).ensure()


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record_presend(
    db: Any, channel: str, details: dict[str, Any], choice: str, *, engine: Any = None, **fields: Any
) -> int:
    """Check `details` (unless the choice says the check could not run) and record `choice` as the
    pre-send session of `channel` does; the row id. `fields`: key, justification, error."""
    from companion.policy import PolicyEngine, load_policy
    from companion.policy.in_force import StaticPolicy
    from companion.presend import Choice, Decision, PresendSession

    session = PresendSession(channel, StaticPolicy(engine or PolicyEngine(load_policy())), None)
    check = session.check(details, key=fields.get("key")) if Choice(choice).checked else None
    decision = Decision(Choice(choice), details=None if check else details, **fields)
    return session.record(decision, db, check=check)
