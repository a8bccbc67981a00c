"""The monthly report (collector/dashboard/monthly.py) as a file a manager can forward: HTML (one
self-contained page), PDF (fpdf2, the CJK font embedded: mailwarden_common.pdf) or Excel
(openpyxl, with its charts). The three are written from one description of the report's
content (`content`: charts and tables, every text in the report's language), so they hold the
same figures.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from collector.dashboard import charts, i18n
from collector.dashboard.monthly import MonthlyReport, Section, change, hours, percent
from collector.dashboard.reports import OUTCOMES

FORMATS = ("pdf", "xlsx", "html")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
CSS = Path(__file__).with_name("static") / "report.css"
Cell = str | int


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    periods: list[str]
    series: dict[str, list[int]]  # name in the report's language -> flags per month


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    hints: list[str] = field(default_factory=list)  # per row: the rule id (a tooltip in HTML)
    note: str = ""
    empty: str = ""


@dataclass(frozen=True)
class Part:
    """One page of the report: the company's (or the department's), or one department's."""

    heading: str
    charts: list[Chart]
    tables: list[Table]


def content(report: MonthlyReport) -> list[Part]:
    """The report as parts of charts and tables, in the report's language."""
    parts = [_part(report, report.company, report.department or "")]
    parts += [_part(report, s, s.department or "") for s in report.departments]
    return parts


def _t(report: MonthlyReport, key: str, **values: object) -> str:
    return i18n.translate(report.lang, key, **values)


def title(report: MonthlyReport) -> str:
    heading = _t(report, "report.title", month=report.month.key)
    return f"{heading} · {report.department}" if report.department else heading


def generated(report: MonthlyReport) -> str:
    return _t(report, "report.generated", time=report.generated_local, zone=report.zone, offset=report.offset)


def _part(report: MonthlyReport, s: Section, department: str) -> Part:
    t = lambda key, **v: _t(report, key, **v)  # noqa: E731
    names = report.names
    is_company = s is report.company
    heading = (
        t("report.company")
        if is_company and not department
        else t("report.department", department=department)
    )
    months = [p.key for p in s.conduct_by_rule.periods]
    month_chart = Chart(
        "mails", t("report.trend_mails"), months, {t("trends.mails"): s.conduct_by_rule.mails}
    )
    category_chart = Chart(
        "categories",
        t("report.trend_category"),
        months,
        {names.category(k): v for k, v in s.conduct_by_category.series.items()},
    )
    rule_chart = Chart(
        "rules",
        t("report.trend_rule"),
        months,
        {names.rule(k): v for k, v in s.conduct_by_rule.series.items()},
    )
    fraud_chart = Chart("fraud", t("report.fraud_mails"), months, {t("stream.fraud"): s.fraud_by_rule.mails})
    a = s.appeals
    summary = Table(
        "summary",
        t("report.summary"),
        [t("report.figure"), t("report.this_month"), t("report.previous_month"), t("report.change")],
        [
            [t("trends.mails"), s.mails, s.previous_mails, change(s.mails, s.previous_mails)],
            [t("report.flags"), s.flags, s.previous_flags, change(s.flags, s.previous_flags)],
            [
                t("report.fraud_mails"),
                s.fraud_mails,
                s.previous_fraud_mails,
                change(s.fraud_mails, s.previous_fraud_mails),
            ],
            [t("report.appeals_filed"), a.filed, "—", "—"],
            [t("report.appeals_decided"), f"{a.upheld} / {a.rejected} / {a.pending}", "—", "—"],
            [t("rates.turnaround"), hours(a.turnaround_hours), "—", "—"],
        ],
        note=generated(report) if is_company else "",
    )

    def month_on_month(
        key: str, heading: str, rows: list[tuple[str, int, int]], empty: str, note: str = ""
    ) -> Table:
        """Rules with their flags this month, the month before and the change."""
        return Table(
            key,
            heading,
            [t("common.rule"), t("report.this_month"), t("report.previous_month"), t("report.change")],
            [[names.rule(r), n, prev, change(n, prev)] for r, n, prev in rows],
            hints=[names.rule_title(r) for r, _n, _p in rows],
            note=note,
            empty=empty,
        )

    top_rules = month_on_month("top-rules", t("report.top_rules"), s.top_rules(), t("report.nothing"))
    outcomes = Table(
        "outcomes",
        t("report.outcomes"),
        [t("common.rule"), *(t(f"choice.{o}") for o in OUTCOMES), t("trends.total")],
        [[names.rule(o.label), *(o.counts.get(k, 0) for k in OUTCOMES), o.total] for o in s.outcomes],
        hints=[names.rule_title(o.label) for o in s.outcomes],
        empty=t("report.no_outcomes"),
    )
    rates = Table(
        "rates",
        t("report.rates"),
        [
            t("common.rule"),
            t("rates.flags"),
            t("rates.appeals"),
            t("rates.upheld"),
            t("rates.rejected"),
            t("rates.pending"),
            t("rates.rate"),
            t("rates.turnaround"),
        ],
        [
            [
                names.rule(r.rule),
                r.flags,
                r.appeals,
                r.upheld,
                r.rejected,
                r.pending,
                percent(r.rate),
                hours(r.turnaround_hours),
            ]
            for r in s.rates
        ],
        hints=[names.rule_title(r.rule) for r in s.rates],
        note=t("rates.explain"),
        empty=t("rates.none"),
    )
    fraud = month_on_month(
        "fraud", t("report.fraud"), s.fraud_rules(), t("report.no_fraud"), t("trends.fraud_note")
    )
    chart_list = [month_chart, category_chart] + ([rule_chart, fraud_chart] if is_company else [])
    return Part(heading, chart_list, [summary, top_rules, outcomes, rates, fraud])


