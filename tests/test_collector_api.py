"""The collector over real HTTP on 127.0.0.1, on both backends (a SQLite file and a real
PostgreSQL server), with workstation clients that sign with `cryptography` (docs/protocol.md)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tests.collector_fixtures import *  # noqa: F403
from tests.collector_fixtures import Server, Workstation, obj_hash, start_server, summary_payload
from tests.fixtures import free_port, wait_until

REPO = Path(__file__).resolve().parents[1]
POLICY = '[policy]\nversion = "{v}"\nname = "Trade"\n\n[rules]\nsnippets = true\n'


def rows(srv: Server, table: str, **where):
    with srv.collector.storage.transaction() as tx:
        return tx.select(table, where or None)


def error_code(r: requests.Response) -> str:
    return r.json()["error"]["code"]


# -- enrolment and the summary chain -------------------------------------------------------------


def test_enroll_upload_chain_duplicate(server):
    token = server.collector.create_token("sales-east")["token"]
    ws = server.workstation()
    r = ws.enroll(token, department="")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["device_id"].startswith("dev_") and body["collector"].startswith("col_")
    assert body["policy_key"] == server.collector.signer.public_key_b64
    sent = []
    for seq in (1, 2, 3):
        payload = ws.next_summary(n_events=seq)
        r = ws.upload(payload)
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "accepted", "seq": seq, "hash": obj_hash(payload)}
        sent.append(payload)
    # A re-send after a lost answer: duplicate, nothing stored twice.
    r = ws.post("summaries", sent[1])
    assert r.status_code == 200 and r.json() == {"status": "duplicate", "seq": 2, "hash": obj_hash(sent[1])}
    assert [s["seq"] for s in rows(server, "summaries")] == [1, 2, 3]
    events = rows(server, "events")
    assert len(events) == 6
    ev = events[0]
    assert ev["department"] == "sales-east" and ev["device_id"] == ws.device_id
    assert ev["rule"] == "commit.lowest-price" and ev["snippet"].startswith("…we guarantee")
    assert ev["quoted"] is False and len(ev["message_hash"]) == 64
    status = server.collector.device_status(ws.device_id)
    assert status["last_seq"] == 3 and status["last_hash"] == obj_hash(sent[2])
    assert status["gaps"] == [] and status["alerts"] == [] and status["summaries"] == 3


def test_sequence_conflict_and_chain_break_are_tamper_alerts(server):
    ws = server.enrolled()
    first = ws.next_summary()
    assert ws.upload(first).json()["status"] == "accepted"
    assert ws.upload_next().status_code == 200
    # A different payload under a used seq.
    forged = summary_payload(ws.device_id, 2, obj_hash(first), n_events=5)
    r = ws.post("summaries", forged)
    assert r.status_code == 409 and error_code(r) == "sequence_conflict"
    # A prev_hash that does not match seq 2.
    broken = summary_payload(ws.device_id, 3, "0" * 64)
    r = ws.post("summaries", broken)
    assert r.status_code == 409 and error_code(r) == "sequence_conflict"
    # seq 1 must have an empty prev_hash.
    other = server.enrolled()
    r = other.post("summaries", summary_payload(other.device_id, 1, "f" * 64))
    assert r.status_code == 409
    alerts = rows(server, "alerts", device_id=ws.device_id)
    assert [(a["kind"], a["seq"]) for a in alerts] == [("sequence_conflict", 2), ("sequence_conflict", 3)]
    assert alerts[0]["payload_hash"] == obj_hash(forged) and "chain" in alerts[1]["detail"]
    # Nothing else stored: two summaries, four events.
    assert len(rows(server, "summaries", device_id=ws.device_id)) == 2
    assert len(rows(server, "events", device_id=ws.device_id)) == 4
    assert ws.upload_next().json()["seq"] == 3  # the genuine seq 3 still goes through


def test_gap_is_stored_and_recorded(server):
    ws = server.enrolled()
    ws.upload_next()
    r = ws.post("summaries", summary_payload(ws.device_id, 4, "a" * 64))
    assert r.status_code == 200
    assert r.json()["status"] == "accepted" and r.json()["gap"] == [2, 3]
    gaps = rows(server, "gaps", device_id=ws.device_id)
    assert [(g["from_seq"], g["to_seq"]) for g in gaps] == [(2, 3)]
    assert server.collector.device_status(ws.device_id)["last_seq"] == 4


def test_a_gap_filled_late_chains_without_alerts(server):
    ws = server.enrolled()
    ws.upload_next()
    chain, prev = [], ws.last_hash
    for seq in (2, 3, 4):
        chain.append(summary_payload(ws.device_id, seq, prev))
        prev = obj_hash(chain[-1])
    assert ws.upload(chain[2]).json()["gap"] == [2, 3]
    for payload in chain[:2]:  # the missing ones arrive after all
        r = ws.post("summaries", payload)
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert [s["seq"] for s in rows(server, "summaries")] == [1, 4, 2, 3]
    assert rows(server, "alerts") == [] and server.collector.device_status(ws.device_id)["last_seq"] == 4
    # A different seq 3 now conflicts with the stored seq 4's prev_hash as well as with seq 3.
    assert ws.post("summaries", summary_payload(ws.device_id, 3, obj_hash(chain[0]), 7)).status_code == 409


# -- refusals ----------------------------------------------------------------------------------


def test_enroll_refusals(server):
    coll = server.collector
    ws = server.workstation()
    r = ws.enroll("mwt_not-a-token")
    assert r.status_code == 401 and error_code(r) == "invalid_token"
    revoked = coll.create_token("it")
    assert coll.revoke_token(revoked["token"])
    r = ws.enroll(revoked["token"])
    assert r.status_code == 403 and error_code(r) == "revoked_token"
    by_id = coll.create_token("it")
    assert coll.revoke_token(str(by_id["id"]))
    assert ws.enroll(by_id["token"]).status_code == 403
    expiring = coll.create_token("it", expires_days=1)
    server.clock.offset = timedelta(days=2)
    r = ws.enroll(expiring["token"])
    assert r.status_code == 403 and error_code(r) == "expired_token"
    server.clock.offset = timedelta(0)
    good = coll.create_token("finance")["token"]
    for body in (
        {},
        {"token": good},
        {"token": good, "public_key": "xx", "hostname": "h"},
        {"token": 5, "public_key": ws.public_key, "hostname": "h"},
    ):
        r = ws.session.post(f"{server.url}/api/v1/enroll", json=body)
        assert r.status_code == 400 and error_code(r) == "bad_request", body
    assert rows(server, "devices") == []
    r = ws.enroll(good, department="finance-asia")
    assert r.status_code == 201
    assert rows(server, "devices")[0]["department"] == "finance-asia"


def _raw(url: str, data: bytes, headers: dict | None = None) -> requests.Response:
    return requests.post(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})


def test_upload_refusals_store_nothing(server):
    ws = server.enrolled()
    url = f"{server.url}/api/v1/summaries"
    payload = ws.next_summary()
    # unknown device
    stranger = Workstation(server.url, device_id="dev_000000000000000000000000")
    r = stranger.post("summaries", summary_payload(stranger.device_id, 1, ""))
    assert r.status_code == 401 and error_code(r) == "unknown_device"
    # bad signature: signed by another key, or payload altered after signing
    impostor = Workstation(server.url, device_id=ws.device_id)
    r = impostor.post("summaries", payload)
    assert r.status_code == 401 and error_code(r) == "bad_signature"
    env = ws.envelope(payload)
    env["payload"]["seq"] = 9
    r = requests.post(url, json=env)
    assert r.status_code == 401 and error_code(r) == "bad_signature"
    env = ws.envelope(payload)
    env["signature"] = "not base64!"
    assert requests.post(url, json=env).status_code == 401
    # malformed JSON, missing fields, wrong types
    for data in (b"{not json", b"[1, 2]", b"\xff\xfe", b""):
        r = _raw(url, data)
        assert r.status_code == 400 and error_code(r) == "bad_request", data
    assert requests.post(url, json={"device_id": ws.device_id}).status_code == 400
    assert (
        requests.post(url, json={"device_id": ws.device_id, "payload": [], "signature": "x"}).status_code
        == 400
    )
    for broken in (
        {**payload, "seq": "1"},
        {**payload, "seq": True},
        {**payload, "seq": 0},
        {k: v for k, v in payload.items() if k != "period"},
        {**payload, "events": [{"rule": 1}]},
        {**payload, "events": [{**payload["events"][0], "at": "yesterday"}]},
        {**payload, "type": "appeal"},
        {**payload, "device_id": "dev_other"},
        {**payload, "events": [{**payload["events"][0], "quoted": "no"}]},
    ):
        r = ws.post("summaries", broken)
        assert r.status_code == 400 and error_code(r) == "bad_request", broken
    # oversized: refused from Content-Length before reading, and while streaming chunks
    big = ws.envelope({**payload, "padding": "x" * (1024 * 1024)})
    r = requests.post(url, json=big)
    assert r.status_code == 413 and error_code(r) == "too_large"
    assert _content_length_only(server.url, 50 * 1024 * 1024).startswith(b"HTTP/1.1 413")
    assert _chunked_past_limit(server.url).startswith(b"HTTP/1.1 413")
    assert rows(server, "summaries") == [] and rows(server, "events") == []
    # revoked device
    assert ws.upload(payload).status_code == 200
    assert server.collector.revoke_device(ws.device_id)
    r = ws.upload_next()
    assert r.status_code == 403 and error_code(r) == "revoked_device"
    r = ws.signed_get("/api/v1/policy")
    assert r.status_code == 403 and error_code(r) == "revoked_device"
    appeal = {
        "type": "appeal",
        "schema": 1,
        "device_id": ws.device_id,
        "appeal_id": 1,
        "message_hash": "ab" * 32,
        "rule": "r",
        "reason": "false_positive",
        "filed_at": "2026-11-24T10:00:00+00:00",
    }
    r = ws.post("appeals", appeal)
    assert r.status_code == 403 and error_code(r) == "revoked_device"
    assert len(rows(server, "summaries")) == 1 and rows(server, "appeals") == []
    text = requests.get(f"{server.url}/metrics").text
    for reason in ("unknown_device", "bad_signature", "bad_request", "too_large", "revoked_device"):
        assert f'mailwarden_collector_rejections_total{{reason="{reason}"}}' in text


def test_a_failure_mid_transaction_stores_nothing(server, monkeypatch):
    """The summary row is written, then the events fail: the whole upload is rolled back, and the
    workstation's re-send later goes through as if nothing had happened."""
    from collector.storage import SqlTx

    ws = server.enrolled()
    assert ws.upload_next().status_code == 200
    payload = ws.next_summary(n_events=3)

    def broken(self, table, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlTx, "insert_many", broken)
    r = ws.post("summaries", payload)
    assert r.status_code == 500 and error_code(r) == "internal_error"
    assert [s["seq"] for s in rows(server, "summaries")] == [1] and len(rows(server, "events")) == 2
    assert server.collector.device_status(ws.device_id)["last_seq"] == 1
    monkeypatch.undo()
    r = ws.upload(payload)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert len(rows(server, "events")) == 5 and rows(server, "alerts") == [] and rows(server, "gaps") == []


