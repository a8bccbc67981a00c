"""The Thunderbird native-messaging host, run as Thunderbird runs it (a real process on stdio), and
the install functions and .xpi build that put it in place."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from companion import __version__
from companion.native_messaging import MAX_INCOMING, MAX_OUTGOING, encode, fit
from companion.policy.loader import default_policy_text
from companion.records import Database, decisions
from companion.thunderbird_install import (
    EXTENSION_ID,
    HOST_NAME,
    REGISTRY_KEY,
    InstallError,
    enterprise_policies,
    host_manifest,
    install_extension,
    install_native_manifest,
    install_thunderbird,
)
from tests.conftest import REPO

EXT = REPO / "thunderbird_ext"
HEADER = struct.Struct("=I")


def policy_text(version: str = "2026.11.1") -> str:
    text = default_policy_text().replace(
        "finance_addresses = []", 'finance_addresses = ["finance@corp.example"]'
    )
    text = text.replace("supervisor_addresses = []", 'supervisor_addresses = ["boss@corp.example"]')
    return text.replace('version = "2026.11.1"', f'version = "{version}"', 1)


class HostProcess:
    """The real host (`python -m companion.native_host`) with Thunderbird's framing."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "MAILWARDEN_HOME": str(home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "companion.native_host", str(home / "mailwarden.json"), EXTENSION_ID],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )

    def write_raw(self, data: bytes) -> None:
        self.proc.stdin.write(HEADER.pack(len(data)) + data)
        self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        self.write_raw(json.dumps(message).encode("utf-8"))

    def read(self, timeout: float = 20.0) -> dict:
        result: list = []

        def reader() -> None:
            header = self.proc.stdout.read(4)
            if len(header) == 4:
                (length,) = HEADER.unpack(header)
                result.append((length, self.proc.stdout.read(length)))

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        assert result, f"no answer from the host within {timeout} s (stderr: {self.stderr()})"
        length, data = result[0]
        assert length == len(data) <= MAX_OUTGOING
        return json.loads(data.decode("utf-8"))  # strict: Thunderbird refuses a frame that is not UTF-8

    def ask(self, message: dict) -> dict:
        self.send(message)
        return self.read()

    def close(self, timeout: float = 10.0) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read().decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def host(isolated_home):
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "policy.toml").write_text(policy_text(), encoding="utf-8")
    h = HostProcess(isolated_home)
    yield h
    h.kill()


WARN = {
    "subject": "Offer",
    "from": "Li Wei <li@corp.example>",
    "to": ["Anna <anna@buyer.example>"],
    "body": "Dear Anna,\nWe offer the lowest price for the valves.\nBest regards",
}


def test_hello_answers_with_the_version_policy_and_what_the_extension_must_know(host):
    from companion.machine_config import FAIL_MODES
    from companion.parsing.attachments import attachment_kind

    hello = host.ask({"type": "hello", "id": 1})
    assert hello == {
        "type": "hello",
        "id": 1,
        "version": __version__,
        "policy_version": "2026.11.1",
        "protocol": 2,
        "policy_error": None,
        "attachments": hello["attachments"],
        "fail_modes": list(FAIL_MODES),
        "choices": [
            "sent",
            "edited",
            "added_approver",
            "justified",
            "blocked",
            "unchecked_sent",
            "unchecked_cancelled",
        ],
    }
    rules = hello["attachments"]
    # every extension sent as bytes is one the companion extracts, and the common ones are there
    assert {".pdf", ".docx", ".xlsx", ".html", ".eml", ".txt", ".csv"} <= set(rules["extract"])
    assert all(attachment_kind("x" + ext, "") for ext in rules["extract"])
    assert not set(rules["extract"]) & set(rules["as_text"])
    # the base64 of all the attachment bytes the extension may send stays under the incoming limit
    assert rules["extract_total_max"] * 4 / 3 < MAX_INCOMING
    # an extension of protocol 1 says "ping" and gets the same as "pong"
    pong = host.ask({"type": "ping", "id": 2})
    assert pong == {**hello, "type": "pong", "id": 2}


