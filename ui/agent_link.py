"""The tray's only way to the data: the agent's local API (AgentClient), called on worker threads.

AgentLink polls the agent's status, turns it into one of four tray states, starts the agent when it
is not running (at launch, or when the user asks), and notices what deserves a notification: a new
high-risk received mail, an appeal decided. It holds no business logic: every figure comes from
the agent, which stays the one writer of the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from companion.agent.client import AgentClient
from companion.agent.errors import AgentNotRunning
from companion.config import HOME_ENV, Paths
from ui.qtcompat import emit
from ui.worker import Runner

OK, ATTENTION, OFFLINE, STOPPED = "ok", "attention", "offline", "stopped"
STATES = (OK, ATTENTION, OFFLINE, STOPPED)
HIGH_RISK_TIERS = ("approval", "forbidden")
DECIDED = ("upheld", "rejected")
NEWS_PAGE = 100  # new flags fetched per call; a bigger batch is fetched page after page


def tray_state(status: dict[str, Any] | None) -> str:
    """stopped (no agent) > attention (new flags) > offline (collector unreachable) > ok."""
    if status is None:
        return STOPPED
    if (status.get("flags") or {}).get("new", 0) > 0:
        return ATTENTION
    if (status.get("sync") or {}).get("collector_reachable") is False:
        return OFFLINE
    return OK


def high_risk_findings(flag: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of a received mail worth interrupting the user for."""
    if flag.get("direction") != "received":
        return []
    return [f for f in flag.get("findings", []) if f.get("tier") in HIGH_RISK_TIERS and not f.get("quoted")]


