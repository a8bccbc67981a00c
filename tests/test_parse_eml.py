"""The .eml parser: headers, charsets, MIME shapes, malformed input, size."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from companion.errors import ParseError
from companion.message import Address, Span
from companion.parsing import html_to_text, parse_eml_bytes, parse_eml_file, parse_file
from companion.parsing.charset import decode_bytes
from tests import mailfactory as mf
from tests.conftest import outlook_samples

# ---------------------------------------------------------------- basic fields


def test_plain_message_fields() -> None:
    data = mf.message(
        mf.text_part("Hello Bob,\r\nprices attached.\r\n"),
        subject="Quarterly prices",
        sender="Alice Example <Alice@Example.COM>",
        to="Bob <bob@example.org>, carol@example.net",
        message_id="  <ABC-123@mail.example.com>  ",
        extra=[("Cc", "Dave <dave@example.org>"), ("Bcc", "eve@example.org")],
    )
    m = parse_eml_bytes(data, source="inbox/1.eml", direction="received", folder="Inbox", account="me")
    assert m.subject == "Quarterly prices"
    assert m.body == "Hello Bob,\nprices attached."
    assert m.sender == Address("alice@example.com", "Alice Example")
    assert m.to == (Address("bob@example.org", "Bob"), Address("carol@example.net", ""))
    assert m.cc == (Address("dave@example.org", "Dave"),)
    assert m.bcc == (Address("eve@example.org", ""),)
    assert m.date == datetime(2024, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert m.message_id == "ABC-123@mail.example.com"
    assert (m.source, m.direction, m.folder, m.account) == ("inbox/1.eml", "received", "Inbox", "me")
    assert m.attachments == () and m.defects == ()


def test_bad_date_is_none_with_defect_and_missing_date_is_silent() -> None:
    bad = parse_eml_bytes(mf.message(date="the day after tomorrow"))
    assert bad.date is None
    assert any("Date" in d and "the day after tomorrow" in d for d in bad.defects)
    missing = parse_eml_bytes(mf.message(date=None))
    assert missing.date is None and missing.defects == ()


def test_sender_header_used_when_from_missing() -> None:
    data = mf.message(sender="", extra=[("Sender", "Ops <ops@example.com>")])
    assert parse_eml_bytes(data).sender == Address("ops@example.com", "Ops")


def test_group_syntax_and_undisclosed_recipients_are_skipped() -> None:
    m = parse_eml_bytes(mf.message(to="undisclosed-recipients:;", extra=[("Cc", "Team: a@x.com, b@x.com;")]))
    assert m.to == ()
    assert [a.address for a in m.cc] == ["a@x.com", "b@x.com"]


def test_lf_line_endings_mbox_from_line_and_leading_blank_lines() -> None:
    lf = mf.message(mf.text_part("line one\nline two\n"), eol=b"\n")
    assert parse_eml_bytes(lf).body == "line one\nline two"
    mbox = b"From alice@example.com Mon Jan  1 10:00:00 2024\n" + lf
    assert parse_eml_bytes(mbox).subject == "Test message"
    assert parse_eml_bytes(b"\r\n\r\n" + lf).subject == "Test message"


def test_direction_is_validated() -> None:
    with pytest.raises(ValueError):
        parse_eml_bytes(mf.message(), direction="outbox")


# ---------------------------------------------------------------- charsets of bodies

CHINESE = "您好，附件是本季度的报价单，请查收。谢谢！"
TRADITIONAL = "您好，附件是本季度的報價單，請查收。謝謝！"
JAPANESE = "お世話になっております。見積書を添付いたします。"


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        (CHINESE, "gbk"),
        (CHINESE, "GB2312"),
        (CHINESE + "𠀀€", "gb18030"),
        (TRADITIONAL, "big5"),
        (JAPANESE, "shift_jis"),
        (JAPANESE, "iso-2022-jp"),
        ("Grüße aus München, déjà vu", "iso-8859-1"),
        ("Zażółć gęślą jaźń", "iso-8859-2"),
        ("Привет, как дела?", "koi8-r"),
        ("첨부 파일을 확인해 주세요", "euc-kr"),
    ],
)
def test_declared_charsets(text: str, charset: str) -> None:
    m = parse_eml_bytes(mf.message(mf.text_part(text, charset=charset)))
    assert m.body == text
    assert m.defects == ()


def test_gb2312_label_with_gbk_only_characters() -> None:
    # 镕 and 堃 are GBK, not GB2312: clients label GBK text "gb2312" all the time.
    text = "朱镕基 王堃 报价"
    m = parse_eml_bytes(mf.message(mf.text_part(text.encode("gbk"), charset="gb2312")))
    assert m.body == text and m.defects == ()


def test_big5_label_with_cp950_euro_sign() -> None:
    text = "價格 €100"
    m = parse_eml_bytes(mf.message(mf.text_part(text.encode("cp950"), charset="big5")))
    assert m.body == text


def test_shift_jis_label_with_cp932_characters() -> None:
    text = "①番 ㈱見積"  # NEC/IBM extensions only in cp932
    m = parse_eml_bytes(mf.message(mf.text_part(text.encode("cp932"), charset="shift_jis")))
    assert m.body == text


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_transfer_encodings(cte: str) -> None:
    text = CHINESE + "\r\n= equals sign and a long line " + "x" * 100 + "\r\n"
    m = parse_eml_bytes(mf.message(mf.text_part(text, charset="gbk", cte=cte)))
    assert m.body == text.replace("\r\n", "\n").strip("\n")
    assert m.defects == ()


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [
        (CHINESE, "gbk", "iso-8859-1"),
        (CHINESE, "gbk", "us-ascii"),
        (TRADITIONAL, "big5", "iso-8859-1"),
        (JAPANESE, "shift_jis", "iso-8859-1"),
        (CHINESE, "gbk", "utf-8"),
        (CHINESE, "gbk", None),
        (CHINESE, "utf-8", "gb2312"),
        (CHINESE, "utf-8", "x-no-such-charset"),
        (CHINESE + " Grüße", "utf-8", "iso-8859-1"),
    ],
)
def test_mislabelled_and_missing_charsets_are_detected(text: str, codec: str, label: str | None) -> None:
    m = parse_eml_bytes(mf.message(mf.text_part(text.encode(codec), charset=label)))
    assert m.body == text
    assert any(d.startswith("body: charset:") for d in m.defects), m.defects


def test_utf8_labelled_latin1_is_decoded_and_flagged() -> None:
    m = parse_eml_bytes(mf.message(mf.text_part("café".encode(), charset="iso-8859-1")))
    assert m.body == "café"
    assert any("UTF-8" in d for d in m.defects)


def test_unlabelled_western_text_is_cp1252_without_defect() -> None:
    m = parse_eml_bytes(mf.message(mf.text_part("Grüße – “quoted”".encode("cp1252"), charset=None)))
    assert m.body == "Grüße – “quoted”"
    assert m.defects == ()


def test_undecodable_bytes_never_raise() -> None:
    text, defect = decode_bytes(bytes(range(256)) * 4, "utf-8")
    assert "\ufffd" in text and defect and "utf-8" in defect


def test_decode_bytes_fast_paths_and_bom() -> None:
    assert decode_bytes(b"plain ascii", "gbk") == ("plain ascii", None)
    assert decode_bytes("中文".encode(), None) == ("中文", None)
    assert decode_bytes(b"", "utf-8") == ("", None)
    assert decode_bytes("\ufeff中文".encode("utf-16-le"), None) == ("中文", None)
    assert decode_bytes(b"\xef\xbb\xbfhi", "iso-8859-1") == ("hi", None)


def test_short_mislabelled_chinese_names() -> None:
    assert decode_bytes("张三".encode("gbk"), "iso-8859-1")[0] == "张三"
    assert decode_bytes("張毓倫".encode("big5"), None)[0] == "張毓倫"
    assert decode_bytes("山田太郎".encode("shift_jis"), None)[0] == "山田太郎"


# ---------------------------------------------------------------- headers


def test_rfc2047_headers_in_chinese_charsets() -> None:
    subject = mf.encoded_word("报价单", "gb2312") + " " + mf.encoded_word("第二版", "gbk", "Q")
    sender = mf.encoded_word("張毓倫", "big5") + " <Yulun@Example.TW>"
    to = (
        f'"{mf.encoded_word("李四", "utf-8")}" <li@example.cn>, {mf.encoded_word("王五", "gb18030")} <w@e.cn>'
    )
    m = parse_eml_bytes(mf.message(subject=subject, sender=sender, to=to))
    assert m.subject == "报价单第二版"  # whitespace between encoded-words is dropped
    assert m.sender == Address("yulun@example.tw", "張毓倫")
    assert m.to == (Address("li@example.cn", "李四"), Address("w@e.cn", "王五"))
    assert m.defects == ()


def test_rfc2047_multibyte_character_split_across_encoded_words() -> None:
    raw = "价格表".encode("gbk")
    import base64

    first = base64.b64encode(raw[:3]).decode()  # splits the second character in half
    second = base64.b64encode(raw[3:]).decode()
    m = parse_eml_bytes(mf.message(subject=f"=?GBK?B?{first}?=\r\n =?GBK?B?{second}?= (v2)"))
    assert m.subject == "价格表 (v2)"


def test_rfc2047_gb2312_label_with_gbk_characters_and_text_around() -> None:
    subject = "Re: " + mf.encoded_word("朱镕基", "gbk").replace("gbk", "gb2312") + " OK"
    assert parse_eml_bytes(mf.message(subject=subject)).subject == "Re: 朱镕基 OK"


def test_rfc2047_bad_base64_padding_is_tolerated() -> None:
    word = mf.encoded_word("报价", "utf-8").rstrip("?=").rstrip("=") + "?="
    assert parse_eml_bytes(mf.message(subject=word)).subject == "报价"


def test_raw_utf8_headers() -> None:
    data = mf.message(subject="季度报价 Q1".encode(), sender="张三 <zhang@example.cn>".encode())
    m = parse_eml_bytes(data)
    assert m.subject == "季度报价 Q1"
    assert m.sender == Address("zhang@example.cn", "张三")
    assert m.defects == ()


def test_raw_gbk_headers_use_body_charset_as_hint() -> None:
    data = mf.message(
        mf.text_part("正文内容", charset="gbk"),
        subject="季度报价".encode("gbk"),
        sender="张三 <zhang@example.cn>".encode("gbk"),
    )
    m = parse_eml_bytes(data)
    assert m.subject == "季度报价"
    assert m.sender == Address("zhang@example.cn", "张三")
    assert m.body == "正文内容"
    assert m.defects == ()


def test_raw_gbk_header_without_hint_is_guessed_with_defect() -> None:
    m = parse_eml_bytes(mf.message(subject="季度报价".encode("gbk")))
    assert m.subject == "季度报价"
    assert any(d.startswith("Subject: raw 8-bit") for d in m.defects)


def test_folded_headers_are_unfolded() -> None:
    m = parse_eml_bytes(mf.message(subject="A very long\r\n subject line", to="a@x.com,\r\n\tb@x.com"))
    assert m.subject == "A very long subject line"
    assert [a.address for a in m.to] == ["a@x.com", "b@x.com"]


# ---------------------------------------------------------------- MIME shapes


def test_nested_multipart_prefers_plain_and_keeps_all_attachments() -> None:
    html = mf.text_part("<p>HTML version</p>", subtype="html")
    related = mf.multipart("related", [html, mf.attachment("logo.png", b"\x89PNG....", "image/png")])
    alternative = mf.multipart("alternative", [mf.text_part("Plain version"), related])
    pdf = mf.attachment("quote.pdf", mf.pdf_bytes(["Total 1,000 USD"]), "application/pdf")
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", [alternative, pdf])))
    assert m.body == "Plain version"
    assert [(a.name, a.content_type, a.size) for a in m.attachments] == [
        ("logo.png", "image/png", 8),
        ("quote.pdf", "application/pdf", len(mf.pdf_bytes(["Total 1,000 USD"]))),
    ]
    assert m.attachments[0].text is None
    assert "Total 1,000 USD" in (m.attachments[1].text or "")
    assert m.defects == ()


def test_alternative_with_empty_plain_uses_html() -> None:
    alternative = mf.multipart(
        "alternative", [mf.text_part("  \r\n"), mf.text_part("<b>Real</b> text", subtype="html")]
    )
    assert parse_eml_bytes(mf.message(alternative)).body == "Real text"


def test_html_only_body_becomes_text_with_quotes() -> None:
    html = (
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<script>alert(1)</script><p>Thanks,&nbsp;see below.</p>"
        "<div>On Monday Bob wrote:</div><blockquote><p>Send the <i>prices</i></p>line two</blockquote>"
        "</body></html>"
    )
    m = parse_eml_bytes(mf.message(mf.text_part(html, subtype="html")))
    assert m.body == "Thanks, see below.\n\nOn Monday Bob wrote:\n\n> Send the prices\n>\n> line two"
    # The "wrote:" line starts the quoted history; the blockquote lines are within it.
    assert m.quoted == (Span(m.body.index("On Monday"), len(m.body)),)
    no_intro = parse_eml_bytes(
        mf.message(mf.text_part("<p>Yes.</p><blockquote>Prices?</blockquote>", subtype="html"))
    )
    assert no_intro.body == "Yes.\n\n> Prices?"
    assert no_intro.quoted == (Span(6, 15),)


def test_html_charset_from_meta_tag() -> None:
    html = '<html><head><meta charset="gbk"></head><body>报价单</body></html>'.encode("gbk")
    m = parse_eml_bytes(mf.message(mf.text_part(html, subtype="html", charset=None)))
    assert m.body == "报价单"


def test_multiple_inline_text_parts_are_concatenated() -> None:
    parts = [mf.text_part("First part"), mf.attachment("a.bin", b"\x00\x01"), mf.text_part("Second part")]
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", parts)))
    assert m.body == "First part\n\nSecond part"
    assert [a.name for a in m.attachments] == ["a.bin"]


def test_text_attachment_is_not_body() -> None:
    parts = [mf.text_part("Body"), mf.text_part("中文附件", charset="gbk", filename="notes.txt")]
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", parts)))
    assert m.body == "Body"
    assert m.attachments[0].name == "notes.txt"
    assert m.attachments[0].text == "中文附件"


def test_message_rfc822_attachment() -> None:
    inner = mf.message(
        mf.multipart(
            "mixed", [mf.text_part("Inner body text"), mf.attachment("inner.csv", b"sku,price\nA,1\n")]
        ),
        subject=mf.encoded_word("内部邮件", "gbk"),
    )
    m = parse_eml_bytes(
        mf.message(mf.multipart("mixed", [mf.text_part("See attached mail"), mf.rfc822(inner)]))
    )
    assert m.body == "See attached mail"
    (att,) = m.attachments
    assert att.name == "内部邮件.eml"
    assert att.content_type == "message/rfc822"
    assert att.size > 0
    assert att.text is not None
    assert att.text.startswith("内部邮件\n\nInner body text")
    assert "sku,price" in att.text


def test_message_rfc822_attachment_keeps_its_filename() -> None:
    part = mf.rfc822(mf.message(subject="x"), filename="forwarded.eml")
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", [mf.text_part("fwd"), part])))
    assert m.attachments[0].name == "forwarded.eml"


def test_base64_encoded_message_rfc822() -> None:
    inner = mf.message(subject="Encoded inner", body=mf.text_part("secret plan"))
    part = mf.Part(
        [("Content-Type", "message/rfc822"), ("Content-Transfer-Encoding", "base64")],
        mf.encode_body(inner, "base64"),
    )
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", [mf.text_part("x"), part])))
    assert "secret plan" in (m.attachments[0].text or "")


def test_office_and_pdf_attachments() -> None:
    docx = mf.docx_bytes(["Contract draft", "Payment in 30 days"], [["Item", "Price"], ["Steel", "500"]])
    xlsx = mf.xlsx_bytes({"Prices": [["SKU", "Price"], ["A-1", 9.5]]})
    pdf = mf.pdf_bytes(["Invoice 2024-001"])
    parts = [
        mf.text_part("Files"),
        mf.attachment("contract.docx", docx),
        mf.attachment("prices.xlsx", xlsx),
        mf.attachment("invoice.pdf", pdf, "application/pdf"),
    ]
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", parts)))
    texts = {a.name: a.text or "" for a in m.attachments}
    assert "Payment in 30 days" in texts["contract.docx"] and "Steel\t500" in texts["contract.docx"]
    assert "A-1\t9.5" in texts["prices.xlsx"]
    assert "Invoice 2024-001" in texts["invoice.pdf"]
    assert all(a.error is None for a in m.attachments)


def test_attachment_names_rfc2231_rfc2047_and_raw() -> None:
    parts = [
        mf.text_part("names"),
        mf.attachment("x", b"1", disposition_param="filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf"),
        mf.attachment("x", b"2", disposition_param=f'filename="{mf.encoded_word("合同.docx", "gb2312")}"'),
        mf.attachment("x", b"3", disposition_param=b'filename="' + "发票.xlsx".encode("gbk") + b'"'),
        mf.attachment("x", b"4", disposition_param="filename*0*=gbk''%B1%A8; filename*1*=%BC%DB.txt"),
        mf.attachment("x", b"5", disposition_param='filename="C:\\Users\\me\\plan.txt"'),
    ]
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", parts)))
    assert [a.name for a in m.attachments] == ["报价单.pdf", "合同.docx", "发票.xlsx", "报价.txt", "plan.txt"]


def test_unnamed_non_text_part_gets_a_name() -> None:
    part = mf.Part([("Content-Type", "image/png"), ("Content-Transfer-Encoding", "base64")], b"iVBORw0KGgo=")
    m = parse_eml_bytes(mf.message(mf.multipart("related", [mf.text_part("x"), part])))
    assert m.attachments[0].name == "part-1.png"
    assert m.attachments[0].size == 8


# ---------------------------------------------------------------- malformed input


def test_truncated_multipart_without_closing_boundary() -> None:
    parts = [mf.text_part("Body survives"), mf.attachment("a.txt", b"attachment survives", "text/plain")]
    m = parse_eml_bytes(mf.message(mf.multipart("mixed", parts, close=False)))
    assert m.body == "Body survives"
    assert m.attachments[0].text == "attachment survives"
    assert any("closing boundary" in d for d in m.defects)


def test_message_cut_in_the_middle_of_base64() -> None:
    full = mf.message(
        mf.multipart("mixed", [mf.text_part("Body"), mf.attachment("big.bin", bytes(range(256)) * 20)])
    )
    cut = full[: len(full) - 1000 - 3]  # somewhere inside the base64 text, mid-line
    m = parse_eml_bytes(cut)
    assert m.body == "Body"
    assert m.attachments[0].name == "big.bin"
    assert 0 < m.attachments[0].size < 256 * 20
    assert any("closing boundary" in d for d in m.defects)


def test_bad_base64_body_is_decoded_best_effort() -> None:
    good = mf.encode_body("报价单已发送".encode(), "base64").rstrip(b"\r\n")
    broken = good[:-2] + b"!!*\r\n"  # invalid characters and broken padding
    part = mf.Part(
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")], broken
    )
    m = parse_eml_bytes(mf.message(part))
    assert m.body.startswith("报价单已")
    assert any(d.startswith("base64") for d in m.defects)


def test_multipart_without_boundary_is_read_as_text() -> None:
    part = mf.Part([("Content-Type", "multipart/mixed")], b"just some text\r\n")
    m = parse_eml_bytes(mf.message(part))
    assert m.body == "just some text"
    assert any("boundary" in d for d in m.defects)


def test_boundary_never_found_keeps_text() -> None:
    part = mf.Part([("Content-Type", 'multipart/mixed; boundary="nope"')], b"text without parts\r\n")
    m = parse_eml_bytes(mf.message(part))
    assert "text without parts" in m.body
    assert any("boundary" in d for d in m.defects)


def test_deeply_nested_multipart_does_not_crash() -> None:
    part = mf.text_part("deep")
    for _ in range(60):
        part = mf.multipart("mixed", [part])
    m = parse_eml_bytes(mf.message(part))
    assert any("nested" in d for d in m.defects)


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n  \n"])
def test_empty_input_raises(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="is empty"):
        parse_eml_bytes(data)
    path = tmp_path / "empty.eml"
    path.write_bytes(data)
    with pytest.raises(ParseError, match=r"empty\.eml is empty"):
        parse_eml_file(path)


def test_binary_garbage_raises_clear_error() -> None:
    import random

    garbage = random.Random(7).randbytes(5000)
    with pytest.raises(ParseError, match="not an e-mail message: it has no headers"):
        parse_eml_bytes(garbage, source="junk.bin")


def test_text_without_headers_is_a_message_with_defect() -> None:
    m = parse_eml_bytes("这不是邮件，只是一段文字。\nSecond line.\n".encode())
    assert m.subject == "" and m.sender is None
    assert m.body.startswith("这不是邮件")
    assert any("headers" in d for d in m.defects)


def test_garbage_after_headers_does_not_crash() -> None:
    import random

    data = b"Subject: junk\r\nContent-Type: text/plain\r\n\r\n" + random.Random(3).randbytes(20000)
    m = parse_eml_bytes(data)
    assert m.subject == "junk"
    assert isinstance(m.body, str)


def test_missing_file_raises_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read"):
        parse_eml_file(tmp_path / "nope.eml")


def test_fifty_megabyte_body(tmp_path: Path) -> None:
    line = b"Line of an enormous log pasted into a mail, 0123456789 abcdefghij.\r\n"
    count = 50_000_000 // len(line) + 1
    path = tmp_path / "big.eml"
    path.write_bytes(mf.message(mf.Part([("Content-Type", "text/plain; charset=utf-8")], line * count)))
    start = time.perf_counter()
    m = parse_eml_file(path)
    elapsed = time.perf_counter() - start
    assert len(m.body) == (len(line) - 1) * count - 1  # CRLF -> LF, final newline stripped
    assert elapsed < 10, f"50 MB took {elapsed:.1f} s"


# ---------------------------------------------------------------- quoted text and files


def test_quoted_spans_are_set_on_the_body() -> None:
    body = "Agreed.\r\n\r\nOn Mon, 1 Jan 2024 at 10:00, Bob <b@x.com>\r\nwrote:\r\n> price is 5\r\n"
    m = parse_eml_bytes(mf.message(mf.text_part(body)))
    assert m.body == "Agreed.\n\nOn Mon, 1 Jan 2024 at 10:00, Bob <b@x.com>\nwrote:\n> price is 5"
    assert m.quoted == (Span(9, len(m.body)),)
    assert m.is_quoted(m.body.index("price"), m.body.index("price") + 5)


def test_parse_file_dispatches_by_extension_and_sniffing(tmp_path: Path) -> None:
    eml = tmp_path / "mail.eml"
    eml.write_bytes(mf.message(subject="by extension"))
    assert parse_file(eml, direction="received").direction == "received"
    unknown = tmp_path / "mail.dat"
    unknown.write_bytes(mf.message(subject="sniffed as eml"))
    assert parse_file(unknown).subject == "sniffed as eml"
    fake_ole = tmp_path / "broken.bin"
    fake_ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(ParseError, match="Outlook"):
        parse_file(fake_ole)


@pytest.mark.outlook_samples
def test_parse_file_sniffs_real_msg_without_extension(tmp_path: Path) -> None:
    sample = outlook_samples() / "tika" / "testMSG.msg"
    copy = tmp_path / "no-extension"
    shutil.copyfile(sample, copy)
    assert parse_file(copy).subject == "MIME registry use cases"


def test_html_to_text_structure() -> None:
    html = (
        "<div>a<br>b<br><br>c</div><table><tr><td>x</td><td>y</td></tr></table>"
        "<pre>  keep\n    spaces</pre><ul><li>one</li><li>two</li></ul><!-- hidden -->"
    )
    assert html_to_text(html) == "a\nb\n\nc\nx y\n\n  keep\n    spaces\n\none\ntwo"
    assert html_to_text("<blockquote>a<blockquote>b</blockquote></blockquote>") == "> a\n>\n> > b"


def test_delivery_status_report_keeps_status_as_text() -> None:
    status = mf.Part(
        [("Content-Type", "message/delivery-status")],
        b"Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; gone@example.org\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n",
    )
    report = mf.multipart("report", [mf.text_part("Delivery failed."), status])
    m = parse_eml_bytes(mf.message(report))
    assert m.body == "Delivery failed."
    (att,) = m.attachments
    assert att.content_type == "message/delivery-status"
    assert att.text is not None and "Final-Recipient: rfc822; gone@example.org" in att.text


def test_utf16_saved_eml_is_read() -> None:
    data = mf.message(mf.text_part("你好"), eol=b"\n").decode("utf-8")
    m = parse_eml_bytes(("\ufeff" + data).encode("utf-16-le"))
    assert m.subject == "Test message" and m.body == "你好"


def test_raw_8bit_message_id_and_date_do_not_leak_surrogates() -> None:
    m = parse_eml_bytes(
        mf.message(message_id="<ид@example.com>".encode(), date="Mon, 1 Jan 2024 10:00:00 +0800")
    )
    assert m.message_id == "ид@example.com"


@pytest.mark.parametrize(
    "label", ["ut\x00f8", "hex", "rot13", "undefined", "idna", "base64", "utf-16", "mbcs"]
)
def test_absurd_charset_labels_never_raise(label: str) -> None:
    text, defect = decode_bytes("中文 abc".encode(), label)
    assert text == "中文 abc" and defect is not None


def test_the_decision_key_of_a_sent_mail_is_read_from_x_mailwarden() -> None:
    head = b"From: li@corp.example\r\nTo: a@b.example\r\nSubject: Offer\r\n"
    stamped = parse_eml_bytes(
        head + b"X-Mailwarden: policy 2026.11.1; warn; justified;\r\n key=5f0c-9d2e\r\n\r\nHi"
    )
    assert stamped.decision_key == "5f0c-9d2e"  # folded over two lines, as long headers are
    assert parse_eml_bytes(head + b"X-Mailwarden: policy 2026.11.1; pass\r\n\r\nHi").decision_key == ""
    assert parse_eml_bytes(head + b"\r\nHi").decision_key == ""