def test_check_round_trip_gives_verdict_findings_and_approvers(host):
    verdict = host.ask({"type": "check", "id": "c-1", "details": WARN})
    assert (verdict["type"], verdict["id"], verdict["verdict"]) == ("verdict", "c-1", "warn")
    assert verdict["approvers"] == ["boss@corp.example"]
    [finding] = verdict["findings"]
    assert (finding["rule"], finding["tier"], finding["approver"]) == (
        "commit.lowest-price",
        "approval",
        "supervisor",
    )
    sentence = finding["sentence"]
    assert sentence["text"][sentence["start"] : sentence["end"]] == "lowest price"
    assert finding["explanation"]["en"].startswith("Promising")
    assert finding["explanation"]["zh"].startswith("承诺最低价")
    assert finding["field"] == {"kind": "body", "name": ""}
    assert verdict["labels"]["tiers"] == {"approval": {"en": "needs approval", "zh": "需审批"}}
    assert verdict["labels"]["categories"]["commitment"]["zh"]
    assert verdict["stamps"] == {
        "added_approver": f"policy 2026.11.1; warn; approver in cc; key={verdict['key']}",
        "justified": f"policy 2026.11.1; warn; justified; key={verdict['key']}",
    }

    clean = host.ask({"type": "check", "id": "c-2", "details": {**WARN, "body": "Packing list attached."}})
    assert (clean["verdict"], clean["findings"], clean["approvers"]) == ("pass", [], [])
    block = host.ask(
        {"type": "check", "id": "c-3", "details": {**WARN, "body": "Please keep this between us."}}
    )
    assert block["verdict"] == "block" and block["findings"][0]["tier"] == "forbidden"


def test_decisions_are_recorded_in_the_database(host, isolated_home):
    host.ask({"type": "check", "id": "c-1", "details": WARN})
    recorded = host.ask(
        {
            "type": "decision",
            "id": "d-1",
            "check_id": "c-1",
            "choice": "justified",
            "justification": "Approved by phone with Mr Zhang",
        }
    )
    assert recorded["type"] == "recorded" and recorded["id"] == "d-1" and recorded["row"] >= 1
    unchecked = host.ask(
        {
            "type": "decision",
            "id": "d-2",
            "check_id": None,
            "choice": "unchecked_sent",
            "error": "check did not run: timeout",
            "details": {"subject": "Late", "to": ["x@y.example"]},
        }
    )
    assert unchecked["type"] == "recorded"
    forgotten = host.ask({"type": "decision", "id": "d-3", "check_id": "never-seen", "choice": "edited"})
    assert forgotten["type"] == "recorded"
    assert host.close() == 0

    db = Database(isolated_home / "mailwarden.db")
    try:
        rows = {r["id"]: r for r in decisions.newest(db, None, noteworthy_only=False)}
    finally:
        db.close()
    justified = rows[recorded["row"]]
    assert (justified["channel"], justified["verdict"], justified["choice"]) == (
        "thunderbird",
        "warn",
        "justified",
    )
    assert justified["justification"] == "Approved by phone with Mr Zhang"
    assert justified["recipients"] == ["anna@buyer.example"] and justified["policy_version"] == "2026.11.1"
    assert [f["rule"] for f in justified["findings"]] == ["commit.lowest-price"]
    late = rows[unchecked["row"]]
    assert (late["verdict"], late["choice"], late["subject"]) == ("unchecked", "unchecked_sent", "Late")
    assert "timeout" in late["error"]
    assert "not known" in rows[forgotten["row"]]["error"]


def _presend_rows(home: Path) -> dict[int, dict]:
    db = Database(home / "mailwarden.db")
    try:
        return {r["id"]: r for r in decisions.newest(db, None, noteworthy_only=False)}
    finally:
        db.close()


