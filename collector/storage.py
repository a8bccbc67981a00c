"""Storage behind an interface: `Storage` (what the service needs) and `SqlStorage`, one
SQLAlchemy Core 2.x implementation for SQLite (a file) and PostgreSQL, chosen by URL.

Every write happens inside `Storage.transaction()`, a context manager yielding a `Tx`: the
service's logic runs inside it and everything it wrote is committed together, or nothing is.
On PostgreSQL the device row is locked (`SELECT … FOR UPDATE`) so that several web processes can
serve the same device; on SQLite a write transaction starts with `BEGIN IMMEDIATE` (one writer at a
time, others wait up to `busy_timeout`), in WAL mode.

All datetimes are stored as naive UTC.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from collector.dashboard.store import ReportStore

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("department", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("department", sa.String(200), nullable=False),
    sa.Column("agent_version", sa.String(64), nullable=False),
    sa.Column("token_id", sa.Integer, sa.ForeignKey("tokens.id"), nullable=True),
    sa.Column("enrolled_at", sa.DateTime, nullable=False),
    sa.Column("last_seen", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_hash", sa.String(64), nullable=False, server_default=""),
)

summaries = sa.Table(
    "summaries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("period_start", sa.DateTime, nullable=True),
    sa.Column("period_end", sa.DateTime, nullable=True),
    sa.Column("policy_version", sa.String(64), nullable=False, server_default=""),
    sa.Column("agent_version", sa.String(64), nullable=False, server_default=""),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("signature", sa.String(100), nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("device_id", "seq", name="uq_summaries_device_seq"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("summary_id", sa.Integer, sa.ForeignKey("summaries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("department", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("counterpart_domain", sa.String(255), nullable=False),
    sa.Column("snippet", sa.Text, nullable=False),
    sa.Column("quoted", sa.Boolean, nullable=False),
    sa.Column("message_hash", sa.String(64), nullable=False),
    # pre-send events: what the sender did (companion.presend.CHOICES; "approved" with issue #16)
    sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
    sa.Index("ix_events_at", "at"),
    sa.Index("ix_events_department_at", "department", "at"),
    sa.Index("ix_events_summary", "summary_id"),
)

gaps = sa.Table(
    "gaps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("from_seq", sa.Integer, nullable=False),
    sa.Column("to_seq", sa.Integer, nullable=False),
    sa.Column("detected_at", sa.DateTime, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False, server_default=""),
    sa.Column("at", sa.DateTime, nullable=False),
)

appeals = sa.Table(
    "appeals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("appeal_id", sa.Integer, nullable=False),
    sa.Column("department", sa.String(200), nullable=False),
    sa.Column("message_hash", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("filed_at", sa.String(64), nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("reviewer", sa.String(200), nullable=True),
    sa.Column("reviewer_comment", sa.Text, nullable=True),
    sa.Column("decided_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("device_id", "appeal_id", name="uq_appeals_device_appeal"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("appeal_pk", sa.Integer, sa.ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("appeal_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Index("ix_decisions_device_id", "device_id", "id"),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("policy", sa.Text, nullable=False),
    sa.Column("signature", sa.String(100), nullable=False),
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.Column("published_by", sa.String(200), nullable=False, server_default=""),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(200), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("department", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("disabled_at", sa.DateTime, nullable=True),
)


def _row(r: Any) -> dict[str, Any] | None:
    return dict(r._mapping) if r is not None else None


class Tx(Protocol):
    """What the service may do inside one transaction."""

    def meta_get(self, key: str) -> str | None: ...
    def insert(self, table: str, values: dict[str, Any]) -> int | None: ...
    def update(self, table: str, where: dict[str, Any], values: dict[str, Any]) -> int: ...
    def get(self, table: str, where: dict[str, Any], lock: bool = False) -> dict[str, Any] | None: ...
    def select(
        self,
        table: str,
        where: dict[str, Any] | None = None,
        *,
        after_id: int | None = None,
        order: str = "id",
        limit: int | None = None,
    ) -> list[dict[str, Any]]: ...
    def delete_before(
        self, table: str, column: str, cutoff: datetime, extra: dict[str, Any] | None = None
    ) -> int: ...
    def count(self, table: str, where: dict[str, Any] | None = None) -> int: ...
    def insert_many(self, table: str, rows: list[dict[str, Any]]) -> None: ...
    def latest(self, table: str, lock: bool = False) -> dict[str, Any] | None: ...
    def count_by(
        self,
        table: str,
        key: str,
        *,
        distinct: str | None = None,
        where: dict[str, Any] | None = None,
        since: tuple[str, datetime] | None = None,
    ) -> dict[Any, int]: ...


class Storage(Protocol):
    reports: ReportStore  # the dashboard's queries (collector/dashboard/store.py)

    def transaction(self) -> contextlib.AbstractContextManager[Tx]: ...
    def read(self) -> contextlib.AbstractContextManager[Tx]: ...
    def meta_setdefault(self, key: str, value: str) -> str: ...
    def migrate(self) -> None: ...
    def dispose(self) -> None: ...


TABLES = {t.name: t for t in metadata.sorted_tables}


_STATEMENTS: dict[tuple, Any] = {}  # built once per shape, then executed with parameters


def _cached(key: tuple, build: Any) -> Any:
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def _conditions(t: sa.Table, where: dict[str, Any]) -> list[Any]:
    return [t.c[k].is_(None) if v is None else t.c[k] == sa.bindparam(f"w_{k}") for k, v in where.items()]


def _shape(where: dict[str, Any]) -> tuple:
    return tuple((k, v is None) for k, v in where.items())


def _params(where: dict[str, Any]) -> dict[str, Any]:
    return {f"w_{k}": v for k, v in where.items() if v is not None}


class SqlTx:
    """One transaction. Statements are built once per shape and reused with bound parameters."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    def meta_get(self, key: str) -> str | None:
        return self.conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()

    def insert(self, table: str, values: dict[str, Any]) -> int | None:
        t = TABLES[table]
        returning = "id" in t.c and t.c.id.autoincrement is True
        stmt = _cached(
            ("insert", table, returning),
            lambda: sa.insert(t).returning(t.c.id) if returning else sa.insert(t),
        )
        result = self.conn.execute(stmt, values)
        return result.scalar_one() if returning else None

    def insert_many(self, table: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(_cached(("insert", table, False), lambda: sa.insert(TABLES[table])), rows)

    def update(self, table: str, where: dict[str, Any], values: dict[str, Any]) -> int:
        t = TABLES[table]
        stmt = _cached(
            ("update", table, _shape(where), tuple(values)),
            lambda: (
                sa.update(t).where(*_conditions(t, where)).values({k: sa.bindparam(f"v_{k}") for k in values})
            ),
        )
        params = {**_params(where), **{f"v_{k}": v for k, v in values.items()}}
        return self.conn.execute(stmt, params).rowcount

    def get(self, table: str, where: dict[str, Any], lock: bool = False) -> dict[str, Any] | None:
        t = TABLES[table]
        lock = lock and self.dialect == "postgresql"

        def build() -> Any:
            stmt = sa.select(t).where(*_conditions(t, where))
            return stmt.with_for_update() if lock else stmt

        stmt = _cached(("get", table, _shape(where), lock), build)
        return _row(self.conn.execute(stmt, _params(where)).first())

    def select(
        self,
        table: str,
        where: dict[str, Any] | None = None,
        *,
        after_id: int | None = None,
        order: str = "id",
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        t = TABLES[table]
        stmt = sa.select(t).where(*_conditions(t, where or {}))
        if after_id is not None:
            stmt = stmt.where(t.c.id > after_id)
        stmt = stmt.order_by(t.c[order])
        if limit is not None:
            stmt = stmt.limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(stmt, _params(where or {}))]

    def delete_before(
        self, table: str, column: str, cutoff: datetime, extra: dict[str, Any] | None = None
    ) -> int:
        t = TABLES[table]
        stmt = sa.delete(t).where(t.c[column] < cutoff, *_conditions(t, extra or {}))
        return self.conn.execute(stmt, _params(extra or {})).rowcount

    def delete_events_of_summaries_before(self, cutoff: datetime) -> int:
        sub = sa.select(summaries.c.id).where(summaries.c.received_at < cutoff)
        return self.conn.execute(sa.delete(events).where(events.c.summary_id.in_(sub))).rowcount

    def delete_decisions_of_appeals_before(self, cutoff: datetime) -> int:
        sub = sa.select(appeals.c.id).where(appeals.c.decided_at < cutoff)
        return self.conn.execute(sa.delete(decisions).where(decisions.c.appeal_pk.in_(sub))).rowcount

    def count(self, table: str, where: dict[str, Any] | None = None) -> int:
        t = TABLES[table]
        stmt = sa.select(sa.func.count()).select_from(t).where(*_conditions(t, where or {}))
        return self.conn.execute(stmt, _params(where or {})).scalar_one()

    def count_by(
        self,
        table: str,
        key: str,
        *,
        distinct: str | None = None,
        where: dict[str, Any] | None = None,
        since: tuple[str, datetime] | None = None,
    ) -> dict[Any, int]:
        """{value of `key`: number of rows (or of distinct `distinct` values)}, optionally only rows
        whose column `since[0]` is at or after `since[1]`."""
        t = TABLES[table]
        counted = sa.func.count(sa.distinct(t.c[distinct])) if distinct else sa.func.count()
        stmt = sa.select(t.c[key], counted).where(*_conditions(t, where or {})).group_by(t.c[key])
        if since is not None:
            stmt = stmt.where(t.c[since[0]] >= since[1])
        return {k: n for k, n in self.conn.execute(stmt, _params(where or {}))}

    def latest(self, table: str, lock: bool = False) -> dict[str, Any] | None:
        """The newest row. `lock`: no other transaction may add a row to `table` until this one
        ends (PostgreSQL: a table lock that still lets readers read; SQLite's BEGIN IMMEDIATE
        already makes every write transaction the only one)."""
        t = TABLES[table]
        if lock and self.dialect == "postgresql":
            self.conn.execute(sa.text(f"LOCK TABLE {t.name} IN SHARE ROW EXCLUSIVE MODE"))
        return _row(self.conn.execute(sa.select(t).order_by(t.c.id.desc()).limit(1)).first())


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for `url`: sqlite:///path (WAL, BEGIN IMMEDIATE, busy timeout) or
    postgresql+psycopg://… (a plain `postgresql://` URL is given the psycopg 3 driver)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("the collector needs a SQLite *file* (sqlite:///path/to/collector.db)")
        engine = sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=20,
            pool_timeout=60,
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process (WAL)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers take the write lock at once (no deadlock-prone lock upgrade); readers do not.
            readonly = conn.get_execution_options().get("mailwarden_readonly", False)
            # Straight to the driver: this runs once per transaction, and SQLAlchemy's statement
            # machinery would cost as much as one of the upload's real statements.
            conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://…")


class SqlStorage:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        # SQLite has one writer: threads of this process queue on a lock instead of polling the
        # database's busy handler (which sleeps up to 100 ms between tries); processes still use it.
        with self._write_lock, self.engine.begin() as conn:
            yield SqlTx(conn, self.dialect)

    @contextlib.contextmanager
    def read(self) -> Iterator[SqlTx]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self.engine.connect() as conn:
            conn.execution_options(mailwarden_readonly=True)
            with conn.begin():
                yield SqlTx(conn, self.dialect)

    def meta_setdefault(self, key: str, value: str) -> str:
        """Insert (key, value) unless the key exists; return the stored value (race-safe)."""
        try:
            with self.transaction() as tx:
                current = tx.meta_get(key)
                if current is not None:
                    return current
                tx.insert("meta", {"key": key, "value": value})
                return value
        except sa.exc.IntegrityError:
            with self.transaction() as tx:
                current = tx.meta_get(key)
                assert current is not None
                return current

    def migrate(self) -> None:
        from collector.migrations.runner import upgrade

        upgrade(self.engine)

    @functools.cached_property
    def reports(self) -> ReportStore:
        """The dashboard's report store on this database (imported here, on first use: the
        dashboard is an optional part of the collector)."""
        from collector.dashboard.store import SqlReportStore

        return SqlReportStore(self)

    def dispose(self) -> None:
        self.engine.dispose()
