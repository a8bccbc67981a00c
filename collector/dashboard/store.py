"""The dashboard's report store: every query the dashboard runs, behind one interface
(`ReportStore`), implemented once in SQLAlchemy Core for SQLite and PostgreSQL (`SqlReportStore`).
The modules above it (reports, auth, access_log, routes) hold no SQL; tests/test_report_store.py
runs every method on both backends.

Reached as `collector.storage.reports` (collector/storage.py builds it lazily: the dashboard is an
optional part of the collector).

Counting, for compliance reports (docs/dashboard.md, "What is counted"): a *flag* is one mail on
one workstation flagged by one rule, however many hits (phrases, fields, scan and pre-send) it
had; hits in quoted text count nowhere; received fraud attempts are a stream of their own. Periods
are given as UTC limits (collector/dashboard/periods.py puts them at local midnights), so any time
zone, daylight saving time included, buckets right on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from collector.dashboard.tables import access_log, access_log_heads, sessions
from collector.storage import SqlStorage, alerts, appeals, devices, events, gaps, tokens, users

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
    def flag_trend(
        self,
        bounds: Sequence[datetime],
        dimension: str,
        department: str | None = None,
        stream: str = "conduct",
    ) -> list[tuple[int, str, str, int]]: ...
    def mail_trend(
        self, bounds: Sequence[datetime], department: str | None = None, stream: str = "conduct"
    ) -> list[tuple[int, str, int]]: ...
    def outcome_counts(
        self, start: datetime, end: datetime, department: str | None = None
    ) -> list[tuple[str, str, str, int]]: ...
    def appeals_received(
        self, start: datetime, end: datetime, department: str | None = None
    ) -> list[dict[str, Any]]: ...
    def flag_list(
        self,
        department: str | None,
        rule: str | None,
        limit: int,
        offset: int,
        start: datetime | None = None,
        end: datetime | None = None,
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


# Received mail that tries to divert the company's money (look-alike senders, changed bank
# details) is an attack on the company, not its staff's conduct: reported apart. Issue #14 adds
# rules under "bec."; the payment-change category is the default policy's.
FRAUD_CATEGORIES = ("payment-change",)
FRAUD_RULE_PREFIXES = ("bec.",)
STREAMS = ("conduct", "fraud", "received")  # own sent mail; fraud attempts received; other received
DIMENSIONS = ("category", "rule", "department")
# What a sender did with a pre-send flag, from the least to the most final step: a mail checked
# more than once (sent back to edit, then sent with a justification) counts with its last one.
# "approved" is the slot of issue #16 (a named approver's approval).
OUTCOMES = ("edited", "blocked", "sent", "justified", "added_approver", "approved")

# The mail a hit belongs to: its message hash; a hit without one is a mail of its own.
_MAIL = sa.case((events.c.message_hash == "", sa.cast(events.c.id, sa.String)), else_=events.c.message_hash)
_FRAUD = sa.and_(
    events.c.direction == "received",
    sa.or_(
        events.c.category.in_(FRAUD_CATEGORIES),
        *(events.c.rule.startswith(prefix) for prefix in FRAUD_RULE_PREFIXES),
    ),
)
_STREAM = sa.case((_FRAUD, "fraud"), (events.c.direction == "received", "received"), else_="conduct")
_IN_STREAM = {
    "conduct": events.c.direction != "received",
    "fraud": _FRAUD,
    "received": sa.and_(events.c.direction == "received", sa.not_(_FRAUD)),
}
_OUTCOME_RANK = sa.case(*((events.c.outcome == o, i + 1) for i, o in enumerate(OUTCOMES)), else_=0)


def _bucketed(rows: sa.Subquery, bounds: Sequence[datetime]) -> sa.Subquery:
    """`rows` (with an `at` column inside [bounds[0], bounds[-1])) and `bucket`, the index of the
    period holding `at`. A subquery of its own: PostgreSQL groups by a column, not by a CASE whose
    bound parameters differ from the select list's."""
    if len(bounds) == 2:
        bucket: Any = sa.literal(0)
    else:
        limits = enumerate(bounds[1:-1])
        bucket = sa.case(*((rows.c.at < limit, i) for i, limit in limits), else_=len(bounds) - 2)
    return sa.select(rows, bucket.label("bucket")).subquery("bucketed")


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

    def _flags(
        self,
        start: datetime | None,
        end: datetime | None,
        department: str | None,
        rule: str | None = None,
        *,
        stream: str | None = None,
        counted_only: bool = True,
        detail: bool = False,
    ) -> sa.Subquery:
        """One row per flag: a mail on one workstation and one rule, whatever number of hits
        (phrases, fields, the scan and the pre-send check) it had; its time is its first hit's.
        `counted_only`: without hits in quoted text (someone else's words, counted where they
        were written); a flag whose every hit is quoted then disappears. `stream`: only that
        stream's flags (a mail's direction and a rule's category are the same for every hit).
        `detail` adds tier, direction, stream, outcome, hits and quoted_only: every column costs
        time on every hit, so the counts leave them out."""
        columns = [
            events.c.device_id,
            _MAIL.label("mail"),
            events.c.rule,
            sa.func.min(events.c.at).label("at"),
            sa.func.max(events.c.category).label("category"),
            sa.func.max(events.c.department).label("department"),
        ]
        if detail:
            columns += [
                sa.func.max(events.c.tier).label("tier"),
                sa.func.max(events.c.direction).label("direction"),
                sa.func.max(_STREAM).label("stream"),
                sa.func.max(_OUTCOME_RANK).label("outcome_rank"),
                sa.func.count().label("hits"),
                sa.func.min(sa.case((events.c.quoted, 1), else_=0)).label("quoted_only"),
            ]
        query = sa.select(*columns).group_by(events.c.device_id, _MAIL, events.c.rule)
        if stream is not None:
            query = query.where(_IN_STREAM[stream])
        if counted_only:
            query = query.where(sa.not_(events.c.quoted))
        if start is not None:
            query = query.where(events.c.at >= start)
        if end is not None:
            query = query.where(events.c.at < end)
        if department is not None:
            query = query.where(events.c.department == department)
        if rule:
            query = query.where(events.c.rule == rule)
        return query.subquery("flags")

    def flag_trend(
        self,
        bounds: Sequence[datetime],
        dimension: str,
        department: str | None = None,
        stream: str = "conduct",
    ) -> list[tuple[int, str, str, int]]:
        """(period index, department, value of `dimension`, flags) for the flags of `stream` from
        bounds[0] to bounds[-1]; period i runs from bounds[i] to bounds[i + 1] (UTC instants: the
        caller puts them at local midnights, so daylight saving time is where it belongs). Per
        department, so that one query serves a company report and its department pages."""
        if dimension not in DIMENSIONS or stream not in STREAMS:
            raise ValueError(f"unknown dimension {dimension!r} or stream {stream!r}")
        flags = _bucketed(self._flags(bounds[0], bounds[-1], department, stream=stream), bounds)
        column = flags.c[dimension]
        query = sa.select(
            flags.c.bucket, flags.c.department, column.label("label"), sa.func.count().label("n")
        ).group_by(flags.c.bucket, flags.c.department, *([] if dimension == "department" else [column]))
        with self.storage.read() as tx:
            return [(int(r.bucket), r.department, r.label, r.n) for r in tx.conn.execute(query)]

    def mail_trend(
        self, bounds: Sequence[datetime], department: str | None = None, stream: str = "conduct"
    ) -> list[tuple[int, str, int]]:
        """(period index, department, flagged mails): each mail once per workstation, whatever
        its rules."""
        # The flags' grouping without the rule: one row per mail.
        query = (
            sa.select(
                sa.func.min(events.c.at).label("at"), sa.func.max(events.c.department).label("department")
            )
            .where(_IN_STREAM[stream], sa.not_(events.c.quoted))
            .where(events.c.at >= bounds[0], events.c.at < bounds[-1])
            .group_by(events.c.device_id, _MAIL)
        )
        if department is not None:
            query = query.where(events.c.department == department)
        mails = _bucketed(query.subquery("mails"), bounds)
        query = sa.select(mails.c.bucket, mails.c.department, sa.func.count().label("n")).group_by(
            mails.c.bucket, mails.c.department
        )
        with self.storage.read() as tx:
            return [(int(r.bucket), r.department, r.n) for r in tx.conn.execute(query)]

    def outcome_counts(
        self, start: datetime, end: datetime, department: str | None = None
    ) -> list[tuple[str, str, str, int]]:
        """(department, rule, outcome, flags) of the pre-send flags whose sender did something
        about them; a mail checked several times counts with its last step (OUTCOMES' order)."""
        flags = self._flags(start, end, department, stream="conduct", detail=True)
        query = (
            sa.select(flags.c.department, flags.c.rule, flags.c.outcome_rank, sa.func.count().label("n"))
            .where(flags.c.outcome_rank > 0)
            .group_by(flags.c.department, flags.c.rule, flags.c.outcome_rank)
        )
        with self.storage.read() as tx:
            return [(r.department, r.rule, OUTCOMES[r.outcome_rank - 1], r.n) for r in tx.conn.execute(query)]

    def appeals_received(
        self, start: datetime, end: datetime, department: str | None = None
    ) -> list[dict[str, Any]]:
        """The appeals that arrived in [start, end), oldest first: rule, department, status, times
        (no reasons or comments: a report counts them)."""
        query = (
            sa.select(
                appeals.c.id,
                appeals.c.rule,
                appeals.c.department,
                appeals.c.status,
                appeals.c.received_at,
                appeals.c.decided_at,
            )
            .where(appeals.c.received_at >= start, appeals.c.received_at < end)
            .order_by(appeals.c.received_at, appeals.c.id)
        )
        if department is not None:
            query = query.where(appeals.c.department == department)
        return self._rows(query)

    def flag_list(
        self,
        department: str | None,
        rule: str | None,
        limit: int,
        offset: int,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Flags newest first, each with its hits (`hits`: event rows, quoted ones included and
        marked; `quoted_only`: a flag not counted anywhere)."""
        flags = self._flags(start, end, department, rule, counted_only=False, detail=True)
        query = (
            sa.select(flags)
            .order_by(flags.c.at.desc(), flags.c.device_id, flags.c.mail, flags.c.rule)
            .limit(limit)
            .offset(offset)
        )
        with self.storage.read() as tx:
            rows = [dict(r._mapping) for r in tx.conn.execute(query)]
            devices_ = {r["device_id"] for r in rows}
            mails = {r["mail"] for r in rows}
            hits: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
            if rows:
                q = (
                    sa.select(events, _MAIL.label("mail"))
                    .where(events.c.device_id.in_(devices_), _MAIL.in_(mails))
                    .order_by(events.c.at, events.c.id)
                )
                for hit in tx.conn.execute(q):
                    hits.setdefault((hit.device_id, hit.mail, hit.rule), []).append(dict(hit._mapping))
        for r in rows:
            r["hits"] = [
                h
                for h in hits.get((r["device_id"], r["mail"], r["rule"]), [])
                if (start is None or h["at"] >= start) and (end is None or h["at"] < end)
            ]
            r["quoted_only"] = bool(r["quoted_only"])
            rank = r.pop("outcome_rank")
            r["outcome"] = OUTCOMES[rank - 1] if rank else ""
        return rows

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