def test_a_late_decision_sent_to_a_new_host_is_recorded_with_the_real_verdict(host, isolated_home):
    """The extension keeps a decision it could not report with the details that were checked (no
    attachment bytes); the new host that gets it does not know the check and checks them again."""
    from tests.mailfactory import docx_bytes

    checked = {
        **WARN,
        "attachments": [
            {
                "name": "terms.pdf",
                "content_type": "application/pdf",
                "size": 9,
                "data_base64": base64.b64encode(b"%PDF-1.4 ").decode(),
            },
        ],
    }
    assert host.ask({"type": "check", "id": "c-1", "details": checked})["verdict"] == "warn"
    host.kill()  # the port dropped before the decision went: Thunderbird starts a new host

    fresh = HostProcess(isolated_home)
    try:
        kept = {
            **WARN,
            "attachments": [
                {"name": "terms.pdf", "content_type": "application/pdf", "size": 9, "text": None}
            ],
        }
        late = fresh.ask(
            {
                "type": "decision",
                "id": "d-1",
                "check_id": "c-1",
                "choice": "justified",
                "justification": "Approved by phone with Mr Zhang",
                "error": "reported late (decided 2026-11-30T09:00:00.000Z)",
                "details": kept,
            }
        )
        # Bytes sent with a late decision are read as a check reads them.
        memo = {
            **WARN,
            "body": "See the memo.",
            "attachments": [
                {
                    "name": "memo.docx",
                    "content_type": "",
                    "data_base64": base64.b64encode(docx_bytes(["Please keep this between us."])).decode(),
                },
            ],
        }
        blocked = fresh.ask(
            {"type": "decision", "id": "d-2", "check_id": "c-2", "choice": "blocked", "details": memo}
        )
        assert late["type"] == "recorded" and blocked["type"] == "recorded", (late, blocked)
        assert fresh.close() == 0
    finally:
        fresh.kill()

    rows = _presend_rows(isolated_home)
    row = rows[late["row"]]
    assert (row["channel"], row["verdict"], row["choice"]) == ("thunderbird", "warn", "justified")
    assert (row["subject"], row["recipients"], row["policy_version"]) == (
        "Offer",
        ["anna@buyer.example"],
        "2026.11.1",
    )
    assert [f["rule"] for f in row["findings"]] == ["commit.lowest-price"]
    assert row["justification"] == "Approved by phone with Mr Zhang"
    assert (
        "reported late (decided 2026-11-30" in row["error"] and "attachments judged by name" in row["error"]
    )
    assert "not known" not in row["error"]
    memo_row = rows[blocked["row"]]
    assert (memo_row["verdict"], memo_row["choice"]) == ("block", "blocked")
    assert ("attachment", "memo.docx", "offbook.private-deal") in {
        (f["field"]["kind"], f["field"]["name"], f["rule"]) for f in memo_row["findings"]
    }
    assert "attachments judged by name" not in memo_row["error"]


def test_a_lone_surrogate_never_makes_an_answer_that_is_not_utf8(host, isolated_home):
    """JSON allows "\\ud800" (JavaScript strings may hold one); UTF-8 does not, nor Thunderbird."""
    body = "Dear Anna,\nWe offer the lowest price \ud800 for the valves.\nBest regards"
    host.send({"type": "check", "id": "c-s", "details": {**WARN, "subject": "Offer \udfff", "body": body}})
    verdict = host.read()  # decoded as strict UTF-8
    assert (verdict["type"], verdict["verdict"]) == ("verdict", "warn")
    [finding] = verdict["findings"]
    assert "lowest price \ufffd for" in finding["sentence"]["text"]  # one character for one: offsets hold
    sentence = finding["sentence"]
    assert sentence["text"][sentence["start"] : sentence["end"]] == "lowest price"
    recorded = host.ask({"type": "decision", "id": "d-s", "check_id": "c-s", "choice": "edited"})
    assert recorded["type"] == "recorded", recorded  # the database takes it too
    assert host.close() == 0
    assert _presend_rows(isolated_home)[recorded["row"]]["subject"] == "Offer \ufffd"
    # and whatever would still hold one is written as valid UTF-8 that decodes to the same text
    data = encode({"type": "verdict", "text": "a\ud800中"})
    assert json.loads(data.decode("utf-8")) == {"type": "verdict", "text": "a\ud800中"}
    assert fit({"type": "pong", "id": "\udc80"}).decode("utf-8")


def test_bad_decisions_are_refused_with_clear_errors(host):
    host.ask({"type": "check", "id": "c-1", "details": WARN})
    missing = host.ask(
        {"type": "decision", "id": "d-1", "check_id": "c-1", "choice": "justified", "justification": " "}
    )
    assert missing["type"] == "error" and missing["id"] == "d-1" and "justification" in missing["message"]
    assert (missing["code"], missing["retryable"]) == ("justification_missing", False)
    unknown = host.ask({"type": "decision", "id": "d-2", "check_id": "c-1", "choice": "shrug"})
    assert unknown["type"] == "error" and "unknown choice" in unknown["message"]
    assert (unknown["code"], unknown["retryable"]) == ("unknown_choice", False)
    assert host.ask({"type": "ping", "id": 3})["type"] == "pong"


