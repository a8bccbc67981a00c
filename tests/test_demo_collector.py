"""`mailwarden demo` with the collector: the whole loop on embedded defaults, and the local part
alone (saying so) when the collector is not installed."""

from __future__ import annotations

import re

from click.testing import CliRunner

from companion.cli import cli


def test_demo_runs_the_loop_and_prints_a_working_login(tmp_path, isolated_home):
    from collector.app import build_collector

    home = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--home", str(home)])
    assert result.exit_code == 0, result.output
    url = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+/)", result.output)
    login = re.search(r"Login: +(\S+) / (\S+)", result.output)
    device = re.search(r"enrolled as (dev_\w+)", result.output)
    assert url and login and device, result.output
    assert "failed 0" in result.output and "stops now" in result.output
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
    again = CliRunner().invoke(cli, ["demo", "--home", str(home)])
    assert again.exit_code == 0, again.output
    password = re.search(r"Login: +\S+ / (\S+)", again.output).group(1)
    coll = build_collector(f"sqlite:///{home / 'collector' / 'collector.db'}")
    try:
        assert password != login.group(2) and coll.check_password("admin", password) is not None
    finally:
        coll.storage.dispose()


def test_demo_without_the_collector_does_the_local_part(tmp_path, isolated_home, monkeypatch):
    monkeypatch.setattr("companion.demo.collector.collector_available", lambda: "collector")
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "skipped: the collector is not installed (missing collector)" in result.output
    assert "Dashboard" not in result.output and not (tmp_path / "demo" / "collector").exists()