def _http_head(url: str, head: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head.encode())
    return sock


def _content_length_only(url: str, length: int) -> bytes:
    """Announce a huge body, send none of it: the answer must come at once."""
    sock = _http_head(
        url,
        f"POST /api/v1/summaries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n",
    )
    with sock:
        return sock.recv(65536)


def _chunked_past_limit(url: str) -> bytes:
    """Stream chunks without a length just past 1 MiB, never finishing the body."""
    sock = _http_head(
        url,
        "POST /api/v1/summaries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
    )
    chunk = b"x" * 65536
    with sock:
        for _ in range(17):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        return sock.recv(65536)


# -- policy, appeals, decisions ------------------------------------------------------------------


def test_policy_publish_and_signed_fetch(server):
    ws = server.enrolled()
    r = ws.signed_get("/api/v1/policy")
    assert r.status_code == 204
    published = server.collector.publish_policy(POLICY.format(v="2026.12.1"))
    r = ws.signed_get("/api/v1/policy")
    assert r.status_code == 200
    answer = r.json()
    assert answer["version"] == "2026.12.1" and answer["policy"] == POLICY.format(v="2026.12.1")
    assert answer["signature"] == published["signature"] and answer["published_at"]
    assert ws.verify_policy(answer)  # with the key pinned at enrolment
    assert not ws.verify_policy({**answer, "policy": answer["policy"] + "# edited\n"})
    # refused requests
    r = ws.signed_get("/api/v1/policy", when=int(time.time()) - 301)
    assert r.status_code == 401 and error_code(r) == "stale_request"
    r = ws.session.get(f"{server.url}/api/v1/policy")
    assert r.status_code == 400
    r = Workstation(server.url, device_id=ws.device_id).signed_get("/api/v1/policy")
    assert r.status_code == 401 and error_code(r) == "bad_signature"
    # the path and query are signed
    msg = {"method": "GET", "path": "/api/v1/policy", "query": "", "time": int(time.time())}
    r = ws.session.get(
        f"{server.url}/api/v1/decisions",
        headers={
            "X-Mailwarden-Device": ws.device_id,
            "X-Mailwarden-Time": str(msg["time"]),
            "X-Mailwarden-Signature": ws.sign(msg),
        },
    )
    assert r.status_code == 401
    # publishing: must be TOML with [policy] version, newer than the one in force
    from collector.service import CollectorError

    for bad in ("not = [toml", "[rules]\nx = 1\n", "[policy]\nversion = 3\n"):
        with pytest.raises(CollectorError) as exc:
            server.collector.publish_policy(bad)
        assert exc.value.status == 400
    with pytest.raises(CollectorError) as exc:
        server.collector.publish_policy(POLICY.format(v="2026.9.30"))
    assert exc.value.code == "stale_version"
    server.collector.publish_policy(POLICY.format(v="2026.12.10"))
    assert ws.signed_get("/api/v1/policy").json()["version"] == "2026.12.10"