def test_malformed_json_and_unknown_types_get_errors_and_the_host_stays_up(host):
    host.write_raw(b'{"type": "check", "id": ')
    error = host.read()
    assert (error["type"], error["id"], error["title"]) == ("error", None, "Malformed message")
    assert (error["code"], error["retryable"]) == ("malformed", False)
    host.write_raw(b"\xff\xfe not utf-8")
    assert host.read()["title"] == "Malformed message"
    host.write_raw(b"[1, 2]")
    assert host.read()["type"] == "error"
    unknown = host.ask({"type": "launch-missiles", "id": "x-1"})
    assert (unknown["type"], unknown["id"], unknown["title"]) == ("error", "x-1", "Unknown message")
    assert unknown["code"] == "unknown_type"
    bad_details = host.ask({"type": "check", "id": "c-9", "details": {"to": 5}})
    assert bad_details["type"] == "error" and "'to' must be a list" in bad_details["message"]
    assert (bad_details["code"], bad_details["retryable"]) == ("bad_details", False)
    assert host.ask({"type": "check", "id": "c-10", "details": WARN})["verdict"] == "warn"


def test_oversize_incoming_message_is_refused_and_the_host_exits(host):
    host.proc.stdin.write(
        HEADER.pack(MAX_INCOMING + 1)
    )  # the length alone: the host must not wait for the body
    host.proc.stdin.flush()
    error = host.read()
    assert (error["type"], error["title"], error["code"]) == ("error", "Message too large", "too_large")
    assert str(MAX_INCOMING) in error["message"]
    assert host.proc.wait(10) == 1


def test_outgoing_messages_stay_under_one_mebibyte(host):
    # Thousands of findings with long sentences: the verdict is cut to fit and says so.
    body = "\n".join(
        f"Line {i}: we guarantee the lowest price and a lifetime warranty on {'x' * 80}." for i in range(3000)
    )
    started = time.perf_counter()
    verdict = host.ask({"type": "check", "id": "big", "details": {**WARN, "body": body}})
    assert verdict["type"] == "verdict" and verdict["verdict"] == "warn"
    assert verdict["truncated"] is True and verdict["findings_total"] == 6000
    assert 0 < len(verdict["findings"]) < 6000
    assert len(json.dumps(verdict, ensure_ascii=False, separators=(",", ":")).encode()) <= MAX_OUTGOING
    assert time.perf_counter() - started < 20
    assert host.ask({"type": "ping", "id": "after"})["type"] == "pong"


def test_fit_trims_a_single_enormous_finding():
    huge = {
        "rule": "r",
        "tier": "forbidden",
        "text": "a" * 3_000_000,
        "sentence": {"text": "b" * 10 + "a" * 3_000_000, "start": 10, "end": 3_000_010},
    }
    data = fit({"type": "verdict", "id": 1, "verdict": "block", "findings": [huge]})
    assert len(data) <= MAX_OUTGOING
    [finding] = json.loads(data)["findings"]
    s = finding["sentence"]
    assert len(s["text"]) <= 1000 and 0 <= s["start"] < s["end"] <= len(s["text"])
    assert len(fit({"type": "pong", "id": 1, "junk": "x" * MAX_OUTGOING})) < 1000  # becomes an error


def test_closed_pipe_ends_the_host_promptly_with_status_0(host):
    assert host.ask({"type": "ping", "id": 1})["type"] == "pong"
    started = time.perf_counter()
    assert host.close() == 0
    assert time.perf_counter() - started < 5


def test_a_new_policy_file_is_used_without_restarting_the_host(host, isolated_home):
    assert host.ask({"type": "ping", "id": 1})["policy_version"] == "2026.11.1"
    policy = isolated_home / "policy.toml"
    policy.write_text(policy_text("2026.12.7"), encoding="utf-8")
    os.utime(policy, (time.time() + 5, time.time() + 5))  # a different mtime even on coarse clocks
    verdict = host.ask({"type": "check", "id": "c-1", "details": WARN})
    assert verdict["policy_version"] == "2026.12.7"


