"""Store discovery: Thunderbird profiles, Outlook data files and configured paths together."""

from __future__ import annotations

import shutil

import pytest

from companion.stores.discovery import discover_stores
from tests.conftest import outlook_samples


@pytest.mark.outlook_samples
def test_discovers_thunderbird_outlook_and_configured_stores(tmp_path):
    home = tmp_path / "home"
    tb = home / "AppData" / "Roaming" / "Thunderbird"
    (tb / "Profiles" / "abc.default").mkdir(parents=True)
    (tb / "Profiles" / "abc.default" / "prefs.js").write_text(
        'user_pref("mail.identity.id1.useremail", "Li@Corp.example");\n', encoding="utf-8"
    )
    (tb / "profiles.ini").write_text(
        "[Profile0]\nName=default\nIsRelative=1\nPath=Profiles/abc.default\nDefault=1\n", encoding="utf-8"
    )
    outlook = home / "AppData" / "Local" / "Microsoft" / "Outlook"
    outlook.mkdir(parents=True)
    shutil.copyfile(outlook_samples() / "pstsdk" / "sample1.pst", outlook / "me@corp.example.pst")
    extra = tmp_path / "archive.mbox"
    extra.write_bytes(b"From - x\n\n")
    env = {
        "APPDATA": str(home / "AppData" / "Roaming"),
        "LOCALAPPDATA": str(home / "AppData" / "Local"),
        "USERPROFILE": str(home),
    }
    found = discover_stores((extra, tmp_path / "missing.pst"), env=env, home=home, platform="win32")
    assert [(s.kind, s.path.name, s.readable) for s in found] == [
        ("thunderbird-profile", "abc.default", True),
        ("outlook-pst", "me@corp.example.pst", True),
        ("configured", "archive.mbox", True),
        ("configured", "missing.pst", False),
    ]
    assert found[0].identities == ("li@corp.example",)
    assert discover_stores((), discover=False, env=env, home=home, platform="win32") == []
