"""Thunderbird: profile discovery per platform, prefs.js, folder walking and roles, and scanning a
whole profile incrementally through the real pipeline."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from companion.records import Database
from companion.scan import scan_paths
from companion.stores.thunderbird import (
    Prefs,
    ThunderbirdHome,
    ThunderbirdProfile,
    discover_profiles,
    parse_folder_uri,
    parse_prefs,
    read_prefs,
)
from tests.conftest import build_eml
from tests.fixtures import wait_until
from tests.tbfactory import (
    PREFS,
    IniProfile,
    append_mbox,
    build_profile,
    tb_message,
    write_home,
    write_mbox_folder,
    write_prefs,
)


class _NoState:
    """A StoreState that has read nothing (for calling an adapter's items() directly)."""

    def checkpoint(self, source):
        return None

    def has_item(self, source, item_id):
        return False


def names(profiles) -> list[str]:
    return sorted(p.name for p in profiles)


def stored(db: Database) -> dict[str, tuple[str, str, str]]:
    rows = db.db.query("SELECT message_id, folder, direction, account FROM messages")
    return {r["message_id"]: (r["folder"], r["direction"], r["account"]) for r in rows}


# -- discovery -----------------------------------------------------------------------------------


def test_linux_finds_native_flatpak_and_snap_homes(tmp_path):
    home = tmp_path / "home"
    write_home(home / ".thunderbird", [IniProfile("native", "n1.default")])
    write_home(home / ".var/app/org.mozilla.Thunderbird/.thunderbird", [IniProfile("flatpak", "f1.default")])
    write_home(home / "snap/thunderbird/common/.thunderbird", [IniProfile("snap", "s1.default")])
    write_home(home / "Library/Thunderbird", [IniProfile("mac", "m1.default")])  # not a Linux place
    profiles = discover_profiles(env={}, home=home, platform="linux")
    assert names(profiles) == ["flatpak", "native", "snap"]
    native = next(p for p in profiles if p.name == "native")
    assert native.path == home / ".thunderbird" / "n1.default"
    assert native.identities == ("native@corp.example",)


def test_windows_uses_appdata(tmp_path):
    home = tmp_path / "home"
    appdata = tmp_path / "Users" / "li" / "AppData" / "Roaming"
    write_home(appdata / "Thunderbird", [IniProfile("work", "Profiles\\w1.default-release", default=True)])
    write_home(home / ".thunderbird", [IniProfile("linux", "l1.default")])
    profiles = discover_profiles(env={"APPDATA": str(appdata)}, home=home, platform="win32")
    assert [(p.name, p.path, p.is_default) for p in profiles] == [
        ("work", appdata / "Thunderbird" / "Profiles" / "w1.default-release", True)
    ]


def test_windows_without_appdata_falls_back_to_the_roaming_folder(tmp_path):
    write_home(tmp_path / "AppData/Roaming/Thunderbird", [IniProfile("work", "Profiles/w1.default")])
    assert names(discover_profiles(env={}, home=tmp_path, platform="win32")) == ["work"]


def test_macos_uses_library(tmp_path):
    write_home(tmp_path / "Library/Thunderbird", [IniProfile("mac", "Profiles/m1.default")])
    write_home(tmp_path / ".thunderbird", [IniProfile("linux", "l1.default")])
    assert names(discover_profiles(env={}, home=tmp_path, platform="darwin")) == ["mac"]


def test_absolute_paths_and_missing_profile_folders(tmp_path):
    elsewhere = tmp_path / "data" / "tb-profile"
    elsewhere.mkdir(parents=True)
    write_prefs(elsewhere, {"mail.identity.id3.useremail": "Abs@Corp.Example"})
    write_home(
        tmp_path / ".thunderbird",
        [
            IniProfile("moved", str(elsewhere), relative=False),
            IniProfile("gone", "zz.deleted"),
            IniProfile("here", "h1.default"),
        ],
        create=False,
    )
    (tmp_path / ".thunderbird" / "h1.default").mkdir()  # no prefs.js: no identities, still a profile
    profiles = discover_profiles(env={}, home=tmp_path, platform="linux")
    assert [(p.name, p.path, p.identities) for p in profiles] == [
        ("moved", elsewhere, ("abs@corp.example",)),
        ("here", tmp_path / ".thunderbird" / "h1.default", ()),
    ]


def test_installs_ini_names_the_default_profile(tmp_path):
    tb = write_home(
        tmp_path / ".thunderbird",
        [
            IniProfile("old", "o1.default", default=True),  # the pre-68 Default=1 flag
            IniProfile("current", "c1.default-esr"),
        ],
        installs={"FDC34C9F024745EB": "c1.default-esr"},
    )
    defaults = {p.name: p.is_default for p in discover_profiles(env={}, home=tmp_path, platform="linux")}
    assert defaults == {"old": False, "current": True}
    (tb / "installs.ini").unlink()
    defaults = {p.name: p.is_default for p in discover_profiles(env={}, home=tmp_path, platform="linux")}
    assert defaults == {"old": True, "current": False}


def test_corrupt_ini_files_do_not_crash(tmp_path, caplog):
    tb = write_home(tmp_path / ".thunderbird", [IniProfile("a", "a1.default")])
    (tb / "profiles.ini").write_bytes(b"\xff\xfe garbage without a section\nPath=a1.default\n")
    write_home(
        tmp_path / "snap/thunderbird/common/.thunderbird",
        [IniProfile("b", "b1.default")],
        installs={"X": "b1.default"},
    )
    (tmp_path / "snap/thunderbird/common/.thunderbird/installs.ini").write_text("[broken\nDefault=\n")
    with caplog.at_level(logging.WARNING, logger="companion.stores.thunderbird"):
        profiles = discover_profiles(env={}, home=tmp_path, platform="linux")
    assert [(p.name, p.is_default) for p in profiles] == [("b", False)]
    assert any(str(tb) in r.getMessage() for r in caplog.records)
    items = list(ThunderbirdHome(tb).items(_NoState()))
    assert [(i.source, i.message) for i in items] == [(str(tb / "profiles.ini"), None)]
    assert "profiles.ini" in str(items[0].error)


# -- prefs.js ------------------------------------------------------------------------------------


def test_prefs_values_and_escapes():
    text = "\n".join(
        [
            "// Mozilla User Preferences",
            '// user_pref("commented.out", true);',
            r'user_pref("s.quote", "say \"hi\" \\ now");',
            r'user_pref("s.unicode", "caf\u00e9 \ud83d\ude00 line\nbreak");',
            'user_pref("s.utf8", "已发送");',
            'user_pref("i.neg", -5);',
            'user_pref("i.pos", 42);',
            'user_pref("b.yes", true);',
            'user_pref("b.no", false);',
            'user_pref("i.pos", 43);',  # a later line wins
        ]
    )
    assert parse_prefs(text) == {
        "s.quote": 'say "hi" \\ now',
        "s.unicode": "café 😀 line\nbreak",
        "s.utf8": "已发送",
        "i.neg": -5,
        "i.pos": 43,
        "b.yes": True,
        "b.no": False,
    }


def test_read_prefs_accounts_identities_and_special_folders(tmp_path):
    b = build_profile(tmp_path)
    prefs = read_prefs(b.profile)
    assert prefs.error is None
    assert prefs.values["mail.identity.id1.fullName"] == 'Wang "Tom" Lei \\ Sales'
    assert prefs.identities == ("me@corp.example", "li.wei@home.example")
    assert prefs.default_account == "account2"
    assert prefs.folder_uris == {
        "mailbox://nobody@Local%20Folders/Sent-2026": "sent",
        "imap://me%40corp.example@imap.corp.example/Work%20in%20progress": "drafts",
        "mailbox://nobody@Local%20Folders/Archives": "archives",
    }
    servers = {s.key: s for s in prefs.servers}
    assert list(servers) == ["server1", "server2", "server3"]  # not "default" (mail.server.default.*)
    assert [s.maildir for s in servers.values()] == [False, False, True]
    # directory-rel wins over a stale absolute directory
    assert servers["server3"].directory == b.pop
    assert servers["server2"].identities == ("me@corp.example",)
    assert servers["server2"].label == "me@corp.example"
    assert prefs.roles_for(servers["server1"]) == {"sent-2026": "sent", "archives": "archives"}
    assert prefs.roles_for(servers["server2"]) == {"work in progress": "drafts"}


def test_user_js_overrides_and_absolute_directories(tmp_path):
    profile = tmp_path / "p"
    profile.mkdir()
    mail = tmp_path / "D" / "Mail"
    mail.mkdir(parents=True)
    write_prefs(
        profile,
        {
            "mail.identity.id1.useremail": "a@x.example",
            "mail.server.server1.directory": str(mail),
            "mail.server.default.check_new_mail": True,
        },
    )  # no accounts: every server counts
    (profile / "user.js").write_text('user_pref("mail.identity.id1.useremail", "B@X.example");\n')
    prefs = read_prefs(profile)
    assert prefs.identities == ("b@x.example",)
    assert [s.directory for s in prefs.servers] == [mail]


def test_missing_and_unreadable_prefs(tmp_path):
    assert read_prefs(tmp_path) == Prefs()
    (tmp_path / "prefs.js").mkdir()  # reading it fails even as root
    prefs = read_prefs(tmp_path)
    assert prefs.error and "prefs.js" in str(prefs.error) and prefs.identities == ()


def test_folder_uris():
    assert parse_folder_uri("imap://me%40corp.example@imap.corp.example/INBOX/Sent") == (
        "me@corp.example",
        "imap.corp.example",
        "INBOX/Sent",
    )
    assert parse_folder_uri("mailbox://nobody@Local%20Folders/%E5%B7%B2%E5%8F%91%E9%80%81") == (
        "nobody",
        "local folders",
        "已发送",
    )


# -- folders -------------------------------------------------------------------------------------


def test_folders_roles_and_accounts(tmp_path):
    b = build_profile(tmp_path)
    folders = {
        (f.account, f.name): (f.role, f.direction, f.maildir) for f in ThunderbirdProfile(b.profile).folders()
    }
    assert folders == {
        ("Local Folders", "Inbox"): ("inbox", "received", False),
        ("Local Folders", "Sent"): ("sent", "sent", False),
        ("Local Folders", "Sent-2026"): ("sent", "sent", False),  # the identity's fcc_folder
        ("me@corp.example", "INBOX"): ("inbox", "received", False),
        ("me@corp.example", "INBOX/Clients"): ("inbox", "received", False),
        ("me@corp.example", "Work in progress"): ("drafts", "sent", False),  # draft_folder
        ("Home mail", "Inbox"): ("inbox", "received", True),
        ("Home mail", "已发送"): ("sent", "sent", True),
    }  # empty Trash/Unsent Messages/Archives, .msf/.dat/.html files and ImapMail/old.example are not folders


def test_subfolders_inherit_and_an_fcc_at_the_inbox_is_ignored(tmp_path):
    b = build_profile(tmp_path)
    write_mbox_folder(b.local, "Sent/2025", [tb_message("old", message_id="<o@x>")])
    write_mbox_folder(b.local, "Sent/Unsent Messages", [tb_message("queued", message_id="<q@x>")])
    write_prefs(
        b.profile, {**PREFS, "mail.identity.id2.fcc_folder": "mailbox://li.wei@pop.home.example/Inbox"}
    )
    roles = {(f.account, f.name): f.role for f in ThunderbirdProfile(b.profile).folders()}
    assert roles[("Local Folders", "Sent/2025")] == "sent"
    assert roles[("Local Folders", "Sent/Unsent Messages")] == "outbox"
    assert roles[("Home mail", "Inbox")] == "inbox"


def test_without_prefs_every_server_directory_is_walked(tmp_path):
    b = build_profile(tmp_path)
    (b.profile / "prefs.js").unlink()
    folders = {(f.account, f.name, f.role) for f in ThunderbirdProfile(b.profile).folders()}
    assert ("old.example", "INBOX", "inbox") in folders
    assert ("Local Folders", "Sent-2026", None) in folders  # no fcc_folder to say it is sent
    assert ("pop.home.example", "已发送", "sent") in folders
    assert len(folders) == 9


def test_claims(tmp_path):
    b = build_profile(tmp_path)
    assert ThunderbirdHome.claims(b.home) and not ThunderbirdHome.claims(b.profile)
    assert ThunderbirdProfile.claims(b.profile) and not ThunderbirdProfile.claims(b.local)
    (b.profile / "prefs.js").unlink()
    assert ThunderbirdProfile.claims(b.profile)  # Mail/<server>/*.msf is enough
    export = tmp_path / "export"
    (export / "Mail" / "2026").mkdir(parents=True)
    (export / "Mail" / "2026" / "a.eml").write_bytes(build_eml("hello"))
    assert not ThunderbirdProfile.claims(export)  # left to the plain folder adapter
    assert not ThunderbirdProfile.claims(b.local / "Inbox")
    assert ThunderbirdProfile(b.profile).identities == ()
    assert ThunderbirdHome(b.home).identities == ()


# -- scanning --------------------------------------------------------------------------------------


def test_scanning_a_whole_home(tmp_path, db, engine):
    b = build_profile(tmp_path)
    totals = scan_paths(db, engine, [b.home])
    assert (totals.errors, totals.messages) == (0, len(b.expected))
    assert stored(db) == b.expected
    assert not set(b.absent) & set(stored(db))
    assert dict(totals.by_rule) == b.rules
    assert ThunderbirdHome(b.home).identities == ("me@corp.example", "li.wei@home.example")
    again = scan_paths(db, engine, [b.home])
    assert (again.messages, again.errors, again.flagged) == (0, 0, 0)
    assert again.skipped >= len(b.expected)


def test_scanning_a_profile_folder(tmp_path, db, engine):
    b = build_profile(tmp_path)
    store = ThunderbirdProfile(b.profile)
    assert store.identities == ("me@corp.example", "li.wei@home.example")
    totals = scan_paths(db, engine, [b.profile])
    assert totals.messages == len(b.expected) and stored(db) == b.expected


def test_an_appended_message_is_the_only_one_read(tmp_path, db, engine):
    b = build_profile(tmp_path)
    scan_paths(db, engine, [b.home])
    append_mbox(
        b.local / "Inbox",
        tb_message(
            "Kindly use our new bank details for this invoice.",
            sender="acc@supplier.example",
            message_id="<l-in-3@x>",
        ),
    )
    (b.pop / "Inbox" / "cur" / "1800000000.9.host:2,").write_bytes(
        tb_message("See you soon", sender="friend@home.example", message_id="<p-in-2@x>")
    )
    totals = scan_paths(db, engine, [b.home])
    assert (totals.messages, totals.flagged, dict(totals.by_rule)) == (2, 1, {"payment.bank-change": 1})
    rows = stored(db)
    assert rows["l-in-3@x"] == ("Inbox", "received", "Local Folders")
    assert rows["p-in-2@x"] == ("Inbox", "received", "Home mail")
    assert len(rows) == len(b.expected) + 2


def test_a_half_written_message_waits_until_complete(tmp_path, db, engine, monkeypatch):
    b = build_profile(tmp_path)
    scan_paths(db, engine, [b.home])
    sent = b.local / "Sent-2026"
    raw = tb_message("我们保证最低价", sender="sales@corp.example", message_id="<l-fcc-3@x>")
    append_mbox(sent, raw[:-20], complete=False)  # Thunderbird is still writing it
    assert scan_paths(db, engine, [b.home]).messages == 0
    with sent.open("ab") as f:
        f.write(raw[-20:] + b"\n")
    monkeypatch.setattr("companion.stores.base.QUIET_SECONDS", 3600.0)  # complete, but written just now
    assert scan_paths(db, engine, [b.home]).messages == 0
    monkeypatch.setattr("companion.stores.base.QUIET_SECONDS", 0.0)
    totals = scan_paths(db, engine, [b.home])
    assert (totals.messages, dict(totals.by_rule)) == (1, {"commit.lowest-price": 1})
    assert stored(db)["l-fcc-3@x"] == ("Sent-2026", "sent", "Local Folders")


def test_unreadable_folders_are_reported_not_raised(tmp_path, db, engine, monkeypatch):
    b = build_profile(tmp_path)
    locked_file, locked_dir = b.local / "Sent", b.imap / "INBOX.sbd"
    vanishing = b.local / "Sent-2026"  # readable when listed, gone when read
    opened: list[Path] = []
    real_open, real_iterdir = Path.open, Path.iterdir

    def deny_open(self, *args, **kwargs):
        opened.append(self)
        if self == locked_file or (self == vanishing and opened.count(self) > 1):
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    def deny_iterdir(self):
        if self == locked_dir:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "open", deny_open)
    monkeypatch.setattr(Path, "iterdir", deny_iterdir)
    totals = scan_paths(db, engine, [b.home])
    errors = {source: str(error) for source, error in totals.error_list}
    assert set(errors) == {str(locked_file), str(locked_dir), str(vanishing)}
    assert "Sent" in errors[str(locked_file)] and "permission denied" in errors[str(locked_file)]
    assert "Sent-2026" in errors[str(vanishing)]
    lost = {"l-sent-1@x", "l-fcc-1@x", "l-fcc-2@x", "i-cl-1@x", "i-cl-2@x"}
    assert stored(db) == {k: v for k, v in b.expected.items() if k not in lost}


