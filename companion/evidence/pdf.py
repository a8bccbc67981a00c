"""The proof's human-readable page: one A4 PDF in Simplified Chinese or English (fpdf2), with the
font embedded (WenQuanYi Micro Hei, Apache-2.0: mailwarden_common/fonts/README.md, shared with the
collector's reports) so it prints the same anywhere."""

from __future__ import annotations

from pathlib import Path

from companion import __version__
from companion.clock import now_iso
from companion.evidence.report import Description
from companion.i18n import t
from mailwarden_common.pdf import font_path

MARKS = {"ok": "✓", "failed": "×", "absent": "–"}
GREEN, RED, GREY, INK = (21, 128, 61), (185, 28, 28), (110, 110, 110), (20, 20, 20)


def write_pdf(d: Description, out: Path, lang: str, bundle_name: str) -> Path:
    """Lay out `d` on one A4 page (more if the text runs long) and write it to `out`."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("body", "", str(font_path()), collection_font_number=0)
    pdf.set_title(d.title)
    pdf.set_creator(f"Mailwarden {__version__}")
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("body", size=18)
    pdf.set_text_color(*INK)
    pdf.cell(width * 0.68, 10, d.title)
    pdf.set_text_color(*(GREEN if d.ok else RED))
    pdf.cell(width * 0.32, 10, d.verdict, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*GREY)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.l_margin + width, pdf.get_y() + 1)
    pdf.ln(4)

    pdf.set_font("body", size=9.5)
    label_width = 46 if lang == "en" else 36
    for label, value in d.facts:
        pdf.set_text_color(*GREY)
        pdf.cell(label_width, 5.6, label)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width - label_width, 5.6, value, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(3)

    if d.proven:
        _section(pdf, d.headings[0], d.proven, GREEN)
    _section(pdf, d.headings[1], d.not_proven, RED if not d.ok else GREY)

    _heading(pdf, d.headings[2])
    pdf.set_font("body", size=9.5)
    for label, status, text, detail in d.checks:
        colour = {"ok": GREEN, "failed": RED, "absent": GREY}[status]
        pdf.set_text_color(*colour)
        pdf.cell(7, 5.6, MARKS[status])
        pdf.set_text_color(*INK)
        line = f"{label}{d.sep}{text}" + (
            f"（{detail}）" if detail and lang == "zh" else f" ({detail})" if detail else ""
        )
        pdf.multi_cell(width - 7, 5.6, line, new_x="LMARGIN", new_y="NEXT", align="L")

    pdf.ln(5)
    pdf.set_font("body", size=8)
    pdf.set_text_color(*GREY)
    footer = t(
        "evidence.footer",
        lang,
        version=__version__,
        time=now_iso().replace("T", " ")[:19],
        bundle=bundle_name,
    )
    pdf.multi_cell(width, 4.4, footer, new_x="LMARGIN", new_y="NEXT", align="L")
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    return out


def _heading(pdf, text: str) -> None:
    pdf.set_font("body", size=12.5)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")


def _section(pdf, heading: str, items: tuple[str, ...], colour: tuple[int, int, int]) -> None:
    _heading(pdf, heading)
    pdf.set_font("body", size=10)
    for item in items:
        pdf.set_text_color(*colour)
        pdf.cell(6, 5.8, "•")
        pdf.set_text_color(*INK)
        pdf.multi_cell(pdf.epw - 6, 5.8, item, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(0.8)
    pdf.ln(2.5)
