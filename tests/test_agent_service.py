"""The agent as a real process: `python -m companion.agent`, real HTTP on 127.0.0.1, real SQLite,
real file events. Every process started here is stopped, even when a test fails."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from companion.agent.client import AgentClient, AgentInfo, read_agent_file, write_agent_file
from companion.agent.errors import AgentNotRunning, BadRequest, NotFound
from companion.agent.lock import InstanceLock
from companion.config import Paths
from tests.conftest import REPO, age, build_eml, write_mbox
from tests.fixtures import free_port, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")

START_TIMEOUT = 20.0


@dataclass
class Agent:
    proc: subprocess.Popen
    home: Path
    mbox: Path
    folder: Path
    env: dict[str, str]

    @property
    def info(self) -> AgentInfo:
        return read_agent_file(self.home / "agent.json")

    def client(self) -> AgentClient:
        return AgentClient.connect(Paths(self.home), timeout=10)

    def stderr(self) -> str:
        return (self.home.parent / "agent.err").read_text(errors="replace")


def _start(root: Path) -> Agent:
    home = root / "home"
    home.mkdir(parents=True)
    mbox = age(
        write_mbox(
            root / "Sent",
            [
                build_eml(
                    "We guarantee the lowest price.",
                    subject="mbox risky",
                    message_id="<a1@t>",
                    date="Mon, 02 Nov 2026 10:00:00 +0000",
                ),
                build_eml(
                    "Thanks for your order.",
                    subject="mbox benign",
                    message_id="<a2@t>",
                    date="Mon, 02 Nov 2026 11:00:00 +0000",
                ),
            ],
        )
    )
    folder = root / "Inbox"
    folder.mkdir()
    (folder / "bank.eml").write_bytes(
        build_eml(
            "Please note our bank details have changed.",
            subject="eml bank",
            sender="acc@supplier.example",
            message_id="<b1@t>",
            date="Tue, 03 Nov 2026 10:00:00 +0000",
        )
    )
    (folder / "hello.eml").write_bytes(
        build_eml("你好，合同已收到。", subject="eml benign", message_id="<b2@t>")
    )
    for eml in folder.iterdir():
        age(eml)
    (home / "config.toml").write_text(
        f"discover = false\nstores = [{json.dumps(str(mbox))}, {json.dumps(str(folder))}]\n"
        "debounce_seconds = 0.3\nrescan_minutes = 10\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "MAILWARDEN_HOME": str(home),
        "MAILWARDEN_QUIET_SECONDS": "0.5",
        "PYTHONPATH": str(REPO),
    }
    err = (root / "agent.err").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion.agent"],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=err,
        stderr=err,
    )
    err.close()
    agent = Agent(proc, home, mbox, folder, env)
    try:
        wait_until(
            "agent.json", lambda: proc.poll() is not None or (home / "agent.json").exists(), START_TIMEOUT
        )
        assert proc.poll() is None, f"the agent exited with {proc.returncode}: {agent.stderr()}"
    except BaseException:
        _stop(agent)
        raise
    return agent


def _stop(agent: Agent) -> None:
    if agent.proc.poll() is None:
        agent.proc.terminate()
        try:
            agent.proc.wait(10)
        except subprocess.TimeoutExpired:
            agent.proc.kill()
            agent.proc.wait(5)


@pytest.fixture(scope="module")
def agent(tmp_path_factory) -> Iterator[Agent]:
    running = _start(tmp_path_factory.mktemp("agent"))
    try:
        yield running
    finally:
        _stop(running)


@pytest.fixture
def fresh_agent(tmp_path) -> Iterator[Agent]:
    running = _start(tmp_path / "fresh")
    try:
        yield running
    finally:
        _stop(running)


def raw(
    agent: Agent,
    method: str,
    path: str,
    *,
    token: str | None = "ok",
    host: str | None = None,
    body: bytes | None = None,
) -> tuple[int, dict]:
    """One request through urllib (no proxy), as any local program could send it."""
    info = agent.info
    request = urllib.request.Request(f"http://127.0.0.1:{info.port}{path}", data=body, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {info.token if token == 'ok' else token}")
    if host is not None:
        request.add_header("Host", host)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _error_shape(answer: dict) -> dict:
    assert answer["api"] == 1 and set(answer["error"]) == {"title", "message"}
    return answer["error"]


def test_agent_json_is_private_and_names_this_process(agent):
    path = agent.home / "agent.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    info = agent.info
    assert info.pid == agent.proc.pid and info.port > 0 and len(info.token) >= 32
    assert info.token not in (agent.home / "logs" / "agent.log").read_text()  # the token is never logged


def test_every_request_needs_the_token(agent):
    status, answer = raw(agent, "GET", "/v1/status", token=None)
    assert status == 401 and "Bearer" in _error_shape(answer)["message"]
    status, answer = raw(agent, "GET", "/v1/status", token=_wrong(agent.info.token))
    assert status == 401
    status, answer = raw(agent, "GET", "/v1/status")
    assert status == 200 and answer["api"] == 1 and answer["agent"]["pid"] == agent.proc.pid


def test_foreign_host_header_is_refused(agent):
    port = agent.info.port
    status, answer = raw(agent, "GET", "/v1/status", host=f"evil.example:{port}")
    assert status == 403 and _error_shape(answer)["title"] == "Forbidden"
    assert raw(agent, "GET", "/v1/status", host=f"127.0.0.1:{port + 1}")[0] == 403
    assert raw(agent, "GET", "/v1/status", host=f"localhost:{port}")[0] == 200


def test_routes_and_bodies_are_checked(agent):
    assert raw(agent, "GET", "/v1/nope")[0] == 404
    assert raw(agent, "GET", "/v2/status")[0] == 404
    assert raw(agent, "GET", "/v1/check")[0] == 405
    status, answer = raw(agent, "POST", "/v1/check", body=b"{not json")
    assert status == 400 and "not valid JSON" in _error_shape(answer)["message"]
    status, answer = raw(agent, "POST", "/v1/check", body=b"[1, 2]")
    assert status == 400 and "JSON object" in _error_shape(answer)["message"]
    assert raw(agent, "GET", "/v1/flags?limit=abc")[0] == 400
    assert raw(agent, "DELETE", "/v1/status")[0] == 405
    # Requests the stdlib refuses itself (here a header line too long) get the JSON error shape too.
    with socket.create_connection(("127.0.0.1", agent.info.port), timeout=10) as sock:
        # Exactly what the server reads before refusing: no unread bytes, so it closes without a reset.
        sock.sendall(b"GET /v1/status HTTP/1.1\r\n" + b"x" * 65537)
        head, _, body = _read_all(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 431") and b"application/json" in head
    assert _error_shape(json.loads(body))["title"] == "Request Header Fields Too Large"
    # Too large: refused from the Content-Length alone, before any body is read.
    conn = http.client.HTTPConnection("127.0.0.1", agent.info.port, timeout=10)
    try:
        conn.putrequest("POST", "/v1/check", skip_host=True)
        conn.putheader("Host", f"127.0.0.1:{agent.info.port}")
        conn.putheader("Authorization", f"Bearer {agent.info.token}")
        conn.putheader("Content-Length", str(11 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert _error_shape(json.loads(response.read()))["title"] == "Request too large"
    finally:
        conn.close()


def test_status_shows_the_stores_and_the_first_scan(agent):
    client = agent.client()
    status = wait_until("the first scan", lambda: (s := client.status())["totals"]["messages"] == 4 and s)
    stores = {s["path"]: s for s in status["stores"]}
    assert set(stores) == {str(agent.mbox), str(agent.folder)}
    assert all(s["readable"] and s["watching"] and s["kind"] == "configured" for s in stores.values())
    assert status["policy"]["source"] == "default" and status["agent"]["pid"] == agent.proc.pid
    assert status["scan"]["state"] in ("idle", "scanning") and status["scan"]["last_start"]
    assert [s["path"] for s in client.stores()] == [s["path"] for s in status["stores"]]


def test_flags_flag_and_appeal_over_http(agent):
    client = agent.client()
    flags = wait_until("two flags", lambda: (f := client.flags())["total"] >= 2 and f)
    subjects = [f["subject"] for f in flags["flags"]]
    assert subjects.index("eml bank") < subjects.index("mbox risky")  # newest first
    key = next(f["id"] for f in flags["flags"] if f["subject"] == "mbox risky")
    flag = client.flag(key)["flag"]
    (finding,) = flag["findings"]
    [excerpt] = flag["excerpts"]
    assert excerpt["field"] == finding["field"] == {"kind": "body", "name": ""}
    assert excerpt["text"][finding["start"] : finding["end"]] == "lowest price"
    appeal = client.file_appeal(key, "approved by my manager", rule="commit.lowest-price")["appeal"]
    assert appeal["status"] == "pending"
    assert appeal["id"] in [a["id"] for a in client.appeals()["appeals"]]
    with pytest.raises(BadRequest, match="'reason' is required"):
        client.file_appeal(key, " ")
    with pytest.raises(NotFound):
        client.flag("f" * 32)
    assert client.outbox() == {"outbox": []}
    assert client.messages(verdict="pass")["total"] >= 2


def test_check_answers_fast(agent):
    client = agent.client()
    payload = {
        "from": "me@corp.example",
        "to": ["buyer@client.example"],
        "subject": "报价",
        "body": "这次给你私下折扣，别告诉公司。",
    }
    started = time.perf_counter()
    result = client.check(payload)
    elapsed = time.perf_counter() - started
    assert result["verdict"] == "block" and result["findings"][0]["explanation"]["zh"]
    assert elapsed < 1.0, f"a pre-send check took {elapsed:.2f} s"
    assert client.check({**payload, "body": "合同已收到，谢谢。"})["verdict"] == "pass"
    assert client.rescan() == {"scan": "requested"}


def test_mail_appended_to_a_watched_mbox_is_flagged(agent):
    client = agent.client()
    wait_until("the first scan", lambda: client.status()["totals"]["messages"] >= 4)
    new = build_eml(
        "Keep this between us: pay to my personal account.",
        subject="appended risky",
        message_id="<a3@t>",
        date="Wed, 04 Nov 2026 10:00:00 +0000",
    )
    with agent.mbox.open("ab") as f:  # as Thunderbird does: append in place
        f.write(b"From - Wed Nov  4 10:00:00 2026\n" + new.replace(b"\r\n", b"\n") + b"\n")
    flagged = wait_until(
        "the appended mail among the flags",
        lambda: [f for f in client.flags()["flags"] if f["subject"] == "appended risky"],
        timeout=10,
    )
    assert flagged[0]["verdict"] == "block"
    new_eml = agent.folder / "later.eml"
    new_eml.write_bytes(
        build_eml("we can be flexible on the terms", subject="dropped eml", message_id="<b3@t>")
    )
    wait_until(
        "a new .eml file in a watched folder",
        lambda: any(m["subject"] == "dropped eml" for m in client.messages(limit=100)["messages"]),
    )


def test_a_second_agent_refuses_to_start_and_names_the_first(agent):
    second = subprocess.run(
        [sys.executable, "-m", "companion.agent"],
        env=agent.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode != 0
    assert f"pid {agent.proc.pid}" in second.stderr and "already running" in second.stderr
    assert agent.info.pid == agent.proc.pid  # the running agent's file was left alone


def test_client_says_when_no_agent_runs(tmp_path):
    home = tmp_path / "none"
    home.mkdir()
    with pytest.raises(AgentNotRunning, match="not running"):
        AgentClient.connect(Paths(home))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_agent_file(home / "agent.json", AgentInfo(dead.pid, 9, "t"))  # left by an agent that died
    with pytest.raises(AgentNotRunning, match=f"not running .*pid {dead.pid}, which has exited"):
        AgentClient.connect(Paths(home))
    silent = free_port()
    write_agent_file(home / "agent.json", AgentInfo(os.getpid(), silent, "t"))  # a live pid, but no agent
    with pytest.raises(AgentNotRunning, match=f"does not answer on port {silent}"):
        AgentClient.connect(Paths(home))


def test_sigterm_stops_cleanly(fresh_agent):
    wait_until("the agent to answer", lambda: fresh_agent.client().status())
    started = time.monotonic()
    fresh_agent.proc.send_signal(signal.SIGTERM)
    assert fresh_agent.proc.wait(10) == 0, fresh_agent.stderr()
    assert time.monotonic() - started < 5
    assert not (fresh_agent.home / "agent.json").exists()
    assert "stopped" in (fresh_agent.home / "logs" / "agent.log").read_text()
    # The lock went with the process: a new agent could start at once.
    InstanceLock.acquire(fresh_agent.home / "agent.lock").release()


def test_shutdown_route_stops_the_agent(fresh_agent):
    client = fresh_agent.client()
    assert client.shutdown() == {"shutdown": "requested"}
    assert fresh_agent.proc.wait(10) == 0, fresh_agent.stderr()
    assert not (fresh_agent.home / "agent.json").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread priorities are read the Linux way")
def test_watcher_scans_a_burst_once_after_it_ends_at_low_priority(tmp_path, isolated_home, monkeypatch):
    import companion.scan
    from companion.agent.watcher import Watcher
    from companion.policy import PolicyEngine, load_policy
    from companion.policy.in_force import InForce
    from companion.records import Database
    from companion.stores.discovery import StoreInfo

    scans: list[tuple[int, int]] = []  # (new messages, nice of the scanning thread)
    real_scan = companion.scan.scan_paths

    def counting_scan(*args, **kwargs):
        totals = real_scan(*args, **kwargs)
        scans.append((totals.messages, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return totals

    monkeypatch.setattr(companion.scan, "scan_paths", counting_scan)
    box = tmp_path / "Sent"  # sent mail: the lowest-price rule applies
    box.mkdir()
    database = isolated_home / "w.db"
    Database(database).close()
    engine = PolicyEngine(load_policy())
    in_force = InForce(engine, None, installed=False)
    watcher = Watcher(database, [StoreInfo(box, "configured", True)], lambda: in_force, debounce_seconds=0.4)
    watcher.start()
    try:
        for i in range(5):  # a burst: each write comes before the debounce delay of the previous one ends
            (box / f"{i}.eml").write_bytes(build_eml("the lowest price", message_id=f"<w{i}@t>"))
            time.sleep(0.1)
        wait_until("the scan after the burst", lambda: scans)
        assert scans[0] == (5, os.getpriority(os.PRIO_PROCESS, 0) + 10)  # all five at once, nice +10
        assert watcher.stores_state()[0]["last_totals"]["flagged"] == 5
    finally:
        watcher.stop()
    assert not any(t.name == "mailwarden-scan" for t in threading.enumerate())


def test_tray_routes_over_http(fresh_agent):
    client = fresh_agent.client()
    status = wait_until("the first scan", lambda: (s := client.status())["totals"]["messages"] == 4 and s)
    assert status["flags"]["new"] == 2 and status["sync"]["enrolled"] is False and status["language"] == ""
    assert client.mark_flags_seen() == {"seen": 4}  # every message scanned so far
    assert client.status()["flags"]["new"] == 0
    assert raw(fresh_agent, "POST", "/v1/flags/seen", body=b'{"upto": "x"}')[0] == 400
    assert client.update_settings(language="zh")["language"] == "zh"
    assert client.settings()["language"] == "zh" and client.status()["language"] == "zh"
    status_code, answer = raw(fresh_agent, "POST", "/v1/settings", body=b'{"monitoring": false}')
    assert status_code == 400 and "cannot change" in _error_shape(answer)["message"]
    assert client.transparency() == {"items": [], "total": 0}
    assert client.decisions() == {"decisions": []}
    key = next(f["id"] for f in client.flags()["flags"] if f["subject"] == "mbox risky")
    assert client.flag(key)["flag"]["decisions"] == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b'HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\n{"api": 1}', "cut short (10 of 50 bytes)"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not HTTP"),
        (b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n", "no complete header"),
        (b"HTTP/1.0 200 OK\r\n\r\n<html>", "not JSON"),
    ],
)
def test_client_says_clearly_when_the_answer_is_not_the_agents(answer, message):
    """Something else on the port, or an answer cut short: a clear AgentError, never a hang."""
    from companion.agent.errors import AgentError

    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client = AgentClient(AgentInfo(os.getpid(), server.getsockname()[1], "t"), timeout=10)
        with pytest.raises(AgentError, match=re.escape(message)):
            client.status()
        thread.join(10)


def test_client_reads_answers_larger_than_one_read(fresh_agent):
    client = fresh_agent.client()
    body = {"to": ["a@client.example"], "subject": "x", "body": "lowest price. " * 20000}  # ~280 kB each way
    result = client.check(body)
    assert result["verdict"] == "warn" and len(result["findings"]) == 20000


def _wrong(token: str) -> str:
    """A token one character away from the real one (never equal to it, whatever it starts with)."""
    return ("y" if token[0] == "x" else "x") + token[1:]
