"""The demo: `mailwarden-collector demo` (make demo) runs the whole loop on embedded defaults, the
workstation's part as the separate program `mailwarden demo`; that part alone does the local job
and says where the collector's part is."""

from __future__ import annotations

import re

from click.testing import CliRunner

from collector.cli import main as collector_cli
from companion.cli import cli


def test_demo_runs_the_loop_and_prints_a_working_login(tmp_path, isolated_home):
    from collector.app import build_collector

    home = tmp_path / "demo"
    result = CliRunner().invoke(collector_cli, ["demo", "--home", str(home)])
    assert result.exit_code == 0, result.output
    # the workstation's part, shown as it ran
    assert "1. Scanning the demo mailbox" in result.output and "02-off-book.eml: BLOCK" in result.output
    url = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+/)", result.output)
    login = re.search(r"Login: +(\S+) / (\S+)", result.output)
    device = re.search(r"enrolled as (dev_\w+) with http://127\.0\.0\.1:\d+", result.output)
    assert url and login and device, result.output
    assert "failed 0" in result.output and "stops now" in result.output
    assert f"summaries 1 of {device.group(1)} (chain at seq 1, gaps 0, alerts 0)" in result.output
    # The collector stopped (`make demo` terminates); its SQLite file holds what the loop did.
    coll = build_collector(f"sqlite:///{home / 'collector' / 'collector.db'}")
    try:
        assert coll.check_password(login.group(1), login.group(2))["role"] == "admin"
        status = coll.device_status(device.group(1))
        assert status["summaries"] >= 1 and status["gaps"] == [] and status["alerts"] == []
        with coll.storage.read() as tx:
            assert tx.count("events", {"device_id": device.group(1)}) > 0
        assert len(coll.appeals("pending")) == 1
        assert coll.current_policy()["version"].startswith("demo-")
    finally:
        coll.storage.dispose()
    # Run again in the same directory: a fresh collector, a new enrolment, a login that works.
    again = CliRunner().invoke(collector_cli, ["demo", "--home", str(home)])
    assert again.exit_code == 0, again.output
    password = re.search(r"Login: +\S+ / (\S+)", again.output).group(1)
    coll = build_collector(f"sqlite:///{home / 'collector' / 'collector.db'}")
    try:
        assert password != login.group(2) and coll.check_password("admin", password) is not None
    finally:
        coll.storage.dispose()


def test_the_workstation_part_alone_does_the_local_job(tmp_path, isolated_home):
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "3. Checking the outgoing sample mails" in result.output
    assert "`mailwarden-collector demo`" in result.output
    assert "Dashboard" not in result.output and not (tmp_path / "demo" / "collector").exists()


def test_the_workstation_part_says_why_it_cannot_enrol(tmp_path, isolated_home):
    half = CliRunner().invoke(
        cli, ["demo", "--home", str(tmp_path / "a"), "--collector", "http://127.0.0.1:9"]
    )
    assert half.exit_code == 2 and "--collector and --token go together" in half.output
    unreachable = CliRunner().invoke(
        cli, ["demo", "--home", str(tmp_path / "b"), "--collector", "http://127.0.0.1:9", "--token", "t"]
    )
    assert unreachable.exit_code == 1
    assert "Enrolment failed: cannot reach the collector at http://127.0.0.1:9" in unreachable.output