def test_appeals_and_decisions_feed(server):
    ws = server.enrolled()
    other = server.enrolled("logistics")
    appeal = {
        "type": "appeal",
        "schema": 1,
        "device_id": ws.device_id,
        "appeal_id": 3,
        "message_hash": "ab" * 32,
        "rule": "commit.lowest-price",
        "reason": "false_positive",
        "comment": "quoted from the buyer",
        "filed_at": "2026-11-24T10:00:00+00:00",
    }
    r = ws.post("appeals", appeal)
    assert r.status_code == 200 and r.json() == {"status": "accepted", "appeal_id": 3}
    assert ws.post("appeals", appeal).json() == {"status": "duplicate", "appeal_id": 3}
    assert ws.post("appeals", {**appeal, "appeal_id": "3"}).status_code == 400
    assert other.post("appeals", {**appeal, "device_id": other.device_id}).json()["status"] == "accepted"
    stored = rows(server, "appeals", device_id=ws.device_id)
    assert len(stored) == 1 and stored[0]["status"] == "pending" and stored[0]["department"] == "sales-east"
    r = ws.signed_get("/api/v1/decisions", "after=0")
    assert r.json() == {"decisions": [], "cursor": 0}
    decided = server.collector.decide_appeal(stored[0]["id"], "upheld", "agreed, quoted text", "alice")
    r = ws.signed_get("/api/v1/decisions", "after=0")
    assert r.status_code == 200
    feed = r.json()
    assert feed["cursor"] == decided["id"]
    [d] = feed["decisions"]
    assert d["appeal_id"] == 3 and d["status"] == "upheld" and d["comment"] == "agreed, quoted text"
    assert ws.signed_get("/api/v1/decisions", f"after={feed['cursor']}").json()["decisions"] == []
    assert other.signed_get("/api/v1/decisions", "after=0").json()["decisions"] == []  # only one's own
    row = rows(server, "appeals", id=stored[0]["id"])[0]
    assert row["status"] == "upheld" and row["reviewer"] == "alice" and row["decided_at"] is not None
    from collector.service import CollectorError

    with pytest.raises(CollectorError):
        server.collector.decide_appeal(stored[0]["id"], "maybe", "", "alice")
    assert ws.signed_get("/api/v1/decisions", "after=x").status_code == 400


