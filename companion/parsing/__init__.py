"""Mail files to `Message`: .eml (MIME) and Outlook .msg, plus the text helpers they share."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from companion.errors import ParseError, os_reason
from companion.message import Message
from companion.parsing.eml import has_mail_headers, parse_eml_bytes, parse_eml_file, parse_text_bytes
from companion.parsing.html import html_to_text
from companion.parsing.msg import OLE_MAGIC, parse_msg_file
from companion.parsing.quoted import find_quoted_spans

__all__ = [
    "find_quoted_spans",
    "has_mail_headers",
    "html_to_text",
    "parse_eml_bytes",
    "parse_eml_file",
    "parse_file",
    "parse_msg_file",
    "parse_text_bytes",
]


def parse_file(path: str | PathLike[str], *, strict: bool = False, **kw: str) -> Message:
    """Parse a mail file: .msg and .eml by extension, anything else by its first bytes (OLE2 -> .msg).

    Keyword arguments (direction, folder, account) are passed to the parser. `strict`: a file
    that is not mail (no header block, not an Outlook item) raises NotAMailError instead of being
    read as a body.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".msg":
        return parse_msg_file(path, **kw)
    if suffix == ".eml":
        return parse_eml_file(path, strict=strict, **kw)
    try:
        with open(path, "rb") as f:
            head = f.read(len(OLE_MAGIC))
    except OSError as e:
        raise ParseError(key="error.cannot_read", values={"source": str(path), "reason": os_reason(e)}) from e
    if head == OLE_MAGIC:
        return parse_msg_file(path, **kw)
    return parse_eml_file(path, strict=strict, **kw)
