"""The demo's second half: a collector on 127.0.0.1 with an embedded SQLite file in the demo's
data directory, a first admin and an enrolment token, this demo workstation enrolled, its summary
signed and uploaded, one appeal filed; then the dashboard address and the login.

The collector is an optional extra (`pip install 'mailwarden[collector]'`): without it the demo
stops after the local part and says so. Nothing here touches the user's own data or credential
store: the demo's device key stays in a private file in the demo directory.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

DEFAULT_PORT = 8470
ADMIN = "admin"


def collector_available() -> str | None:
    """None when the collector and its server can be imported, else why not."""
    try:
        import uvicorn  # noqa: F401

        import collector.app  # noqa: F401
    except ImportError as exc:
        return f"{exc.name or exc}"
    return None


@dataclass
class DemoCollector:
    url: str
    collector: Any
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.collector.storage.dispose()


def _listen(port: int) -> socket.socket:
    """A socket on 127.0.0.1:port, or on a free port when that one is taken."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.bind(("127.0.0.1", 0))
    return sock


def start_collector(home: Path, port: int = DEFAULT_PORT) -> DemoCollector:
    import uvicorn

    from collector.app import build_collector, create_app

    folder = home / "collector"
    shutil.rmtree(
        folder, ignore_errors=True
    )  # a fresh collector per run: the login printed is the one that works
    folder.mkdir(parents=True)
    coll = build_collector(f"sqlite:///{folder / 'collector.db'}")
    sock = _listen(port)
    server = uvicorn.Server(
        uvicorn.Config(create_app(coll), log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="demo-collector", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise click.ClickException("the demo collector did not start")
        time.sleep(0.02)
    return DemoCollector(f"http://127.0.0.1:{sock.getsockname()[1]}", coll, server, thread)


@contextlib.contextmanager
def _demo_keystore() -> Iterator[None]:
    """Keep the demo's device key out of the user's OS credential store (a private file instead),
    without the warnings that choice logs in real use."""
    import logging

    quiet = logging.getLogger("companion.keystore")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        import keyring
        from keyring.backends.fail import Keyring as NoKeyring
    except ImportError:
        keyring = None
    before = keyring.get_keyring() if keyring else None
    if keyring:
        keyring.set_keyring(NoKeyring())
    try:
        yield
    finally:
        if keyring:
            keyring.set_keyring(before)
        quiet.setLevel(level)


def run_collector_demo(
    home: Path, policy_text: str, serve: bool = False, port: int = DEFAULT_PORT
) -> dict[str, Any]:
    """The loop on embedded defaults; returns what it did (also printed). With `serve`, the
    collector keeps running until Ctrl-C; otherwise it stops once the login is printed."""
    from companion.agent.api import MailwardenAPI
    from companion.config import Paths
    from companion.enroll import enroll
    from companion.records import Database
    from companion.sync import sync_round

    paths = Paths(home).ensure()
    demo = start_collector(home, port)
    out: dict[str, Any] = {"url": demo.url}
    try:
        coll = demo.collector
        password = secrets.token_urlsafe(12)
        coll.create_user(ADMIN, password, "admin")
        token = coll.create_token("demo-sales")["token"]
        coll.publish_policy(policy_text, published_by="demo")
        click.echo(f"  collector on {demo.url} (SQLite: {home / 'collector' / 'collector.db'})")
        with _demo_keystore():
            db = Database(paths.database)
            try:
                device = enroll(paths, demo.url, token, db=db, hostname="demo-workstation", force=True)
                click.echo(f"  enrolled as {device['device_id']} (department demo-sales)")
                flags = MailwardenAPI(paths).flags()["flags"]
                if flags:  # one appeal, so that the dashboard has something to review
                    first = flags[0]
                    rule = first["findings"][0]["rule"] if first.get("findings") else None
                    MailwardenAPI(paths).file_appeal(
                        first["id"], "false_positive", "demo: a quoted price, not a promise", rule=rule
                    )
                report = sync_round(db, paths)  # what the agent's schedule does, at once
                queued, sent = report["summaries_queued"], report["upload"]
                out.update(
                    device_id=device["device_id"],
                    summaries=queued,
                    upload=sent,
                    policy=report["policy"],
                    decisions=report["decisions"],
                )
            finally:
                db.close()
        status = coll.device_status(out["device_id"])
        click.echo(
            f"  uploaded, signed: summaries {queued}, appeals {sent['appeals_queued']} "
            f"(accepted {sent['accepted']}, failed {sent['failed']})"
        )
        click.echo(
            f"  the collector verified and stored summaries {status['summaries']} of this device "
            f"(chain at seq {status['last_seq']}, gaps {len(status['gaps'])}, alerts {len(status['alerts'])})"
        )
        click.echo()
        click.echo(click.style(f"Dashboard: {demo.url}/", bold=True))
        click.echo(click.style(f"Login:     {ADMIN} / {password}", bold=True))
        out.update(login=ADMIN, password=password, summaries_stored=status["summaries"])
        if serve:
            click.echo("The collector keeps running; press Ctrl-C to stop it.")
            try:
                while demo.thread.is_alive():
                    demo.thread.join(0.5)
            except KeyboardInterrupt:
                click.echo("\nstopping")
        else:
            click.echo("(the demo collector stops now; `mailwarden demo --serve` keeps it running)")
    finally:
        demo.stop()
    return out
