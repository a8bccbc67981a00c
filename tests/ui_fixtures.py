"""Shared set-up of the tray's tests: Qt offscreen, and a REAL agent (`python -m companion.agent` in
a subprocess) whose data directory is in tmp and whose database is filled by scanning a copy of the
demo mailbox. Imported by tests/test_ui_*.py before anything imports Qt."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import: no display needed

import pytest

from companion.agent.client import AgentClient
from companion.agent.errors import AgentNotRunning
from companion.config import Paths
from tests.conftest import REPO, age, build_eml
from tests.fixtures import wait_until

START_TIMEOUT = 30.0
WAIT_SECONDS = 20.0  # a scan or a shutdown of the real agent
DEMO_MAILBOX = REPO / "companion" / "demo" / "data" / "mailbox"
DEMO_MESSAGES = 7  # 4 in Inbox, 3 in Sent


@dataclass
class RealAgent:
    root: Path
    home: Path
    mailbox: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def paths(self) -> Paths:
        return Paths(self.home)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MAILWARDEN_HOME": str(self.home),
            "MAILWARDEN_QUIET_SECONDS": "0.3",
            "PYTHONPATH": str(REPO),
        }

    def start(self) -> None:
        err = (self.root / "agent.err").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "companion.agent"],
            env=self.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
        )
        err.close()
        self.procs.append(proc)
        self.wait_running()

    def wait_running(self) -> AgentClient:
        def connected() -> AgentClient | None:
            try:
                return AgentClient.connect(self.paths, timeout=10)
            except AgentNotRunning:
                return None

        return wait_until("the agent to answer", connected, START_TIMEOUT)

    def client(self) -> AgentClient:
        return AgentClient.connect(self.paths, timeout=10)

    def wait_scanned(self, messages: int = DEMO_MESSAGES) -> dict[str, Any]:
        client = self.client()
        return wait_until(
            f"{messages} messages scanned",
            lambda: (
                (s := client.status())["totals"]["messages"] >= messages
                and s["scan"]["state"] == "idle"
                and s
            ),
            WAIT_SECONDS,
        )

    def stop(self) -> None:
        """Stop the agent as `mailwarden stop` does (through the API), wait for it to be gone."""
        try:
            self.client().shutdown()
        except AgentNotRunning:
            pass
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        wait_until("agent.json to be removed", lambda: not (self.home / "agent.json").exists(), WAIT_SECONDS)

    def kill_all(self) -> None:
        """Last resort at teardown: the agents this test started, by pid (including one the tray started)."""
        try:
            self.client().shutdown()
        except Exception:
            pass
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)

    # -- the database, read directly to check what the windows show -----------------------------

    def query(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.paths.database)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params)]
        finally:
            conn.close()

    def add_received(
        self,
        subject: str,
        body: str,
        sender: str = "accounts@new-supplier.example",
        date: str = "Wed, 25 Nov 2026 09:00:00 +0800",
    ) -> None:
        """A new mail arrives in the watched Inbox (appended, as Thunderbird does)."""
        self.add_mails([(subject, body, sender, date)])

    def add_mails(self, mails: list[tuple[str, str, str, str]]) -> None:
        """(subject, body, sender, Date header) mails appended to the watched Inbox in one write."""
        data = b""
        for subject, body, sender, date in mails:
            raw = build_eml(
                body,
                subject=subject,
                sender=sender,
                to="li.wei@demo-trading.example",
                message_id=f"<{abs(hash(subject))}@new>",
                date=date,
            )
            data += b"\nFrom - Wed Nov 25 09:00:00 2026\n" + raw.replace(b"\r\n", b"\n") + b"\n"
        with (self.mailbox / "Inbox").open("ab") as f:
            f.write(data)


def make_agent(root: Path, *, start: bool = True) -> RealAgent:
    from companion.demo import DEMO_IDENTITY, demo_policy_text

    home = root / "home"
    home.mkdir(parents=True)
    mailbox = root / "mailbox"
    shutil.copytree(DEMO_MAILBOX, mailbox)
    for f in mailbox.iterdir():
        age(f)
    (home / "policy.toml").write_text(demo_policy_text(), encoding="utf-8")
    (home / "config.toml").write_text(
        f"discover = false\nstores = [{json.dumps(str(mailbox / 'Inbox'))}, {json.dumps(str(mailbox / 'Sent'))}]\n"
        f"identities = [{json.dumps(DEMO_IDENTITY)}]\ndebounce_seconds = 0.2\nrescan_minutes = 10\n",
        encoding="utf-8",
    )
    agent = RealAgent(root, home, mailbox)
    if start:
        agent.start()
        agent.wait_scanned()
    return agent


@pytest.fixture
def real_agent(tmp_path, monkeypatch) -> Iterator[RealAgent]:
    agent = make_agent(tmp_path / "agent")
    monkeypatch.setenv("MAILWARDEN_HOME", str(agent.home))
    try:
        yield agent
    finally:
        agent.kill_all()


@pytest.fixture
def link_factory(qtbot):
    """AgentLinks (and TrayApps) made here are stopped at teardown, and their worker threads drained."""
    made: list[Any] = []

    def make(agent: RealAgent, **kwargs: Any):
        from ui.tray import TrayApp

        kwargs.setdefault("autostart", False)
        kwargs.setdefault("poll_ms", 200)
        kwargs.setdefault("use_tray", False)
        tray = TrayApp(agent.paths, **kwargs)
        made.append(tray)
        return tray

    yield make
    for tray in made:
        for pid in tray.link.started_pids:  # an agent the tray started: stop it by its pid
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        tray.link.stop()
        for window in tray.windows.values():
            window.close()
        tray.link.runner.wait(30000)
        qtbot.wait(50)  # deliver the last queued answers while the objects are alive
    for tray in made:  # then free the Qt side now, while the application exists (not at interpreter exit)
        for window in tray.windows.values():
            window.deleteLater()
        tray.menu.deleteLater()
        tray.deleteLater()
    made.clear()
    qtbot.wait(20)
    gc.collect()


@pytest.fixture
def file_keystore(monkeypatch):
    """The device key goes to a file in the test's data directory, never to the OS credential store."""
    monkeypatch.setattr("companion.keystore._usable_keyring", lambda: None)


@pytest.fixture(autouse=True)
def english_first():
    """Each test starts in English (the translator is process-wide)."""
    from ui.i18n import translator

    translator().set_language("en")
    yield
    translator().set_language("en")
