"""The agent's collector schedule (companion.agent.sync_loop) against a real collector on
127.0.0.1 (SQLite): summaries on their interval and not again after a restart, appeals sent at
once, policy and decisions pulled, an unreachable collector shown in the status and caught up
later, and the machine-configuration enrolment hook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from companion import machine_config
from companion.agent.api import MailwardenAPI
from companion.agent.sync_loop import SyncLoop
from companion.cli import cli
from companion.config import Paths
from companion.records import Database
from companion.settings import Settings
from tests.collector_fixtures import start_server
from tests.conftest import build_eml
from tests.fixtures import MSI_VALUES, FakeRegistry, wait_until

pytestmark = pytest.mark.usefixtures("memory_keyring")  # tests/fixtures.py


@pytest.fixture
def collector_server(tmp_path):
    srv = start_server(f"sqlite:///{tmp_path / 'collector.db'}")
    yield srv
    srv.stop()
    srv.collector.storage.dispose()


def _enrolled_home(srv, tmp_path, isolated_home) -> Paths:
    sent = tmp_path / "Sent"
    sent.mkdir()
    (sent / "a.eml").write_bytes(build_eml("We guarantee the lowest price.", message_id="<a@corp.example>"))
    runner = CliRunner()
    assert runner.invoke(cli, ["scan", str(sent)]).exit_code == 0
    token = srv.collector.create_token("sales")["token"]
    result = runner.invoke(cli, ["enroll", "--collector", srv.url, "--token", token])
    assert result.exit_code == 0, result.output
    return Paths(isolated_home)


def _outbox(paths: Paths) -> list[dict]:
    db = Database(paths.database)
    try:
        return list(db.db.query("SELECT kind, status FROM outbox ORDER BY id"))
    finally:
        db.close()


def test_nothing_happens_before_enrolment(isolated_home):
    loop = SyncLoop(Paths(isolated_home), Settings())
    assert loop.tick() is None and loop.state()["rounds"] == 0


def test_summary_on_schedule_and_not_again_after_a_restart(collector_server, tmp_path, isolated_home):
    paths = _enrolled_home(collector_server, tmp_path, isolated_home)
    now = datetime.now(UTC)
    report = SyncLoop(paths, Settings()).tick(now)
    assert report["summaries_queued"] == 1 and report["upload"]["accepted"] == 1
    assert report["policy"]["status"] == "none" and report["decisions"]["updated"] == 0
    # A restarted agent (a new loop) a minute later pulls (it has not pulled yet) but signs no
    # second summary: the last period's end is kept in the database.
    again = SyncLoop(paths, Settings()).tick(now + timedelta(minutes=1))
    assert again["summaries_queued"] == 0
    # An hour after the last period ended, the next summary goes, chained after the first.
    later = SyncLoop(paths, Settings()).tick(now + timedelta(minutes=61))
    assert later["summaries_queued"] == 1 and later["upload"]["accepted"] == 1
    [device] = _devices(paths)
    status = collector_server.collector.device_status(device["device_id"])
    assert status["last_seq"] == 2 and status["gaps"] == [] and status["alerts"] == []


def _devices(paths: Paths) -> list[dict]:
    db = Database(paths.database)
    try:
        return list(db.db.query("SELECT device_id FROM device"))
    finally:
        db.close()


def test_a_quiet_tick_touches_nothing(collector_server, tmp_path, isolated_home):
    paths = _enrolled_home(collector_server, tmp_path, isolated_home)
    loop = SyncLoop(paths, Settings())
    now = datetime.now(UTC)
    assert loop.tick(now) is not None
    assert loop.tick(now + timedelta(minutes=5)) is None  # summary and pull not due, outbox empty
    assert loop.state()["rounds"] == 1


def test_an_appeal_goes_at_once_and_its_decision_comes_back(collector_server, tmp_path, isolated_home):
    paths = _enrolled_home(collector_server, tmp_path, isolated_home)
    loop = SyncLoop(paths, Settings())
    now = datetime.now(UTC)
    loop.tick(now)
    api = MailwardenAPI(paths, sync=loop)
    [flag] = api.flags()["flags"]
    api.file_appeal(flag["id"], "false_positive", "a quoted price")
    # Filing woke the loop: the next tick sends it although neither summary nor pull is due.
    report = loop.tick(now + timedelta(seconds=5))
    assert report["upload"]["appeals_queued"] == 1 and report["summaries_queued"] == 0  # hourly stays hourly
    [received] = collector_server.collector.appeals("pending")
    collector_server.collector.decide_appeal(received["id"], "rejected", "the promise stands", "alice")
    loop.run_now()
    report = loop.tick(now + timedelta(seconds=10))
    assert report["decisions"]["updated"] == 1
    [mine] = api.appeals()["appeals"]
    assert mine["status"] == "rejected" and mine["reviewer_comment"] == "the promise stands"


def test_published_policy_is_pulled_and_applied(collector_server, tmp_path, isolated_home):
    from companion.policy import load_policy
    from companion.policy.loader import default_policy_text

    paths = _enrolled_home(collector_server, tmp_path, isolated_home)
    loop = SyncLoop(paths, Settings(pull_minutes=15))
    now = datetime.now(UTC)
    loop.tick(now)
    text = default_policy_text().replace(f'version = "{load_policy().version}"', 'version = "2099.1.1"', 1)
    collector_server.collector.publish_policy(text)
    assert loop.tick(now + timedelta(minutes=10)) is None  # the pull is not due yet
    report = loop.tick(now + timedelta(minutes=16))
    assert report["policy"] == {
        "status": "applied",
        "version": "2099.1.1",
        "reason": report["policy"]["reason"],
    }
    assert load_policy(paths.policy).version == "2099.1.1"


def test_unreachable_collector_shows_in_status_and_is_caught_up(collector_server, tmp_path, isolated_home):
    paths = _enrolled_home(collector_server, tmp_path, isolated_home)
    loop = SyncLoop(paths, Settings())
    api = MailwardenAPI(paths, sync=loop)
    collector_server.stop()
    now = datetime.now(UTC)
    report = loop.tick(now)
    assert report["upload"]["retry"] == 1 and report["policy"]["status"] == "error"
    sync = api.status()["sync"]
    assert sync["collector_reachable"] is False and sync["queued"] == 1 and sync["schedule"]["last_error"]
    assert [o["status"] for o in _outbox(paths)] == ["queued"]
    # The collector comes back (same database): the queued summary goes when its retry time comes.
    back = start_server(collector_server.collector.storage.url)
    try:
        _point_device_at(paths, back.url)
        report = loop.tick(now + timedelta(hours=7))  # past any backoff (capped at 6 h)
        assert report["upload"]["accepted"] >= 1
        assert [o["status"] for o in _outbox(paths)] == ["acked"] * len(_outbox(paths))
        assert api.status()["sync"]["collector_reachable"] is True
    finally:
        back.stop()
        back.collector.storage.dispose()


def _point_device_at(paths: Paths, url: str) -> None:
    # The restarted collector listens on a new port; a real one keeps its address.
    db = Database(paths.database)
    try:
        with db.transaction():
            db.conn.execute("UPDATE device SET collector_url = ? WHERE id = 1", (url,))
    finally:
        db.close()


def test_machine_configuration_enrols_on_first_run(collector_server, isolated_home):
    paths = Paths(isolated_home)
    token = collector_server.collector.create_token("finance")["token"]
    calls = []

    def enrol_from_machine(p: Paths) -> bool:
        from companion.enroll import enroll

        calls.append(p)
        enroll(p, collector_server.url, token, "finance")
        return True

    loop = SyncLoop(paths, Settings(), enrol_from_machine=enrol_from_machine)
    report = loop.tick()
    assert calls == [paths] and report["summaries_queued"] == 1 and report["upload"]["accepted"] == 1
    assert loop.tick() is None and len(calls) == 1  # enrolled now: the hook is not called again


def test_a_failing_round_never_kills_the_loop(isolated_home, monkeypatch):
    def broken(_paths):
        raise RuntimeError("registry unreadable")

    loop = SyncLoop(Paths(isolated_home), Settings(), enrol_from_machine=broken)
    assert loop.tick() is None
    assert loop.state()["last_error"] == "RuntimeError: registry unreadable"


def test_settings_reject_a_zero_interval(isolated_home):
    from companion.settings import SettingsError, load_settings

    paths = Paths(isolated_home).ensure()
    paths.config.write_text("summary_minutes = 0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="summary_minutes"):
        load_settings(paths)


def test_the_real_agent_uploads_on_its_own(collector_server, tmp_path):
    """`python -m companion.agent` with short intervals: enrolled by the real CLI in another process,
    it signs and uploads summaries by itself, one after another, without gaps."""
    import os
    import subprocess
    import sys

    from tests.conftest import age

    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    home = tmp_path / "home"
    home.mkdir()
    inbox = tmp_path / "Inbox"
    inbox.mkdir()
    mail = inbox / "bank.eml"
    mail.write_bytes(build_eml("Please note our bank details have changed.", sender="a@supplier.example"))
    age(mail)
    (home / "config.toml").write_text(
        f"discover = false\nstores = [{json.dumps(str(inbox))}]\n"
        "summary_minutes = 0.01\npull_minutes = 0.01\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "MAILWARDEN_HOME": str(home),
        "MAILWARDEN_QUIET_SECONDS": "0",
        "PYTHONPATH": str(repo),
    }
    token = collector_server.collector.create_token("sales")["token"]
    enrolled = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion.cli",
            "enroll",
            "--collector",
            collector_server.url,
            "--token",
            token,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert enrolled.returncode == 0, enrolled.stderr
    device_id = json.loads(enrolled.stdout.splitlines()[0])["device_id"]
    agent = subprocess.Popen(
        [sys.executable, "-m", "companion.agent"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def uploaded() -> dict | None:
            assert agent.poll() is None, agent.stderr.read().decode()
            status = collector_server.collector.device_status(device_id)
            return status if status["summaries"] >= 2 and status["last_seq"] >= 2 else None

        status = wait_until("two summaries uploaded by the agent", uploaded, 60)
        assert status["gaps"] == [] and status["alerts"] == []
        with collector_server.collector.storage.read() as tx:
            rules = {e["rule"] for e in tx.select("events", {"device_id": device_id})}
        assert "payment.bank-change" in rules  # what the agent's own scan found went up
    finally:
        agent.terminate()
        agent.wait(15)


def test_first_run_hook_in_the_agent_loop_enrols_and_deletes_the_token(collector_server, isolated_home):
    token = collector_server.collector.create_token("finance")["token"]
    registry = FakeRegistry(
        {**MSI_VALUES, "CollectorUrl": collector_server.url, "EnrollToken": token, "Department": "finance"}
    )
    loop = SyncLoop(
        Paths(isolated_home), Settings(), enrol_from_machine=machine_config.FirstRunEnrolment(registry)
    )
    report = loop.tick()
    assert report is not None and report["upload"]["accepted"] == 1
    assert "EnrollToken" not in registry.keys[machine_config.TOKEN_KEY]
    assert loop.enrol_from_machine.last["status"] == "enrolled"


def test_a_refused_token_shows_in_the_agent_status(collector_server, isolated_home):
    registry = FakeRegistry(
        {**MSI_VALUES, "CollectorUrl": collector_server.url, "EnrollToken": "not-a-token"}
    )
    loop = SyncLoop(
        Paths(isolated_home), Settings(), enrol_from_machine=machine_config.FirstRunEnrolment(registry)
    )
    assert loop.tick() is None
    assert loop.state()["last_error"].startswith("enrolment from the machine configuration failed:")
    assert registry.keys[machine_config.TOKEN_KEY]["EnrollToken"] == "not-a-token"


def test_only_the_oldest_summary_decides_whether_the_outbox_is_due(isolated_home):
    """Summaries go in order: while the oldest waits out its backoff, the newer ones are not due
    (no round every tick); an appeal item is due on its own time."""
    from companion.agent.sync_loop import _outbox_due
    from companion.clock import now_iso

    now = datetime.now(UTC)
    db = Database(Paths(isolated_home).ensure().database)
    try:

        def queue(kind: str, next_at: str) -> None:
            with db.transaction():
                db.conn.execute(
                    "INSERT INTO outbox (kind, payload, created_at, status, attempts, next_attempt_at,"
                    " acked_at, last_error) VALUES (?, '{}', ?, 'queued', 0, ?, '', '')",
                    (kind, now_iso(now), next_at),
                )

        assert not _outbox_due(db, now)
        queue("summary", now_iso(now + timedelta(hours=1)))  # in backoff
        queue("summary", "")  # newer: held behind it
        assert not _outbox_due(db, now)
        assert _outbox_due(db, now + timedelta(hours=1))
        queue("appeal", "")
        assert _outbox_due(db, now)
    finally:
        db.close()
