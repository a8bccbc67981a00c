"""Watch the mail stores and scan what changed: file events (debounced), a periodic safety-net
rescan, and rescans on request, all run by ONE low-priority worker thread so two scans never
overlap and the user's own work keeps the CPU.

Scheduling is a map store -> (due time, follow-up?). A file event pushes its store's due time to
"now + delay" (so a burst of writes gives one scan, after the last write); a scan that did not
wait for the files to be quiet (the first one, a requested one, a periodic one) is followed by one
more scan once the quiet time has passed, since the stores skip files written a moment ago.
A store written to without pause is still scanned every MAX_DEFER seconds.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.errors import unexpected
from companion.i18n import Msg, msg, say

if TYPE_CHECKING:
    from companion.policy.in_force import InForce
    from companion.records import Database
    from companion.stores.discovery import StoreInfo

log = logging.getLogger(__name__)

# Event kinds that mean "something was written". Opened / closed-without-writing events are left
# out: the scan itself reads the stores and must not wake itself up.
_CHANGES = frozenset({"created", "modified", "deleted", "moved", "closed"})
# Files that change all the time in a mail client's profile but never hold mail.
_NOISY_SUFFIXES = (
    ".sqlite",
    ".sqlite-wal",
    ".sqlite-shm",
    ".sqlite-journal",
    ".db",
    ".db-wal",
    ".db-shm",
    ".db-journal",
    ".json",
    ".jsonlz4",
    ".baklz4",
    ".js",
    ".log",
    ".tmp",
    ".lock",
    ".msf",
)
SETTLE_MARGIN = 0.2  # seconds past the quiet time before a follow-up scan
MAX_DEFER = 60.0  # a store written to without pause is still scanned this often


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _quiet_seconds() -> float:
    from companion.stores import base

    return base.QUIET_SECONDS  # read each time: the agent may have set it from the environment


def lower_thread_priority() -> None:
    """Make the calling thread yield to the user's programs (Linux: nice +10 for this thread only;
    Windows: below normal; elsewhere the thread keeps its priority)."""
    try:
        if sys.platform.startswith("linux"):
            tid = threading.get_native_id()  # on Linux, PRIO_PROCESS with a thread id sets that thread
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))
        elif sys.platform == "win32":
            import ctypes  # lazy: Windows only

            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            kernel32.SetThreadPriority(kernel32.GetCurrentThread(), -1)  # THREAD_PRIORITY_BELOW_NORMAL
    except OSError as exc:
        log.warning("cannot lower the scan thread's priority: %s", exc)


@dataclass
class StoreState:
    info: StoreInfo
    watching: bool = False
    last_scan: str | None = None
    last_totals: dict[str, Any] | None = None
    last_error: str | None = None
    last_error_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.info.to_dict(),
            "watching": self.watching,
            "last_scan": self.last_scan,
            "last_totals": self.last_totals,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }

    def error(self, message: str | Msg) -> None:
        # Said in the system's language: the tray and `mailwarden status` of this user read it.
        self.last_error, self.last_error_at = say(message), _now()


def _norm(path: str | bytes) -> str:
    return os.path.normcase(os.path.abspath(os.fsdecode(path)))


class _Handler:
    """Turns file events under one store into "this store changed" (watchdog calls dispatch())."""

    def __init__(
        self, store: Path, on_change: Callable[[Path], None], only: Path | None, ignore: Path | None
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.only = (
            _norm(str(only)) if only is not None else None
        )  # a single-file store: its parent is watched
        self.ignore = _norm(str(ignore)) + os.sep if ignore is not None else None

    def dispatch(self, event: Any) -> None:
        if event.event_type not in _CHANGES:
            return
        paths = [_norm(p) for p in (event.src_path, getattr(event, "dest_path", "")) if p]
        if self.only is not None:
            paths = [p for p in paths if p == self.only]
        else:
            paths = [p for p in paths if not p.lower().endswith(_NOISY_SUFFIXES)]
        if self.ignore is not None:
            # Our own database and logs must not trigger scans, should a store contain the data dir.
            paths = [p for p in paths if not p.startswith(self.ignore)]
        if paths:
            self.on_change(self.store)


class Watcher:
    def __init__(
        self,
        database: Path,
        stores: Sequence[StoreInfo],
        policy: Callable[[], InForce],
        *,
        identities: frozenset[str] = frozenset(),
        debounce_seconds: float = 2.0,
        rescan_minutes: float = 10.0,
        ignore: Path | None = None,
    ) -> None:
        self.database = database
        self.policy = policy  # the policy in force: engine and the user's role, fresh at each scan
        self.identities = identities | {i.lower() for s in stores for i in s.identities}
        self.debounce = max(0.0, debounce_seconds)
        self.period = rescan_minutes * 60 if rescan_minutes > 0 else float("inf")
        self.ignore = ignore
        self._stores = {s.path: StoreState(s) for s in stores}
        self._cond = threading.Condition()
        self._due: dict[Path, tuple[float, bool]] = {}  # store -> (monotonic due time, follow up?)
        self._burst: dict[Path, float] = {}  # store -> when its current burst of events began
        self._next_periodic = time.monotonic() + self.period
        self._stopping = threading.Event()
        self._scanning: Path | None = None
        self._busy = False
        self._last: dict[str, Any] = {"start": None, "end": None, "totals": None}
        self._worker: threading.Thread | None = None
        self._observer: Any = None

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="mailwarden-scan", daemon=True)
        self._worker.start()
        self._start_observer()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching and let a running scan stop between two messages."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._worker is not None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                log.warning("the scan did not stop within %.0f s; leaving it to the process exit", timeout)

    def rescan(self) -> None:
        """Scan every store now (and once more when freshly written files have settled)."""
        now = time.monotonic()
        with self._cond:
            for path in self._stores:
                self._due[path] = (now, True)
            self._cond.notify_all()

    def changed(self, store: Path) -> None:
        """A file event under `store`: scan it after the burst ends and its files are quiet."""
        delay = max(self.debounce, _quiet_seconds() + SETTLE_MARGIN)
        with self._cond:
            now = time.monotonic()
            first = self._burst.setdefault(store, now)
            follow_up = self._due.get(store, (0.0, False))[1]
            self._due[store] = (min(now + delay, first + MAX_DEFER), follow_up)
            self._cond.notify_all()

    # -- state, for status() --------------------------------------------------------------------

    def scan_state(self) -> dict[str, Any]:
        with self._cond:
            return {
                "state": "scanning" if self._busy else "idle",
                "current": str(self._scanning) if self._scanning else None,
                "last_start": self._last["start"],
                "last_end": self._last["end"],
                "last_totals": self._last["totals"],
                "pending": len(self._due),
            }

    def stores_state(self) -> list[dict[str, Any]]:
        with self._cond:
            return [s.to_dict() for s in self._stores.values()]

    # -- file events ------------------------------------------------------------------------------

    def _start_observer(self) -> None:
        try:
            from watchdog import events as ev  # lazy: only the agent watches
            from watchdog.observers import Observer

            # Asked of the OS (inotify mask), so the scan's own reads never reach Python as events.
            kinds = [
                ev.FileCreatedEvent,
                ev.FileModifiedEvent,
                ev.FileDeletedEvent,
                ev.FileMovedEvent,
                ev.FileClosedEvent,
                ev.DirCreatedEvent,
                ev.DirDeletedEvent,
                ev.DirMovedEvent,
                ev.DirModifiedEvent,
            ]

            observer = Observer()
            observer.start()  # start first, so each schedule() below fails alone (e.g. inotify limits)
        except Exception as exc:  # no file events at all: the periodic rescan still runs
            log.error("cannot watch the stores for changes: %s", exc)
            for state in self._stores.values():
                state.error(msg("error.watch", detail=str(exc)))
            return
        self._observer = observer
        for path, state in self._stores.items():
            single = not path.is_dir()
            target = path.parent if single else path
            handler = _Handler(path, self.changed, path if single else None, self.ignore)
            try:
                observer.schedule(handler, str(target), recursive=not single, event_filter=kinds)  # type: ignore[arg-type]
                state.watching = True
            except Exception as exc:
                log.warning("cannot watch %s: %s", path, exc)
                state.error(msg("error.watch", detail=str(exc)))

    # -- the worker -------------------------------------------------------------------------------

    def _run(self) -> None:
        from companion.records import Database

        lower_thread_priority()
        try:
            db = Database(self.database)  # this thread's own connection
        except Exception:
            log.exception("the scan worker cannot open the database; no scans will run")
            return
        try:
            while (batch := self._next_batch()) is not None:
                totals: dict[str, Any] = {"messages": 0, "skipped": 0, "flagged": 0, "errors": 0}
                with self._cond:
                    self._last["start"] = _now()
                for path, follow_up in batch:
                    if self._stopping.is_set():
                        break
                    store_totals = self._scan_store(db, path)
                    for k in totals:
                        totals[k] += (store_totals or {}).get(k, 0)
                    if follow_up:
                        with self._cond:
                            due = time.monotonic() + _quiet_seconds() + SETTLE_MARGIN
                            self._due.setdefault(path, (due, False))
                with self._cond:
                    self._last.update(end=_now(), totals=totals)
                    self._busy, self._scanning = False, None
        except Exception:
            log.exception("the scan worker stopped")
        finally:
            db.close()

    def _next_batch(self) -> list[tuple[Path, bool]] | None:
        """Wait for stores that are due; None once stopping."""
        with self._cond:
            while not self._stopping.is_set():
                now = time.monotonic()
                if now >= self._next_periodic:
                    for path in self._stores:
                        self._due.setdefault(path, (now, True))
                    self._next_periodic = now + self.period
                ready = [path for path, (due, _) in self._due.items() if due <= now]
                if ready:
                    self._busy = True
                    for path in ready:
                        self._burst.pop(path, None)
                    return [(path, self._due.pop(path)[1]) for path in ready]
                wake = min([due for due, _ in self._due.values()] + [self._next_periodic])
                self._cond.wait(timeout=min(max(0.01, wake - now), 3600))
            return None

    def _scan_store(self, db: Database, path: Path) -> dict[str, Any] | None:
        from companion.scan import scan_paths
        from companion.stores.discovery import readable

        state = self._stores[path]
        with self._cond:
            self._scanning = path
        if not path.exists():
            with self._cond:
                state.error(msg("error.os.not_found"))  # said here, not logged in scan_errors every rescan
            return None
        if not readable(path):
            with self._cond:
                state.error(msg("error.os.denied"))
            return None
        in_force = self.policy()
        try:
            totals = scan_paths(
                db, in_force.engine, [path], self.identities, in_force.role, stop=self._stopping.is_set
            )
        except Exception as exc:  # one store's failure must not stop the others
            log.exception("scanning %s failed", path)
            with self._cond:
                state.error(unexpected(exc))
            return None
        result = totals.to_dict()
        with self._cond:
            state.last_scan, state.last_totals = _now(), result
            if totals.error_list:
                source, error = totals.error_list[-1]
                state.error(f"{source}: {say(error)}")
        if totals.messages or totals.errors:
            log.info(
                "scanned %s: %d new, %d flagged, %d errors",
                path,
                totals.messages,
                totals.flagged,
                totals.errors,
            )
        return result