# -- HTML -----------------------------------------------------------------------------------------------


def _html_charts(report: MonthlyReport, part: Part) -> list[tuple[Chart, charts.Chart]]:
    other = _t(report, "trends.other")
    return [(c, charts.stacked_bars(c.periods, c.series, other, width=640, height=240)) for c in part.charts]


def html_body(report: MonthlyReport) -> Markup:
    """The report's content as HTML (for the dashboard's page and the HTML file)."""
    from collector.dashboard.web import template

    parts = [(p, _html_charts(report, p)) for p in content(report)]
    text = template("_report_body.html").render(
        report=report, title=title(report), parts=parts, lang=report.lang, t=lambda k, **v: _t(report, k, **v)
    )
    return Markup(text)


def html_document(report: MonthlyReport) -> str:
    """One self-contained page: the report's CSS inline, charts as inline SVG, nothing fetched."""
    from collector.dashboard.web import template

    return template("report_file.html").render(
        report=report,
        title=title(report),
        body=html_body(report),
        css=Markup(CSS.read_text(encoding="utf-8")),
        lang=report.lang,
    )


# -- PDF ------------------------------------------------------------------------------------------------

INK, GREY, LINE, HEAD = (29, 35, 48), (91, 100, 117), (216, 220, 228), (238, 241, 245)


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def pdf_bytes(report: MonthlyReport) -> bytes:
    from fpdf.fonts import FontFace

    from collector import __version__
    from mailwarden_common import pdf as common

    doc = common.document(title(report), f"Mailwarden {__version__}")
    wrap = common.wrap_mode(report.lang)
    page_label = lambda n: _t(report, "report.page", n=n)  # noqa: E731
    parts = content(report)
    for index, part in enumerate(parts):
        doc.add_page()
        if index == 0:
            doc.set_font(common.FAMILY, size=17)
            doc.set_text_color(*INK)
            doc.multi_cell(doc.epw, 9, title(report), new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
        doc.set_font(common.FAMILY, size=13)
        doc.set_text_color(*INK)
        doc.multi_cell(doc.epw, 8, part.heading, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
        doc.ln(1)
        for table in part.tables[:1]:
            _pdf_table(doc, table, wrap, FontFace)
        for chart in part.charts:
            _pdf_chart(doc, report, chart)
        for table in part.tables[1:]:
            _pdf_table(doc, table, wrap, FontFace)
    doc.set_auto_page_break(False)  # the footers sit inside the bottom margin
    for n in range(1, doc.pages_count + 1):
        doc.page = n
        doc.set_font(common.FAMILY, size=7.5)
        doc.set_text_color(*GREY)
        doc.set_xy(doc.l_margin, doc.h - 10)
        doc.cell(doc.epw, 4, f"{title(report)} · {page_label(n)}", align="R")
    out = io.BytesIO()
    doc.output(out)
    return out.getvalue()


def _pdf_heading(doc, text: str, wrap) -> None:
    from mailwarden_common.pdf import FAMILY

    if doc.get_y() > doc.h - 45:
        doc.add_page()
    doc.ln(2)
    doc.set_font(FAMILY, size=11)
    doc.set_text_color(*INK)
    doc.multi_cell(doc.epw, 6.5, text, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)


def _pdf_table(doc, table: Table, wrap, font_face) -> None:
    from mailwarden_common.pdf import FAMILY

    _pdf_heading(doc, table.title, wrap)
    doc.set_font(FAMILY, size=8.5)
    if table.note:
        doc.set_text_color(*GREY)
        doc.multi_cell(doc.epw, 4.4, table.note, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
        doc.ln(1)
    doc.set_text_color(*INK)
    doc.set_fill_color(255, 255, 255)  # the cells' background (a chart may have left its colour)
    if not table.rows:
        doc.multi_cell(doc.epw, 5, table.empty, new_x="LMARGIN", new_y="NEXT", wrapmode=wrap)
        return
    columns = len(table.headers)
    first = 0.4 if columns > 4 else 0.46
    widths = [first] + [(1 - first) / (columns - 1)] * (columns - 1)
    align = ["LEFT"] + ["RIGHT"] * (columns - 1)
    with doc.table(
        col_widths=[w * 100 for w in widths],
        text_align=align,
        line_height=4.6,
        wrapmode=wrap,
        headings_style=font_face(fill_color=HEAD, color=INK),
        borders_layout="HORIZONTAL_LINES",
        padding=1,
    ) as pdf_table:
        head = pdf_table.row()
        for h in table.headers:
            head.cell(h)
        for row in table.rows:
            line = pdf_table.row()
            for value in row:
                line.cell(str(value))
    doc.ln(1)


def _pdf_chart(doc, report: MonthlyReport, chart: Chart) -> None:
    from mailwarden_common.pdf import FAMILY

    geometry = charts.stacked_bars(
        chart.periods, chart.series, _t(report, "trends.other"), width=640, height=220
    )
    scale = doc.epw / geometry.width
    height = geometry.height * scale
    legend_rows = (len(geometry.legend) + 2) // 3
    if doc.get_y() + height + 12 + legend_rows * 4.5 > doc.h - doc.b_margin:
        doc.add_page()
    _pdf_heading(doc, chart.title, _wrap(report))
    top, left = doc.get_y(), doc.l_margin
    doc.set_font(FAMILY, size=6.5)
    doc.set_draw_color(*LINE)
    for y, value in geometry.y_ticks:
        doc.line(
            left + geometry.plot_left * scale,
            top + y * scale,
            left + (geometry.width - 10) * scale,
            top + y * scale,
        )
        doc.set_text_color(*GREY)
        doc.set_xy(left, top + y * scale - 1.6)
        doc.cell((geometry.plot_left - 6) * scale, 3.2, str(value), align="R")
    for bar in geometry.bars:
        doc.set_fill_color(*_hex(bar.colour))
        doc.rect(
            left + bar.x * scale,
            top + bar.y * scale,
            bar.width * scale,
            max(bar.height * scale, 0.2),
            style="F",
        )
    for x, label in geometry.x_labels:
        doc.set_xy(left + x * scale - 10, top + (geometry.plot_bottom + 4) * scale)
        doc.cell(20, 3.2, label, align="C")
    if geometry.empty:
        doc.set_font(FAMILY, size=9)
        doc.set_xy(left, top + height / 2 - 3)
        doc.cell(doc.epw, 5, _t(report, "trends.empty"), align="C")
    doc.set_y(top + height + 1)
    doc.set_font(FAMILY, size=7.5)
    column = doc.epw / 3
    for i, (colour, label) in enumerate(geometry.legend):
        x = left + (i % 3) * column
        if i % 3 == 0 and i:
            doc.ln(4.5)
        y = doc.get_y()
        doc.set_fill_color(*_hex(colour))
        doc.rect(x, y + 0.8, 2.8, 2.8, style="F")
        doc.set_text_color(*INK)
        doc.set_xy(x + 4, y)
        doc.cell(column - 5, 4.4, _fit(doc, label, column - 5))
        doc.set_y(y)
    doc.ln(7)


def _wrap(report: MonthlyReport):
    from mailwarden_common.pdf import wrap_mode

    return wrap_mode(report.lang)


def _fit(doc, text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` (a legend entry stays on its line)."""
    if doc.get_string_width(text) <= width:
        return text
    while text and doc.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


# -- Excel ----------------------------------------------------------------------------------------------


def xlsx_bytes(report: MonthlyReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF1F5")
    used: set[str] = set()
    for index, part in enumerate(content(report)):
        sheet = book.create_sheet(
            _sheet_name(part.heading if index else _t(report, "report.sheet.summary"), used)
        )
        row = 1
        sheet.cell(row, 1, title(report) if index == 0 else part.heading).font = Font(bold=True, size=14)
        row += 2
        for table in part.tables:
            sheet.cell(row, 1, table.title).font = Font(bold=True, size=12)
            row += 1
            if table.note:
                sheet.cell(row, 1, table.note).alignment = Alignment(wrap_text=False)
                row += 1
            for col, header in enumerate(table.headers, 1):
                cell = sheet.cell(row, col, header)
                cell.font, cell.fill = bold, head_fill
            row += 1
            if not table.rows:
                sheet.cell(row, 1, table.empty)
                row += 1
            for values in table.rows:
                for col, value in enumerate(values, 1):
                    sheet.cell(row, col, value)
                row += 1
            row += 1
        # The trends: months across, one row per series, each with a bar chart beside it.
        for chart in part.charts:
            sheet.cell(row, 1, chart.title).font = Font(bold=True, size=12)
            row += 1
            sheet.cell(row, 1, "").fill = head_fill
            for col, label in enumerate(chart.periods, 2):
                cell = sheet.cell(row, col, label)
                cell.font, cell.fill = bold, head_fill
            first = row
            for name, values in chart.series.items():
                row += 1
                sheet.cell(row, 1, name)
                for col, value in enumerate(values, 2):
                    sheet.cell(row, col, value)
            if chart.series:
                bar = BarChart()
                bar.type, bar.grouping, bar.overlap = "col", "stacked", 100
                bar.title, bar.height, bar.width = chart.title, 7, 16
                data = Reference(
                    sheet, min_col=1, max_col=len(chart.periods) + 1, min_row=first + 1, max_row=row
                )
                bar.add_data(data, from_rows=True, titles_from_data=True)
                bar.set_categories(Reference(sheet, min_col=2, max_col=len(chart.periods) + 1, min_row=first))
                sheet.add_chart(bar, f"{_column(len(chart.periods) + 3)}{first}")
            row += 16 if chart.series else 2
        sheet.column_dimensions["A"].width = 46
        for col in range(2, 15):
            sheet.column_dimensions[_column(col)].width = 12
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _sheet_name(text: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    name = "".join("-" if c in "[]:*?/\\" else c for c in text)[:31] or "-"
    base, n = name, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def render(report: MonthlyReport, fmt: str) -> bytes:
    if fmt == "pdf":
        return pdf_bytes(report)
    if fmt == "xlsx":
        return xlsx_bytes(report)
    if fmt == "html":
        return html_document(report).encode("utf-8")
    raise ValueError(f"unknown report format {fmt!r}")