def test_thunderbird_module_imports_no_parser(tmp_path):
    code = (
        "import sys, json, companion.stores.thunderbird\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('companion.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert "companion.stores.thunderbird" in loaded
    assert not {m for m in loaded if m.startswith(("companion.parsing", "companion.policy"))}


def test_build_eml_messages_survive_the_mbox_round_trip(tmp_path):
    # The factory writes LF-only messages with "From " lines: check the mbox reader agrees.
    from companion.stores.mbox import split_mbox

    box = write_mbox_folder(tmp_path, "Inbox", [tb_message("a", message_id="<1@x>"), build_eml("b")])
    assert len(list(split_mbox(box))) == 2


# -- servers whose prefs name no directory -----------------------------------------------------------


def _without_directories(prefs: dict) -> dict:
    return {k: v for k, v in prefs.items() if not k.endswith((".directory", ".directory-rel"))}


def test_a_profile_without_directory_prefs_is_read_where_thunderbird_put_the_folders(tmp_path, db, engine):
    b = build_profile(tmp_path)  # Mail/Local Folders, ImapMail/imap.corp.example, Mail/pop.home.example
    write_prefs(b.profile, _without_directories(PREFS))
    servers = {s.key: s for s in read_prefs(b.profile).servers}
    assert {k: (s.directory, s.derived) for k, s in servers.items()} == {
        "server1": (b.local, True),
        "server2": (b.imap, True),
        "server3": (b.pop, True),
    }
    totals = scan_paths(db, engine, [b.profile])
    assert (totals.errors, totals.messages) == (0, len(b.expected))
    assert stored(db) == b.expected


def test_a_directory_of_another_machine_falls_back_to_the_default_folder(tmp_path):
    b = build_profile(tmp_path)
    prefs = _without_directories(PREFS)
    prefs["mail.server.server2.directory"] = (
        "C:\\Users\\li\\AppData\\Roaming\\Thunderbird\\x.default\\ImapMail\\imap.corp.example"
    )
    write_prefs(b.profile, prefs)
    server2 = next(s for s in read_prefs(b.profile).servers if s.key == "server2")
    assert (server2.directory, server2.derived) == (b.imap, True)
    assert ("me@corp.example", "INBOX") in {
        (f.account, f.name) for f in ThunderbirdProfile(b.profile).folders()
    }


def test_default_folder_names_follow_thunderbirds_create_unique(tmp_path):
    profile = tmp_path / "p"
    (profile / "Mail2").mkdir(parents=True)  # mail.root.pop3-rel moves POP3 servers here

    def server(n: int, type: str, hostname: str, **more: str) -> dict:
        key = f"mail.server.server{n}"
        return {
            f"mail.account.account{n}.server": f"server{n}",
            f"{key}.type": type,
            f"{key}.hostname": hostname,
        }

    prefs = {
        # listed out of creation order: names are given in the order the servers were made
        "mail.accountmanager.accounts": ",".join(f"account{n}" for n in (9, 1, 2, 3, 4, 5, 6, 7, 8, 10)),
        "mail.root.pop3-rel": "[ProfD]Mail2",
        **server(1, "none", "Local Folders"),
        **server(2, "imap", "imap.gmail.com"),
        **server(3, "imap", "imap.gmail.com"),  # a second Gmail account
        **server(4, "imap", "imap.gmail.com"),
        **server(5, "pop3", "imap.gmail.com"),  # another root: no collision
        **server(6, "rss", "Feeds"),
        **server(7, "imap", "mail.example/evil"),  # not one folder name: Thunderbird cannot make it
        **server(8, "exquilla", "ews.corp.example"),  # a type this version does not know
        **server(9, "none", "Local Folders"),  # made after server1
        **server(10, "nntp", "news.example"),
        # an existing folder named by its pref takes the name the next server would have had
        "mail.server.server4.directory-rel": "[ProfD]ImapMail/imap.gmail-1.com",
    }
    (profile / "ImapMail" / "imap.gmail-1.com").mkdir(parents=True)
    write_prefs(profile, prefs)
    found = {s.key: s.directory for s in read_prefs(profile).servers}
    assert found == {
        "server9": profile / "Mail" / "Local Folders-1",
        "server1": profile / "Mail" / "Local Folders",
        "server2": profile / "ImapMail" / "imap.gmail.com",
        "server3": profile / "ImapMail" / "imap.gmail-2.com",
        "server4": profile / "ImapMail" / "imap.gmail-1.com",
        "server5": profile / "Mail2" / "imap.gmail.com",
        "server6": profile / "Mail" / "Feeds",
        "server7": None,
        "server8": None,
        "server10": profile / "News" / "news.example",
    }


def _profile_whose_accounts_name_other_folders(root: Path) -> Path:
    """What Thunderbird makes of a profile without directory prefs whose folders exist: it gives
    each server a new, empty folder beside the old one (createUnique skips names on disk), so the
    mail stays in folders no account names."""
    b = build_profile(root)
    prefs = {**PREFS, "mail.server.server1.directory-rel": "[ProfD]Mail/Local Folders-1"}
    prefs["mail.server.server2.directory-rel"] = "[ProfD]ImapMail/imap.corp-1.example"
    prefs["mail.server.server3.directory-rel"] = "[ProfD]Mail/pop.home-1.example"
    prefs.pop("mail.server.server3.directory")
    for folder in ("Mail/Local Folders-1", "ImapMail/imap.corp-1.example", "Mail/pop.home-1.example"):
        (b.profile / folder).mkdir()
    write_prefs(b.profile, prefs)
    return b.profile


HELD = ("Mail/Local Folders", "ImapMail/imap.corp.example", "ImapMail/old.example", "Mail/pop.home.example")


def test_mail_folders_no_account_names_are_an_error_not_silence(tmp_path, db, engine):
    profile = _profile_whose_accounts_name_other_folders(tmp_path)
    totals = scan_paths(db, engine, [profile])
    assert totals.messages == 0
    assert [source for source, _ in totals.error_list] == [str(profile)]
    error = str(totals.error_list[0][1])
    assert all(held in error for held in HELD) and "no mail was read" in error
    chinese = totals.error_list[0][1].text("zh")
    assert all(held in chinese for held in HELD) and "没有读取任何邮件" in chinese


def test_mailwarden_scan_and_the_agent_status_say_so(tmp_path, isolated_home):
    from click.testing import CliRunner

    from companion.agent.watcher import Watcher
    from companion.cli import _status_text, cli
    from companion.policy import PolicyEngine, load_policy
    from companion.policy.in_force import InForce
    from companion.stores.discovery import StoreInfo

    profile = _profile_whose_accounts_name_other_folders(tmp_path)
    result = CliRunner().invoke(cli, ["scan", str(profile)], catch_exceptions=False)
    assert "0 new messages read" in result.stdout
    assert f"error: {profile}: " in result.stderr and "no mail was read" in result.stderr

    database = isolated_home / "agent.db"
    Database(database).close()
    in_force = InForce(PolicyEngine(load_policy()), None, installed=False)
    watcher = Watcher(database, [StoreInfo(profile, "thunderbird-profile", True)], lambda: in_force)
    watcher.start()
    watcher.rescan()  # what the agent does at start
    try:

        def with_an_error():
            stores = watcher.stores_state()
            return stores if stores[0]["last_error"] else None

        stores = wait_until("the profile's error in the agent's status", with_an_error)
    finally:
        watcher.stop()
    assert "no mail was read" in stores[0]["last_error"]
    shown = _status_text({"stores": stores}, "en")
    assert str(profile) in shown and "no mail was read" in shown


def test_an_empty_profile_is_not_an_error(tmp_path, db, engine):
    profile = tmp_path / "new.default"
    (profile / "Mail" / "Local Folders").mkdir(parents=True)
    (profile / "Mail" / "Local Folders" / "Trash").touch()  # Thunderbird's empty folders
    write_prefs(
        profile, {"mail.server.server1.type": "none", "mail.server.server1.hostname": "Local Folders"}
    )
    totals = scan_paths(db, engine, [profile])
    assert (totals.messages, totals.errors) == (0, 0)
