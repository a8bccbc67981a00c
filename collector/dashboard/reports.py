"""The compliance views' data: flags by week or month in the company's time zone, flagged mails,
pre-send outcomes, appeals with their turnaround, false-flag rates, and the flag list.

The SQL is in the report store (collector/dashboard/store.py: what a flag is, what counts); this
module turns its answers into figures per period, per department and for the whole company.
Every function takes an optional department: a manager's views pass theirs, so the scoping
happens in SQL, not in the templates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from collector.dashboard import periods
from collector.dashboard.periods import Kind, Period
from collector.dashboard.store import DIMENSIONS, OUTCOMES, STREAMS
from collector.service import Collector

PERIODS = periods.KINDS
PERIOD_COUNT = 12  # weeks or months shown
__all__ = ["DIMENSIONS", "OUTCOMES", "PERIODS", "STREAMS"]


def zone(collector: Collector) -> ZoneInfo:
    return periods.company_zone(collector.storage)


def current(collector: Collector, kind: Kind, tz: ZoneInfo) -> Period:
    return periods.period_of(periods.today(collector.now(), tz), kind)


@dataclass(frozen=True)
class Trend:
    """Flags per period of one stream, by a dimension, with the flagged mails per period."""

    periods: list[Period]
    dimension: str
    stream: str
    series: dict[str, list[int]]  # value -> flags per period, biggest total first
    mails: list[int]
    by_department: dict[str, dict[str, list[int]]] = field(default_factory=dict, repr=False)
    mails_by_department: dict[str, list[int]] = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.series.values())

    def of(self, department: str) -> Trend:
        """The same trend for one department."""
        n = len(self.periods)
        return Trend(
            self.periods,
            self.dimension,
            self.stream,
            _ordered(self.by_department.get(department, {})),
            self.mails_by_department.get(department, [0] * n),
        )


def _ordered(series: dict[str, list[int]]) -> dict[str, list[int]]:
    return dict(sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0])))


def trend(
    collector: Collector,
    kind: Kind,
    dimension: str,
    department: str | None = None,
    stream: str = "conduct",
    *,
    last: Period | None = None,
    count: int = PERIOD_COUNT,
    tz: ZoneInfo | None = None,
) -> Trend:
    """`count` periods ending with `last` (the current one when None)."""
    if kind not in PERIODS or dimension not in DIMENSIONS or stream not in STREAMS:
        raise ValueError("unknown period, dimension or stream")
    tz = tz or zone(collector)
    shown = periods.ending_with(last or current(collector, kind, tz), count)
    bounds = periods.boundaries(shown, tz)
    store = collector.storage.reports
    n = len(shown)
    total: dict[str, list[int]] = {}
    per_department: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for i, dept, label, flags in store.flag_trend(bounds, dimension, department, stream):
        total.setdefault(label, [0] * n)[i] += flags
        per_department[dept].setdefault(label, [0] * n)[i] += flags
    mails = [0] * n
    mails_per_department: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    for i, dept, m in store.mail_trend(bounds, department, stream):
        mails[i] += m
        mails_per_department[dept][i] += m
    return Trend(
        shown, dimension, stream, _ordered(total), mails, dict(per_department), dict(mails_per_department)
    )


@dataclass(frozen=True)
class Outcomes:
    """What senders did with pre-send flags, per rule or department: flags per outcome."""

    label: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def outcomes(
    collector: Collector, period: Period, by: str, department: str | None = None, tz: ZoneInfo | None = None
) -> list[Outcomes]:
    tz = tz or zone(collector)
    start, end = periods.boundaries([period], tz)
    return outcomes_of(collector.storage.reports.outcome_counts(start, end, department), by)


def outcomes_of(
    rows: list[tuple[str, str, str, int]], by: str, department: str | None = None
) -> list[Outcomes]:
    """Rows of the store's outcome_counts, per rule or per department (of one department only)."""
    table: dict[str, dict[str, int]] = {}
    for dept, rule, outcome, n in rows:
        if department is not None and dept != department:
            continue
        key = rule if by == "rule" else dept
        counts = table.setdefault(key, dict.fromkeys(OUTCOMES, 0))
        counts[outcome] = counts.get(outcome, 0) + n
    return sorted((Outcomes(k, v) for k, v in table.items()), key=lambda o: (-o.total, o.label))