class AgentLink(QObject):
    statusChanged = Signal(object)  # the status dict, or None when the agent is not running
    stateChanged = Signal(str)
    highRiskReceived = Signal(object)  # a flag (received, with high-risk findings)
    appealDecided = Signal(object)  # an appeal whose status became upheld or rejected
    failed = Signal(str)  # a call failed for another reason than the agent being stopped

    def __init__(
        self, paths: Paths, *, autostart: bool = True, poll_ms: int = 3000, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.autostart = autostart
        self.runner = Runner(parent=self)
        self.status: dict[str, Any] | None = None
        self.state = ""
        self.started_pids: list[int] = []
        self._client: AgentClient | None = None
        self._polling = False
        self._last_flag: int | None = None  # the newest flag's seq already notified (or baseline)
        self._flags_busy = False
        self._appeals: dict[int, str] | None = None  # appeal id -> status, as last seen
        self._appeal_counts: dict[str, int] | None = None  # status -> count, of that same list
        self._appeals_busy = False
        self._autostarted = False
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.refresh)

    # -- calls --------------------------------------------------------------------------------

    def _client_for_call(self) -> AgentClient:
        client = self._client
        if client is None:
            client = self._client = AgentClient.connect(self.paths, timeout=10)
        return client

    def call(
        self,
        method: str,
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """AgentClient.<method>(*args, **kwargs) on a worker thread; the answer to on_done."""

        def work() -> Any:
            client = self._client_for_call()
            try:
                return getattr(client, method)(*args, **kwargs)
            except AgentNotRunning:
                self._client = None  # the agent went away (or restarted on another port)
                raise

        def error(exc: Exception) -> None:
            if isinstance(exc, AgentNotRunning):
                self._set_status(None)
            if on_error is not None:
                on_error(exc)
            elif not isinstance(exc, AgentNotRunning):
                emit(self.failed, str(exc))

        self.runner.submit(work, on_done, error)

    # -- polling ------------------------------------------------------------------------------

    def start(self) -> None:
        self.refresh()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def refresh(self) -> None:
        if self._polling:
            return
        self._polling = True

        def done(status: Any) -> None:
            self._polling = False
            self._set_status(status)

        def error(exc: Exception) -> None:
            self._polling = False
            if isinstance(exc, AgentNotRunning):  # call() has already set the status to None
                if self.autostart and not self._autostarted:
                    self._autostarted = True  # once per launch; later the user starts it from the menu
                    self.start_agent()
            else:  # running but answering badly (busy, an error): say so, keep the last state
                emit(self.failed, str(exc))

        self.call("status", on_done=done, on_error=error)

    def _set_status(self, status: dict[str, Any] | None) -> None:
        self.status = status
        emit(self.statusChanged, status)
        state = tray_state(status)
        if state != self.state:
            self.state = state
            emit(self.stateChanged, state)
        if status is not None:
            self._watch_for_news(status)

    def _watch_for_news(self, status: dict[str, Any]) -> None:
        last = (status.get("flags") or {}).get("last", 0)
        if self._last_flag is None:
            self._last_flag = last  # what existed before the tray started is not news
        elif last > self._last_flag:
            self._fetch_new_flags(last)
        counts = (status.get("totals") or {}).get("appeals") or {}
        # The list only when the counts by status moved (an appeal filed, sent or decided), and one
        # call at a time: answers can never arrive out of order.
        if counts != self._appeal_counts and not self._appeals_busy:
            self._appeals_busy = True
            self.call("appeals", on_done=self._appeals_now, on_error=self._appeals_failed)

    @property
    def watching(self) -> bool:
        """Whether the baselines are in: from now on new flags and decided appeals are notified."""
        return self._last_flag is not None and self._appeals is not None

    def _fetch_new_flags(self, last: int) -> None:
        """The flags scanned after `_last_flag` (by seq, whatever their Date header says), a page at a
        time; the marker moves on only once a page has arrived, so a failed call loses nothing."""
        if self._flags_busy or self._last_flag is None:
            return  # one call at a time: the same flag is never notified twice
        self._flags_busy = True
        since = self._last_flag

        def done(answer: dict[str, Any]) -> None:
            self._flags_busy = False
            flags = answer.get("flags", [])
            seqs = [flag.get("seq") or 0 for flag in flags]
            for flag in flags:
                if (flag.get("seq") or 0) > since and high_risk_findings(flag):
                    emit(self.highRiskReceived, flag)
            more = bool(flags) and answer.get("total", 0) > len(flags)  # a bigger batch: the next page now
            self._last_flag = max([since, *seqs] if more else [since, last, *seqs])
            if more:
                self._fetch_new_flags(last)

        def error(_exc: Exception) -> None:
            self._flags_busy = False  # the next poll asks again from the same marker

        self.call("flags", limit=NEWS_PAGE, after_seq=since, on_done=done, on_error=error)

    def _appeals_failed(self, _exc: Exception) -> None:
        self._appeals_busy = False  # the counts were not updated: the next poll asks again

    def _appeals_now(self, answer: dict[str, Any]) -> None:
        self._appeals_busy = False
        appeals = answer.get("appeals", [])
        now = {a["id"]: a["status"] for a in appeals}
        counts: dict[str, int] = {}
        for a in appeals:
            counts[a["status"]] = counts.get(a["status"], 0) + 1
        self._appeal_counts = counts
        if self._appeals is not None:
            for a in appeals:
                if a["status"] in DECIDED and self._appeals.get(a["id"]) != a["status"]:
                    emit(self.appealDecided, a)
        self._appeals = now

    # -- starting the agent -------------------------------------------------------------------

    def start_agent(self) -> None:
        """Start `python -m companion.agent` for this user's data directory, detached from the tray
        (quitting the tray leaves it running); a second agent would exit at once, so this is safe."""

        def work() -> int:
            env = {**os.environ, HOME_ENV: str(self.paths.home)}
            kwargs: dict[str, Any] = {
                "stdin": subprocess.DEVNULL,
                "stdout": subprocess.DEVNULL,
                "stderr": subprocess.DEVNULL,
                "env": env,
                "close_fds": True,
            }
            if sys.platform == "win32":
                kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
            else:
                kwargs["start_new_session"] = True
            proc = subprocess.Popen([sys.executable, "-m", "companion.agent"], **kwargs)
            threading.Thread(
                target=proc.wait, name="mailwarden-agent-reaper", daemon=True
            ).start()  # no zombie
            return proc.pid

        def done(pid: int) -> None:
            self.started_pids.append(pid)
            QTimer.singleShot(1000, self.refresh)

        self.runner.submit(work, done, lambda exc: emit(self.failed, str(exc)))
