"""A profile made by the real, headless Thunderbird: the folders Thunderbird gives servers whose prefs
name no directory are the ones Mailwarden derives, and the same profile without those prefs (as
copied, older and hand-made profiles are) is read whole by `mailwarden scan`.

Thunderbird is kept off the network by the end-to-end test's prefs; a probe extension lists the
accounts, which makes Thunderbird load every server and give it a folder. When the thunderbird
binary is missing the test fails: `make test` installs it (scripts/system-deps.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from companion.stores.thunderbird import parse_prefs, prefs_from_values
from tests.conftest import age
from tests.fixtures import free_port
from tests.tbfactory import tb_message, write_mbox_folder, write_prefs
from tests.test_thunderbird_e2e import _stop, _zip, launch_thunderbird, thunderbird_binary, user_js

PROBE_ID = "probe@tests.mailwarden.example"
SECONDS = 90  # hard limit for the Thunderbird run

# Beside the e2e prefs' POP3 server1 (127.0.0.1) and Local Folders server2: two more servers on the
# same host, of both kinds, and a feed account. None of them names a directory.
ACCOUNTS = {
    "mail.accountmanager.accounts": "account1,account2,account3,account4,account5,account6",
    "mail.account.account3.server": "server3",
    "mail.server.server3.type": "imap",
    "mail.server.server3.hostname": "127.0.0.1",
    "mail.server.server3.userName": "sales",
    "mail.account.account4.server": "server4",
    "mail.server.server4.type": "pop3",
    "mail.server.server4.hostname": "127.0.0.1",
    "mail.server.server4.userName": "other",
    "mail.account.account5.server": "server5",
    "mail.server.server5.type": "rss",
    "mail.server.server5.hostname": "Feeds",
    "mail.server.server5.userName": "nobody",
    "mail.account.account6.server": "server6",
    "mail.server.server6.type": "imap",
    "mail.server.server6.hostname": "127.0.0.1",
    "mail.server.server6.userName": "other",
}
SERVERS = [f"server{n}" for n in range(1, 7)]

pytestmark = pytest.mark.timeout(240)


def _probe_xpi(path: Path) -> Path:
    manifest = {
        "manifest_version": 2,
        "name": "Mailwarden test probe",
        "version": "1.0",
        "browser_specific_settings": {"gecko": {"id": PROBE_ID}},
        "permissions": ["accountsRead"],
        "background": {"scripts": ["background.js"]},
    }
    script = "browser.accounts.list().then(a => console.log('PROBE', a.length));\n"
    return _zip(path, {"manifest.json": json.dumps(manifest).encode(), "background.js": script.encode()})


def _run_thunderbird(root: Path, profile: Path) -> dict[str, str | int | bool]:
    """Start Thunderbird on `profile` until prefs.js names a directory for every server; its prefs."""
    home = root / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "MOZ_HEADLESS": "1",
        "MOZ_CRASHREPORTER_DISABLE": "1",
        "TMPDIR": str(root),
        "XDG_RUNTIME_DIR": str(root),
    }
    written: dict[str, str | int | bool] = {}
    with (root / "thunderbird.log").open("wb") as log:
        proc = launch_thunderbird(thunderbird_binary(), profile, env, root, log)
        try:
            deadline = time.monotonic() + SECONDS
            while time.monotonic() < deadline and proc.poll() is None:
                prefs_js = profile / "prefs.js"
                written = parse_prefs(prefs_js.read_text(encoding="utf-8")) if prefs_js.exists() else {}
                if all(f"mail.server.{s}.directory-rel" in written for s in SERVERS):
                    break
                time.sleep(0.25)
        finally:
            _stop(proc)
    log_tail = (root / "thunderbird.log").read_text(errors="replace")[-3000:]
    missing = [s for s in SERVERS if f"mail.server.{s}.directory-rel" not in written]
    assert not missing, f"Thunderbird gave no directory to {missing}\n{log_tail}"
    return written


def test_real_thunderbird_names_server_folders_as_mailwarden_derives_them(tmp_path):
    profile = tmp_path / "profile"
    (profile / "extensions").mkdir(parents=True)
    dead = free_port()
    prefs_text = user_js(dead, dead) + "".join(
        f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in ACCOUNTS.items()
    )
    (profile / "user.js").write_text(prefs_text, encoding="utf-8")
    _probe_xpi(profile / "extensions" / f"{PROBE_ID}.xpi")

    written = _run_thunderbird(tmp_path, profile)
    by_thunderbird = {
        s: profile.joinpath(
            *str(written[f"mail.server.{s}.directory-rel"]).removeprefix("[ProfD]").split("/")
        )
        for s in SERVERS
    }
    # what Thunderbird chose, for the record of this test: the POP3 and IMAP duplicates of 127.0.0.1
    assert by_thunderbird["server4"].name == "127.0.0-1.1" and by_thunderbird["server6"].name == "127.0.0-1.1"
    derived = {s.key: s.directory for s in prefs_from_values(parse_prefs(prefs_text), profile).servers}
    assert derived == by_thunderbird

    # The same profile as copied to another machine without its directory prefs: every folder is read.
    for n, directory in enumerate(by_thunderbird.values()):
        write_mbox_folder(directory, "Inbox", [tb_message(f"note {n}", message_id=f"<real-{n}@x>")])
    copy = tmp_path / "copied-profile"
    for directory in by_thunderbird.values():
        target = copy / directory.relative_to(profile)
        target.mkdir(parents=True)
        for f in directory.iterdir():
            if f.is_file():
                (target / f.name).write_bytes(f.read_bytes())
                age(target / f.name)  # the scan in another process waits for files written just now
    bare = parse_prefs((profile / "prefs.js").read_text(encoding="utf-8"))
    write_prefs(copy, {k: v for k, v in bare.items() if not k.endswith((".directory", ".directory-rel"))})
    scan = subprocess.run(
        [sys.executable, "-m", "companion.cli", "scan", "--json", str(copy)],
        capture_output=True,
        text=True,
        env={**os.environ, "MAILWARDEN_HOME": str(tmp_path / "mw")},
        timeout=120,
    )
    assert scan.returncode == 0, scan.stderr
    assert json.loads(scan.stdout)["messages"] == len(SERVERS) and not scan.stderr