def test_retention_purge_keeps_the_chain(server):
    ws = server.enrolled()
    sent = []
    for _ in range(3):
        sent.append(ws.next_summary())
        ws.upload(sent[-1])
    ws.post("summaries", summary_payload(ws.device_id, 3, "b" * 64))  # an alert
    server.clock.offset = timedelta(days=40)
    counts = server.collector.purge(30)
    assert counts["summaries"] == 3 and counts["events"] == 6 and counts["alerts"] == 1
    assert rows(server, "summaries") == [] and rows(server, "events") == []
    r = ws.upload_next()  # seq 4 chains to the purged seq 3 through the device's chain head
    assert r.status_code == 200 and r.json()["status"] == "accepted" and "gap" not in r.json()
    # A replay of a purged summary is not stored again (it would be counted twice).
    r = ws.post("summaries", sent[1])
    assert (
        r.status_code == 409
        and error_code(r) == "sequence_conflict"
        and "replay" in r.json()["error"]["message"]
    )
    assert [s["seq"] for s in rows(server, "summaries")] == [4]
    r = ws.post("summaries", summary_payload(ws.device_id, 5, "c" * 64))
    assert r.status_code == 409


def test_health_and_metrics(server):
    assert requests.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ws = server.enrolled()
    ws.upload_next()
    text = requests.get(f"{server.url}/metrics").text
    assert 'mailwarden_collector_uploads_total{kind="summary",status="accepted"} 1.0' in text
    assert "mailwarden_collector_request_seconds_bucket" in text
    r = requests.get(f"{server.url}/api/v1/nothing")
    assert r.status_code == 404 and error_code(r) == "not_found"


