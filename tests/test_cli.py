"""The CLI contract: check/scan/flags JSON shapes, exit statuses, errors, stdin, documentation."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from companion.cli import cli
from tests.conftest import REPO, build_eml, write_mbox


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def mails(tmp_path):
    files = {
        "block.eml": build_eml("我们私下交易吧，别让公司知道。"),
        "warn.eml": build_eml("We offer the lowest price.", subject="Offer"),
        "pass.eml": build_eml("Packing list attached."),
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    return tmp_path


def test_check_json_contract(mails):
    result = run("check", "--json", *(str(mails / n) for n in ("block.eml", "warn.eml", "pass.eml")))
    assert result.exit_code == 0
    rows = json_lines(result.output)
    assert [r["verdict"] for r in rows] == ["block", "warn", "pass"]
    assert [r["file"] for r in rows] == [str(mails / n) for n in ("block.eml", "warn.eml", "pass.eml")]
    finding = rows[1]["findings"][0]
    assert set(finding) == {
        "rule",
        "tier",
        "category",
        "field",
        "start",
        "end",
        "text",
        "quoted",
        "explanation",
    }
    assert finding | {"explanation": None} == {
        "rule": "commit.lowest-price",
        "tier": "approval",
        "category": "commitment",
        "field": "body",
        "start": 13,
        "end": 25,
        "text": "lowest price",
        "quoted": False,
        "explanation": None,
    }
    assert all(r["policy_version"] == "2026.11.1" for r in rows)
    assert {f["rule"] for f in rows[0]["findings"]} == {"offbook.private-deal"}


def test_check_reads_stdin():
    result = run("check", "--json", "-", input=build_eml("lifetime warranty included"))
    (row,) = json_lines(result.output)
    assert (row["file"], row["verdict"]) == ("-", "warn")


def test_unreadable_file_is_reported_and_the_rest_still_checked(mails, tmp_path):
    (tmp_path / "empty.eml").write_bytes(b"")
    args = [
        "check",
        "--json",
        str(tmp_path / "missing.eml"),
        str(tmp_path / "empty.eml"),
        str(mails / "warn.eml"),
    ]
    result = run(*args)
    assert result.exit_code != 0
    rows = json_lines(result.output)
    assert set(rows[0]) == {"file", "error"} and "missing.eml" in rows[0]["file"]
    assert re.search(r"no such file|not found|cannot", rows[0]["error"], re.I)
    assert set(rows[1]) == {"file", "error"} and "empty" in rows[1]["error"]
    assert rows[2]["verdict"] == "warn"


def test_readable_report_highlights_the_match_in_context(mails):
    result = run("check", str(mails / "warn.eml"))
    assert result.exit_code == 0
    assert "WARN" in result.output
    assert "…We offer the »lowest price«.…" in result.output
    assert "commit.lowest-price" in result.output and "manager must approve" in result.output


def test_report_speaks_chinese_under_a_chinese_locale(mails, monkeypatch):
    monkeypatch.delenv("MAILWARDEN_LANG")
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    result = run("check", str(mails / "block.eml"))
    assert "拦截" in result.output and "绝对禁止" in result.output and "禁止绕开公司账目" in result.output


def test_check_with_policy_and_role(mails, tmp_path):
    result = run("check", "--json", "--role", "sales-manager", str(mails / "warn.eml"))
    assert json_lines(result.output)[0]["verdict"] == "pass"
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nversion = "1"\n[[rule]]\nid = "x"\ntier = "nope"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--policy", str(bad), str(mails / "warn.eml")])
    assert result.exit_code == 1 and "bad.toml, line 5: rule 'x': unknown tier 'nope'" in result.output
    result = CliRunner().invoke(cli, ["check", "--role", "ceo", str(mails / "warn.eml")])
    assert result.exit_code == 1 and "unknown role 'ceo'" in result.output


def test_scan_json_then_skips_what_it_has_seen(tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    (box / "a.eml").write_bytes(build_eml("lowest price", message_id="<a@x>"))
    (box / "b.eml").write_bytes(build_eml("hello", message_id="<b@x>"))
    write_mbox(
        box / "Inbox",
        [
            build_eml("our bank details have changed", message_id="<c@x>"),
            build_eml("lowest price", message_id="<a@x>"),
        ],
    )
    (box / "junk.eml").write_bytes(b"\x00\x01\x02garbage" * 10)
    first = json.loads(run("scan", "--json", "--identity", "sales@corp.example", str(box)).output)
    # a.eml and its copy in the mbox have the same Message-ID and content: stored once.
    assert first == {
        "messages": 3,
        "skipped": 1,
        "flagged": 2,
        "errors": 1,
        "by_rule": {"commit.lowest-price": 1, "payment.bank-change": 1},
    }
    second = json.loads(run("scan", "--json", "--identity", "sales@corp.example", str(box)).output)
    assert second["messages"] == 0 and second["skipped"] == 4 and second["flagged"] == 0


def test_scan_of_a_missing_path_is_counted_not_fatal(tmp_path):
    result = run("scan", "--json", str(tmp_path / "nothing"))
    assert result.exit_code == 0
    assert json.loads(result.output)["errors"] == 1


def test_flags_json_newest_first(tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    (box / "old.eml").write_bytes(build_eml("lowest price"))
    (box / "new.eml").write_bytes(
        build_eml("keep this between us", subject="newer", date="Mon, 09 Nov 2026 10:00:00 +0800")
    )
    run("scan", str(box), "--identity", "sales@corp.example")
    rows = json_lines(run("flags", "--json").output)
    assert [r["subject"] for r in rows] == ["newer", "Offer"]
    assert {"id", "date", "direction", "counterpart", "subject", "verdict", "findings"} <= set(rows[0])
    assert (rows[0]["direction"], rows[0]["counterpart"], rows[0]["verdict"]) == (
        "sent",
        "buyer@client.example",
        "block",
    )
    assert rows[0]["findings"][0]["text"] == "keep this between us"
    text = run("flags").output
    assert "keep this between us" in text and text.index("newer") < text.index("Offer")


def test_flags_include_pre_send_decisions(tmp_path, isolated_home):
    from companion.database import Database
    from companion.policy import PolicyEngine, load_policy
    from companion.presend import check_outgoing, record_decision

    db = Database(isolated_home / "mailwarden.db")
    check = check_outgoing(
        PolicyEngine(load_policy()), {"subject": "Deal", "to": ["t@b.example"], "body": "a lifetime warranty"}
    )
    record_decision(db, "thunderbird", check, "justified", justification="CEO agreed")
    db.close()
    (row,) = json_lines(run("flags", "--json").output)
    assert (row["kind"], row["subject"], row["verdict"], row["choice"]) == (
        "presend",
        "Deal",
        "warn",
        "justified",
    )
    text = run("flags").output
    assert "sent with a justification" in text and "CEO agreed" in text


def test_mask_reads_stdin():
    result = run("mask", input="电话 13812345678, mail li.wei@corp.example".encode())
    assert result.output == "电话 138****5678, mail ******@corp.example"


def test_policy_validate_and_show(tmp_path):
    result = run("policy", "show")
    assert 'version = "2026.11.1"' in result.output
    good = tmp_path / "p.toml"
    good.write_text(result.output, encoding="utf-8")
    assert "valid policy 2026.11.1" in run("policy", "validate", str(good)).output


def _commands(group, prefix=()) -> list[str]:
    names = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        names.append(" ".join(path))
        if hasattr(command, "commands"):
            names += _commands(command, path)
    return names


def test_every_cli_command_is_documented():
    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in _commands(cli):
        assert f"## mailwarden {name}" in doc, f"docs/cli.md has no section for `mailwarden {name}`"


def test_real_process_exit_status_and_startup(tmp_path):
    (tmp_path / "ok.eml").write_bytes(build_eml("lowest price"))
    ok = subprocess.run(
        [sys.executable, "-m", "companion.cli", "check", "--json", str(tmp_path / "ok.eml")],
        capture_output=True,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["verdict"] == "warn"
    bad = subprocess.run(
        [sys.executable, "-m", "companion.cli", "check", str(tmp_path / "none.eml")], capture_output=True
    )
    assert bad.returncode == 1 and b"none.eml" in bad.stderr


def test_install_outlook_explains_it_needs_windows():
    result = CliRunner().invoke(cli, ["install-outlook"])
    assert result.exit_code == 1 and "classic Outlook on Windows" in result.output


def test_install_outlook_is_added_by_outlook_bridge_through_entry_points():
    """companion.cli lists and loads it from the installed metadata: the companion never imports
    outlook_bridge (tests/test_architecture.py)."""
    import click

    assert "install-outlook" in CliRunner().invoke(cli, ["--help"]).output
    command = cli.get_command(click.Context(cli), "install-outlook")
    assert command is not None and command.callback.__module__ == "outlook_bridge.cli"
    assert cli.get_command(click.Context(cli), "no-such-command") is None


def test_an_added_command_that_cannot_be_imported_says_so(monkeypatch):
    from importlib.metadata import EntryPoint

    broken = EntryPoint("install-elsewhere", "no_such_package.cli:command", "mailwarden.commands")
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [broken])
    result = CliRunner().invoke(cli, ["install-elsewhere"])
    assert result.exit_code == 1
    assert "the command 'install-elsewhere' is not installed here" in result.output