@dataclass(frozen=True)
class RuleAppeals:
    """A rule's flags and the appeals against them in a period. The false-flag rate is the share
    of its flags that decided appeals found wrong (upheld / flags: a lower bound, since not every
    wrong flag is appealed); `upheld_share` is the share of decided appeals upheld."""

    rule: str
    flags: int
    appeals: int
    upheld: int
    rejected: int
    pending: int
    turnaround_hours: float | None  # median, of the decided appeals

    @property
    def rate(self) -> float:
        return min(1.0, self.upheld / self.flags) if self.flags else 0.0

    @property
    def upheld_share(self) -> float | None:
        decided = self.upheld + self.rejected
        return self.upheld / decided if decided else None


def _hours(rows: list[dict[str, Any]]) -> float | None:
    spans = [
        (r["decided_at"] - r["received_at"]).total_seconds() / 3600
        for r in rows
        if r["decided_at"] is not None
    ]
    return round(median(spans), 1) if spans else None


def appeals_by_rule(flags: dict[str, int], appeals: list[dict[str, Any]]) -> list[RuleAppeals]:
    """Per rule (those flagged and those appealed), worst false-flag rate first."""
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in appeals:
        by_rule[a["rule"]].append(a)
    out = []
    for rule in sorted(set(flags) | set(by_rule)):
        rows = by_rule.get(rule, [])
        status = [r["status"] for r in rows]
        out.append(
            RuleAppeals(
                rule,
                flags.get(rule, 0),
                len(rows),
                status.count("upheld"),
                status.count("rejected"),
                status.count("pending"),
                _hours(rows),
            )
        )
    return sorted(out, key=lambda r: (-r.rate, -r.flags, r.rule))


@dataclass(frozen=True)
class AppealTotals:
    filed: int
    upheld: int
    rejected: int
    pending: int
    turnaround_hours: float | None

    @classmethod
    def of(cls, appeals: list[dict[str, Any]]) -> AppealTotals:
        status = [a["status"] for a in appeals]
        return cls(
            len(appeals),
            status.count("upheld"),
            status.count("rejected"),
            status.count("pending"),
            _hours(appeals),
        )


def false_flag_rates(
    collector: Collector, trend_by_rule: Trend, department: str | None = None, tz: ZoneInfo | None = None
) -> list[RuleAppeals]:
    """Per rule over the periods of `trend_by_rule` (a conduct trend by rule): its flags, the
    appeals received meanwhile and what was decided."""
    start, end = period_window(trend_by_rule, tz or zone(collector))
    flags = {rule: sum(v) for rule, v in trend_by_rule.series.items()}
    return appeals_by_rule(flags, collector.storage.reports.appeals_received(start, end, department))


def flag_list(
    collector: Collector,
    department: str | None = None,
    rule: str | None = None,
    limit: int = 100,
    offset: int = 0,
    period: Period | None = None,
    tz: ZoneInfo | None = None,
) -> list[dict[str, Any]]:
    start = end = None
    if period is not None:
        start, end = periods.boundaries([period], tz or zone(collector))
    return collector.storage.reports.flag_list(department, rule, limit, offset, start, end)


def appeal_list(
    collector: Collector, department: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    return collector.storage.reports.appeal_list(department, status)


def appeal(collector: Collector, appeal_pk: int) -> dict[str, Any] | None:
    return collector.storage.reports.appeal(appeal_pk)


def device_list(collector: Collector) -> list[dict[str, Any]]:
    return collector.storage.reports.device_list()


def departments(collector: Collector) -> list[str]:
    return collector.storage.reports.departments()


def period_window(trend: Trend, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC limits of a trend's periods."""
    return periods.utc_instant(trend.periods[0].start, tz), periods.utc_instant(trend.periods[-1].end, tz)
