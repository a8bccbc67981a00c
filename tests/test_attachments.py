"""Text extraction from attachments: each kind, failures, size cap, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from companion.parsing import attachments
from companion.parsing.attachments import MAX_TEXT, attachment_kind, extract_text
from tests import mailfactory as mf

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "content_type", "kind"),
    [
        ("notes.TXT", "application/octet-stream", "text"),
        ("data.csv", "", "text"),
        ("server.log", "", "text"),
        ("readme.md", "", "text"),
        ("page.htm", "", "html"),
        ("page.html", "application/octet-stream", "html"),
        ("fwd.eml", "application/octet-stream", "eml"),
        ("noname", "message/rfc822", "eml"),
        ("contract.docx", "application/octet-stream", "docx"),
        ("prices.xlsx", "", "xlsx"),
        ("invoice.pdf", "application/octet-stream", "pdf"),
        ("noname", "application/pdf; name=x", "pdf"),
        ("noname", "text/plain; charset=gbk", "text"),
        ("photo.jpg", "image/jpeg", None),
        ("old.doc", "application/msword", None),
        ("archive.zip", "application/zip", None),
    ],
)
def test_kind_by_extension_then_type(name: str, content_type: str, kind: str | None) -> None:
    assert attachment_kind(name, content_type) == kind


def test_not_text_like_gives_nothing() -> None:
    assert extract_text("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0") == (None, None)


@pytest.mark.parametrize(
    ("content_type", "data", "expected"),
    [
        ("text/plain; charset=utf-8", "价格 100".encode(), "价格 100"),
        ("text/plain; charset=gbk", "价格 100".encode("gbk"), "价格 100"),
        ('text/csv; charset="big5"', "價格,100".encode("big5"), "價格,100"),
        ("application/octet-stream", "价格表，单价".encode("gbk"), "价格表，单价"),  # no charset: detected
        ("text/plain; charset=iso-8859-1", "Prix: 5 €".encode(), "Prix: 5 €"),
    ],
)
def test_text_files(content_type: str, data: bytes, expected: str) -> None:
    assert extract_text("file.txt", content_type, data) == (expected, None)


def test_html_file_with_meta_charset() -> None:
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><style>x</style>'
    html += "</head><body><p>报价</p><blockquote>旧</blockquote></body></html>"
    assert extract_text("page.html", "text/html", html.encode("gbk")) == ("报价\n\n> 旧", None)


def test_nested_eml_attachment() -> None:
    inner = mf.message(
        mf.multipart("mixed", [mf.text_part("inner body"), mf.attachment("list.csv", b"a,b\n1,2\n")]),
        subject="Inner subject",
    )
    text, error = extract_text("fwd.eml", "application/octet-stream", inner)
    assert error is None
    assert text == "Inner subject\n\ninner body\n\n[list.csv]\na,b\n1,2\n"


def test_nested_eml_too_deep_is_refused() -> None:
    text, error = extract_text("fwd.eml", "message/rfc822", mf.message(), depth=attachments.MAX_DEPTH)
    assert text is None and error is not None and "nested" in error


def test_empty_eml_attachment_is_an_error() -> None:
    assert extract_text("fwd.eml", "message/rfc822", b"") == (None, "attached e-mail is empty")


def test_docx_paragraphs_and_tables() -> None:
    data = mf.docx_bytes(["第一段 First", "Second paragraph"], [["品名", "单价"], ["钢材", "500"]])
    text, error = extract_text("c.docx", "application/octet-stream", data)
    assert error is None
    assert text == "第一段 First\nSecond paragraph\n品名\t单价\n钢材\t500"


def test_xlsx_rows_tab_separated_per_sheet() -> None:
    data = mf.xlsx_bytes(
        {"Prices": [["SKU", "Price"], ["A-1", 9.5], [None, None], ["B-2", None]], "Notes": [["ok"]]}
    )
    text, error = extract_text("p.xlsx", "", data)
    assert error is None
    assert text == "[Prices]\nSKU\tPrice\nA-1\t9.5\nB-2\n[Notes]\nok"


def test_xlsx_formulas_give_cached_values_not_formulas() -> None:
    data = mf.xlsx_bytes({"S": [["=1+1"]]})
    text, _ = extract_text("p.xlsx", "", data)
    assert "=1+1" not in (text or "")  # data_only: openpyxl-written files have no cached value


def test_pdf_text() -> None:
    data = mf.pdf_bytes(["Invoice No. 2024-001", "Total (USD) 1,500"])
    text, error = extract_text("i.pdf", "application/pdf", data)
    assert error is None
    assert text is not None
    assert "Invoice No. 2024-001" in text and "Total (USD) 1,500" in text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("c.docx", b"this is not a zip", "not a valid .docx file"),
        ("p.xlsx", b"PK\x03\x04 broken zip", "not a valid .xlsx file"),
        ("i.pdf", b"%PDF-1.4\nnothing else", "cannot read PDF"),
        ("i.pdf", b"", "PDF is empty"),
        ("c.docx", mf.xlsx_bytes({"S": [["x"]]}), "cannot read Word document"),
    ],
)
def test_broken_documents_give_a_reason_not_an_exception(name: str, data: bytes, reason: str) -> None:
    text, error = extract_text(name, "application/octet-stream", data)
    assert text is None
    assert error is not None and reason in error


def test_text_is_capped() -> None:
    data = b"x" * (MAX_TEXT + 5000)
    text, error = extract_text("big.txt", "text/plain", data)
    assert error is None and text is not None and len(text) == MAX_TEXT


def test_xlsx_reading_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_TEXT", 50)
    data = mf.xlsx_bytes({"S": [[f"row {i}", "value"] for i in range(200)]})
    text, _ = extract_text("p.xlsx", "", data)
    assert text is not None and len(text) == 50 and text.startswith("[S]\nrow 0\tvalue")


def test_empty_text_file_is_empty_text() -> None:
    assert extract_text("e.txt", "text/plain", b"") == ("", None)


def test_heavy_libraries_are_imported_lazily() -> None:
    code = (
        "import sys, companion.parsing\n"
        "heavy = ['docx', 'openpyxl', 'pypdf', 'extract_msg', 'charset_normalizer', 'bs4']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
