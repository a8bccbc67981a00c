"""The Windows MSI (installer/): its tables (msiinfo), and a real install, upgrade, refused downgrade
and uninstall under wine in a fresh prefix. docs/deploy.md names what wine cannot show.

Both MSIs (the project's version and a higher one for the upgrade) are built once per session by
installer/build.py; its cache (~/.cache/mailwarden-msi, and an MSI whose inputs did not change)
makes reruns fast.
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from installer.common import project_version
from installer.runtime import WINPYTHON, wine_environment, wine_path
from installer.wix import TOKEN_KEY_SDDL
from outlook_bridge import registration

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.timeout(1800)

VERSION = project_version()
_major, _minor, _patch = (int(x) for x in VERSION.split("."))
UPGRADE_VERSION = f"{_major}.{_minor}.{_patch + 1}"
UPGRADE_CODE = "{6F0B9C56-4A1E-4C36-9E0B-6D1C3A7E2B41}"
COLLECTOR = "https://collector.corp"
TOKEN = "tok-8f3a1c"
INSTALL = r"C:\Program Files\Mailwarden"
PY = INSTALL + r"\python"
MAILWARDEN_KEY = r"Software\Mailwarden"
TOKEN_KEY = r"Software\Mailwarden\Enrollment"
UNINSTALL_KEY = r"Software\Microsoft\Windows\CurrentVersion\Uninstall"
TB_POLICY_KEY = r"Software\Policies\Mozilla\Thunderbird\3rdparty\Extensions\mailwarden@mailwarden.example"
TB_APP_PATHS = r"HKLM\Software\Microsoft\Windows\CurrentVersion\App Paths\thunderbird.exe"
TB_DEFAULT = r"C:\Program Files\Mozilla Thunderbird"
TB_ELSEWHERE = r"C:\Apps\Thunderbird"  # where the wine story's App Paths entry says Thunderbird is

# The whole InstallExecuteSequence, pinned: a wixl update or a wxs edit that moves an action fails here.
EXPECTED_SEQUENCE = [
    ("FindRelatedProducts", "", 25),
    ("AppSearch", "", 50),
    ("RestoreCollectorUrl", "SAVED_COLLECTOR_URL AND NOT COLLECTOR_URL", 51),
    ("RestoreEnrollToken", "SAVED_ENROLL_TOKEN AND NOT ENROLL_TOKEN", 52),
    ("RestoreDepartment", "SAVED_DEPARTMENT AND NOT DEPARTMENT", 53),
    ("RestorePolicyFailMode", "SAVED_POLICY_FAIL_MODE AND NOT POLICY_FAIL_MODE", 54),
    ("RestoreThunderbirdDir", "SAVED_TBINSTALLDIR AND NOT TBINSTALLDIR", 55),
    ("SetThunderbirdDir", "TB_APPPATH AND NOT TBINSTALLDIR", 56),
    ("LaunchConditions", "", 100),
    ("ValidateProductID", "", 700),
    ("CostInitialize", "", 800),
    ("FileCost", "", 900),
    ("CostFinalize", "", 1000),
    ("SetArpInstallLocation", "NOT Installed", 1001),
    ("MigrateFeatureStates", "", 1200),
    ("InstallValidate", "", 1400),
    ("RemoveExistingProducts", "", 1401),
    ("InstallInitialize", "", 1500),
    ("ProcessComponents", "", 1600),
    ("UnpublishFeatures", "", 1800),
    ("RemoveRegistryValues", "", 2600),
    ("RemoveShortcuts", "", 3200),
    ("RemoveFiles", "", 3500),
    ("RemoveUserData", 'REMOVE~="ALL" AND REMOVE_DATA="1" AND NOT UPGRADINGPRODUCTCODE', 3510),
    ("InstallFiles", "", 4000),
    ("CreateShortcuts", "", 4500),
    ("WriteRegistryValues", "", 5000),
    ("RegisterUser", "", 6000),
    ("RegisterProduct", "", 6100),
    ("PublishFeatures", "", 6300),
    ("PublishProduct", "", 6400),
    ("InstallFinalize", "", 6600),
]


# -- building ---------------------------------------------------------------------------------------
def _build(version: str) -> Path:
    out = REPO / "dist"
    p = subprocess.run(
        [sys.executable, str(REPO / "installer" / "build.py"), "--version", version, "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    path = Path(p.stdout.strip().splitlines()[-1])
    assert path == out / f"Mailwarden-{version}-x64.msi" and path.stat().st_size > 10_000_000
    return path


@pytest.fixture(scope="session")
def msi() -> Path:
    return _build(VERSION)


@pytest.fixture(scope="session")
def msi_upgrade(msi) -> Path:
    return _build(UPGRADE_VERSION)


def table(path: Path, name: str) -> list[list[str]]:
    text = subprocess.run(
        ["msiinfo", "export", str(path), name], capture_output=True, check=True
    ).stdout.decode("utf-8")
    lines = text.replace("\r\n", "\n").split("\n")
    return [line.split("\t") for line in lines[3:] if line]


# -- table checks -----------------------------------------------------------------------------------
def test_properties(msi):
    props = dict(table(msi, "Property"))
    assert props["ProductName"] == "Mailwarden" and props["Manufacturer"] == "Mailwarden"
    assert props["ProductVersion"] == VERSION
    assert props["UpgradeCode"] == UPGRADE_CODE
    assert props["ALLUSERS"] == "1"  # per machine
    assert props["ARPPRODUCTICON"] == "MailwardenIcon"
    assert props["REMOVE_DATA"] == "0"
    assert props["MsiHiddenProperties"] == "ENROLL_TOKEN;SAVED_ENROLL_TOKEN"
    # every property an administrator may give reaches the server side of an install with a UI
    assert props["SecureCustomProperties"].split(";") == [
        "WIX_DOWNGRADE_DETECTED",
        "WIX_UPGRADE_DETECTED",
        "COLLECTOR_URL",
        "ENROLL_TOKEN",
        "DEPARTMENT",
        "POLICY_FAIL_MODE",
        "REMOVE_DATA",
        "TBINSTALLDIR",
    ]
    assert props["ARPCOMMENTS"] == "Email-risk companion / 邮件风险助手"  # UTF-8 text survives wixl
    summary = subprocess.run(
        ["msiinfo", "suminfo", str(msi)], capture_output=True, text=True, check=True
    ).stdout
    assert "x64;1033" in summary


def test_launch_conditions_and_upgrade_table(msi):
    conditions = dict(table(msi, "LaunchCondition"))
    message = conditions["Installed OR REMOVE OR COLLECTOR_URL"]
    assert message.startswith("COLLECTOR_URL is required")
    assert "必须提供 COLLECTOR_URL" in message
    assert "VersionNT64" in conditions
    fail_mode = conditions[
        'REMOVE OR NOT POLICY_FAIL_MODE OR POLICY_FAIL_MODE~="ask" OR POLICY_FAIL_MODE~="open" '
        'OR POLICY_FAIL_MODE~="closed"'
    ]
    assert (
        fail_mode.startswith("POLICY_FAIL_MODE must be ask, open or closed")
        and "只能是 ask、open 或 closed" in fail_mode
    )
    assert "newer version of Mailwarden" in conditions["NOT WIX_DOWNGRADE_DETECTED"]
    assert "已安装更新版本" in conditions["NOT WIX_DOWNGRADE_DETECTED"]
    upgrade = table(msi, "Upgrade")
    assert [r[0] for r in upgrade] == [UPGRADE_CODE, UPGRADE_CODE]
    rows = {r[6]: r for r in upgrade}
    # older versions and a rebuild of this one (1 + 512: the maximum included): removed
    assert rows["WIX_UPGRADE_DETECTED"][1:5] == ["", VERSION, "", "513"]
    assert rows["WIX_DOWNGRADE_DETECTED"][1:5] == [VERSION, "", "", "2"]  # newer: detected, refused


def test_install_execute_sequence_is_pinned(msi):
    assert [(a, c, int(s)) for a, c, s in table(msi, "InstallExecuteSequence")] == EXPECTED_SEQUENCE


def test_saved_properties_are_read_back_before_launch_conditions(msi):
    locators = {r[0]: r[1:] for r in table(msi, "RegLocator")}
    search = dict(table(msi, "AppSearch"))
    for prop, name in [
        ("COLLECTOR_URL", "CollectorUrl"),
        ("ENROLL_TOKEN", "EnrollToken"),
        ("DEPARTMENT", "Department"),
        ("POLICY_FAIL_MODE", "PolicyFailMode"),
        ("TBINSTALLDIR", "ThunderbirdDir"),
    ]:
        sig = search["SAVED_" + prop]
        # root 2 = HKLM, type 18 = raw | 64-bit view (16)
        key = TOKEN_KEY if prop == "ENROLL_TOKEN" else MAILWARDEN_KEY
        assert locators[sig] == ["2", key, name, "18"]
    actions = {r[0]: r[1:] for r in table(msi, "CustomAction")}
    assert actions["RestoreCollectorUrl"] == [
        "2099",
        "COLLECTOR_URL",
        "[SAVED_COLLECTOR_URL]",
        "",
    ]  # 51 + 2048
    ui = {r[0]: (r[1], int(r[2])) for r in table(msi, "InstallUISequence")}
    assert (
        ui["RestoreCollectorUrl"] == ("SAVED_COLLECTOR_URL AND NOT COLLECTOR_URL", 51)
        and ui["AppSearch"][1] == 50
    )


def test_a_given_tbinstalldir_wins_over_the_app_paths_entry(msi):
    """App Paths is searched into TB_APPPATH, which becomes TBINSTALLDIR only when none was given,
    before CostFinalize resolves the directory (the wine story installs with both)."""
    assert dict(table(msi, "AppSearch"))["TB_APPPATH"] == "rsThunderbird"
    locators = {r[0]: r[1:] for r in table(msi, "RegLocator")}
    assert locators["rsThunderbird"] == [
        "2",
        r"Software\Microsoft\Windows\CurrentVersion\App Paths\thunderbird.exe",
        "Path",
        "18",
    ]
    assert "TBINSTALLDIR" not in {r[0] for r in table(msi, "AppSearch")}
    actions = {r[0]: r[1:] for r in table(msi, "CustomAction")}
    assert actions["SetThunderbirdDir"] == ["2099", "TBINSTALLDIR", "[TB_APPPATH]", ""]
    for sequence in ("InstallExecuteSequence", "InstallUISequence"):
        rows = {r[0]: (r[1], int(r[2])) for r in table(msi, sequence)}
        condition, number = rows["SetThunderbirdDir"]
        assert condition == "TB_APPPATH AND NOT TBINSTALLDIR", sequence
        assert rows["AppSearch"][1] < number < rows["CostFinalize"][1], sequence
        # the folder used before comes first: an upgrade keeps the policy file where it was
        assert rows["RestoreThunderbirdDir"] == ("SAVED_TBINSTALLDIR AND NOT TBINSTALLDIR", number - 1), (
            sequence
        )
    assert dict((r[0], r[1]) for r in table(msi, "Directory"))["TBDISTDIR"] == "TBINSTALLDIR"


def test_start_menu_shortcut(msi):
    (row,) = table(msi, "Shortcut")
    _id, directory, name, component, target, arguments, description = row[:7]
    assert name.endswith("Mailwarden") and component == "StartMenu"
    assert target == "[PYTHONDIR]pythonw.exe" and "from ui.app import main" in arguments
    assert row[8] == "MailwardenIcon"  # Icon_ (then IconIndex, ShowCmd, WkDir)
    assert row[11] == "INSTALLDIR"
    assert dict((r[0], r[2]) for r in table(msi, "Directory"))[directory].endswith("Mailwarden")


def test_no_custom_action_runs_an_executable_or_python(msi):
    for name, kind, source, target, _ in table(msi, "CustomAction"):
        base = int(kind) & 0x3F
        assert base in (51, 5), (name, kind)  # set-property, or the JScript of REMOVE_DATA
        assert "python" not in (source + target).lower()
    actions = {r[0]: r for r in table(msi, "CustomAction")}
    # REMOVE_DATA: deferred (1024), as LocalSystem (2048), failures ignored (64)
    assert int(actions["RemoveUserData"][1]) == 5 + 64 + 1024 + 2048


def test_users_may_delete_the_token_and_nothing_else(msi):
    """The token's key alone gets an ACL letting Users (BU) set/delete values; wine does not apply
    ACLs, so this is checked in the table (docs/deploy.md: check on real Windows)."""
    registry_ids = {r[0]: (r[2], r[3]) for r in table(msi, "Registry")}
    (row,) = table(msi, "MsiLockPermissionsEx")
    _id, lock_object, table_name, sddl, condition = row
    assert (
        table_name == "Registry"
        and registry_ids[lock_object] == (TOKEN_KEY, "EnrollToken")
        and condition == ""
    )
    assert sddl == TOKEN_KEY_SDDL == "D:P(A;;KA;;;SY)(A;;KA;;;BA)(A;;0x2001b;;;BU)"
    summary = subprocess.run(
        ["msiinfo", "suminfo", str(msi)], capture_output=True, text=True, check=True
    ).stdout
    assert "Version: 500 " in summary  # Windows Installer 5, which knows MsiLockPermissionsEx


def _registry_rows(msi):
    components = {r[0]: int(r[3]) for r in table(msi, "Component")}
    rows = {}
    for _id, root, key, name, value, comp in table(msi, "Registry"):
        view = 64 if components[comp] & 256 else 32
        rows[(root, key, name, view)] = value
    return rows


def test_registry_rows(msi):
    rows = _registry_rows(msi)
    m = (MAILWARDEN_KEY, 64)
    assert {k[2]: v for k, v in rows.items() if (k[1], k[3]) == m} == {
        "InstallDir": "[INSTALLDIR]",
        "Version": VERSION,
        "CollectorUrl": "[COLLECTOR_URL]",
        "Department": "[DEPARTMENT]",
        "PolicyFailMode": "[POLICY_FAIL_MODE]",
        "RemoveDataOnUninstall": "[REMOVE_DATA]",
        "ThunderbirdDir": "[TBINSTALLDIR]",
    }
    assert {k[2]: v for k, v in rows.items() if (k[1], k[3]) == (TOKEN_KEY, 64)} == {
        "EnrollToken": "[ENROLL_TOKEN]"
    }
    run_key = r"Software\Microsoft\Windows\CurrentVersion\Run"
    assert rows[("2", run_key, "Mailwarden Agent", 64)] == '"[PYTHONDIR]pythonw.exe" -E -s -m companion.agent'
    assert "from ui.app import main" in rows[("2", run_key, "Mailwarden Tray", 64)]
    assert (
        rows[("2", r"Software\Mozilla\NativeMessagingHosts\mailwarden", "", 64)]
        == "[TBHOSTDIR]mailwarden.json"
    )
    tb_policy = r"Software\Policies\Mozilla\Thunderbird\3rdparty\Extensions\mailwarden@mailwarden.example"
    assert rows[("2", tb_policy, "failMode", 64)] == "[POLICY_FAIL_MODE]"


def test_outlook_rows_are_those_of_outlook_bridge_registration(msi):
    rows = _registry_rows(msi)
    expected = registration.machine_rows("[PYTHONDIR]pythoncom312.dll", r"[PYTHONDIR]Lib\site-packages", 64)
    for r in expected:
        value = f"#{r.value}" if r.type == "REG_DWORD" else r.value
        assert rows[("2", r.key, r.name, r.view)] == value, r
    outlook = {
        k: v for k, v in rows.items() if "Outlook" in k[1] or "CLSID" in k[1] or registration.PROGID in k[1]
    }
    assert len(outlook) == len(expected)
    # the add-in key in both views, the COM server only in the 64-bit view of the shipped Python
    assert {k[3] for k in outlook if k[1] == registration.ADDIN_KEY} == {32, 64}
    assert {k[3] for k in outlook if k[1].startswith(registration.CLSID_KEY)} == {64}


def test_components_files_and_payload(msi):
    components = table(msi, "Component")
    assert all(
        int(r[3]) & 256 for r in components if r[0] != "OutlookAddin32"
    )  # every other component 64-bit
    files = table(msi, "File")
    stage = REPO / "build" / "msi" / VERSION / "root"
    staged = [p for p in stage.rglob("*") if p.is_file()]
    assert len(files) == len(staged) + 1  # + Thunderbird's policies.json
    rel = {p.relative_to(stage).as_posix() for p in staged}
    site = "python/Lib/site-packages/"
    for needed in [
        "python/python.exe",
        "python/pythonw.exe",
        "python/python312.dll",
        "python/pythoncom312.dll",
        "python/pywintypes312.dll",
        site + "companion/cli.py",
        site + "companion/machine_config.py",
        site + "outlook_bridge/addin.py",
        site + "PySide6/QtWidgets.pyd",
        site + "win32/win32api.pyd",
        "bin/mailwarden.cmd",
        "thunderbird/mailwarden.json",
        "thunderbird/mailwarden-native-host.bat",
        "mailwarden.ico",
    ]:
        assert needed in rel, needed
    assert any(r.startswith(site + "companion/__pycache__/") and r.endswith(".cpython-312.pyc") for r in rel)
    assert any(r.startswith("python/Lib/__pycache__/") and r.endswith(".cpython-312.pyc") for r in rel)
    # nothing the runtime does not need
    for unwanted in (
        "/collector/",
        "/tests/",
        "/test/",
        "site-packages/pip/",
        "PySide6/Qt6Quick",
        "PySide6/qml/",
        "PySide6/designer.exe",
        "/idlelib/",
        "site-packages/bin/",
        "python/include/",
        "python/Scripts/",
    ):
        assert not any(unwanted in "/" + r for r in rel), unwanted
    assert not any(r.endswith((".so", ".pyi")) for r in rel)
    info = stage / "python" / "Lib" / "site-packages" / f"mailwarden-{VERSION}.dist-info"
    assert (info / "METADATA").exists()
    entry_points = configparser.ConfigParser()
    entry_points.read(info / "entry_points.txt", encoding="utf-8")
    assert dict(entry_points["console_scripts"]) == {
        "mailwarden": "companion.cli:main",
        "mailwarden-tray": "ui.app:main",
    }
    assert dict(entry_points["mailwarden.commands"]) == {
        "install-outlook": "outlook_bridge.cli:install_outlook"
    }


def test_lock_file_is_for_windows():
    text = (REPO / "installer" / "requirements-windows.txt").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", text, re.M))
    for name in ("pywin32", "pywin32-ctypes", "pyside6-essentials", "keyring", "cryptography", "extract-msg"):
        assert name in pins, name
    assert "pyside6" not in pins and "pyside6-addons" not in pins  # Essentials only
    assert "secretstorage" not in pins and "jeepney" not in pins  # keyring's Linux back-ends
    assert "--hash=sha256:" in text


def test_thunderbird_policy_file(msi):
    stage = REPO / "build" / "msi" / VERSION
    policies = json.loads((stage / "tbdist" / "policies.json").read_text(encoding="utf-8"))
    setting = policies["policies"]["ExtensionSettings"]["mailwarden@mailwarden.example"]
    xpi = sorted((stage / "root" / "thunderbird").glob("mailwarden-thunderbird-*.xpi"))
    assert len(xpi) == 1
    assert setting == {
        "installation_mode": "force_installed",
        "install_url": f"file:///C:/Program%20Files/Mailwarden/thunderbird/{xpi[0].name}",
    }
    manifest = json.loads((stage / "root" / "thunderbird" / "mailwarden.json").read_text(encoding="utf-8"))
    assert manifest["path"] == "mailwarden-native-host.bat" and manifest["allowed_extensions"] == [
        "mailwarden@mailwarden.example"
    ]


# -- under wine --------------------------------------------------------------------------------------
def parse_reg(path: Path) -> dict[str, dict[str, object]]:
    """A wine .reg hive file as {key (lower case): {value name: data}} ("" = default value)."""
    keys: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None

    def unescape(s: str) -> str:
        return re.sub(
            r"\\x([0-9a-fA-F]{1,4})|\\(.)",
            lambda m: (
                chr(int(m.group(1), 16))
                if m.group(1)
                else {"n": "\n", "r": "\r", "0": "\0"}.get(m.group(2), m.group(2))
            ),
            s,
        )

    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^\[(.+)\] \d+", line)
        if m:
            current = keys.setdefault(unescape(m.group(1)).lower(), {})
            continue
        if current is None:
            continue
        m = re.match(r'^(@|"(?:[^"\\]|\\.)*")=(.*)$', line)
        if not m:
            continue
        name = "" if m.group(1) == "@" else unescape(m.group(1)[1:-1])
        raw = m.group(2)
        typed = re.match(r'^str\(\d+\):"(.*)"$', raw)  # REG_EXPAND_SZ, REG_MULTI_SZ
        if raw.startswith('"'):
            current[name] = unescape(raw[1:-1])
        elif typed:
            current[name] = unescape(typed.group(1))
        elif raw.startswith("dword:"):
            current[name] = int(raw[6:], 16)
        else:
            current[name] = raw
    return keys


class Wine:
    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.env = wine_environment(prefix)  # the one the build uses too

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        p = subprocess.run(["wine", *args], env=self.env, capture_output=True, timeout=timeout)
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=timeout)
        return p

    def msiexec(self, *args: str, log: str) -> tuple[int, str, float]:
        t0 = time.monotonic()
        p = self.run("msiexec", *args, "/qn", "/l*v", wine_path(self.prefix.parent / log))
        elapsed = time.monotonic() - t0
        raw = (self.prefix.parent / log).read_bytes()
        text = (
            raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8", "replace")
        )
        return p.returncode, text, elapsed

    def python(self, code: str, *args: str) -> subprocess.CompletedProcess:
        return self.run(PY + r"\python.exe", "-X", "utf8", "-E", "-s", "-c", code, *args, timeout=300)

    def hklm(self) -> dict[str, dict[str, object]]:
        return parse_reg(self.prefix / "system.reg")

    def drive_c(self, windows_path: str) -> Path:
        return self.prefix / "drive_c" / windows_path[3:].replace("\\", "/")


def _user_data(wine: Wine) -> Path:
    users = wine.prefix / "drive_c" / "users"
    user = next(p for p in users.iterdir() if p.name not in ("Public", "public") and (p / "AppData").is_dir())
    return user / "AppData" / "Local" / "Mailwarden" / "Mailwarden"


def _product_entries(hklm) -> list[dict[str, object]]:
    prefix = UNINSTALL_KEY.lower() + "\\"
    return [v for k, v in hklm.items() if k.startswith(prefix) and v.get("DisplayName") == "Mailwarden"]


@pytest.fixture(scope="session")
def wine_story(msi, msi_upgrade, tmp_path_factory):
    """Everything done in one fresh prefix, in order; each test below checks one part of it."""
    for tool in ("wine", "wineserver"):
        assert shutil.which(tool), f"{tool} is missing (scripts/system-deps.sh test installs it)"
    wine = Wine(tmp_path_factory.mktemp("msi-wine") / "prefix")
    story: dict[str, object] = {}
    p = wine.run("wineboot", "--init")
    assert p.returncode == 0, p.stderr[-2000:]

    story["no_url"] = wine.msiexec("/i", wine_path(msi), f"ENROLL_TOKEN={TOKEN}", log="no-url.log")
    story["no_url_installed"] = wine.drive_c(INSTALL).exists()
    story["bad_fail_mode"] = wine.msiexec(
        "/i",
        wine_path(msi),
        f"COLLECTOR_URL={COLLECTOR}",
        "POLICY_FAIL_MODE=sometimes",
        log="bad-fail-mode.log",
    )
    story["bad_fail_mode_installed"] = wine.drive_c(INSTALL).exists()

    # Thunderbird's App Paths entry says C:\Apps\Thunderbird; the TBINSTALLDIR given must win
    p = wine.run("reg", "add", TB_APP_PATHS, "/v", "Path", "/d", TB_ELSEWHERE, "/f")
    assert p.returncode == 0, p.stderr[-2000:]
    story["install"] = wine.msiexec(
        "/i",
        wine_path(msi),
        f"COLLECTOR_URL={COLLECTOR}",
        f"ENROLL_TOKEN={TOKEN}",
        "DEPARTMENT=Sales",
        "POLICY_FAIL_MODE=closed",
        f"TBINSTALLDIR={TB_DEFAULT}",
        log="install.log",
    )
    story["tb_elsewhere_policies"] = wine.drive_c(TB_ELSEWHERE + r"\distribution\policies.json").exists()
    # (App Paths stays: the upgrade below, given no TBINSTALLDIR, must keep the folder used before)
    story["installed_hklm"] = wine.hklm()
    story["installed_files"] = {
        p.relative_to(wine.drive_c(INSTALL)).as_posix()
        for p in wine.drive_c(INSTALL).rglob("*")
        if p.is_file()
    }
    story["tb_policies"] = wine.drive_c(TB_DEFAULT + r"\distribution\policies.json").read_text()
    story["version_cmd"] = wine.run("cmd", "/c", INSTALL + r"\bin\mailwarden.cmd", "--version", timeout=300)
    # install-outlook comes from outlook_bridge through the dist-info's entry points
    story["outlook_cmd"] = wine.python(
        "import sys; from companion.cli import main; sys.exit(main())", "install-outlook", "--help"
    )
    demo = PY + r"\Lib\site-packages\companion\demo\data\outgoing\02-off-book.eml"
    story["check"] = wine.python(
        "import sys; from companion.cli import main; sys.exit(main())", "check", "--json", demo
    )
    story["engine"] = wine.python(
        "import json, sys, companion.policy.engine, companion.machine_config as mc;"
        "from companion.presend import PresendSession;"
        "print(json.dumps({'exe': sys.executable, 'version': sys.version.split()[0],"
        " 'machine': mc.read_machine_config().to_dict(with_token=True)}))"
    )
    data = _user_data(wine)
    data.mkdir(parents=True)
    (data / "mailwarden.db").write_bytes(b"user data")
    story["data_dir"] = data

    story["upgrade"] = wine.msiexec("/i", wine_path(msi_upgrade), log="upgrade.log")
    story["upgraded_hklm"] = wine.hklm()
    story["upgraded_tb_policies"] = [
        path
        for path in (TB_DEFAULT, TB_ELSEWHERE)
        if wine.drive_c(path + r"\distribution\policies.json").exists()
    ]
    story["downgrade"] = wine.msiexec("/i", wine_path(msi), f"COLLECTOR_URL={COLLECTOR}", log="downgrade.log")
    story["after_downgrade_hklm"] = wine.hklm()
    story["delete_token"] = wine.python(
        "import json, companion.machine_config as mc; r = mc.WindowsRegistry(); r.delete_value(mc.TOKEN_KEY, mc.TOKEN_VALUE);"
        " r.delete_value(mc.TOKEN_KEY, mc.TOKEN_VALUE); print(json.dumps(mc.read_machine_config().to_dict()))"
    )

    story["uninstall"] = wine.msiexec("/x", wine_path(msi_upgrade), log="uninstall.log")
    story["uninstalled_hklm"] = wine.hklm()
    story["left_files"] = (
        [p for p in wine.drive_c(INSTALL).rglob("*") if p.is_file()] if wine.drive_c(INSTALL).exists() else []
    )
    story["data_kept"] = (data / "mailwarden.db").exists()
    story["tb_policies_left"] = [
        path
        for path in (TB_DEFAULT, TB_ELSEWHERE)
        if wine.drive_c(path + r"\distribution\policies.json").exists()
    ]

    # REMOVE_DATA's JScript, run by wine's cscript on the data directory kept above
    script = wine.prefix.parent / "remove.js"
    script.write_text(
        (REPO / "installer" / "remove_user_data.js").read_text() + "\nWScript.Echo(RemoveUserData());\n"
    )
    story["remove_data"] = wine.run("cscript", "//nologo", wine_path(script), timeout=300)
    story["data_after_remove"] = data.parent.exists()
    for step in ("install", "upgrade", "uninstall"):
        print(f"wine {step}: {story[step][2]:.0f} s")
    return story


def test_install_without_collector_url_fails_with_the_message(wine_story):
    code, log, _ = wine_story["no_url"]
    assert code == 1603 % 256
    # the install stops at the launch conditions; wine does not log the condition's message (Windows
    # does): its text is checked in the LaunchCondition table (test_launch_conditions_and_upgrade_table)
    assert "LaunchConditions. Evaluating launch conditions" in log
    assert "InstallFiles" not in log and "COLLECTOR_URL = " not in log
    assert not wine_story["no_url_installed"]


def test_install_with_a_bad_policy_fail_mode_is_refused(wine_story):
    code, log, _ = wine_story["bad_fail_mode"]
    assert code == 1603 % 256  # (the message: test_launch_conditions_and_upgrade_table)
    assert "LaunchConditions. Evaluating launch conditions" in log and "InstallFiles" not in log
    assert not wine_story["bad_fail_mode_installed"]


def test_a_given_tbinstalldir_wins_under_wine(wine_story):
    _, log, _ = wine_story["install"]
    assert f"Property(S): TB_APPPATH = {TB_ELSEWHERE}" in log  # App Paths was found...
    # ...and the command line's folder kept
    assert re.search(r"^Property\(S\): TBINSTALLDIR = " + re.escape(TB_DEFAULT) + r"\\?\r?$", log, re.M)
    assert wine_story["tb_policies"] and not wine_story["tb_elsewhere_policies"]


def test_install_writes_files_and_machine_configuration(wine_story):
    code, log, _ = wine_story["install"]
    assert code == 0, log[-3000:]
    files = wine_story["installed_files"]
    for needed in (
        "python/python.exe",
        "python/pythoncom312.dll",
        "python/Lib/site-packages/companion/cli.py",
        "bin/mailwarden.cmd",
        "thunderbird/mailwarden.json",
        "mailwarden.ico",
    ):
        assert needed in files
    hklm = wine_story["installed_hklm"]
    assert hklm[TOKEN_KEY.lower()] == {"EnrollToken": TOKEN}
    assert hklm[MAILWARDEN_KEY.lower()] == {
        "CollectorUrl": COLLECTOR,
        "Department": "Sales",
        "PolicyFailMode": "closed",
        "InstallDir": INSTALL + "\\",
        "Version": VERSION,
        "RemoveDataOnUninstall": "0",
        "ThunderbirdDir": TB_DEFAULT + "\\",
    }
    run = hklm[r"software\microsoft\windows\currentversion\run"]
    assert run["Mailwarden Agent"] == f'"{PY}\\pythonw.exe" -E -s -m companion.agent'
    assert run["Mailwarden Tray"].startswith(
        f'"{PY}\\pythonw.exe" -E -s -c "import sys; from ui.app import main;'
    )
    assert (
        hklm[r"software\mozilla\nativemessaginghosts\mailwarden"][""]
        == INSTALL + r"\thunderbird\mailwarden.json"
    )
    tb_policy = r"software\policies\mozilla\thunderbird\3rdparty\extensions\mailwarden@mailwarden.example"
    assert hklm[tb_policy] == {"failMode": "closed"}  # the extension's managed storage
    policies = json.loads(wine_story["tb_policies"])
    assert (
        policies["policies"]["ExtensionSettings"]["mailwarden@mailwarden.example"]["installation_mode"]
        == "force_installed"
    )


def test_install_registers_the_outlook_addin_in_both_views(wine_story):
    hklm = wine_story["installed_hklm"]
    for r in registration.machine_rows(PY + r"\pythoncom312.dll", PY + r"\Lib\site-packages", 64):
        key = r.key if r.view == 64 else r.key.replace("Software\\", "Software\\Wow6432Node\\", 1)
        assert hklm[key.lower()][r.name] == r.value, r
    assert "python/pythoncom312.dll" in wine_story["installed_files"]


def test_uninstall_entry(wine_story):
    entries = _product_entries(wine_story["installed_hklm"])
    assert len(entries) == 1
    entry = entries[0]
    assert entry["DisplayVersion"] == VERSION and entry["Publisher"] == "Mailwarden"
    assert entry["Comments"] == "Email-risk companion / 邮件风险助手" and entry["NoModify"] == 1
    assert entry["InstallLocation"] == INSTALL + "\\"
    assert str(entry["UninstallString"]).lower().startswith("msiexec.exe /x{")
    # the icon (ARPPRODUCTICON): Windows Installer keeps it with the product registration
    products = [
        v
        for k, v in wine_story["installed_hklm"].items()
        if k.startswith("software\\classes\\installer\\products\\") and v.get("ProductName") == "Mailwarden"
    ]
    assert len(products) == 1 and str(products[0]["ProductIcon"]).endswith("\\MailwardenIcon")


def test_installed_runtime_runs_the_companion(wine_story):
    p = wine_story["version_cmd"]
    assert p.returncode == 0 and p.stdout.decode().strip().endswith(f"version {project_version()}"), p.stderr
    check = wine_story["check"]
    result = json.loads(check.stdout.decode("utf-8"))
    assert result["verdict"] == "block"
    assert "offbook.private-deal" in {f["rule"] for f in result["findings"]}
    outlook = wine_story["outlook_cmd"]
    assert outlook.returncode == 0 and "HKEY_CURRENT_USER" in outlook.stdout.decode(), outlook.stderr
    engine = json.loads(wine_story["engine"].stdout.decode("utf-8"))
    assert engine["exe"] == PY + r"\python.exe" and engine["version"] == WINPYTHON["python_version"]
    assert engine["machine"] == {
        "collector_url": COLLECTOR,
        "enroll_token": TOKEN,
        "department": "Sales",
        "policy_fail_mode": "closed",
        "install_dir": INSTALL + "\\",
        "version": VERSION,
        "has_token": True,
    }


def test_upgrade_without_properties_keeps_the_configuration(wine_story):
    code, log, _ = wine_story["upgrade"]
    assert code == 0, log[-3000:]
    hklm = wine_story["upgraded_hklm"]
    config = hklm[MAILWARDEN_KEY.lower()]
    assert config["Version"] == UPGRADE_VERSION
    token = hklm[TOKEN_KEY.lower()]["EnrollToken"]
    assert (config["CollectorUrl"], token, config["Department"], config["PolicyFailMode"]) == (
        COLLECTOR,
        TOKEN,
        "Sales",
        "closed",
    )
    # Thunderbird's folder too: App Paths still says elsewhere, the policy file stays where it was
    assert config["ThunderbirdDir"] == TB_DEFAULT + "\\"
    assert wine_story["upgraded_tb_policies"] == [TB_DEFAULT]
    entries = _product_entries(hklm)
    assert [e["DisplayVersion"] for e in entries] == [UPGRADE_VERSION]  # the old product is gone


def test_downgrade_is_refused(wine_story):
    code, log, _ = wine_story["downgrade"]
    assert code == 1603 % 256
    # FindRelatedProducts found the newer product; the launch condition refused it (message: see
    # test_launch_conditions_and_upgrade_table; wine does not log it)
    assert re.search(r"WIX_DOWNGRADE_DETECTED = \{[0-9A-F-]{36}\}", log)
    assert "InstallFiles" not in log
    assert [e["DisplayVersion"] for e in _product_entries(wine_story["after_downgrade_hklm"])] == [
        UPGRADE_VERSION
    ]


def test_companion_deletes_the_token_through_winreg(wine_story):
    p = wine_story["delete_token"]
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    assert json.loads(p.stdout.decode())["has_token"] is False


def test_uninstall_removes_files_and_keys_and_keeps_user_data(wine_story):
    code, log, _ = wine_story["uninstall"]
    assert code == 0, log[-3000:]
    assert wine_story["left_files"] == []
    hklm = wine_story["uninstalled_hklm"]
    gone = [
        MAILWARDEN_KEY,
        TOKEN_KEY,
        registration.ADDIN_KEY,
        registration.ADDIN_KEY.replace("Software\\", "Software\\Wow6432Node\\"),
        registration.CLSID_KEY + r"\InprocServer32",
        registration.PROGID_KEY + r"\CLSID",
        r"Software\Mozilla\NativeMessagingHosts\mailwarden",
        TB_POLICY_KEY,
        r"Software\Mailwarden\Components",
    ]
    for key in gone:
        assert not hklm.get(key.lower()), key
    run = hklm.get(r"software\microsoft\windows\currentversion\run", {})
    assert "Mailwarden Agent" not in run and "Mailwarden Tray" not in run
    assert _product_entries(hklm) == []
    assert wine_story["tb_policies_left"] == []  # Thunderbird's distribution\policies.json is gone
    assert wine_story["data_kept"]


def test_remove_data_script_deletes_every_users_data(wine_story):
    p = wine_story["remove_data"]
    assert p.returncode == 0 and p.stdout.decode().strip() == "1", p.stderr
    assert not wine_story["data_after_remove"]
