"""Text of attachments a reader could see: plain text, HTML, nested mail, Word, Excel and PDF.

The document libraries are imported inside the functions that need them: most runs never meet a .docx,
and importing python-docx, openpyxl and pypdf up front would slow every start of the program.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable

from companion.parsing.charset import decode_bytes
from companion.parsing.html import html_to_text

MAX_TEXT = 2_000_000  # characters kept per attachment; enough for any real document
MAX_DEPTH = 5  # mail attached to mail attached to mail... beyond this we stop

_DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_BY_EXTENSION = {
    ".txt": "text",
    ".csv": "text",
    ".log": "text",
    ".md": "text",
    ".tsv": "text",
    ".htm": "html",
    ".html": "html",
    ".eml": "eml",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pdf": "pdf",
}
# The file extensions read from their bytes (the Thunderbird extension learns them from the host).
READABLE_EXTENSIONS = tuple(sorted(_BY_EXTENSION))
_BY_TYPE = {
    "text/plain": "text",
    "text/csv": "text",
    "text/markdown": "text",
    "text/x-log": "text",
    "text/tab-separated-values": "text",
    "text/html": "html",
    "message/rfc822": "eml",
    _DOCX_TYPE: "docx",
    _XLSX_TYPE: "xlsx",
    "application/pdf": "pdf",
}

_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)


def attachment_kind(name: str, content_type: str) -> str | None:
    """Which extractor applies: the file extension wins (senders label most files octet-stream)."""
    lower = name.strip().lower()
    dot = lower.rfind(".")
    if dot >= 0 and lower[dot:] in _BY_EXTENSION:
        return _BY_EXTENSION[lower[dot:]]
    base = content_type.split(";", 1)[0].strip().lower()
    return _BY_TYPE.get(base)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT]


def _join_capped(pieces: Iterable[str], sep: str = "\n") -> str:
    """Join pieces, stopping once the cap is reached (so a huge spreadsheet is not read to the end)."""
    out: list[str] = []
    total = 0
    for piece in pieces:
        out.append(piece)
        total += len(piece) + len(sep)
        if total > MAX_TEXT:
            break
    return _cap(sep.join(out))


def _text(data: bytes, content_type: str) -> str:
    m = _CHARSET_PARAM.search(content_type)
    return decode_bytes(data, m.group(1) if m else None)[0]


def _html(data: bytes, content_type: str) -> str:
    m = _CHARSET_PARAM.search(content_type) or _CHARSET_PARAM.search(data[:4096].decode("ascii", "replace"))
    return html_to_text(decode_bytes(data, m.group(1) if m else None)[0])


def _eml(data: bytes, depth: int) -> str:
    from companion.parsing.eml import message_text, parse_eml_bytes  # here: eml imports this module

    return message_text(parse_eml_bytes(data, _depth=depth + 1))


def _docx(data: bytes) -> str:
    import docx  # python-docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))

    def table_lines(table: Table) -> Iterable[str]:
        for row in table.rows:
            cells: list[str] = []
            seen: set[int] = set()
            for cell in row.cells:
                # Merged cells appear once per grid column; keep one copy.
                if id(cell._tc) in seen:
                    continue
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
                for inner in cell.tables:
                    yield from table_lines(inner)
            if any(cells):
                yield "\t".join(cells)

    def pieces() -> Iterable[str]:
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                yield from table_lines(block)
            else:
                yield block.text

    return _join_capped(pieces())


def _xlsx(data: bytes) -> str:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:

        def pieces() -> Iterable[str]:
            for sheet in workbook.worksheets:
                yield f"[{sheet.title}]"
                for row in sheet.iter_rows(values_only=True):
                    values = ["" if v is None else str(v) for v in row]
                    while values and not values[-1]:
                        values.pop()
                    if values:
                        yield "\t".join(values)

        return _join_capped(pieces())
    finally:
        workbook.close()


def _pdf(data: bytes) -> str:
    import pypdf

    # pypdf logs every oddity of a damaged PDF; without this, Python prints them all on stderr.
    # (A NullHandler only stops that fallback: an application's own logging setup still sees them.)
    pdf_logger = logging.getLogger("pypdf")
    if not pdf_logger.handlers:
        pdf_logger.addHandler(logging.NullHandler())

    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" with an empty user password only to restrict printing.
        if not reader.decrypt(""):
            raise _Unreadable("the PDF is password-protected")

    def pieces() -> Iterable[str]:
        for page in reader.pages:
            yield page.extract_text() or ""

    return _join_capped(pieces())


class _Unreadable(Exception):
    """An extraction failure whose message is already a clear reason."""


_DESCRIPTION = {
    "text": "text file",
    "html": "HTML file",
    "eml": "attached e-mail",
    "docx": "Word document",
    "xlsx": "Excel workbook",
    "pdf": "PDF",
}


def extract_text(
    name: str, content_type: str, data: bytes, *, depth: int = 0
) -> tuple[str | None, str | None]:
    """(text, error) for an attachment; (None, None) when it is not a kind we read. Never raises.

    `depth` counts how deep in attached mail we already are (internal: stops runaway nesting).
    """
    kind = attachment_kind(name, content_type)
    if kind is None:
        return None, None
    extractors: dict[str, Callable[[], str]] = {
        "text": lambda: _cap(_text(data, content_type)),
        "html": lambda: _cap(_html(data, content_type)),
        "eml": lambda: _cap(_eml(data, depth)),
        "docx": lambda: _docx(data),
        "xlsx": lambda: _xlsx(data),
        "pdf": lambda: _pdf(data),
    }
    what = _DESCRIPTION[kind]
    if kind == "eml" and depth >= MAX_DEPTH:
        return None, f"{what} nested more than {MAX_DEPTH} levels deep; not read"
    if not data:
        return ("", None) if kind in ("text", "html") else (None, f"{what} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl and pypdf warn about harmless oddities
            return extractors[kind](), None
    except _Unreadable as e:
        return None, f"cannot read {what}: {e}"
    except zipfile.BadZipFile:
        return None, f"cannot read {what}: not a valid .{kind} file (bad zip archive)"
    except MemoryError:
        return None, f"cannot read {what}: too large"
    except RecursionError:
        return None, f"cannot read {what}: structure nested too deeply"
    except Exception as e:  # third-party parsers raise anything on malformed files
        reason = str(e).strip() or type(e).__name__
        return None, f"cannot read {what}: {reason}"
