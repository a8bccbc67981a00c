"""Fixtures for the dashboard's tests: a collector on SQLite or PostgreSQL (via
tests.collector_fixtures' `db_url`) filled with signed summaries and appeals through the
Collector's own ingest methods, one user per role, and a logged-in TestClient per user.

Import with `from tests.dashboard_fixtures import *`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from tests.collector_fixtures import b64url, canonical, db_url, pg_server  # noqa: F401  (fixtures)

__all__ = [
    "PASSWORD",
    "Dash",
    "Device",
    "csrf_of",
    "dash",
    "db_url",
    "login",
    "make_collector",
    "pg_server",
    "seed",
]

PASSWORD = "correct horse battery"
SCRIPT_SNIPPET = "…<script>alert('x')</script> we guarantee the »lowest price« <b>now</b>…"


@dataclass
class Device:
    """A workstation reduced to what the collector checks: a key, an id and the summary chain."""

    collector: Any
    department: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    device_id: str = ""
    seq: int = 0
    last_hash: str = ""
    appeals: int = 0

    def enroll(self) -> Device:
        token = self.collector.create_token(self.department)["token"]
        public = b64url(
            self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        self.device_id = self.collector.enroll(
            {
                "token": token,
                "public_key": public,
                "hostname": f"PC-{self.department}",
                "agent_version": "0.1.0",
            }
        )["device_id"]
        return self

    def envelope(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "payload": payload,
            "signature": b64url(self.key.sign(canonical(payload))),
        }

    def upload(self, events: list[dict[str, Any]]) -> None:
        self.seq += 1
        payload = {
            "type": "summary",
            "schema": 1,
            "device_id": self.device_id,
            "seq": self.seq,
            "prev_hash": self.last_hash,
            "period": {"start": "2026-11-01T00:00:00+00:00", "end": "2026-11-24T00:00:00+00:00"},
            "agent_version": "0.1.0",
            "policy_version": "2026.11.1",
            "events": events,
        }
        answer = self.collector.ingest_summary(self.envelope(payload))
        assert answer["status"] == "accepted"
        self.last_hash = answer["hash"]

    def appeal(self, message_hash: str, rule: str, reason: str = "customer asked", comment: str = "") -> int:
        """File an appeal; return its primary key in the collector's table."""
        self.appeals += 1
        payload = {
            "type": "appeal",
            "schema": 1,
            "device_id": self.device_id,
            "appeal_id": self.appeals,
            "message_hash": message_hash,
            "rule": rule,
            "reason": reason,
            "comment": comment,
            "filed_at": "2026-11-24T10:00:00+00:00",
        }
        assert self.collector.ingest_appeal(self.envelope(payload))["status"] == "accepted"
        row = [
            a
            for a in self.collector.appeals()
            if a["device_id"] == self.device_id and a["appeal_id"] == self.appeals
        ]
        return row[0]["id"]


def event(
    rule: str, category: str, at: datetime, snippet: str, n: int, tier: str = "approval"
) -> dict[str, Any]:
    return {
        "rule": rule,
        "tier": tier,
        "category": category,
        "at": at.isoformat(),
        "direction": "sent",
        "source": "scan",
        "counterpart_domain": "buyer.example",
        "snippet": snippet,
        "quoted": False,
        "message_hash": hashlib.sha256(f"{rule}/{n}".encode()).hexdigest(),
    }


def seed(collector: Any) -> dict[str, Any]:
    """Two departments over a few weeks; sales-east has a snippet holding <script>; two appeals."""
    now = datetime.now(UTC).replace(microsecond=0)
    east = Device(collector, "sales-east").enroll()
    west = Device(collector, "sales-west").enroll()
    east_events = [
        event(
            "commit.lowest-price",
            "commitment",
            now - timedelta(days=7 * (i % 3), hours=1),
            "…we guarantee the »lowest price« for the whole year…",
            i,
        )
        for i in range(6)
    ]
    east_events.append(
        event("commit.lowest-price", "commitment", now - timedelta(hours=2), SCRIPT_SNIPPET, 99)
    )
    west_events = [
        event(
            "offbook.private-deal",
            "off-book",
            now - timedelta(days=7 * (i % 2), hours=3),
            "…please keep this »between us« and the boss…",
            100 + i,
            "forbidden",
        )
        for i in range(4)
    ]
    east.upload(east_events)
    west.upload(west_events)
    east_appeal = east.appeal(
        east_events[0]["message_hash"], "commit.lowest-price", "I wrote that we cannot promise it"
    )
    west_appeal = west.appeal(
        west_events[0]["message_hash"], "offbook.private-deal", "a <i>quote</i> from a novel"
    )
    return {
        "east": east,
        "west": west,
        "east_appeal": east_appeal,
        "west_appeal": west_appeal,
        "east_events": east_events,
        "west_events": west_events,
    }


def make_collector(url: str) -> Any:
    from collector.keys import load_policy_signer
    from collector.service import Collector
    from collector.storage import SqlStorage

    storage = SqlStorage(url, pool_size=2)
    storage.migrate()
    return Collector(storage, load_policy_signer(storage))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/dashboard/login")
    return client.post(
        "/dashboard/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text)},
        follow_redirects=False,
    )


@dataclass
class Dash:
    collector: Any
    app: Any
    data: dict[str, Any]

    def client(self, username: str | None = None, lang: str = "en") -> TestClient:
        # https: the session cookie is Secure (this is not plain HTTP on loopback).
        client = TestClient(self.app, base_url="https://testserver", headers={"Accept-Language": lang})
        if username is not None:
            r = login(client, username)
            assert r.status_code == 303, r.text
        return client


@pytest.fixture
def dash(db_url, monkeypatch):  # noqa: F811 (the fixture imported above)
    import functools

    import argon2

    from collector.app import create_app
    from collector.dashboard import install

    # Real Argon2id, with light parameters: the defaults cost ~0.3 s per hash on the shared CI CPUs
    # (verification reads the parameters from the stored hash, so logins still check for real).
    monkeypatch.setattr(
        argon2,
        "PasswordHasher",
        functools.partial(argon2.PasswordHasher, time_cost=1, memory_cost=8192, parallelism=1),
    )

    collector = make_collector(db_url)
    app = create_app(collector)
    install(app, collector)  # a no-op when create_app installed it already
    for name, role, department in (
        ("admin", "admin", None),
        ("carol", "compliance", None),
        ("mia", "manager", "sales-east"),
        ("otto", "auditor", None),
    ):
        collector.create_user(name, PASSWORD, role, department)
    yield Dash(collector, app, seed(collector))
    collector.storage.dispose()
