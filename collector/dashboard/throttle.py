"""Failed dashboard logins, counted per user name and per client address, so that passwords cannot
be guessed at speed (and Argon2 cannot be made to burn the CPU).

In memory, per web process: with several workers an attacker gets that many times the allowance,
still far too few guesses to matter. A successful login clears its user name's count.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

USER_FAILURES = 5  # failed logins allowed per user name in WINDOW_SECONDS ...
ADDRESS_FAILURES = 20  # ... and per client address (many user names tried from one place)
WINDOW_SECONDS = 15 * 60
MAX_KEYS = 10_000  # above this many counted names and addresses, expired ones are dropped


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, username: str, address: str) -> int:
        """0 when a login may be tried now, else how long until it may."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(key, limit, now) for key, limit in self._keys(username, address)]
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _ in self._keys(username, address):
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > MAX_KEYS:  # names tried once and never again: forget the old ones
                for key in [k for k, times in self._failures.items() if now - times[-1] >= WINDOW_SECONDS]:
                    del self._failures[key]

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.casefold()}", None)

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[str, int]]:
        return [(f"user:{username.casefold()}", USER_FAILURES), (f"addr:{address}", ADDRESS_FAILURES)]

    def _wait(self, key: str, limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and now - times[0] >= WINDOW_SECONDS:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return 0 if len(times) < limit else int(WINDOW_SECONDS - (now - times[0])) + 1
