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
        "field": {"kind": "body", "name": ""},
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
    assert set(rows[0]) == {"file", "error", "error_code"} and "missing.eml" in rows[0]["file"]
    assert rows[0]["error_code"] == "unreadable"
    assert re.search(r"no such file|not found|cannot", rows[0]["error"], re.I)
    assert set(rows[1]) == {"file", "error", "error_code"} and "empty" in rows[1]["error"]
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
    # the same read as the local API's GET /v1/flags, row for row
    from companion.agent.api import MailwardenAPI
    from companion.config import paths

    assert [{k: v for k, v in r.items() if k != "kind"} for r in rows] == MailwardenAPI(paths()).flags()[
        "flags"
    ]
    assert [r["subject"] for r in json_lines(run("flags", "--json", "--limit", "1").output)] == ["newer"]


def test_flags_include_pre_send_decisions(tmp_path, isolated_home):
    from companion.records import Database
    from tests.fixtures import record_presend as record

    db = Database(isolated_home / "mailwarden.db")
    details = {"subject": "Deal", "to": ["t@b.example"], "body": "a lifetime warranty"}
    record(db, "thunderbird", details, "justified", justification="CEO agreed")
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
    assert result.output == "电话 [电话], mail [邮箱]"


def test_mask_a_mail_file_uses_its_people_and_prints_its_snippets(tmp_path):
    raw = build_eml(
        "John,\nas discussed, Lina can give you the lowest price; call 13812345678.\n\nBest regards,\nLina\n",
        subject="offer",
        sender="李娜 <lina@huadong-trading.com>",
        to="John Smith <john.smith@acme.co.uk>",
    )
    (tmp_path / "m.eml").write_bytes(raw)
    masked = run("mask", str(tmp_path / "m.eml"))
    assert masked.exit_code == 0, masked.output
    assert masked.output == (
        "[name],\nas discussed, [name] can give you the lowest price; call [phone].\n\nBest regards,\n[name]\n"
    )
    shown = run("mask", "--snippets", str(tmp_path / "m.eml"))
    assert shown.output == "commit.lowest-price\t…can give you the »lowest price«…\n"
    missing = run("mask", str(tmp_path / "nope.eml"))
    assert missing.exit_code != 0 and "nope.eml" in missing.output
    assert run("mask", "--snippets").exit_code != 0


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


def test_every_cli_command_and_option_is_documented():
    import click

    doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = {m.group(1): m.end() for m in re.finditer(r"^## mailwarden (.+)$", doc, re.MULTILINE)}
    for name in _commands(cli):
        assert name in sections, f"docs/cli.md has no section for `mailwarden {name}`"
        start = sections[name]
        section = doc[start : min([e for e in sections.values() if e > start], default=len(doc))]
        command = cli
        for word in name.split():
            command = command.commands[word]
        for param in command.params:
            for opt in getattr(param, "opts", []) if isinstance(param, click.Option) else []:
                if opt.startswith("--"):
                    assert opt in section, f"`mailwarden {name} {opt}` is not in its docs/cli.md section"


# -- what is not a mail, --text and --exit-code ----------------------------------------------------


@pytest.mark.parametrize("name", ["README.md", "Makefile", "pyproject.toml"])
def test_check_refuses_a_file_that_is_not_a_mail(name):
    result = run("check", str(REPO / name))
    assert result.exit_code == 4
    assert "PASS" not in result.stdout
    assert f"{REPO / name} is not an e-mail message" in result.stderr and "--text" in result.stderr
    rows = json_lines(run("check", "--json", str(REPO / name)).stdout)
    assert rows[0]["error_code"] == "not_mail" and "verdict" not in rows[0]


@pytest.mark.parametrize("data", [b"x", b"x\n", "我们保证最低价".encode(), b"install: all\n\tmake it\n"])
def test_check_refuses_stdin_that_is_not_a_mail(data):
    result = run("check", "-", input=data)
    assert result.exit_code == 4 and "- is not an e-mail message" in result.stderr


def test_not_a_mail_speaks_chinese(monkeypatch):
    monkeypatch.setenv("MAILWARDEN_LANG", "zh")
    result = run("check", "-", input=b"x")
    assert result.exit_code == 4
    assert (
        "错误" in result.stderr and "不是电子邮件" in result.stderr and "not an e-mail" not in result.stderr
    )


def test_a_header_block_is_enough_and_mbox_from_lines_are_allowed():
    assert run("check", "-", input=b"Subject: hi\n").exit_code == 0  # headers only, no body
    raw = b"From - Mon Nov  2 10:00:00 2026\n" + build_eml("the lowest price")
    assert json_lines(run("check", "--json", "-", input=raw).stdout)[0]["verdict"] == "warn"


def test_text_judges_plain_text_as_a_body(tmp_path):
    result = run("check", "--json", "--text", "-", input="我们保证最低价，欢迎下单。".encode())
    assert result.exit_code == 0
    row = json_lines(result.stdout)[0]
    assert row["verdict"] == "warn" and row["findings"][0]["field"] == {"kind": "body", "name": ""}
    note = tmp_path / "note.txt"
    note.write_text("Packing list attached.", encoding="utf-8")
    mail = tmp_path / "offer.eml"
    mail.write_bytes(build_eml("the lowest price", subject="Offer"))
    rows = json_lines(run("check", "--json", "--text", str(note), str(mail)).stdout)
    assert [r["verdict"] for r in rows] == ["pass", "warn"]  # a mail is still read as a mail
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(bytes(range(256)) * 20)
    result = run("check", "--text", str(binary))
    assert result.exit_code == 4 and "not text" in result.stderr


def test_exit_code_gives_the_verdict(mails, tmp_path):
    def status(*args: str, input: bytes | None = None) -> int:
        return run("check", "--exit-code", *args, input=input).exit_code

    assert status(str(mails / "pass.eml")) == 0
    assert status(str(mails / "warn.eml"), str(mails / "pass.eml")) == 1
    assert status(str(mails / "pass.eml"), str(mails / "block.eml"), str(mails / "warn.eml")) == 2
    assert status(str(mails / "block.eml"), str(tmp_path / "missing.eml")) == 3  # an error outranks
    assert status("-", input=b"x") == 4
    assert status("--role", "nobody", str(mails / "pass.eml")) == 3
    assert status("--no-such-option", str(mails / "pass.eml")) == 3  # not 2, which means block
    assert run("check", "--no-such-option", "x").exit_code == 2  # click's usual status otherwise
    assert run("check", str(mails / "block.eml")).exit_code == 0  # without --exit-code: checked


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
