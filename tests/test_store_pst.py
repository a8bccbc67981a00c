"""Outlook data files (.pst/.ost) through the PstFile adapter, on the real shared samples; and
discovery of Outlook's default data folders."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from companion.policy import PolicyEngine, load_policy
from companion.records import Database
from companion.scan import scan_paths
from companion.stores import pst as pst_module
from companion.stores.base import Item
from companion.stores.outlook import discover_outlook_stores, outlook_identities_from_pst
from companion.stores.pst import (
    PT_BINARY,
    PT_LONG,
    PT_STRING8,
    Props,
    PstFile,
    body,
    heap_properties,
    is_mail_class,
    open_pst,
    rtf_text,
    special_folders,
)
from tests.conftest import outlook_samples

# Mail items per sample file (contacts, appointments, posts, free/busy data are not mail).
MAIL_COUNTS = {
    "java-libpst/dist-list.pst": 0,
    "java-libpst/passworded.pst": 0,
    "pstsdk/sample1.pst": 1,
    "pstsdk/sample2.pst": 1,
    "pstsdk/submessage.pst": 1,
    "pstsdk/test_ansi.pst": 0,
    "pstsdk/test_unicode.pst": 0,
    "ruby-msg/200_recipients.pst": 1,
    "ruby-msg/attachAndInline.pst": 1,
    "ruby-msg/msgInMsg.pst": 1,
    "tika/testPST.pst": 7,
    "tika/testPST_variousBodyTypes.pst": 4,
}

TOP = "Début du fichier de données Outlook"  # testPST.pst was written by a French Outlook
# testPST.pst, in folder order: (item id, subject, sender, recipients (all To), Message-ID).
TEST_PST_MAILS = [
    (
        "2097188",
        "Re: Feature Generators",
        ("Jörn Kottmann", "kottmann@gmail.com"),
        ["users@opennlp.apache.org"],
        "530D9CAC.5080901@gmail.com",
    ),
    (
        "2097220",
        'Re: init tokenizer fails: "Bad type in putfield/putstatic"',
        ("Barry Olddog", "oldcanine@yahoo.com"),
        ["kottmann@gmail.com", "users@opennlp.apache.org"],
        "1393363252.28814.YahooMailNeo@web140906.mail.bf1.yahoo.com",
    ),
    (
        "2097252",
        "Feature Generators",
        ("Kenig Ma", "kenigma1122@gmail.com"),
        ["users@opennlp.apache.org"],
        "CAJ+FrY6C_Hp_b-Pzx2VqUqnonx9Dei8kcXDV7j1wPT99mNKsuA@mail.gmail.com",
    ),
    (
        "2097284",
        "[jira] [Resolved] (TIKA-1249) Vcard files detection",
        ("Nick Burch (JIRA)", "jira@apache.org"),
        ["dev@tika.apache.org"],
        "JIRA.12697327.1393405059550.107997.1393417219950@arcas",
    ),
    (
        "2097316",
        "[jira] [Commented] (TIKA-1250) Process loops infintely processing a CHM file",
        ("Gary Murphy (JIRA)", "jira@apache.org"),
        ["dev@tika.apache.org"],
        "JIRA.12697352.1393416577650.107951.1393416740976@arcas",
    ),
    (
        "2097348",
        '[WEBINAR] - "Introducing Couchbase Server 2.5"',
        ("Couchbase", "couchbase@couchbase.com"),
        ["hong-thai.nguyen@polyspot.com"],
        "343897812.110224025.1393276474157.JavaMail.root@abmas02.marketo.org",
    ),
    # Forwarded inside Exchange: the sender has only an Exchange DN, so no address.
    (
        "2097380",
        "FW: First email",
        ("Luis Filipe da Cruz Nassif", ""),
        ["lfcnassif@gmail.com"],
        "2915856a7d3449e68529f3e61b8d26bc@pf.gov.br",
    ),
]


class Fresh:
    """A StoreState that has seen nothing (or the given items and checkpoints)."""

    def __init__(self, checkpoints: dict[str, dict] | None = None, seen: set[str] = frozenset()) -> None:
        self.checkpoints = checkpoints or {}
        self.seen = seen

    def checkpoint(self, source: str) -> dict | None:
        return self.checkpoints.get(source)

    def has_item(self, source: str, item_id: str) -> bool:
        return item_id in self.seen


def sample(name: str) -> Path:
    path = outlook_samples() / name
    assert path.is_file(), f"missing sample {path}"
    return path


def read(path: Path, state: Any = None) -> list[Item]:
    return list(PstFile(path).items(state or Fresh()))


def mails(path: Path) -> list:
    return [item.message for item in read(path) if item.message is not None]


# -- every sample --------------------------------------------------------------------------------


@pytest.mark.outlook_samples
@pytest.mark.parametrize("name", sorted(MAIL_COUNTS))
def test_every_sample_reads_without_errors(name):
    items = read(sample(name))
    assert [i.error for i in items if i.error] == []
    assert len([i for i in items if i.message]) == MAIL_COUNTS[name]
    final = items[-1]
    assert final.checkpoint is not None and final.checkpoint[1]["messages"] == MAIL_COUNTS[name]


@pytest.mark.outlook_samples
def test_all_samples_are_listed():
    found = {str(p.relative_to(outlook_samples())) for p in outlook_samples().rglob("*.pst")}
    assert found == set(MAIL_COUNTS)


# -- testPST.pst: real received mail ---------------------------------------------------------------


@pytest.mark.outlook_samples
def test_testpst_mails_are_pinned():
    path = sample("tika/testPST.pst")
    got = mails(path)
    assert len(got) == len(TEST_PST_MAILS)
    for message, (item_id, subject, (name, address), to, message_id) in zip(got, TEST_PST_MAILS, strict=True):
        assert message.subject == subject
        assert (message.sender.name, message.sender.address) == (name, address)
        assert [a.address for a in message.to] == to
        assert message.cc == () and message.bcc == ()
        assert message.message_id == message_id
        assert message.body.strip()
        assert "\r" not in message.body
        assert message.folder == TOP
        assert message.direction == "received"
        assert message.source == f"{path}#{TOP}/{item_id}"


@pytest.mark.outlook_samples
def test_testpst_details():
    got = mails(sample("tika/testPST.pst"))
    first = got[0]
    assert first.date == datetime(2014, 2, 26, 7, 50, 4, tzinfo=UTC)  # PidTagClientSubmitTime
    assert first.body.startswith("Hello,\n\nthe PreviousMapFeatureGenerator remebers")
    assert first.quoted and first.is_quoted(first.quoted[0].start, first.quoted[0].end)  # the replied-to mail
    assert got[5].to[0].name == "Hong-Thai Nguyen"  # Exchange recipient: SMTP address from PidTagSmtpAddress
    forwarded = got[6]
    assert "sender: no SMTP address (Exchange address only)" in forwarded.defects
    assert forwarded.body == "Forwarding mail…"
    (attachment,) = forwarded.attachments
    assert attachment.name == "First email.msg"
    assert attachment.content_type == "application/vnd.ms-outlook"
    assert attachment.text == "First email\n\nDocx file attached."


@pytest.mark.outlook_samples
def test_exchange_senders_give_smtp_addresses_never_distinguished_names():
    got = mails(sample("tika/testPST_variousBodyTypes.pst"))
    assert [m.subject for m in got] == ["original email"] + ["FW: original email"] * 3
    for message in got:
        addresses = [message.sender.address] + [a.address for a in message.recipients]
        assert addresses == ["tallison@mitre.org", "tallison@mitre.org"]
        assert message.sender.name == "Allison, Timothy B."
        assert message.folder == "Top of Outlook data file/Inbox/tmp"
        assert message.message_id.endswith("@MWHPR09MB1391.namprd09.prod.outlook.com")
    assert got[0].body == "This is the original email (html)"  # plain body preferred to the HTML one
    assert got[2].body.startswith("From: Allison, Timothy B. \nSent: Wednesday, August 30, 2017")  # RTF mail
    for path in outlook_samples().rglob("*.pst"):
        for message in mails(path):
            for address in [message.sender] + list(message.recipients):
                assert address is None or "/o=" not in address.address.lower()


SAMPLE_MESSAGE_ID = "B2FDDB8BE384C94794441DB4A7F3D8B804AE624B@TK5EX14MBXC114.redmond.corp.microsoft.com"


@pytest.mark.outlook_samples
def test_unicode_and_ansi_samples_read_the_same_mail():
    (unicode_mail,) = mails(sample("pstsdk/sample1.pst"))
    (ansi_mail,) = mails(sample("pstsdk/sample2.pst"))
    for message in (unicode_mail, ansi_mail):
        assert message.subject == "Here is a sample message"
        assert message.sender.address == "terrymah@microsoft.com"
        assert [a.address for a in message.to] == ["terrymah@microsoft.com"]
        assert message.message_id == SAMPLE_MESSAGE_ID
        (attachment,) = message.attachments
        assert (attachment.name, attachment.content_type, attachment.size) == (
            "leah_thumper.jpg",
            "image/jpeg",
            93142,
        )
        assert attachment.text is None and attachment.error is None
    assert unicode_mail.body == "With a sample attachment. It’s my daughter and our puppy. Aren’t they cute?"
    assert ansi_mail.body == "With a sample attachment. It's my daughter and our puppy. Aren't they cute?"
    assert ansi_mail.defects == ()


@pytest.mark.outlook_samples
def test_200_recipients():
    (message,) = mails(sample("ruby-msg/200_recipients.pst"))
    assert message.subject == "200 recipients"
    assert [a.address for a in message.to] == [f"xmailuser{i}@xmailserver.test" for i in range(1, 201)]
    assert message.sender is None  # an unsent draft-like item: no sender properties at all


@pytest.mark.outlook_samples
def test_embedded_messages_give_attachment_text():
    (outer,) = mails(sample("pstsdk/submessage.pst"))
    assert outer.body == "This is the body of the regular message"
    (embedded,) = outer.attachments
    assert embedded.name == "This is an embedded message.msg"
    assert embedded.text == "This is an embedded message\n\nThis is the body of an embedded message"

    (outer,) = mails(sample("ruby-msg/msgInMsg.pst"))
    embedded, image = outer.attachments
    assert embedded.name == "Microsoft Outlook テスト メッセージ.msg"
    assert embedded.text.startswith("Microsoft Outlook テスト メッセージ\n\nこの電子メール メッセージは")
    assert (image.name, image.content_type, image.size, image.text) == ("green.png", "image/png", 134, None)


@pytest.mark.outlook_samples
def test_attachments_and_inline_images():
    (message,) = mails(sample("ruby-msg/attachAndInline.pst"))
    assert message.folder == "Outlook データ ファイルのトップ"
    assert [(a.name, a.size) for a in message.attachments] == [("attach.png", 1558), ("image001.png", 809)]


@pytest.mark.outlook_samples
def test_no_mail_files_and_a_passworded_file():
    for name in ("java-libpst/dist-list.pst", "pstsdk/test_ansi.pst", "pstsdk/test_unicode.pst"):
        items = read(sample(name))
        assert [i for i in items if i.message or i.error] == []
        assert len(items) == 1 and items[0].checkpoint is not None
    pst = open_pst(sample("java-libpst/passworded.pst"))  # password-protected, opens without it
    try:
        assert pst.root_folder.number_of_sub_folders > 0
    finally:
        pst.close()


# -- properties, bodies, classes -----------------------------------------------------------------


def test_mail_classes():
    for mail in ("IPM.Note", "ipm.note", "IPM.Note.SMIME", "IPM.Note.SMIME.MultipartSigned"):
        assert is_mail_class(mail)
    for other in (
        "IPM.Contact",
        "IPM.Appointment",
        "IPM.StickyNote",
        "IPM.DistList",
        "IPM.Activity",
        "IPM.Task",
        "IPM.Post",
        "REPORT.IPM.Note.NDR",
        "IPM.Schedule.Meeting.Request",
        "IPM.Notebook",
        "",
    ):
        assert not is_mail_class(other)


def test_body_falls_back_to_html_then_rtf():
    html = Props({0x1013: (PT_BINARY, b"<p>Hello <b>there</b></p>")}.get)
    assert body(html).strip() == "Hello there"
    blank_plain = {0x1000: (0x001F, " \r\n".encode("utf-16-le")), 0x1013: (PT_BINARY, b"<p>From HTML</p>")}
    assert body(Props(blank_plain.get)).strip() == "From HTML"
    rtf_calls = []
    assert body(Props({}.get), lambda: rtf_calls.append(1)) == "" and rtf_calls == [1]
    plain = Props({0x1000: (0x001F, "Plain".encode("utf-16-le"))}.get)
    assert body(plain, lambda: rtf_calls.append(2)) == "Plain"
    assert rtf_calls == [1]  # RTF is not even fetched when a plain body exists


@pytest.mark.outlook_samples
def test_rtf_only_body_is_deencapsulated():
    pst = open_pst(sample("ruby-msg/msgInMsg.pst"))
    try:
        message = pst.root_folder.get_sub_folder(1).get_sub_message(0)
        assert rtf_text(message.rtf_body).strip() == "I have attachments!"
    finally:
        pst.close()


def test_ansi_strings_use_the_declared_code_page():
    chinese = "报价单".encode("gbk")
    values = {
        0x0037: (PT_STRING8, b"\x01\x01" + chinese + b"\x00"),
        0x3FFD: (PT_LONG, (936).to_bytes(4, "little")),
    }
    props = Props(values.get)
    assert pst_module.subject(props) == "报价单"
    assert props.defects == []


def test_heap_properties_rejects_other_data():
    with pytest.raises(ValueError):
        heap_properties(b"\x89PNG\r\n\x1a\n" + bytes(100))


# -- folders ---------------------------------------------------------------------------------------


@pytest.mark.outlook_samples
def test_special_folders_come_from_the_store_whatever_their_names():
    pst = open_pst(sample("java-libpst/dist-list.pst"))
    try:
        roles = special_folders(pst)
        names = {f.identifier: f.name for f in pst.root_folder.get_sub_folder(1).sub_folders}
    finally:
        pst.close()
    assert {names[nid]: role for nid, role in roles.items() if nid in names} == {
        "Sent Items": "sent",
        "Outbox": "outbox",
        "Deleted Items": "trash",
        "Drafts": "drafts",
    }
    # Deleted Items named "Éléments supprimés" and "削除済みアイテム"
    for localised in ("tika/testPST.pst", "ruby-msg/msgInMsg.pst"):
        pst = open_pst(sample(localised))
        try:
            assert special_folders(pst)[32866] == "trash"
        finally:
            pst.close()


@pytest.mark.outlook_samples
def test_mail_in_a_sent_folder_is_sent_and_gives_identities(monkeypatch, tmp_path):
    path = sample("tika/testPST.pst")
    assert outlook_identities_from_pst(path) == ()  # no Sent Items folder with mail in it
    top_is_sent = {32802: "sent"}  # pretend the top folder were the store's Sent Items
    monkeypatch.setattr(pst_module, "special_folders", lambda pst: top_is_sent)
    assert {m.direction for m in mails(path)} == {"sent"}
    assert outlook_identities_from_pst(path) == (
        "jira@apache.org",
        "couchbase@couchbase.com",
        "kenigma1122@gmail.com",
        "kottmann@gmail.com",
        "oldcanine@yahoo.com",
    )
    junk = tmp_path / "junk.pst"
    junk.write_bytes(b"!BDN" + bytes(1000))
    assert outlook_identities_from_pst(junk) == ()


# -- claims and damaged files ------------------------------------------------------------------------


@pytest.mark.outlook_samples
def test_claims(tmp_path):
    for name in MAIL_COUNTS:
        assert PstFile.claims(sample(name))
    ost = tmp_path / "cache.OST"
    shutil.copyfile(sample("pstsdk/sample1.pst"), ost)
    assert PstFile.claims(ost)
    assert not PstFile.claims(sample("tika/testMSG.msg"))
    renamed = tmp_path / "notes.pst"
    renamed.write_text("just some text\n")
    assert not PstFile.claims(renamed)
    other_suffix = tmp_path / "data.bak"
    shutil.copyfile(sample("pstsdk/sample1.pst"), other_suffix)
    assert not PstFile.claims(other_suffix)
    assert not PstFile.claims(tmp_path)
    assert not PstFile.claims(tmp_path / "missing.pst")


@pytest.mark.outlook_samples
def test_damaged_files_give_one_error_item(tmp_path):
    truncated = tmp_path / "truncated.pst"
    truncated.write_bytes(sample("tika/testPST.pst").read_bytes()[: 10 * 1024])
    noise = tmp_path / "noise.pst"
    noise.write_bytes(b"!BDN" + os.urandom(300_000))
    for path in (truncated, noise):
        assert PstFile.claims(path)
        items = read(path)
        assert len(items) == 1 and items[0].message is None and items[0].checkpoint is None
        assert str(items[0].error).startswith(
            f"cannot open the Outlook data file {path}: it is damaged or not a PST/OST file"
        )
    vanished = PstFile(tmp_path / "gone.pst")
    (item,) = list(vanished.items(Fresh()))
    assert str(item.error).startswith(f"cannot read {tmp_path / 'gone.pst'}: no such file")


@pytest.mark.outlook_samples
def test_one_bad_message_costs_only_that_message(monkeypatch):
    real = pst_module.convert_message

    def flaky(message, props, **kw):
        if message.identifier == 2097252:
            raise RuntimeError("damaged property block")
        return real(message, props, **kw)

    monkeypatch.setattr(pst_module, "convert_message", flaky)
    path = sample("tika/testPST.pst")
    items = read(path)
    errors = [i for i in items if i.error]
    assert len([i for i in items if i.message]) == 6
    assert [(e.source, str(e.error), e.item_id) for e in errors] == [
        (
            f"{path}#{TOP}/2097252",
            "unexpected error: RuntimeError: damaged property block",
            (str(path), "2097252"),
        )
    ]
    assert items[-1].checkpoint[1]["messages"] == 7


# -- incremental reading -----------------------------------------------------------------------------


@pytest.mark.outlook_samples
def test_unchanged_file_is_skipped_without_opening_it(monkeypatch, tmp_path):
    path = tmp_path / "copy.pst"
    shutil.copyfile(sample("tika/testPST.pst"), path)
    first = read(path)
    checkpoint = first[-1].checkpoint
    assert checkpoint[0] == str(path) and set(checkpoint[1]) == {"size", "mtime_ns", "messages"}
    monkeypatch.setattr(pst_module, "open_pst", lambda p: pytest.fail("an unchanged file was opened"))
    assert read(path, Fresh({str(path): checkpoint[1]})) == [Item(str(path), skipped=7)]


@pytest.mark.outlook_samples
def test_file_being_written_is_read_but_not_checkpointed(monkeypatch, tmp_path):
    path = tmp_path / "live.pst"
    shutil.copyfile(sample("tika/testPST.pst"), path)
    monkeypatch.setattr("companion.stores.base.QUIET_SECONDS", 3600.0)
    items = read(path)
    assert len([i for i in items if i.message]) == 7
    assert all(i.checkpoint is None for i in items)
    assert all(i.item_id == (str(path), i.source.rsplit("/", 1)[1]) for i in items)


@pytest.mark.outlook_samples
def test_rescans_read_nothing_twice(monkeypatch, tmp_path, isolated_home):
    path = tmp_path / "archive.pst"
    shutil.copyfile(sample("tika/testPST.pst"), path)
    db = Database(isolated_home / "scan.db")
    engine = PolicyEngine(load_policy())
    try:
        first = scan_paths(db, engine, [path])
        assert (first.messages, first.skipped, first.errors) == (7, 0, 0)
        assert db.count("messages") == 7

        parsed: list[int] = []
        real = pst_module.convert_message

        def spy(message, props, **kw):
            parsed.append(message.identifier)
            return real(message, props, **kw)

        monkeypatch.setattr(pst_module, "convert_message", spy)
        again = scan_paths(db, engine, [path])
        assert (again.messages, again.skipped, again.errors) == (0, 7, 0)

        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 10_000_000_000))  # Outlook touched it
        touched = scan_paths(db, engine, [path])
        assert (touched.messages, touched.skipped, touched.errors) == (0, 7, 0)
        assert parsed == []  # every item was recognised by its id, none parsed again
        assert db.checkpoint(str(path))["mtime_ns"] == path.stat().st_mtime_ns
    finally:
        db.close()


# -- discovery ---------------------------------------------------------------------------------------


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"!BDN")
    return path


def test_discover_outlook_stores_on_windows(tmp_path):
    local, profile = tmp_path / "AppData" / "Local", tmp_path / "Users" / "li"
    outlook = local / "Microsoft" / "Outlook"
    files = Path(profile / "Documents" / "Outlook Files")
    expected = [
        _touch(outlook / "li@corp.example.ost"),
        _touch(outlook / "Archive.PST"),
        _touch(files / "2019.pst"),
    ]
    _touch(outlook / "li@corp.example.nst")  # not a data file we read
    _touch(outlook / "Offline Address Books" / "x.pst")  # not searched below the folder
    _touch(files / "stray.ost")  # caches live only in LOCALAPPDATA
    (files / "folder.pst").mkdir()
    env = {"LOCALAPPDATA": str(local), "USERPROFILE": str(profile)}
    assert discover_outlook_stores(env=env, home=tmp_path / "elsewhere", platform="win32") == sorted(expected)
    assert discover_outlook_stores(env=env, home=tmp_path, platform="linux") == []
    assert discover_outlook_stores(env=env, home=tmp_path, platform="darwin") == []


def test_discover_outlook_stores_without_environment(tmp_path):
    home = tmp_path / "home"
    ost = _touch(home / "AppData" / "Local" / "Microsoft" / "Outlook" / "me.ost")
    pst = _touch(home / "Documents" / "Outlook Files" / "old.pst")
    assert discover_outlook_stores(env={}, home=home, platform="win32") == sorted([ost, pst])
    assert discover_outlook_stores(env={}, home=tmp_path / "nobody", platform="win32") == []


@pytest.mark.outlook_samples
def test_libpff_failing_mid_walk_keeps_what_was_read(monkeypatch):
    real = pst_module.walk_folders

    def breaks_after_the_top_folder(pst):
        for entry in real(pst):
            yield entry
            if entry[1] == TOP:
                raise OSError("libpff_folder_get_sub_folder: unable to retrieve sub folder")

    monkeypatch.setattr(pst_module, "walk_folders", breaks_after_the_top_folder)
    path = sample("tika/testPST.pst")
    items = read(path)
    assert len([i for i in items if i.message]) == 7
    assert [str(i.error) for i in items if i.error] == [
        f"reading the Outlook data file {path} stopped: libpff_folder_get_sub_folder: unable to retrieve sub folder"
    ]
    assert all(i.checkpoint is None for i in items)  # looked at again next time
