"""The agent's schedule for the collector: a summary every `summary_minutes` (hourly by default),
the policy and appeal decisions every `pull_minutes`, and the outbox whenever an item's retry time
has come. Nothing happens before the device is enrolled; a machine configuration left by the MSI
(COLLECTOR_URL + ENROLL_TOKEN) is consumed first (companion.machine_config).

The loop never dies: every failure is logged and shown in the status, and the next tick tries
again. It talks to the network only when something is due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from companion.config import Paths
from companion.errors import MailwardenError
from companion.settings import Settings

log = logging.getLogger(__name__)

MAX_TICK_SECONDS = 30.0
MIN_TICK_SECONDS = 0.2


class SyncLoop:
    def __init__(
        self,
        paths: Paths,
        settings: Settings,
        *,
        store_health: Callable[[], tuple[int, int]] | None = None,
        enrol_from_machine: Callable[[Paths], Any] | None = None,
    ) -> None:
        self.paths = paths
        self.summary_interval = timedelta(minutes=settings.summary_minutes)
        self.pull_interval = timedelta(minutes=settings.pull_minutes)
        shortest = min(self.summary_interval, self.pull_interval).total_seconds()
        self.tick_seconds = max(MIN_TICK_SECONDS, min(MAX_TICK_SECONDS, shortest / 4))
        self.store_health = store_health
        self.enrol_from_machine = enrol_from_machine
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._forced = False
        self._last_pull: datetime | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"last_round_at": "", "last_round": None, "last_error": "", "rounds": 0}

    # -- control ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at what is due now rather than at the next tick (a filed appeal waits in the
        outbox; the summary and the pulls keep their own schedule)."""
        self._wake.set()

    def run_now(self) -> None:
        """Queue a summary, send and pull at the next instant (the tray's "sync now")."""
        with self._lock:
            self._forced = True
        self._wake.set()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    # -- the work -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(self.tick_seconds)
            self._wake.clear()

    def tick(self, now: datetime | None = None) -> dict[str, Any] | None:
        """One look at what is due; returns the round's report, or None when nothing was due."""
        from companion.records import Database

        now = now or datetime.now(UTC)
        with self._lock:
            forced, self._forced = self._forced, False
        try:
            db = Database(self.paths.database)
        except Exception as exc:  # the scanner may hold the database: try again next tick
            self._record(now, None, f"database: {exc}")
            return None
        try:
            return self._tick(db, now, forced)
        except MailwardenError as exc:
            log.warning("sync: %s", exc.message)
            self._record(now, None, exc.message)
        except Exception as exc:  # never let the loop die: the next tick tries again
            log.exception("sync round failed")
            self._record(now, None, f"{type(exc).__name__}: {exc}")
        finally:
            db.close()
        return None

    def _tick(self, db: Any, now: datetime, forced: bool) -> dict[str, Any] | None:
        from companion.device import load_device
        from companion.sync import SyncPlan, summary_due, sync_round

        if load_device(db) is None:
            if self.enrol_from_machine is None or not self.enrol_from_machine(self.paths):
                last = getattr(self.enrol_from_machine, "last", None)  # FirstRunEnrolment's result
                if isinstance(last, dict) and last.get("status") == "failed":
                    self._record(
                        now, None, f"enrolment from the machine configuration failed: {last['error']}"
                    )
                return None
            log.info("enrolled from the machine configuration")
        plan = SyncPlan(
            summary=forced or summary_due(db, now, self.summary_interval),
            pull=forced or self._last_pull is None or now - self._last_pull >= self.pull_interval,
        )
        if not (plan.summary or plan.pull or _outbox_due(db, now)):
            return None
        stores = self.store_health() if self.store_health else None
        report = sync_round(db, self.paths, plan, stores=stores, now=now)
        if plan.pull:
            self._last_pull = now
        errors = [
            f"{name}: {report[name]['reason']}"
            for name in ("policy", "decisions")
            if isinstance(report.get(name), dict) and report[name].get("status") == "error"
        ]
        self._record(now, report, "; ".join(errors))
        return report

    def _record(self, now: datetime, report: dict[str, Any] | None, error: str) -> None:
        with self._lock:
            self._state["rounds"] += report is not None
            self._state["last_round_at"] = now.isoformat(timespec="seconds")
            if report is not None:
                self._state["last_round"] = report
            self._state["last_error"] = error


def _outbox_due(db: Any, now: datetime) -> bool:
    """Something to send: an appeal filed since the last round, or an outbox item whose time came.
    Summaries go strictly in order (companion.outbox), so only the oldest one's time counts."""
    from companion.clock import now_iso
    from companion.records import appeals, outbox

    return appeals.any_pending(db) or outbox.due(db, now_iso(now))
