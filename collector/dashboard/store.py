"""The dashboard's report store: every query the dashboard runs, behind one interface
(`ReportStore`), implemented once in SQLAlchemy Core for SQLite and PostgreSQL (`SqlReportStore`).
The modules above it (reports, auth, access_log, routes) hold no SQL; tests/test_report_store.py
runs every method on both backends.

Reached as `collector.storage.reports` (collector/storage.py builds it lazily: the dashboard is an
optional part of the collector).

Counting is ready for compliance reports: `trend_counts` counts hits (one per flag event) or
mails (distinct message hashes), and buckets by week or month in a fixed offset from UTC (a
company's time zone; China has no daylight saving time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

import sqlalchemy as sa

from collector.dashboard.tables import access_log, access_log_heads, sessions
from collector.storage import SqlStorage, alerts, appeals, devices, events, gaps, tokens, users

Count = Literal["hits", "mails"]
_PG_LOCK_ID = 847100  # pg_advisory_xact_lock key: one access-log appender at a time (linear chain)
APPEAL_LIST_MAX = 500


@dataclass(frozen=True)
class Entry:
    """The access-log fields the chain and the day heads are built from."""

    seq: int
    hash: str
    at: datetime


class AccessLogWriter(Protocol):
    """Inside one access-log transaction (appenders take turns: the chain stays linear)."""

    def last_entry(self, before: datetime | None = None) -> Entry | None: ...
    def first_entry_at(self) -> datetime | None: ...
    def add_entry(self, row: dict[str, Any]) -> None: ...
    def has_head(self, day: str) -> bool: ...
    def newest_head_day(self) -> str | None: ...
    def add_head(self, row: dict[str, Any]) -> None: ...


class ReportStore(Protocol):
    # -- compliance views
    def trend_counts(
        self,
        period: str,
        dimension: str,
        since: date,
        department: str | None = None,
        *,
        count: Count = "hits",
        utc_offset: timedelta = timedelta(0),
    ) -> list[tuple[date, str, int]]: ...
    def flag_events(
        self, department: str | None, rule: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]: ...
    def appeal_list(self, department: str | None, status: str | None) -> list[dict[str, Any]]: ...
    def appeal(self, appeal_pk: int) -> dict[str, Any] | None: ...
    def departments(self) -> list[str]: ...
    # -- administration views
    def device_list(self) -> list[dict[str, Any]]: ...
    def users(self) -> list[dict[str, Any]]: ...
    def user(self, user_id: int) -> dict[str, Any] | None: ...
    def tokens(self) -> list[dict[str, Any]]: ...
    def token(self, token_id: int) -> dict[str, Any] | None: ...
    # -- sessions
    def create_session(self, row: dict[str, Any], now: datetime) -> None: ...
    def session(self, session_id: str) -> dict[str, Any] | None: ...
    def delete_session(self, session_id: str) -> None: ...
    def delete_sessions_of(self, user_id: int) -> None: ...
    # -- the access log
    def access_log_writer(self) -> contextlib.AbstractContextManager[AccessLogWriter]: ...
    def access_entries(self, limit: int, offset: int = 0) -> list[dict[str, Any]]: ...
    def access_entries_from(self, seq: int, limit: int) -> list[dict[str, Any]]: ...
    def access_entry_hash(self, seq: int) -> str | None: ...
    def access_hash_exists(self, digest: str) -> bool: ...
    def access_heads(self) -> list[dict[str, Any]]: ...


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class SqlAccessLogWriter:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def last_entry(self, before: datetime | None = None) -> Entry | None:
        query = sa.select(access_log.c.seq, access_log.c.hash, access_log.c.at)
        if before is not None:
            query = query.where(access_log.c.at < before)
        row = self.conn.execute(query.order_by(access_log.c.seq.desc()).limit(1)).first()
        return Entry(row.seq, row.hash, row.at) if row else None

    def first_entry_at(self) -> datetime | None:
        return self.conn.execute(sa.select(sa.func.min(access_log.c.at))).scalar()

    def add_entry(self, row: dict[str, Any]) -> None:
        self.conn.execute(sa.insert(access_log).values(**row))

    def has_head(self, day: str) -> bool:
        query = sa.select(access_log_heads.c.day).where(access_log_heads.c.day == day)
        return self.conn.execute(query).first() is not None

    def newest_head_day(self) -> str | None:
        return self.conn.execute(sa.select(sa.func.max(access_log_heads.c.day))).scalar()

    def add_head(self, row: dict[str, Any]) -> None:
        self.conn.execute(sa.insert(access_log_heads).values(**row))


class SqlReportStore:
    def __init__(self, storage: SqlStorage) -> None:
        self.storage = storage

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        with self.storage.read() as tx:
            return [dict(r._mapping) for r in tx.conn.execute(query)]

    def _row(self, query: Any) -> dict[str, Any] | None:
        rows = self._rows(query.limit(1))
        return rows[0] if rows else None

    # -- compliance views ---------------------------------------------------------------------------

    def _bucket(self, period: str, utc_offset: timedelta) -> Any:
        """The first day (local to `utc_offset`) of the event's week (Monday) or month."""
        minutes = int(utc_offset.total_seconds() // 60)
        if self.storage.dialect == "postgresql":
            local = events.c.at + sa.func.make_interval(0, 0, 0, 0, 0, minutes) if minutes else events.c.at
            return sa.cast(sa.func.date_trunc(period, local), sa.Date)
        shift = f"{minutes:+d} minutes"
        if period == "week":
            # 'weekday 0' moves forward to Sunday (or stays on it); six days back is that week's Monday.
            return sa.func.date(events.c.at, shift, "weekday 0", "-6 days")
        return sa.func.strftime("%Y-%m-01", events.c.at, shift)

    def trend_counts(
        self,
        period: str,
        dimension: str,
        since: date,
        department: str | None = None,
        *,
        count: Count = "hits",
        utc_offset: timedelta = timedelta(0),
    ) -> list[tuple[date, str, int]]:
        """(first day of the period, value of `dimension`, count) for events from local day
        `since` on; `count` "mails" counts each message once per period and value."""
        bucket = self._bucket(period, utc_offset).label("bucket")
        column = events.c[dimension]
        counted = sa.func.count(sa.distinct(events.c.message_hash)) if count == "mails" else sa.func.count()
        start = datetime.combine(since, datetime.min.time()) - utc_offset  # local midnight in UTC
        query = (
            sa.select(bucket, column.label("label"), counted.label("n"))
            .where(events.c.at >= start)
            .group_by(bucket, column)
        )
        if department is not None:
            query = query.where(events.c.department == department)
        with self.storage.read() as tx:
            return [(_as_date(r.bucket), r.label, r.n) for r in tx.conn.execute(query)]

    def flag_events(
        self, department: str | None, rule: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        query = sa.select(events).order_by(events.c.at.desc(), events.c.id.desc()).limit(limit).offset(offset)
        if department is not None:
            query = query.where(events.c.department == department)
        if rule:
            query = query.where(events.c.rule == rule)
        return self._rows(query)

    def appeal_list(self, department: str | None, status: str | None) -> list[dict[str, Any]]:
        """Pending first, newest first; each with the flagged snippet of its message and rule."""
        query = sa.select(appeals).order_by(appeals.c.status != "pending", appeals.c.received_at.desc())
        if department is not None:
            query = query.where(appeals.c.department == department)
        if status:
            query = query.where(appeals.c.status == status)
        with self.storage.read() as tx:
            rows = [dict(r._mapping) for r in tx.conn.execute(query.limit(APPEAL_LIST_MAX))]
            # From the appealing device only: the same mail received elsewhere has the same hash,
            # and another department's snippet is not this reviewer's to see.
            hashes = {r["message_hash"] for r in rows}
            snippets: dict[tuple[str, str, str], str] = {}
            if hashes:
                q = sa.select(
                    events.c.device_id, events.c.message_hash, events.c.rule, events.c.snippet
                ).where(events.c.message_hash.in_(hashes))
                for device, h, rule, snippet in tx.conn.execute(q):
                    snippets.setdefault((device, h, rule), snippet)
        for r in rows:
            r["snippet"] = snippets.get((r["device_id"], r["message_hash"], r["rule"]), "")
        return rows

    def appeal(self, appeal_pk: int) -> dict[str, Any] | None:
        return self._row(sa.select(appeals).where(appeals.c.id == appeal_pk))

    def departments(self) -> list[str]:
        query = sa.union(sa.select(devices.c.department), sa.select(events.c.department))
        return sorted({r["department"] for r in self._rows(query) if r["department"]})

    # -- administration views ---------------------------------------------------------------------

    def device_list(self) -> list[dict[str, Any]]:
        """Every device with its number of gaps and tamper alerts; `chain`: tamper, gaps or ok."""
        gap_n = sa.select(sa.func.count()).where(gaps.c.device_id == devices.c.id).scalar_subquery()
        alert_n = sa.select(sa.func.count()).where(alerts.c.device_id == devices.c.id).scalar_subquery()
        query = sa.select(devices, gap_n.label("gaps"), alert_n.label("alerts")).order_by(
            devices.c.department, devices.c.hostname
        )
        rows = self._rows(query)
        for r in rows:
            r["chain"] = "tamper" if r["alerts"] else "gaps" if r["gaps"] else "ok"
        return rows

    def users(self) -> list[dict[str, Any]]:
        """The users by name, without their password hashes."""
        columns = [c for c in users.c if c.name != "password_hash"]
        return self._rows(sa.select(*columns).order_by(users.c.username))

    def user(self, user_id: int) -> dict[str, Any] | None:
        columns = [c for c in users.c if c.name != "password_hash"]
        return self._row(sa.select(*columns).where(users.c.id == user_id))

    def tokens(self) -> list[dict[str, Any]]:
        """The enrolment tokens (their hashes only), newest first."""
        return self._rows(sa.select(tokens).order_by(tokens.c.id.desc()))

    def token(self, token_id: int) -> dict[str, Any] | None:
        return self._row(sa.select(tokens).where(tokens.c.id == token_id))

    # -- sessions --------------------------------------------------------------------------------------

    def create_session(self, row: dict[str, Any], now: datetime) -> None:
        with self.storage.transaction() as tx:
            # Housekeeping: expired sessions are useless, drop them while we are writing anyway.
            tx.conn.execute(sa.delete(sessions).where(sessions.c.expires_at <= now))
            tx.conn.execute(sa.insert(sessions).values(**row))

    def session(self, session_id: str) -> dict[str, Any] | None:
        """The session with its user's id, name, role, department and disabled_at."""
        query = (
            sa.select(
                sessions.c.id.label("session_id"),
                sessions.c.csrf,
                sessions.c.expires_at,
                users.c.id,
                users.c.username,
                users.c.role,
                users.c.department,
                users.c.disabled_at,
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id == session_id)
        )
        return self._row(query)

    def delete_session(self, session_id: str) -> None:
        with self.storage.transaction() as tx:
            tx.conn.execute(sa.delete(sessions).where(sessions.c.id == session_id))

    def delete_sessions_of(self, user_id: int) -> None:
        with self.storage.transaction() as tx:
            tx.conn.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))

    # -- the access log --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def access_log_writer(self) -> Iterator[SqlAccessLogWriter]:
        with self.storage.transaction() as tx:
            if self.storage.dialect == "postgresql":  # SQLite's BEGIN IMMEDIATE does this already
                tx.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
            yield SqlAccessLogWriter(tx.conn)

    def access_entries(self, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first."""
        return self._rows(sa.select(access_log).order_by(access_log.c.seq.desc()).limit(limit).offset(offset))

    def access_entries_from(self, seq: int, limit: int) -> list[dict[str, Any]]:
        """Oldest first, from `seq` on (the chain's walk, a page at a time)."""
        query = sa.select(access_log).where(access_log.c.seq >= seq).order_by(access_log.c.seq).limit(limit)
        return self._rows(query)

    def access_entry_hash(self, seq: int) -> str | None:
        row = self._row(sa.select(access_log.c.hash).where(access_log.c.seq == seq))
        return row["hash"] if row else None

    def access_hash_exists(self, digest: str) -> bool:
        return self._row(sa.select(access_log.c.seq).where(access_log.c.hash == digest)) is not None

    def access_heads(self) -> list[dict[str, Any]]:
        """The signed day heads, oldest first."""
        return self._rows(sa.select(access_log_heads).order_by(access_log_heads.c.day))
