"""`mailwarden-collector demo`: the whole main job on embedded defaults, seen from the collector
(`make demo`; `make demo-serve` keeps the collector running).

A collector on 127.0.0.1 with an SQLite file in the demo's data directory, a first admin and an
enrolment token. Then the workstation's part, run as the separate program it is (`mailwarden demo
--collector URL --token TOKEN`, its output shown here as it comes): it scans the demo mailbox,
checks the sample mails, enrols, files an appeal and uploads its signed summary. Then what the
collector verified and stored, the policy the workstation used published signed, and the
dashboard's address and login.

The collector never imports the companion (docs/architecture.md): the two meet only over the
protocol, as on real machines.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from collector.errors import CollectorError
from companion.cli_catalogue import CatalogueCommand
from companion.i18n import t

DEFAULT_PORT = 8470
ADMIN = "admin"
DEPARTMENT = "demo-sales"


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


def start_collector(folder: Path, port: int = DEFAULT_PORT) -> DemoCollector:
    import uvicorn

    from collector.app import build_collector, create_app

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


def workstation_program() -> str:
    """The `mailwarden` program of this installation (beside this Python), else the one on PATH."""
    found = shutil.which("mailwarden", path=str(Path(sys.executable).parent)) or shutil.which("mailwarden")
    if found is None:
        raise click.ClickException(
            "the workstation's part of the demo needs the `mailwarden` command (pip install mailwarden)"
        )
    return found


def run_workstation(program: str, home: Path, url: str, token: str, color: bool) -> None:
    """`mailwarden demo --collector URL --token TOKEN` in `home`, its output shown line by line."""
    args = [program, "demo", "--home", str(home), "--collector", url, "--token", token]
    args.append("--color" if color else "--no-color")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, encoding="utf-8", errors="replace"
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            click.echo(line.rstrip("\n"))
    if proc.returncode != 0:
        raise click.ClickException(t("collector.demo.workstation_failed", status=proc.returncode))


def run_demo(
    home: Path | None, port: int = DEFAULT_PORT, serve: bool = False, color: bool = False
) -> dict[str, Any]:
    """The loop on embedded defaults; returns what it did (also printed). With `serve`, the
    collector keeps running until Ctrl-C; otherwise it stops once the login is printed."""
    home = home or Path(tempfile.mkdtemp(prefix="mailwarden-demo-"))
    program = workstation_program()
    demo = start_collector(home / "collector", port)
    try:
        coll = demo.collector
        password = secrets.token_urlsafe(12)
        coll.create_user(ADMIN, password, "admin")
        token = coll.create_token(DEPARTMENT)["token"]
        click.echo(
            click.style(t("collector.demo.started", url=demo.url), bold=True)
            + " "
            + t(
                "collector.demo.started_detail", db=home / "collector" / "collector.db", department=DEPARTMENT
            )
        )
        click.echo()
        run_workstation(program, home, demo.url, token, color)
        with coll.storage.read() as tx:
            device_id = tx.select("devices")[-1]["id"]  # the one the workstation just enrolled
        status = coll.device_status(device_id)
        try:
            policy = coll.publish_policy(
                (home / "policy.toml").read_text(encoding="utf-8"), published_by="demo"
            )
        except (OSError, CollectorError) as exc:
            raise click.ClickException(t("collector.demo.policy_failed", detail=str(exc))) from None
        click.echo()
        click.echo(click.style(t("collector.demo.received"), bold=True))
        received = {
            "summaries": status["summaries"],
            "device": device_id,
            "seq": status["last_seq"],
            "gaps": len(status["gaps"]),
            "alerts": len(status["alerts"]),
            "appeals": len(coll.appeals("pending")),
        }
        click.echo("  " + t("collector.demo.stored", **received))
        click.echo("  " + t("collector.demo.published", version=policy["version"]))
        click.echo()
        click.echo(click.style(t("collector.demo.dashboard", url=f"{demo.url}/"), bold=True))
        click.echo(click.style(t("collector.demo.login", user=ADMIN, password=password), bold=True))
        out = {
            "url": demo.url,
            "device_id": device_id,
            "summaries_stored": status["summaries"],
            "policy": policy["version"],
            "login": ADMIN,
            "password": password,
        }
        if serve:
            click.echo(t("collector.demo.serving"))
            try:
                while demo.thread.is_alive():
                    demo.thread.join(0.5)
            except KeyboardInterrupt:
                click.echo("\n" + t("collector.demo.stopping"))
        else:
            click.echo(t("collector.demo.stops"))
    finally:
        demo.stop()
    return out


# Help: "collector.cli.demo[.<option>]" in the catalogue.
@click.command("demo", cls=CatalogueCommand)
@click.option("--home", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--serve", is_flag=True)
def demo(home: Path | None, port: int, serve: bool) -> None:
    run_demo(home, port, serve, color=sys.stdout.isatty())
