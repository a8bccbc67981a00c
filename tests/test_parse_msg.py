"""Outlook .msg parsing against the real sample files in ../shared/samples (never copied into the repo)."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from companion.errors import NotAMailError, ParseError
from companion.message import Address
from companion.parsing import parse_file, parse_msg_file
from tests.conftest import SAMPLES as SHARED_SAMPLES

REPO = Path(__file__).resolve().parents[1]
SAMPLES = SHARED_SAMPLES / "outlook"


# Every .msg sample: mail ones with their subject and sender address (None: no SMTP address stored),
# non-mail ones with the message class the error must name.
MAILS = {
    "tika/testMSG.msg": ("MIME registry use cases", "jukka.zitting@gmail.com"),
    "tika/testMSG_chinese.msg": ("Alfresco MSG format testing ( MSG 格式測試 )", None),
    "tika/test-outlook.msg": ("Microsoft Outlook Express 6", "msoe@microsoft.com"),
    "tika/test-outlook2003.msg": ("Welcome to Microsoft Office Outlook 2003", "olteam@microsoft.com"),
    "tika/testMSG_att_msg.msg": ("test email", "nick.booth@pof.com.au"),
    "tika/testMSG_forwarded.msg": ("FW: Testing", "paul@metajure.com"),
    "ruby-msg/qwerty_1-orig.msg": ("qwerty", None),
    "ruby-msg/qwerty_2-with_custom_properties.msg": ("qwerty", None),
    "ruby-msg/qwerty_3.msg": ("qwerty", None),
}
NOT_MAIL = {
    "ruby-msg/contact-plain.msg": "IPM.Contact",
    "ruby-msg/contact-unicode.msg": "IPM.Contact",
    "ruby-msg/Swetlana_Novikova.msg": "IPM.Contact",
    "ruby-msg/note.msg": "IPM.StickyNote",
    "ruby-msg/test_Blammo.msg": "IPM.Post",
}


@pytest.mark.outlook_samples
def test_every_sample_is_listed() -> None:
    found = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.msg")}
    assert found == set(MAILS) | set(NOT_MAIL)


@pytest.mark.outlook_samples
@pytest.mark.parametrize("name", sorted(MAILS))
def test_mail_samples(name: str) -> None:
    subject, sender = MAILS[name]
    m = parse_msg_file(SAMPLES / name, direction="received", folder="Inbox", account="me")
    assert m.subject == subject
    assert (m.sender.address if m.sender and m.sender.address else None) == sender
    assert m.body.strip()
    assert "\r" not in m.body and "\x00" not in m.body and "\x00" not in m.subject
    assert m.source == str(SAMPLES / name)
    assert (m.direction, m.folder, m.account) == ("received", "Inbox", "me")


@pytest.mark.outlook_samples
@pytest.mark.parametrize("name", sorted(NOT_MAIL))
def test_non_mail_samples_raise_not_a_mail(name: str) -> None:
    with pytest.raises(NotAMailError) as info:
        parse_msg_file(SAMPLES / name)
    assert NOT_MAIL[name] in str(info.value)
    assert name.rsplit("/", 1)[-1] in str(info.value)


@pytest.mark.outlook_samples
def test_chinese_ansi_msg_honours_code_page_950() -> None:
    m = parse_msg_file(SAMPLES / "tika/testMSG_chinese.msg")
    assert m.subject == "Alfresco MSG format testing ( MSG 格式測試 )"
    assert m.sender is not None and "張毓倫" in m.sender.name
    assert m.body.startswith("Alfresco MSG format testing ( MSG 格式測試 ) 中文測試")
    assert "恭喜 HQ 保全課" in m.body
    assert m.to == (Address("tests.chang@fengttt.com", "Tests Chang@FT (張毓倫)"),)
    assert m.message_id == "EBB9951D34EA4B41B70AB946CF3FB6EC1A297D98@ftm02.FT.FTG.COM"
    assert any("Exchange" in d for d in m.defects)  # the sender only has an /O=... address
    # The reply history below "-----Original Message-----" is quoted.
    start = m.body.index("-----Original Message-----")
    assert m.is_quoted(start, len(m.body)) and not m.is_quoted(0, 10)


@pytest.mark.outlook_samples
def test_recipient_kinds() -> None:
    m = parse_msg_file(SAMPLES / "ruby-msg/qwerty_2-with_custom_properties.msg")
    assert m.to == (Address("", "asdf"),)
    assert m.cc == (Address("johnno@nowhere.com", "Johnathan"),)
    assert m.bcc == (Address("charles.lowe@freehills.com", "Lowe, Charles"),)
    assert m.message_id == "CEB3518C2FA4D743BF752C106451B19E14944E@sydexmail1.freehills.com.au"


@pytest.mark.outlook_samples
def test_smtp_sender_from_transport_headers_instead_of_exchange_address() -> None:
    m = parse_msg_file(SAMPLES / "tika/testMSG_forwarded.msg")
    assert m.sender == Address("paul@metajure.com", "Paul Allan Hill")
    assert m.date is not None and m.date.isoformat() == "2011-12-08T00:30:39+00:00"
    # Outlook's From:/Sent: block starts the forwarded history.
    assert m.quoted and m.body[m.quoted[0].start :].startswith("From: Paul Allan Hill")


@pytest.mark.outlook_samples
def test_embedded_msg_and_pdf_attachments() -> None:
    m = parse_msg_file(SAMPLES / "tika/testMSG_att_msg.msg")
    names = [a.name for a in m.attachments]
    assert names == ["Test Attachment.msg", "smbprn.00009008.KdcPjl.pdf"]
    embedded, pdf = m.attachments
    assert embedded.text is not None and embedded.text.startswith("Test Attachment\n\nBlah blah blah")
    assert pdf.content_type == "application/pdf"
    assert pdf.size == 13539
    assert pdf.error is None and pdf.text and "Nick Booth" in pdf.text


@pytest.mark.outlook_samples
def test_image_attachments_have_names_and_sizes_but_no_text() -> None:
    m = parse_msg_file(SAMPLES / "tika/test-outlook2003.msg")
    assert len(m.attachments) == 11
    assert all(a.name.endswith(".jpg") and a.size > 0 and a.text is None for a in m.attachments)
    assert m.attachments[0].content_type == "image/jpeg"


@pytest.mark.outlook_samples
def test_french_ansi_body() -> None:
    m = parse_msg_file(SAMPLES / "tika/test-outlook.msg")
    assert "La réponse à vos attentes" in m.body
    assert m.sender == Address("msoe@microsoft.com", "L'Équipe Microsoft Outlook Express")
    assert isinstance(m.date, datetime)


@pytest.mark.outlook_samples
def test_parse_file_dispatches_msg_by_extension() -> None:
    assert parse_file(SAMPLES / "tika/testMSG.msg").message_id.startswith("510143ac0901291116")


def test_not_an_ole_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.msg"
    path.write_bytes(b"From: a@b.c\r\n\r\nthis is an eml named .msg")
    with pytest.raises(ParseError, match="not an Outlook .msg file"):
        parse_msg_file(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.msg"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="is empty"):
        parse_msg_file(empty)
    with pytest.raises(ParseError, match="cannot read"):
        parse_msg_file(tmp_path / "missing.msg")


@pytest.mark.outlook_samples
def test_truncated_ole_file(tmp_path: Path) -> None:
    data = (SAMPLES / "tika/testMSG.msg").read_bytes()
    path = tmp_path / "cut.msg"
    path.write_bytes(data[:1500])
    with pytest.raises(ParseError) as info:
        parse_msg_file(path)
    assert "cut.msg" in str(info.value)


@pytest.mark.outlook_samples
def test_ole_file_that_is_not_an_outlook_item(tmp_path: Path) -> None:
    # An OLE2 file without a message class (as a Word 97 document would be): blank PidTagMessageClass.
    path = _corrupt_stream(tmp_path, "tika/testMSG.msg", "__substg1.0_001A001E", b"\x00")
    with pytest.raises(ParseError, match="no message class"):
        parse_msg_file(path)


@pytest.mark.outlook_samples
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count open files")
def test_files_are_closed() -> None:
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    parse_msg_file(SAMPLES / "tika/testMSG_att_msg.msg")  # warm up lazy imports
    before = open_files()
    for _ in range(5):
        parse_msg_file(SAMPLES / "tika/testMSG_att_msg.msg")
        with pytest.raises(NotAMailError):
            parse_msg_file(SAMPLES / "ruby-msg/note.msg")
    assert open_files() == before


def _corrupt_stream(tmp_path: Path, sample: str, stream: str, fill: bytes) -> Path:
    """A copy of `sample` (in tmp_path) with `stream` overwritten by `fill` bytes of the same length."""
    import olefile

    path = tmp_path / Path(sample).name
    shutil.copyfile(SAMPLES / sample, path)
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        size = len(ole.openstream(stream).read())
        ole.write_stream(stream, (fill * size)[:size])
    return path


@pytest.mark.outlook_samples
def test_bytes_invalid_in_the_code_page_do_not_raise(tmp_path: Path) -> None:
    # extract-msg decodes strictly and would raise UnicodeDecodeError on this recipient name.
    path = _corrupt_stream(
        tmp_path, "tika/testMSG_chinese.msg", "__recip_version1.0_#00000000/__substg1.0_3001001E", b"\xff"
    )
    m = parse_msg_file(path)
    assert m.to[0].address == "tests.chang@fengttt.com"
    assert "\ufffd" in m.to[0].name
    assert m.subject == "Alfresco MSG format testing ( MSG 格式測試 )"


def test_the_decision_key_of_outlooks_sent_copy_is_read_from_the_named_property() -> None:
    """The add-in sets X-Mailwarden as a named property of PS_INTERNET_HEADERS (Outlook makes it a
    header when it sends); the copy kept in Sent Items has the property, not the header. No tool
    writes .msg files with named properties here, so the reading is shown on a stand-in."""
    from companion.parsing.msg import PS_INTERNET_HEADERS, _stamped_header

    class Sent:
        def __init__(self, props: dict) -> None:
            self.props = props

        def getNamedProp(self, name: str, guid: str):  # noqa: N802 - extract_msg's name
            return self.props.get((name, guid))

    value = "policy 2026.11.1; pass; key=5f0c-1"
    assert _stamped_header(Sent({("X-Mailwarden", PS_INTERNET_HEADERS): value}), None) == value
    utf16 = ("x-mailwarden", PS_INTERNET_HEADERS)
    assert _stamped_header(Sent({utf16: value.encode("utf-16-le") + b"\x00\x00"}), None) == value
    assert _stamped_header(Sent({}), None) == ""


@pytest.mark.outlook_samples
def test_real_mail_without_the_header_has_no_decision_key() -> None:
    for name in MAILS:  # neither the named property nor the header: no key is made up
        assert parse_msg_file(SAMPLES / name).decision_key == ""
