"""Queries behind the compliance views: trends by week or month, flag events, false-flag rates.

Every query takes an optional department: a manager's views pass theirs, so the scoping happens
in SQL, not in the templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.service import Collector
from collector.storage import alerts, appeals, devices, events, gaps

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


def _bucket(conn: sa.Connection, period: str) -> Any:
    """A SQL expression giving the first day of the event's week (Monday) or month."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc(period, events.c.at), sa.Date)
    if period == "week":
        # 'weekday 0' moves forward to Sunday (or stays on it); six days back is that week's Monday.
        return sa.func.date(events.c.at, "weekday 0", "-6 days")
    return sa.func.strftime("%Y-%m-01", events.c.at)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


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
    since = datetime.combine(periods[0], datetime.min.time())
    column = events.c[dimension]
    with collector.storage.read() as tx:
        bucket = _bucket(tx.conn, period).label("bucket")
        query = (
            sa.select(bucket, column.label("label"), sa.func.count().label("n"))
            .where(events.c.at >= since)
            .group_by(bucket, column)
        )
        if department is not None:
            query = query.where(events.c.department == department)
        rows = tx.conn.execute(query).all()
    index = {p: i for i, p in enumerate(periods)}
    series: dict[str, list[int]] = {}
    for r in rows:
        i = index.get(_as_date(r.bucket))
        if i is not None:
            series.setdefault(r.label, [0] * len(periods))[i] += r.n
    ordered = dict(sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0])))
    return Trend(period, dimension, periods, ordered)


def flag_events(
    collector: Collector,
    department: str | None = None,
    rule: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    query = sa.select(events).order_by(events.c.at.desc(), events.c.id.desc()).limit(limit).offset(offset)
    if department is not None:
        query = query.where(events.c.department == department)
    if rule:
        query = query.where(events.c.rule == rule)
    with collector.storage.read() as tx:
        return [dict(r._mapping) for r in tx.conn.execute(query)]


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
    query = sa.select(appeals).order_by(appeals.c.status != "pending", appeals.c.received_at.desc())
    if department is not None:
        query = query.where(appeals.c.department == department)
    if status:
        query = query.where(appeals.c.status == status)
    with collector.storage.read() as tx:
        rows = [dict(r._mapping) for r in tx.conn.execute(query.limit(500))]
        # The flagged snippets of the appealed message, for the reviewer (and the learning step):
        # from the appealing device only, since the same mail received elsewhere has the same
        # hash and another department's snippet is not this reviewer's to see.
        hashes = {r["message_hash"] for r in rows}
        snippets: dict[tuple[str, str, str], str] = {}
        if hashes:
            q = sa.select(events.c.device_id, events.c.message_hash, events.c.rule, events.c.snippet).where(
                events.c.message_hash.in_(hashes)
            )
            for device, h, rule, snippet in tx.conn.execute(q):
                snippets.setdefault((device, h, rule), snippet)
    for r in rows:
        r["snippet"] = snippets.get((r["device_id"], r["message_hash"], r["rule"]), "")
    return rows


def appeal(collector: Collector, appeal_pk: int) -> dict[str, Any] | None:
    with collector.storage.read() as tx:
        return tx.get("appeals", {"id": appeal_pk})


def device_list(collector: Collector) -> list[dict[str, Any]]:
    gap_n = sa.select(sa.func.count()).where(gaps.c.device_id == devices.c.id).scalar_subquery()
    alert_n = sa.select(sa.func.count()).where(alerts.c.device_id == devices.c.id).scalar_subquery()
    query = sa.select(devices, gap_n.label("gaps"), alert_n.label("alerts")).order_by(
        devices.c.department, devices.c.hostname
    )
    with collector.storage.read() as tx:
        rows = [dict(r._mapping) for r in tx.conn.execute(query)]
    for r in rows:
        r["chain"] = "tamper" if r["alerts"] else "gaps" if r["gaps"] else "ok"
    return rows


def departments(collector: Collector) -> list[str]:
    with collector.storage.read() as tx:
        q = sa.union(sa.select(devices.c.department), sa.select(events.c.department))
        return sorted({r[0] for r in tx.conn.execute(q) if r[0]})
