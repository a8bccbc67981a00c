"""PDF documents in Simplified Chinese or English (fpdf2) with the bundled CJK font embedded
(WenQuanYi Micro Hei, Apache-2.0: fonts/README.md), so a page prints and reads the same anywhere
and its text can be copied and searched in both languages.

fpdf2 is imported when a document is made: nothing that merely imports this module pays for it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

FONT_FILE = "wqy-microhei.ttc"
FAMILY = "body"  # the one family a document made here writes with


def font_path() -> Path:
    return Path(str(resources.files("mailwarden_common") / "fonts" / FONT_FILE))


def document(title: str, creator: str, *, landscape: bool = False, margin: float = 16) -> Any:
    """An empty A4 fpdf2 document with the CJK font registered as FAMILY, automatic page breaks
    and its metadata (title, creator) set."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L" if landscape else "P", format="A4")
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(True, margin=margin)
    pdf.add_font(FAMILY, "", str(font_path()), collection_font_number=0)
    pdf.set_font(FAMILY, size=10)
    pdf.set_title(title)
    pdf.set_creator(creator)
    pdf.set_lang("zh-CN" if any("\u4e00" <= c <= "\u9fff" for c in title) else "en")
    return pdf


def wrap_mode(lang: str) -> Any:
    """How multi_cell breaks lines: Chinese has no spaces between words, so any character may end
    a line (CJK typesetting does the same); English breaks between words only."""
    from fpdf.enums import WrapMode

    return WrapMode.CHAR if lang == "zh" else WrapMode.WORD