def test_a_decision_the_database_cannot_take_is_answered_as_worth_sending_again(isolated_home):
    """The extension keeps a decision and sends it again when the answer says `retryable` (it never
    reads the English title)."""
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "policy.toml").write_text(policy_text(), encoding="utf-8")
    (isolated_home / "mailwarden.db").mkdir()  # no database can be opened there
    host = HostProcess(isolated_home)
    try:
        assert host.ask({"type": "check", "id": "c-1", "details": WARN})["verdict"] == "warn"
        answer = host.ask({"type": "decision", "id": "d-1", "check_id": "c-1", "choice": "edited"})
        assert answer["type"] == "error" and answer["id"] == "d-1"
        assert (answer["code"], answer["retryable"]) == ("not_recorded", True)
        assert host.ask({"type": "check", "id": "c-2", "details": WARN})["verdict"] == "warn"  # still up
    finally:
        host.kill()


def test_the_log_never_holds_mail_text(host, isolated_home):
    host.ask({"type": "check", "id": "c-1", "details": WARN})
    host.ask(
        {
            "type": "decision",
            "id": "d-1",
            "check_id": "c-1",
            "choice": "justified",
            "justification": "secret reason",
        }
    )
    host.close()
    log = (isolated_home / "logs" / "native-host.log").read_text(encoding="utf-8")
    assert "check c-1: warn commit.lowest-price" in log
    for text in ("lowest price", "Anna", "anna@buyer.example", "secret reason", "Offer"):
        assert text not in log


# -- install ---------------------------------------------------------------------------------


