"""The compliance views' data: trends by week or month, flag events, false-flag rates, appeals.

The SQL is in the report store (collector/dashboard/store.py); this module shapes its answers for
the pages. Every query takes an optional department: a manager's views pass theirs, so the
scoping happens in SQL, not in the templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from collector.service import Collector

PERIODS = ("week", "month")
DIMENSIONS = ("category", "rule", "department")
PERIOD_COUNT = 12  # weeks or months shown


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # Monday
    return day.replace(day=1)


def previous_periods(today: date, period: str, count: int = PERIOD_COUNT) -> list[date]:
    """The `count` periods ending with the one holding `today`, oldest first."""
    current = period_start(today, period)
    out = [current]
    for _ in range(count - 1):
        current = (
            current - timedelta(days=7) if period == "week" else (current - timedelta(days=1)).replace(day=1)
        )
        out.append(current)
    return out[::-1]


@dataclass
class Trend:
    period: str
    dimension: str
    periods: list[date]
    series: dict[str, list[int]]  # label -> count per period, biggest total first

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.series.values())


def trend(collector: Collector, period: str, dimension: str, department: str | None = None) -> Trend:
    if period not in PERIODS or dimension not in DIMENSIONS:
        raise ValueError("unknown period or dimension")
    periods = previous_periods(collector.now().date(), period)
    rows = collector.storage.reports.trend_counts(period, dimension, periods[0], department)
    index = {p: i for i, p in enumerate(periods)}
    series: dict[str, list[int]] = {}
    for bucket, label, n in rows:
        i = index.get(bucket)
        if i is not None:
            series.setdefault(label, [0] * len(periods))[i] += n
    ordered = dict(sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0])))
    return Trend(period, dimension, periods, ordered)


def flag_events(
    collector: Collector,
    department: str | None = None,
    rule: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    return collector.storage.reports.flag_events(department, rule, limit, offset)


@dataclass
class RuleRate:
    rule: str
    flags: int
    appeals: int
    upheld: int

    @property
    def rate(self) -> float:
        """Share of this rule's flags found wrong on appeal (upheld appeals / flags)."""
        return min(1.0, self.upheld / self.flags) if self.flags else 0.0


def false_flag_rates(collector: Collector, department: str | None = None) -> list[RuleRate]:
    """Per rule, from `Collector.false_flag_rates` (flagged messages and appeals), worst first."""
    return [
        RuleRate(r["rule"], r["flags"], r["appeals"], r["upheld"])
        for r in collector.false_flag_rates(department=department)
    ]


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
