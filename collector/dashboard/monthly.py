"""The monthly compliance report: the figures of one month in the company's time zone, for the
whole company (or one department) and a page per department, built once and written as HTML,
PDF or Excel (collector/dashboard/report_files.py).

What it holds (docs/dashboard.md, "The monthly report"): flagged mails and flags, month on month
and over the twelve months ending with the report's; flags by category and by rule; the top
rules; what senders did with pre-send flags; appeals received, their decisions and turnaround;
false-flag rates; received fraud attempts apart from staff conduct. Counts only: no snippet,
no appeal text, no address, so the file can be forwarded to anyone the department's figures are
for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from collector.dashboard import periods, reports
from collector.dashboard.names import Names
from collector.dashboard.periods import Period
from collector.dashboard.reports import AppealTotals, Outcomes, RuleAppeals, Trend
from collector.service import Collector

MONTHS = 12  # the trend charts' months, ending with the report's
TOP_RULES = 10


@dataclass(frozen=True)
class Section:
    """The figures of the whole company (department None) or of one department."""

    department: str | None
    conduct_by_category: Trend
    conduct_by_rule: Trend
    fraud_by_rule: Trend
    outcomes: list[Outcomes]  # per rule, the report's month
    appeals: AppealTotals  # received in the report's month
    rates: list[RuleAppeals]  # per rule, the report's month

    @property
    def mails(self) -> int:
        return self.conduct_by_rule.mails[-1]

    @property
    def previous_mails(self) -> int:
        return self.conduct_by_rule.mails[-2]

    @property
    def flags(self) -> int:
        return sum(v[-1] for v in self.conduct_by_rule.series.values())

    @property
    def previous_flags(self) -> int:
        return sum(v[-2] for v in self.conduct_by_rule.series.values())

    @property
    def fraud_mails(self) -> int:
        return self.fraud_by_rule.mails[-1]

    @property
    def previous_fraud_mails(self) -> int:
        return self.fraud_by_rule.mails[-2]

    @property
    def year_flags(self) -> int:
        return self.conduct_by_rule.total

    def top_rules(self, n: int = TOP_RULES) -> list[tuple[str, int, int]]:
        """(rule, flags this month, flags the month before), most flagged first."""
        rows = [(rule, v[-1], v[-2]) for rule, v in self.conduct_by_rule.series.items() if v[-1] or v[-2]]
        return sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))[:n]

    def fraud_rules(self) -> list[tuple[str, int, int]]:
        rows = [(rule, v[-1], v[-2]) for rule, v in self.fraud_by_rule.series.items() if v[-1] or v[-2]]
        return sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))

    @property
    def empty(self) -> bool:
        return not (self.conduct_by_rule.total or self.fraud_by_rule.total or self.appeals.filed)


@dataclass(frozen=True)
class MonthlyReport:
    month: Period
    zone: str  # IANA name
    offset: str  # the zone's offset at the start of the month, +08:00
    generated_at: datetime  # UTC, naive
    generated_local: str  # the same, as the company reads it
    department: str | None  # a department's report; None: the company's
    lang: str
    names: Names
    company: Section
    departments: list[Section]

    @property
    def months(self) -> list[Period]:
        return self.company.conduct_by_rule.periods


def build(
    collector: Collector, month: Period, department: str | None = None, lang: str = "en"
) -> MonthlyReport:
    """Every figure of the report, from six queries whatever the number of departments."""
    tz = reports.zone(collector)
    store = collector.storage.reports

    def trend(dimension: str, stream: str) -> Trend:
        return reports.trend(
            collector, "month", dimension, department, stream, last=month, count=MONTHS, tz=tz
        )

    by_category, by_rule, fraud = (
        trend("category", "conduct"),
        trend("rule", "conduct"),
        trend("rule", "fraud"),
    )
    start, end = periods.boundaries([month], tz)
    outcome_rows = store.outcome_counts(start, end, department)
    appeals = store.appeals_received(start, end, department)

    def section(dept: str | None) -> Section:
        mine = appeals if dept is None else [a for a in appeals if a["department"] == dept]
        rule_trend = by_rule if dept is None else by_rule.of(dept)
        flags = {rule: v[-1] for rule, v in rule_trend.series.items() if v[-1]}
        return Section(
            dept,
            by_category if dept is None else by_category.of(dept),
            rule_trend,
            fraud if dept is None else fraud.of(dept),
            reports.outcomes_of(outcome_rows, "rule", dept),
            AppealTotals.of(mine),
            reports.appeals_by_rule(flags, mine),
        )

    names_in_data: set[str] = set()
    if department is None:
        names_in_data = {*by_rule.by_department, *fraud.by_department, *(a["department"] for a in appeals)}
        names_in_data |= {row[0] for row in outcome_rows}
    current = collector.current_policy()
    now = collector.now()
    return MonthlyReport(
        month=month,
        zone=tz.key,
        offset=periods.offset_text(periods.local(start, tz)),
        generated_at=now,
        generated_local=periods.show(now, tz),
        department=department,
        lang=lang,
        names=Names.from_policy(current["policy"] if current else None, lang),
        company=section(None),
        departments=[section(d) for d in sorted(names_in_data)],
    )


def change(now: int, before: int) -> str:
    """Month on month: +3, −2, ±0."""
    diff = now - before
    return f"+{diff}" if diff > 0 else f"−{-diff}" if diff < 0 else "±0"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def hours(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def report_file_name(report: MonthlyReport, extension: str) -> str:
    """mailwarden-report-2026-11[-sales-east]-zh.pdf (a department name reduced to safe characters)."""
    part = ""
    if report.department:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in report.department)
        part = "-" + safe.strip("-")[:60]
    return f"mailwarden-report-{report.month.key}{part}-{report.lang}.{extension}"


__all__ = ["MonthlyReport", "Section", "build", "change", "hours", "percent", "report_file_name"]