def test_linux_install_writes_a_manifest_whose_launcher_starts_the_host(tmp_path, isolated_home):
    home = tmp_path / "home"
    result = install_native_manifest("linux", home, data_home=isolated_home)
    manifest_path = home / ".mozilla" / "native-messaging-hosts" / "mailwarden.json"
    assert result == {
        "manifest": str(manifest_path),
        "launcher": str(manifest_path.parent / "mailwarden-native-host"),
        "registry": None,
    }
    manifest = json.loads(manifest_path.read_text())
    assert manifest == host_manifest(result["launcher"]) and manifest["allowed_extensions"] == [EXTENSION_ID]
    launcher = Path(manifest["path"])
    assert launcher.is_absolute() and os.access(launcher, os.X_OK)
    # Thunderbird runs the launcher with the manifest path and the extension id, from anywhere.
    env = {k: v for k, v in os.environ.items() if k != "MAILWARDEN_HOME"}
    proc = subprocess.run(
        [str(launcher), str(manifest_path), EXTENSION_ID],
        cwd=tmp_path,
        env=env,
        input=HEADER.pack(22) + b'{"type":"ping","id":7}',
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    (length,) = HEADER.unpack(proc.stdout[:4])
    assert json.loads(proc.stdout[4 : 4 + length])["type"] == "pong"
    assert (isolated_home / "logs" / "native-host.log").is_file()  # the data home baked into the launcher


def test_macos_install_uses_the_mozilla_folder(tmp_path):
    result = install_native_manifest("darwin", tmp_path, python="/usr/bin/python3")
    assert result["manifest"] == str(tmp_path / "Library/Mozilla/NativeMessagingHosts/mailwarden.json")
    assert "exec /usr/bin/python3 -m companion.native_host" in Path(result["launcher"]).read_text()


def test_windows_install_writes_the_registry_value_through_the_writer(tmp_path, isolated_home):
    written: dict[str, str] = {}
    python = r"C:\Program Files\Mailwarden\python\pythonw.exe"
    result = install_native_manifest("win32", tmp_path, python=python, registry=written.__setitem__)
    manifest = Path(result["manifest"])
    assert manifest.parent == isolated_home / "thunderbird"
    assert written == {REGISTRY_KEY: str(manifest)}
    assert REGISTRY_KEY == r"Software\Mozilla\NativeMessagingHosts\mailwarden"
    assert result["registry"] == {"key": rf"HKCU\{REGISTRY_KEY}", "value": str(manifest)}
    bat = Path(result["launcher"]).read_bytes().decode()
    assert bat.startswith("@echo off\r\n") and f'"{python}" -m companion.native_host %*' in bat
    assert json.loads(manifest.read_text())["path"].endswith("mailwarden-native-host.bat")


def test_install_extension_and_install_thunderbird_for_every_profile(tmp_path, isolated_home):
    home = tmp_path / "home"
    tb = home / ".thunderbird"
    for name in ("a.default", "b.work"):
        (tb / name).mkdir(parents=True)
    (tb / "profiles.ini").write_text(
        "[Profile0]\nName=default\nIsRelative=1\nPath=a.default\nDefault=1\n\n"
        "[Profile1]\nName=work\nIsRelative=1\nPath=b.work\n"
    )
    xpi = tmp_path / "m.xpi"
    xpi.write_bytes(b"PK-fake")
    result = install_thunderbird(xpi_path=xpi, platform="linux", home=home, env={})
    assert result["extension_id"] == EXTENSION_ID
    assert sorted(Path(p["profile"]).name for p in result["profiles"]) == ["a.default", "b.work"]
    for entry in result["profiles"]:
        assert Path(entry["extension"]) == Path(entry["profile"]) / "extensions" / f"{EXTENSION_ID}.xpi"
        assert Path(entry["extension"]).read_bytes() == b"PK-fake"
    assert result["host"]["manifest"] == str(home / ".mozilla/native-messaging-hosts/mailwarden.json")
    json.dumps(result)  # plain data

    nothing = install_thunderbird(profiles=[], xpi_path=xpi, platform="linux", home=home, env={})
    assert nothing["profiles"] == [] and nothing["notes"] == ["no_profile"]
    with pytest.raises(InstallError, match="does not exist"):
        install_extension(tmp_path / "missing-profile", xpi)


def test_install_thunderbird_builds_the_xpi_from_the_sources(tmp_path, isolated_home):
    profile = tmp_path / "p"
    profile.mkdir()
    result = install_thunderbird(profiles=[profile], platform="linux", home=tmp_path / "home", env={})
    with zipfile.ZipFile(result["profiles"][0]["extension"]) as zf:
        assert (
            json.loads(zf.read("manifest.json"))["browser_specific_settings"]["gecko"]["id"] == EXTENSION_ID
        )


def test_enterprise_policies_force_install_and_fix_the_settings():
    policies = enterprise_policies(
        "file:///opt/mailwarden/mailwarden.xpi", fail_mode="closed", timeout_ms=8000
    )
    assert policies["policies"]["ExtensionSettings"][EXTENSION_ID]["installation_mode"] == "force_installed"
    assert policies["policies"]["3rdparty"]["Extensions"][EXTENSION_ID] == {
        "failMode": "closed",
        "timeoutMs": 8000,
    }
    with pytest.raises(ValueError):
        enterprise_policies("x", fail_mode="sometimes")


# -- the extension package -------------------------------------------------------------------


def _build(out: Path) -> Path:
    return subprocess.run(
        [sys.executable, str(EXT / "build_xpi.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_xpi_build_is_deterministic_and_holds_only_the_extension(tmp_path):
    first, second = Path(_build(tmp_path / "1")), Path(_build(tmp_path / "2"))
    manifest = json.loads((EXT / "manifest.json").read_text())
    assert first.name == f"mailwarden-thunderbird-{manifest['version']}.xpi"
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as zf:
        names = zf.namelist()
        assert names[0] == "manifest.json"
        assert not [n for n in names if n.startswith(("native-host/", "build_xpi")) or "test" in n]
        for script in manifest["background"]["scripts"]:
            assert script in names
        assert b"test_hook" not in zf.read("popup/prompt.html")


def test_extension_manifest_and_locales_agree_with_the_companion():
    manifest = json.loads((EXT / "manifest.json").read_text())
    gecko = manifest["browser_specific_settings"]["gecko"]
    assert (gecko["id"], gecko["strict_min_version"]) == (EXTENSION_ID, "128.0")
    assert manifest["version"] == __version__
    assert {"compose", "nativeMessaging", "storage"} <= set(manifest["permissions"])
    assert manifest["background"] == {"scripts": ["background/main.js"], "type": "module", "persistent": True}
    assert f'HOST_NAME = "{HOST_NAME}"' in (EXT / "background/vocabulary.js").read_text()
    en = json.loads((EXT / "_locales/en/messages.json").read_text())
    zh = json.loads((EXT / "_locales/zh_CN/messages.json").read_text(encoding="utf-8"))
    assert en.keys() == zh.keys()
    for page in [*EXT.glob("popup/*.js"), *EXT.glob("options/*.js")]:
        for key in set(__import__("re").findall(r'msg\("(\w+)"', page.read_text())):
            assert key in en, f"{page.name} uses the missing message {key}"
    from companion.machine_config import FAIL_MODES

    for mode in FAIL_MODES:  # the options page offers the companion's fail modes, each in both languages
        assert f"failMode{mode.capitalize()}" in en
    for template in ("linux", "macos", "windows"):
        data = json.loads((EXT / "native-host" / template / "mailwarden.json").read_text())
        assert {k: v for k, v in data.items() if k != "path"} == {
            k: v for k, v in host_manifest("x").items() if k != "path"
        }


def test_the_first_ping_warms_the_host_up_for_the_first_send(host, isolated_home):
    """Thunderbird's extension pings at start; the lazily imported parts of a check load then."""
    assert host.ask({"type": "ping", "id": 1})["type"] == "pong"
    assert host.ask({"type": "ping", "id": 2})["type"] == "pong"  # once only
    verdict = host.ask(
        {
            "type": "check",
            "id": "c-1",
            "details": {**WARN, "body": "", "html": "<p>the <b>lowest</b> price</p>"},
        }
    )
    assert verdict["verdict"] == "warn"
    host.close()
    log = (isolated_home / "logs" / "native-host.log").read_text(encoding="utf-8")
    assert log.count("warmed up in") == 1
    assert log.index("warmed up in") < log.index("check c-1: warn")


def test_attachments_sent_as_bytes_are_read_by_the_host(host):
    """The extension sends Word, PDF and text attachments as base64; the host extracts their text."""
    from tests.mailfactory import docx_bytes, pdf_bytes

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    details = {
        **WARN,
        "body": "Please see the attachments.",
        "attachments": [
            {
                "name": "terms.pdf",
                "content_type": "application/pdf",
                "data_base64": b64(pdf_bytes(["We guarantee the lowest price."])),
            },
            {
                "name": "memo.docx",
                "content_type": "",
                "data_base64": b64(docx_bytes(["Please keep this between us."])),
            },
            {
                "name": "说明.txt",
                "content_type": "text/plain",
                "data_base64": b64("这单我们私下交易，别让公司知道。".encode("gb18030")),
            },
            {"name": "broken.pdf", "content_type": "application/pdf", "data_base64": "not base64!"},
            {"name": "photo.jpg", "content_type": "image/jpeg", "size": 3, "text": None},
        ],
    }
    verdict = host.ask({"type": "check", "id": "c-att", "details": details})
    assert verdict["type"] == "verdict" and verdict["verdict"] == "block"
    found = {(f["field"]["kind"], f["field"]["name"], f["rule"]) for f in verdict["findings"]}
    assert {
        ("attachment", "terms.pdf", "commit.lowest-price"),
        ("attachment", "memo.docx", "offbook.private-deal"),
        ("attachment", "说明.txt", "offbook.private-deal"),
    } <= found
    assert not [f for f in found if f[1] in ("broken.pdf", "photo.jpg")]
    assert host.ask({"type": "ping", "id": "after"})["type"] == "pong"  # still up


def test_the_role_follows_config_toml_while_the_host_runs(host, isolated_home):
    """Thunderbird keeps one host for the whole session: a role set later applies at the next check."""
    assert host.ask({"type": "check", "id": "r-1", "details": WARN})["verdict"] == "warn"
    (isolated_home / "config.toml").write_text('role = "sales-manager"\n', encoding="utf-8")
    assert (
        host.ask({"type": "check", "id": "r-2", "details": WARN})["verdict"] == "pass"
    )  # lowest price: info
    (isolated_home / "config.toml").write_text("", encoding="utf-8")
    assert host.ask({"type": "check", "id": "r-3", "details": WARN})["verdict"] == "warn"


def test_a_decision_sent_twice_with_its_key_is_recorded_once(host, isolated_home):
    """The extension sends a decision again when the answer was lost; its key makes that harmless."""
    host.ask({"type": "check", "id": "k-1", "details": WARN})
    decision = {"type": "decision", "check_id": "k-1", "choice": "added_approver", "key": "9b2f-decision"}
    first = host.ask({**decision, "id": "d-1"})
    again = host.ask({**decision, "id": "d-2", "check_id": "gone", "error": "reported late"})
    other = host.ask({**decision, "id": "d-3", "key": "another-decision"})
    assert first["row"] == again["row"] != other["row"]
    bad = host.ask({**decision, "id": "d-4", "key": 7})
    assert bad["type"] == "error" and "'key'" in bad["message"]
    assert host.close() == 0
    assert sorted(_presend_rows(isolated_home)) == sorted({first["row"], other["row"]})
