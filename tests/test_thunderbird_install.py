"""`mailwarden install-thunderbird` and `mailwarden native-host` from the command line, and the
Windows registry layer driven through a fake winreg (the real one exists only on Windows)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from companion.cli import cli
from companion.thunderbird_install import (
    EXTENSION_ID,
    REGISTRY_KEY,
    InstallError,
    install_native_manifest,
    winreg_writer,
)
from tests.conftest import REPO

HEADER = struct.Struct("=I")


class FakeWinreg:
    """The few names of winreg the writer uses; records what would be written."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 0x0002
    REG_SZ = 1

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple] = []

    @contextmanager
    def CreateKeyEx(self, root, key, reserved, access):  # noqa: N802 - winreg's name
        if self.fail:
            raise PermissionError(5, "Access is denied")
        self.calls.append(("create", root, key, reserved, access))
        yield ("handle", key)

    def SetValueEx(self, handle, name, reserved, kind, value):  # noqa: N802 - winreg's name
        self.calls.append(("set", handle, name, reserved, kind, value))


def test_winreg_writer_sets_the_default_value_of_the_hkcu_key():
    fake = FakeWinreg()
    winreg_writer(
        REGISTRY_KEY, r"C:\Users\li\AppData\Local\Mailwarden\thunderbird\mailwarden.json", module=fake
    )
    assert fake.calls == [
        ("create", "HKCU", r"Software\Mozilla\NativeMessagingHosts\mailwarden", 0, FakeWinreg.KEY_SET_VALUE),
        (
            "set",
            ("handle", REGISTRY_KEY),
            "",
            0,
            FakeWinreg.REG_SZ,
            r"C:\Users\li\AppData\Local\Mailwarden\thunderbird\mailwarden.json",
        ),
    ]


def test_windows_install_through_the_winreg_layer(tmp_path, isolated_home):
    fake = FakeWinreg()
    result = install_native_manifest(
        "win32",
        tmp_path,
        python=r"C:\Python311\python.exe",
        registry=lambda key, value: winreg_writer(key, value, module=fake),
    )
    [create, set_value] = fake.calls
    assert create[2] == REGISTRY_KEY and set_value[-1] == result["manifest"]
    assert json.loads(Path(result["manifest"]).read_text())["allowed_extensions"] == [EXTENSION_ID]


def test_a_registry_refusal_is_a_clear_install_error(tmp_path, isolated_home):
    fake = FakeWinreg(fail=True)
    with pytest.raises(InstallError, match=r"cannot write HKCU\\Software\\Mozilla\\NativeMessagingHosts"):
        install_native_manifest("win32", tmp_path, registry=lambda k, v: winreg_writer(k, v, module=fake))


def test_winreg_is_imported_only_when_writing():
    code = "import sys, companion.thunderbird_install, companion.cli; print('winreg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_install_thunderbird_installs_host_and_extension(tmp_path, isolated_home, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    profile = tmp_path / "profile"
    profile.mkdir()
    xpi = tmp_path / "mailwarden.xpi"
    xpi.write_bytes(b"PK-fake")
    result = CliRunner().invoke(cli, ["install-thunderbird", "--profile", str(profile), "--xpi", str(xpi)])
    assert result.exit_code == 0, result.output
    manifest = tmp_path / "home" / ".mozilla" / "native-messaging-hosts" / "mailwarden.json"
    assert str(manifest) in result.output and "Restart Thunderbird" in result.output
    assert (profile / "extensions" / f"{EXTENSION_ID}.xpi").read_bytes() == b"PK-fake"
    launcher = Path(json.loads(manifest.read_text())["path"])
    assert str(isolated_home) in launcher.read_text()  # the host uses this data directory

    as_json = CliRunner().invoke(
        cli, ["install-thunderbird", "--profile", str(profile), "--xpi", str(xpi), "--json"]
    )
    assert json.loads(as_json.output)["profiles"] == [
        {"profile": str(profile), "extension": str(profile / "extensions" / f"{EXTENSION_ID}.xpi")}
    ]


def test_cli_install_thunderbird_speaks_chinese_and_refuses_a_missing_profile(
    tmp_path, isolated_home, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MAILWARDEN_LANG", "zh")
    xpi = tmp_path / "m.xpi"
    xpi.write_bytes(b"PK")
    none = CliRunner().invoke(cli, ["install-thunderbird", "--xpi", str(xpi)])
    assert none.exit_code == 0 and "未找到 Thunderbird 配置文件" in none.output
    missing = CliRunner().invoke(
        cli, ["install-thunderbird", "--xpi", str(xpi), "--profile", str(tmp_path / "nope")]
    )
    assert missing.exit_code == 1 and "the Thunderbird profile does not exist" in missing.output


def test_cli_prints_the_enterprise_policies_for_it(isolated_home):
    result = CliRunner().invoke(
        cli, ["install-thunderbird", "--policies", "https://it.example/mw.xpi", "--fail-mode", "closed"]
    )
    assert result.exit_code == 0, result.output
    policies = json.loads(result.output)["policies"]
    assert policies["ExtensionSettings"][EXTENSION_ID] == {
        "installation_mode": "force_installed",
        "install_url": "https://it.example/mw.xpi",
    }
    assert policies["3rdparty"]["Extensions"][EXTENSION_ID] == {"failMode": "closed"}
    misuse = CliRunner().invoke(cli, ["install-thunderbird", "--fail-mode", "open"])
    assert misuse.exit_code == 2 and "--policies" in misuse.output


def test_cli_native_host_answers_on_stdio(tmp_path, isolated_home):
    ping = b'{"type":"ping","id":"p1"}'
    proc = subprocess.run(
        [sys.executable, "-m", "companion.cli", "native-host", str(tmp_path / "m.json"), EXTENSION_ID],
        input=HEADER.pack(len(ping)) + ping,
        capture_output=True,
        cwd=REPO,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    (length,) = HEADER.unpack(proc.stdout[:4])
    assert len(proc.stdout) == 4 + length  # nothing but framed messages on stdout
    pong = json.loads(proc.stdout[4:])
    assert (pong["type"], pong["id"], pong["protocol"]) == ("pong", "p1", 2)
