"""Build raw mail bytes (and small Office/PDF documents) in code, for parser tests.

Everything is assembled by hand from bytes, so tests control exactly what is on the wire: wrong charset
labels, raw 8-bit headers, missing boundaries, broken base64.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CRLF = b"\r\n"

Header = tuple[str, str | bytes]

_BOUNDARY_SERIAL = itertools.count(1)  # nested multiparts need distinct boundaries


@dataclass
class Part:
    """One MIME entity: its headers and its already transfer-encoded body."""

    headers: list[Header] = field(default_factory=list)
    body: bytes = b""

    def to_bytes(self, eol: bytes = CRLF) -> bytes:
        lines = [_header_line(name, value) for name, value in self.headers]
        return eol.join(lines) + eol + eol + self.body


def _header_line(name: str, value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode("ascii")
    return name.encode("ascii") + b": " + raw


def encode_body(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        text = base64.encodebytes(data)  # 76-character lines
        return text.replace(b"\n", CRLF)
    if cte == "quoted-printable":
        return binascii.b2a_qp(data.replace(b"\r\n", b"\n")).replace(b"\n", CRLF)
    return data


def encoded_word(text: str, charset: str, encoding: str = "B") -> str:
    """An RFC 2047 encoded-word for `text` in `charset`."""
    raw = text.encode(charset)
    if encoding.upper() == "B":
        payload = base64.b64encode(raw).decode("ascii")
    else:
        payload = "".join(
            chr(b)
            if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122)
            else ("_" if b == 32 else f"={b:02X}")
            for b in raw
        )
    return f"=?{charset}?{encoding}?{payload}?="


def text_part(
    text: str | bytes,
    *,
    charset: str | None = "utf-8",
    cte: str = "8bit",
    subtype: str = "plain",
    filename: str | None = None,
    disposition: str | None = None,
) -> Part:
    """A text/* part. `text` as str is encoded with `charset`; as bytes it is used as is (for lies)."""
    data = text if isinstance(text, bytes) else text.encode(charset or "ascii")
    ctype = f"text/{subtype}" + (f'; charset="{charset}"' if charset else "")
    headers: list[Header] = [("Content-Type", ctype), ("Content-Transfer-Encoding", cte)]
    if disposition or filename:
        value = disposition or "attachment"
        if filename:
            value += f'; filename="{filename}"'
        headers.append(("Content-Disposition", value))
    return Part(headers, encode_body(data, cte))


def attachment(
    name: str | bytes,
    data: bytes,
    content_type: str = "application/octet-stream",
    *,
    cte: str = "base64",
    disposition_param: str | bytes | None = None,
) -> Part:
    """An attachment part. `disposition_param` overrides the filename parameter text (RFC 2231 tests)."""
    if disposition_param is None:
        disposition_param = b'filename="' + name + b'"' if isinstance(name, bytes) else f'filename="{name}"'
    disposition = (
        b"attachment; " + disposition_param
        if isinstance(disposition_param, bytes)
        else f"attachment; {disposition_param}"
    )
    headers: list[Header] = [
        ("Content-Type", content_type),
        ("Content-Transfer-Encoding", cte),
        ("Content-Disposition", disposition),
    ]
    return Part(headers, encode_body(data, cte))


def multipart(
    subtype: str, parts: Sequence[Part], *, boundary: str | None = None, close: bool = True
) -> Part:
    """A multipart/<subtype> entity; close=False leaves out the closing boundary (truncated mail)."""
    boundary = boundary or f"=_{subtype}_{next(_BOUNDARY_SERIAL)}_boundary"
    b = boundary.encode("ascii")
    chunks = [b"This is a multi-part message in MIME format." + CRLF]
    for part in parts:
        chunks.append(b"--" + b + CRLF + part.to_bytes() + CRLF)
    if close:
        chunks.append(b"--" + b + b"--" + CRLF)
    headers: list[Header] = [("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')]
    return Part(headers, b"".join(chunks))


def rfc822(message: bytes, *, filename: str | None = None) -> Part:
    """A message/rfc822 part wrapping a whole message."""
    headers: list[Header] = [("Content-Type", "message/rfc822")]
    if filename:
        headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    return Part(headers, message)


def message(
    body: Part | None = None,
    *,
    subject: str | bytes = "Test message",
    sender: str | bytes = "Alice Example <alice@example.com>",
    to: str | bytes = "Bob Example <bob@example.org>",
    date: str | None = "Mon, 01 Jan 2024 10:00:00 +0800",
    message_id: str | None = "<test-1@example.com>",
    extra: Iterable[Header] = (),
    eol: bytes = CRLF,
) -> bytes:
    """A complete message: top-level headers followed by `body` (a plain UTF-8 text part by default)."""
    body = body if body is not None else text_part("Hello Bob,\r\nthe price list is attached.\r\n")
    headers: list[Header] = [("From", sender), ("To", to), ("Subject", subject)]
    if date is not None:
        headers.append(("Date", date))
    if message_id is not None:
        headers.append(("Message-ID", message_id))
    headers.append(("MIME-Version", "1.0"))
    headers.extend(extra)
    headers.extend(body.headers)
    return Part(headers, body.body).to_bytes(eol)


# ---------------------------------------------------------------- documents


def docx_bytes(paragraphs: Sequence[str], table: Sequence[Sequence[str]] = ()) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[object]]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pdf_bytes(lines: Sequence[str]) -> bytes:
    """A minimal valid one-page PDF showing `lines` (ASCII) in Helvetica, with a correct xref table."""

    def escape(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text_ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        text_ops.append(f"({escape(line)}) Tj T*")
    text_ops.append("ET")
    content = "\n".join(text_ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
