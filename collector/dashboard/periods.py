"""Reporting periods in the company's time zone: weeks (Monday to Sunday) and calendar months,
their limits as UTC instants (what the database stores), and times shown with their offset.

The zone is a collector setting (`mailwarden-collector timezone ZONE`, kept in the database's
`meta` table so every process reports the same periods), an IANA name read with zoneinfo;
Asia/Shanghai unless set. Limits are computed per period with the zone's rules, so a zone with
daylight saving time gets weeks of 167 or 169 hours and its months still start at local midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from collector.errors import bad_request

DEFAULT_TIMEZONE = "Asia/Shanghai"
TIMEZONE_KEY = "timezone"  # in the meta table
Kind = Literal["week", "month"]
KINDS: tuple[Kind, ...] = ("week", "month")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; a clear 400 when there is no such zone."""
    try:
        if name and name in available_timezones():
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise bad_request(f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai or Europe/Berlin")


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: date  # a Monday, or the first of a month

    @property
    def end(self) -> date:
        """The first day after the period."""
        if self.kind == "week":
            return self.start + timedelta(days=7)
        return (self.start.replace(day=28) + timedelta(days=4)).replace(day=1)

    def previous(self) -> Period:
        if self.kind == "week":
            return Period("week", self.start - timedelta(days=7))
        return Period("month", (self.start - timedelta(days=1)).replace(day=1))

    @property
    def key(self) -> str:
        """2026-11 for a month, 2026-11-16 (its Monday) for a week: what URLs and files carry."""
        return self.start.strftime("%Y-%m") if self.kind == "month" else self.start.isoformat()

    @property
    def short(self) -> str:
        """An axis label: 2026-11, or the Monday's 11-16."""
        return self.start.strftime("%Y-%m") if self.kind == "month" else self.start.strftime("%m-%d")


def period_of(day: date, kind: Kind) -> Period:
    if kind == "week":
        return Period("week", day - timedelta(days=day.weekday()))
    return Period("month", day.replace(day=1))


def month(text: str) -> Period:
    """`2026-11` as a month; a clear 400 for anything else."""
    found = _MONTH.fullmatch(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise bad_request(f"the month must be written YYYY-MM (2026-11), not {text!r}")
    return Period("month", date(int(found.group(1)), int(found.group(2)), 1))


def ending_with(last: Period, count: int) -> list[Period]:
    """`count` consecutive periods ending with `last`, oldest first."""
    out = [last]
    while len(out) < count:
        out.append(out[-1].previous())
    return out[::-1]


def utc_instant(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight starting `day`, as the naive UTC datetime the database compares with.
    (A zone whose clocks skip midnight starts the day at the first minute that exists.)"""
    local = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return local.astimezone(UTC).replace(tzinfo=None)


def boundaries(periods: list[Period], tz: ZoneInfo) -> list[datetime]:
    """The UTC instants where each period starts, then where the last one ends: n + 1 limits for
    n consecutive periods (a count's bucket is the last limit at or before its time)."""
    return [utc_instant(p.start, tz) for p in periods] + [utc_instant(periods[-1].end, tz)]


def local(value: datetime, tz: ZoneInfo) -> datetime:
    """A stored naive-UTC datetime in the company's zone."""
    return value.replace(tzinfo=UTC).astimezone(tz)


def offset_text(moment: datetime) -> str:
    """+08:00, -05:00, +05:45."""
    raw = moment.strftime("%z")
    return f"{raw[:3]}:{raw[3:]}" if raw else "+00:00"


def show(value: datetime | None, tz: ZoneInfo, seconds: bool = False) -> str:
    """A stored time as the reader's company reads it: `2026-11-24 17:00 +08:00`."""
    if value is None:
        return ""
    moment = local(value, tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + offset_text(moment)


def today(now_utc: datetime, tz: ZoneInfo) -> date:
    return local(now_utc, tz).date()


def company_zone(storage: Any) -> ZoneInfo:
    """The zone the company's periods are counted in (the meta table's setting, else the default)."""
    with storage.read() as tx:
        name = tx.meta_get(TIMEZONE_KEY)
    return zone(name or DEFAULT_TIMEZONE)


def set_company_zone(storage: Any, name: str) -> ZoneInfo:
    """Check `name` and keep it as the company's zone."""
    tz = zone(name)
    with storage.transaction() as tx:
        if not tx.update("meta", {"key": TIMEZONE_KEY}, {"value": tz.key}):
            tx.insert("meta", {"key": TIMEZONE_KEY, "value": tz.key})
    return tz
