"""The connection to the companion's database: WAL, foreign keys, the schema migrated on open."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from companion.records.schema import migrations


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """The companion's database. One writer (the agent, the native host, a CLI command) at a time;
    each thread opens its own (SQLite connections belong to one thread)."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=busy_timeout)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(self.db)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        with self.conn:
            yield

    @contextmanager
    def immediate(self) -> Iterator[None]:
        """A transaction that takes the write lock before its first read (BEGIN IMMEDIATE): two
        processes reading then writing the same state cannot both build on the same value."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def value(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def count(self, table: str, where: str | None = None) -> int:
        return self.db[table].count_where(where) if where else self.db[table].count

    # -- the stores' reading state (companion.stores.base.StoreState) ----------------------------

    def checkpoint(self, source: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT state FROM sources WHERE source = ?", (source,)).fetchone()
        return None if row is None else json.loads(row[0])

    def save_checkpoint(self, source: str, state: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?)",
            (source, json.dumps(state, sort_keys=True), now_iso()),
        )

    def has_item(self, source: str, item_id: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM seen_items WHERE source = ? AND item_id = ?", (source, item_id)
        )
        return row.fetchone() is not None

    def mark_item(self, source: str, item_id: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO seen_items VALUES (?,?)", (source, item_id))