def test_hundred_devices_upload_concurrently(server):
    workstations = [server.enrolled() for _ in range(100)]
    errors: list[str] = []

    def run(ws: Workstation) -> None:
        for _ in range(3):
            r = ws.upload_next(n_events=3)
            if r.status_code != 200 or r.json()["status"] != "accepted":
                errors.append(r.text)

    threads = [threading.Thread(target=run, args=(ws,)) for ws in workstations]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rows(server, "summaries")) == 300 and len(rows(server, "events")) == 900
    assert rows(server, "gaps") == [] and rows(server, "alerts") == []


def test_migrations_match_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from collector.migrations.runner import current
    from collector.storage import SqlStorage, metadata

    storage = SqlStorage(db_url)
    storage.migrate()  # a second run is a no-op

    def ours(obj, name, type_, _reflected, _compare_to) -> bool:
        # Tables of other parts (the dashboard's, from its own 01xx migrations) are checked by their tests.
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is None or table in metadata.tables

    with storage.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        assert compare_metadata(context, metadata) == []
    assert current(storage.engine) == _head()
    storage.dispose()


def _head() -> str:
    """The one head of the migration chain (get_current_head raises when there are several)."""
    from alembic.script import ScriptDirectory

    from collector.migrations.runner import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_administration(db_url, tmp_path):
    from collector.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["migrate", "--db", db_url])
    assert r.exit_code == 0 and f"at revision {_head()}" in r.output
    r = runner.invoke(main, ["create-token", "--db", db_url, "--department", "sales", "--expires", "7"])
    assert r.exit_code == 0
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("mwt_")
    srv = start_server(db_url)
    try:
        assert srv.workstation().enroll(token).status_code == 201
        policy = tmp_path / "policy.toml"
        policy.write_text(POLICY.format(v="2027.1.1"))
        r = runner.invoke(main, ["publish-policy", "--db", db_url, str(policy)])
        assert r.exit_code == 0, r.output
        assert srv.collector.current_policy()["version"] == "2027.1.1"
        policy.write_text("[rules]\n")
        assert runner.invoke(main, ["publish-policy", "--db", db_url, str(policy)]).exit_code == 1
        r = runner.invoke(main, ["revoke-token", "--db", db_url, token])
        assert r.exit_code == 0
        assert srv.workstation().enroll(token).status_code == 403
        r = runner.invoke(
            main,
            ["create-admin", "--db", db_url, "--user", "alice", "--password-stdin"],
            input="correct horse battery\n",
        )
        assert r.exit_code == 0, r.output
        user = rows(srv, "users")[0]
        assert user["role"] == "admin" and user["password_hash"].startswith("$argon2id$")
        assert "correct horse" not in user["password_hash"]
        assert srv.collector.check_password("alice", "correct horse battery")["username"] == "alice"
        assert srv.collector.check_password("alice", "wrong") is None
        r = runner.invoke(main, ["purge", "--db", db_url, "--older-than", "30"])
        assert r.exit_code == 0 and "deleted" in r.output
        [token_row] = rows(srv, "tokens")
        assert token not in json.dumps(token_row, default=str)  # hashed at rest
    finally:
        srv.stop()
        srv.collector.storage.dispose()


