"""run_agent: the agent process. One per user; watches the stores, scans, answers the local API,
and stops cleanly on SIGTERM, Ctrl-C or POST /v1/shutdown."""

from __future__ import annotations

import logging
import logging.handlers
import os
import secrets
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from companion import __version__
from companion.agent import AGENT_FILE, LOCK_FILE, LOG_FILE
from companion.agent.errors import AlreadyRunning
from companion.config import Paths
from companion.errors import MailwardenError
from companion.settings import Settings

log = logging.getLogger("companion.agent")

QUIET_ENV = "MAILWARDEN_QUIET_SECONDS"  # how long a file must be untouched before it is read (tests lower it)
STOP_TIMEOUT = 10.0  # seconds a scan gets to reach the next message boundary at shutdown


def _setup_logging(paths: Paths) -> logging.Handler:
    handler = logging.handlers.RotatingFileHandler(
        paths.logs / LOG_FILE, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root = logging.getLogger("companion")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def _apply_environment() -> None:
    value = os.environ.get(QUIET_ENV)
    if value:
        from companion.stores import base

        try:
            base.QUIET_SECONDS = max(0.0, float(value))
        except ValueError:
            log.warning("%s=%r is not a number of seconds; ignored", QUIET_ENV, value)


def _stores(settings: Settings) -> list:
    from companion.stores.discovery import StoreInfo, discover_stores, readable

    try:
        return discover_stores(settings.stores, discover=settings.discover)
    except Exception as exc:  # a broken profile list must not keep the configured stores from being watched
        log.exception("store discovery failed; watching the configured stores only")
        sys.stderr.write(
            f"mailwarden agent: store discovery failed ({exc}); watching the configured stores only\n"
        )
        return [StoreInfo(p, "configured", readable(p)) for p in settings.stores]


@contextmanager
def _signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM / SIGINT (and Ctrl-Break on Windows) ask for a clean stop. Handlers can be set from
    the main thread only; run elsewhere (tests, a tray), the caller stops us through `stop`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGTERM", "SIGINT", "SIGBREAK")
    previous = {}
    for name in names:
        if hasattr(signal, name):
            sig = getattr(signal, name)
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_agent(
    paths: Paths,
    settings: Settings | None = None,
    *,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run the agent until stopped; 0 after a clean stop, 1 when it could not start, 2 when another
    agent already runs for this user. `ready` is set once the API answers and agent.json is written."""
    from companion.agent.lock import InstanceLock

    paths.ensure()
    stop = stop or threading.Event()
    try:
        lock = InstanceLock.acquire(paths.home / LOCK_FILE)
    except AlreadyRunning as exc:
        sys.stderr.write(f"mailwarden agent: {exc.message}\n")
        return 2
    handler = _setup_logging(paths)
    try:
        return _serve(paths, settings, ready, stop)
    except MailwardenError as exc:
        log.error("the agent could not start: %s", exc.message)
        sys.stderr.write(f"mailwarden agent: {exc.title}: {exc.message}\n")
        return 1
    finally:
        logging.getLogger("companion").removeHandler(handler)
        handler.close()
        lock.release()


def _serve(
    paths: Paths, settings: Settings | None, ready: threading.Event | None, stop: threading.Event
) -> int:
    from companion.agent.api import MailwardenAPI
    from companion.agent.client import AgentInfo, write_agent_file
    from companion.agent.server import AgentServer
    from companion.agent.sync_loop import SyncLoop
    from companion.agent.watcher import Watcher
    from companion.policy.in_force import PolicyInForce
    from companion.records import Database
    from companion.settings import load_settings

    _apply_environment()
    settings = settings or load_settings(paths)
    Database(paths.database).close()  # migrate once, before any thread opens it
    policy = PolicyInForce(paths)
    policy.get()  # build now: the first pre-send check must not pay for it
    stores = _stores(settings)
    watcher = Watcher(
        paths.database,
        stores,
        policy.get,
        identities=frozenset(settings.identities),
        debounce_seconds=settings.debounce_seconds,
        rescan_minutes=settings.rescan_minutes,
        ignore=paths.home,
    )
    sync = SyncLoop(
        paths,
        settings,
        store_health=lambda: (len(stores), sum(1 for s in stores if not s.readable)),
        enrol_from_machine=_machine_enrolment(),
    )
    api = MailwardenAPI(
        paths, settings, stores=stores, watcher=watcher, policy=policy, on_shutdown=stop.set, sync=sync
    )
    server = AgentServer(api, secrets.token_urlsafe(32))
    agent_file = paths.home / AGENT_FILE
    info = AgentInfo(
        os.getpid(),
        server.port,
        server.httpd.token.decode(),
        __version__,
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
    with _signals(stop):
        server.start()
        try:
            watcher.start()
            watcher.rescan()  # the first scan: runs in the background, the API answers meanwhile
            sync.start()
            write_agent_file(agent_file, info)
            log.info(
                "agent %s (pid %d) listening on 127.0.0.1:%d; %d stores",
                __version__,
                info.pid,
                info.port,
                len(stores),
            )
            if ready is not None:
                ready.set()
            while not stop.wait(
                0.5
            ):  # a timed wait: Ctrl-C is not delivered during an untimed one on Windows
                pass
            log.info("stopping")
        finally:
            server.stop()
            sync.stop(STOP_TIMEOUT)
            watcher.stop(STOP_TIMEOUT)
            _remove_agent_file(agent_file, info.pid)
    log.info("stopped")
    return 0


def _machine_enrolment():
    """The first-run enrolment from what the MSI left in the machine configuration (Windows); None
    elsewhere (`mailwarden enroll` then)."""
    from companion.machine_config import first_run_enrolment

    return first_run_enrolment()


def _remove_agent_file(path: Path, pid: int) -> None:
    from companion.agent.client import read_agent_file

    try:
        if read_agent_file(path).pid == pid:  # never remove another agent's file
            path.unlink()
    except (MailwardenError, OSError):
        pass
