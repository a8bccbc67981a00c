"""Fixtures for the collector's tests: a real PostgreSQL server (session), a fresh database per
test on SQLite or PostgreSQL, a collector served over real HTTP on 127.0.0.1, and a signing
workstation client written against docs/protocol.md with `cryptography` only.

Import with `from tests.collector_fixtures import *` (tests/conftest.py stays untouched).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tests.fixtures import free_port, wait_until

__all__ = [
    "Clock",
    "Server",
    "Workstation",
    "b64url",
    "canonical",
    "collector",
    "db_url",
    "obj_hash",
    "pg_server",
    "running_postgres",
    "server",
    "start_server",
    "summary_payload",
    "table_counts",
]

PG_BIN = Path(os.environ.get("MAILWARDEN_PG_BIN", "/usr/lib/postgresql/15/bin"))


# -- the protocol, client side ------------------------------------------------------------------


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def obj_hash(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def summary_payload(
    device_id: str, seq: int, prev_hash: str, n_events: int = 2, **extra: Any
) -> dict[str, Any]:
    events = [
        {
            "rule": "commit.lowest-price",
            "tier": "approval",
            "category": "commitment",
            "at": f"2026-11-24T09:{i % 60:02d}:00+00:00",
            "direction": "sent",
            "source": "scan",
            "counterpart_domain": "buyer.example",
            "snippet": "…we guarantee the »lowest price«…",
            "quoted": False,
            "message_hash": hashlib.sha256(f"{device_id}/{seq}/{i}".encode()).hexdigest(),
        }
        for i in range(n_events)
    ]
    payload = {
        "type": "summary",
        "schema": 1,
        "device_id": device_id,
        "seq": seq,
        "prev_hash": prev_hash,
        "period": {"start": "2026-11-24T09:00:00+00:00", "end": "2026-11-24T10:00:00+00:00"},
        "created_at": "2026-11-24T10:00:01+00:00",
        "agent_version": "0.1.0",
        "policy_version": "2026.11.1",
        "counts": {
            "by_rule": {"commit.lowest-price": n_events},
            "by_tier": {"approval": n_events},
            "by_category": {"commitment": n_events},
            "by_direction": {"sent": n_events, "received": 0},
        },
        "presend": {
            "sent": 10,
            "edited": 1,
            "justified": 1,
            "added_approver": 0,
            "blocked": 1,
            "unchecked_sent": 0,
            "unchecked_cancelled": 0,
        },
        "appeals_filed": 0,
        "health": {"stores": 2, "stores_unreadable": 0, "scan_errors": 0, "messages_scanned": 120},
        "events": events,
    }
    payload.update(extra)
    return payload


@dataclass
class Workstation:
    """A workstation as the protocol describes it: an Ed25519 key, a device id, a summary chain."""

    url: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    device_id: str = ""
    policy_key: str = ""
    seq: int = 0
    last_hash: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def public_key(self) -> str:
        return b64url(
            self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    def sign(self, obj: Any) -> str:
        return b64url(self.key.sign(canonical(obj)))

    def enroll(self, token: str, **extra: Any) -> requests.Response:
        body = {
            "token": token,
            "public_key": self.public_key,
            "hostname": "PC-0421",
            "agent_version": "0.1.0",
            **extra,
        }
        r = self.session.post(f"{self.url}/api/v1/enroll", json=body, timeout=30)
        if r.status_code == 201:
            self.device_id, self.policy_key = r.json()["device_id"], r.json()["policy_key"]
        return r

    def envelope(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"device_id": self.device_id, "payload": payload, "signature": self.sign(payload)}

    def next_summary(self, n_events: int = 2) -> dict[str, Any]:
        return summary_payload(self.device_id, self.seq + 1, self.last_hash, n_events)

    def post(self, route: str, payload: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.url}/api/v1/{route}", json=self.envelope(payload), timeout=30)

    def upload(self, payload: dict[str, Any]) -> requests.Response:
        r = self.post("summaries", payload)
        if r.status_code == 200 and payload["seq"] > self.seq:
            self.seq, self.last_hash = payload["seq"], obj_hash(payload)
        return r

    def upload_next(self, n_events: int = 2) -> requests.Response:
        return self.upload(self.next_summary(n_events))

    def signed_get(self, path: str, query: str = "", when: int | None = None) -> requests.Response:
        when = int(time.time()) if when is None else when
        msg = {"method": "GET", "path": path, "query": query, "time": when}
        headers = {
            "X-Mailwarden-Device": self.device_id,
            "X-Mailwarden-Time": str(when),
            "X-Mailwarden-Signature": self.sign(msg),
        }
        return self.session.get(
            f"{self.url}{path}" + (f"?{query}" if query else ""), headers=headers, timeout=30
        )

    def verify_policy(self, answer: dict[str, Any]) -> bool:
        key = Ed25519PublicKey.from_public_bytes(b64url_decode(self.policy_key))
        try:
            key.verify(
                b64url_decode(answer["signature"]),
                canonical({"version": answer["version"], "policy": answer["policy"]}),
            )
        except Exception:
            return False
        return True


# -- PostgreSQL --------------------------------------------------------------------------------


def _as_postgres(args: list[str], **kw: Any) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


@dataclass
class PgServer:
    port: int
    socket_dir: str
    admin_url: str

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)


@contextlib.contextmanager
def running_postgres(crash_safe: bool = False) -> Iterator[PgServer]:
    """A real PostgreSQL 15 server in a temporary folder (as the postgres user when run as root),
    on a free port, with a migrated template database `mw_template`; stopped on exit.

    For tests it runs with fsync off (fast; nothing here survives a power cut anyway). With
    `crash_safe` (the benchmark) fsync and full-page writes stay on, and only commits are
    asynchronous: the same promise as the collector's SQLite in WAL with synchronous=NORMAL."""
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not initdb.exists() or not pg_ctl.exists():
        raise FileNotFoundError(
            f"PostgreSQL binaries missing in {PG_BIN}: apt-get install -y postgresql "
            "(scripts/system-deps.sh), or set MAILWARDEN_PG_BIN"
        )
    base = tempfile.mkdtemp(prefix="mw-pg-")
    os.chmod(base, 0o755)
    data, sock = os.path.join(base, "data"), os.path.join(base, "sock")
    os.mkdir(sock)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = free_port()
    started = False
    try:
        _as_postgres(
            [
                str(initdb),
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c synchronous_commit=off -c max_connections=300"
        if not crash_safe:
            opts += " -c fsync=off -c full_page_writes=off"
        _as_postgres([str(pg_ctl), "-D", data, "-o", opts, "-l", os.path.join(base, "log"), "-w", "start"])
        started = True
        server = PgServer(port, sock, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
        from collector.storage import SqlStorage

        server.admin("CREATE DATABASE mw_template")
        template = SqlStorage(server.url("mw_template"), pool_size=1)
        template.migrate()
        template.dispose()
        yield server
    finally:
        if started:
            _as_postgres([str(pg_ctl), "-D", data, "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server; the tests FAIL (never skip) when PostgreSQL is missing."""
    try:
        cm = running_postgres()
        server = cm.__enter__()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, migrated database per test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        from collector.storage import SqlStorage

        url = f"sqlite:///{tmp_path / 'collector.db'}"
        storage = SqlStorage(url, pool_size=1)
        storage.migrate()
        storage.dispose()
        return url
    pg: PgServer = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    pg.admin(f"CREATE DATABASE {name} TEMPLATE mw_template")
    return pg.url(name)


# -- the collector over HTTP -------------------------------------------------------------------


class Clock:
    """The collector's clock: real time plus an offset the test may move."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Server:
    url: str
    collector: Any
    clock: Clock
    _uvicorn: Any = None
    _thread: threading.Thread | None = None

    def workstation(self) -> Workstation:
        return Workstation(self.url)

    def enrolled(self, department: str = "sales-east") -> Workstation:
        ws = self.workstation()
        r = ws.enroll(self.collector.create_token(department)["token"])
        assert r.status_code == 201, r.text
        return ws

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
            assert self._thread is not None
            self._thread.join(10)


def start_server(db: str) -> Server:
    import uvicorn

    from collector.app import create_app
    from collector.keys import load_policy_signer
    from collector.service import Collector
    from collector.storage import SqlStorage

    clock = Clock()
    storage = SqlStorage(db)
    storage.migrate()
    coll = Collector(storage, load_policy_signer(storage), clock)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(coll), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until("uvicorn to start", lambda: server.started or not thread.is_alive(), 10, 0.01)
    if not server.started:
        raise RuntimeError("uvicorn did not start")
    return Server(f"http://127.0.0.1:{port}", coll, clock, server, thread)


@pytest.fixture
def server(db_url):
    srv = start_server(db_url)
    yield srv
    srv.stop()
    srv.collector.storage.dispose()


@pytest.fixture
def collector(server):
    return server.collector


def table_counts(collector: Any) -> dict[str, int]:
    """Rows per table of the collector and its dashboard: compared before and after a refused
    request, they show that nothing was half-stored."""
    import sqlalchemy as sa

    with collector.storage.read() as tx:
        names = sa.inspect(tx.conn).get_table_names()
        return {
            name: tx.conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in sorted(names)
            if name != "alembic_version"
        }