def test_policy_key_file_is_private_and_stable(tmp_path):
    from collector.keys import load_or_create_file_key

    path = tmp_path / "policy.key"
    first = load_or_create_file_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_file_key(path).public_key_b64 == first.public_key_b64
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        load_or_create_file_key(path)


# -- a collector killed while clients upload -----------------------------------------------------


def _spawn(db: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector.cli", "serve", "--db", db, "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode())
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until("the collector to start", healthy, 20)
    return proc


def test_killed_collector_loses_no_acknowledged_summary(db_url):
    from collector.app import build_collector

    db = db_url
    setup = build_collector(db)
    tokens = [setup.create_token("sales")["token"] for _ in range(8)]
    setup.storage.dispose()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _spawn(db, port)
    devices = [Workstation(url) for _ in tokens]
    for ws, token in zip(devices, tokens, strict=True):
        assert ws.enroll(token).status_code == 201
    payloads: dict[str, list[dict]] = {ws.device_id: [] for ws in devices}
    acked: dict[str, set[int]] = {ws.device_id: set() for ws in devices}
    stop = threading.Event()

    def run(ws: Workstation) -> None:
        while not stop.is_set():
            payload = ws.next_summary()
            payloads[ws.device_id].append(payload)
            try:
                r = ws.upload(payload)
            except requests.RequestException:
                return  # the collector died mid-request: this one is unacknowledged
            assert r.status_code == 200
            acked[ws.device_id].add(payload["seq"])

    threads = [threading.Thread(target=run, args=(ws,)) for ws in devices]
    for t in threads:
        t.start()
    wait_until("150 acknowledged summaries", lambda: sum(len(a) for a in acked.values()) >= 150, 60, 0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert sum(len(p) for p in payloads.values()) > sum(len(a) for a in acked.values())  # some in flight

    proc = _spawn(db, port)
    try:
        for ws in devices:
            ws.session = requests.Session()
            for payload in payloads[ws.device_id]:
                r = ws.post("summaries", payload)
                assert r.status_code == 200, r.text
                if payload["seq"] in acked[ws.device_id]:
                    assert r.json()["status"] == "duplicate"  # acknowledged means stored
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    check = build_collector(db)
    for ws in devices:
        status = check.device_status(ws.device_id)
        assert status["summaries"] == len(payloads[ws.device_id]) == status["last_seq"]
        assert status["gaps"] == [] and status["alerts"] == []
    with check.storage.transaction() as tx:
        assert tx.count("events") == 2 * sum(len(p) for p in payloads.values())
    check.storage.dispose()


def test_every_collector_command_is_documented():
    from pathlib import Path

    from collector.cli import main as collector_cli

    doc = (Path(__file__).resolve().parents[1] / "docs" / "collector.md").read_text(encoding="utf-8")
    for name in collector_cli.commands:
        assert f"`mailwarden-collector {name}" in doc, f"docs/collector.md does not document `{name}`"


def test_two_publishers_of_the_same_version_never_both_win(server, monkeypatch):
    """The version check and the insert are one transaction: two publishers racing with the same
    version give one policy and one stale_version, on every backend."""
    from collector import service
    from collector.service import CollectorError

    barrier = threading.Barrier(2)
    real_key = service.version_key

    def meeting_point(version):  # both publishers here at once, when nothing serialises them
        try:
            barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return real_key(version)

    monkeypatch.setattr(service, "version_key", meeting_point)
    server.collector.publish_policy(POLICY.format(v="2026.12.1"))
    barrier.reset()
    outcomes = []

    def publish():
        try:
            server.collector.publish_policy(POLICY.format(v="2026.12.2"))
            outcomes.append("published")
        except CollectorError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["published", "stale_version"]
    with server.collector.storage.read() as tx:
        assert [p["version"] for p in tx.select("policies")].count("2026.12.2") == 1
