"""A small collector speaking docs/protocol.md over real HTTP on 127.0.0.1, for the workstation's
fault tests (tests/test_sync.py). Signatures are really verified (companion.signing).

It can be told to be down (the port closed), to answer 500 or 409, or to be slow: failures the
real collector does not produce on demand. The real collector (collector/) is tested against real
workstations in tests/test_roundtrip.py and tests/test_collector_api.py.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from companion.signing import generate_private_key, obj_hash, public_key_b64, request_message, sign, verify

MAX_BODY = 1024 * 1024


@dataclass
class State:
    tokens: dict[str, str] = field(default_factory=lambda: {"good-token": "sales"})
    revoked_tokens: set[str] = field(default_factory=set)
    devices: dict[str, str] = field(default_factory=dict)  # device_id -> public key
    summaries: dict[tuple[str, int], tuple[str, dict]] = field(default_factory=dict)  # -> (hash, payload)
    posts: list[tuple[str, int, str]] = field(
        default_factory=list
    )  # every summary answer: (device, seq, status)
    gaps: list[tuple[str, list[int]]] = field(default_factory=list)
    tamper: list[tuple[str, int, str]] = field(default_factory=list)
    appeals: dict[tuple[str, int], dict] = field(default_factory=dict)
    policy: dict[str, Any] | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    # Misbehaviour on demand:
    status: int | None = None  # answer every API request with this status (500, 409...)
    delay: float = 0.0  # seconds to wait before answering


class FakeCollector:
    def __init__(self) -> None:
        self.state = State()
        self.lock = threading.Lock()
        self.policy_key = generate_private_key()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    # -- control -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> FakeCollector:
        collector = self

        class Handler(_Handler):
            fc = collector

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def down(self) -> None:
        """Close the port: clients get "connection refused"."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def publish_policy(
        self, version: str, text: str, key: Any = None, signed_version: str | None = None
    ) -> None:
        signed = {"version": signed_version or version, "policy": text}
        self.state.policy = {
            "version": version,
            "policy": text,
            "published_at": "2026-12-01T00:00:00+00:00",
            "signature": sign(key or self.policy_key, signed),
        }

    def seqs(self, device_id: str) -> list[int]:
        with self.lock:
            return sorted(seq for dev, seq in self.state.summaries if dev == device_id)


def _error(code: str, message: str = "") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    fc: FakeCollector

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forced(self) -> bool:
        st = self.fc.state
        if st.delay:
            time.sleep(st.delay)
        if st.status is not None:
            self._send(st.status, _error("sequence_conflict" if st.status == 409 else "internal", "forced"))
            return True
        return False

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/healthz":
            return self._send(200, {"status": "ok"})
        if self._forced():
            return None
        st = self.fc.state
        device = self.headers.get("X-Mailwarden-Device", "")
        try:
            when = int(self.headers.get("X-Mailwarden-Time", ""))
        except ValueError:
            return self._send(401, _error("bad_signature", "no time"))
        if device not in st.devices:
            return self._send(401, _error("unknown_device"))
        message = request_message("GET", parts.path, parts.query, when)
        if abs(time.time() - when) > 300 or not verify(
            st.devices[device], message, self.headers.get("X-Mailwarden-Signature", "")
        ):
            return self._send(401, _error("bad_signature"))
        if parts.path == "/api/v1/policy":
            return self._send(200, st.policy) if st.policy else self._send(204, None)
        if parts.path == "/api/v1/decisions":
            after = int(parse_qs(parts.query).get("after", ["0"])[0])
            page = [d for d in st.decisions if d["id"] > after]
            return self._send(200, {"decisions": page, "cursor": max([after] + [d["id"] for d in page])})
        return self._send(404, _error("not_found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send(413, _error("too_large"))
        raw = self.rfile.read(length)
        if self._forced():
            return None
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return self._send(400, _error("bad_request", "malformed JSON"))
        route = {
            "/api/v1/enroll": self._enroll,
            "/api/v1/summaries": self._summary,
            "/api/v1/appeals": self._appeal,
        }.get(urlsplit(self.path).path)
        if route is None:
            return self._send(404, _error("not_found"))
        with self.fc.lock:
            status, answer = route(body)
        return self._send(status, answer)

    def _enroll(self, body: dict[str, Any]) -> tuple[int, dict]:
        st = self.fc.state
        token = body.get("token")
        if token in st.revoked_tokens:
            return 403, _error("revoked_token", "this enrolment token was revoked")
        if token not in st.tokens:
            return 401, _error("invalid_token", "unknown enrolment token")
        if not isinstance(body.get("public_key"), str):
            return 400, _error("bad_request", "public_key missing")
        device_id = f"dev_{len(st.devices) + 1:04d}"
        st.devices[device_id] = body["public_key"]
        return 201, {
            "device_id": device_id,
            "policy_key": public_key_b64(self.fc.policy_key),
            "collector": "fake",
        }

    def _verified(self, body: dict[str, Any], kind: str) -> tuple[int, dict] | dict:
        st = self.fc.state
        device, payload = body.get("device_id"), body.get("payload")
        if not isinstance(payload, dict) or not isinstance(body.get("signature"), str):
            return 400, _error("bad_request", "envelope fields missing")
        if device not in st.devices:
            return 401, _error("unknown_device")
        if not verify(st.devices[device], payload, body["signature"]):
            return 401, _error("bad_signature")
        if payload.get("type") != kind or payload.get("device_id") != device:
            return 400, _error("bad_request", "wrong type or device")
        return payload

    def _summary(self, body: dict[str, Any]) -> tuple[int, dict]:
        payload = self._verified(body, "summary")
        if isinstance(payload, tuple):
            return payload
        st, dev, seq = self.fc.state, body["device_id"], payload.get("seq")
        if not isinstance(seq, int) or seq < 1:
            return 400, _error("bad_request", "seq")
        digest = obj_hash(payload)
        if (dev, seq) in st.summaries:
            if st.summaries[(dev, seq)][0] == digest:
                st.posts.append((dev, seq, "duplicate"))
                return 200, {"status": "duplicate", "seq": seq, "hash": digest}
            st.tamper.append((dev, seq, "different payload"))
            return 409, _error("sequence_conflict", "a different summary has this sequence number")
        previous = st.summaries.get((dev, seq - 1))
        if (previous and previous[0] != payload.get("prev_hash")) or (
            seq == 1 and payload.get("prev_hash") != ""
        ):
            st.tamper.append((dev, seq, "chain break"))
            return 409, _error("sequence_conflict", "prev_hash does not match")
        last = max([s for d, s in st.summaries if d == dev], default=0)
        st.summaries[(dev, seq)] = (digest, payload)
        st.posts.append((dev, seq, "accepted"))
        answer: dict[str, Any] = {"status": "accepted", "seq": seq, "hash": digest}
        if seq > last + 1:
            answer["gap"] = list(range(last + 1, seq))
            st.gaps.append((dev, answer["gap"]))
        return 200, answer

    def _appeal(self, body: dict[str, Any]) -> tuple[int, dict]:
        payload = self._verified(body, "appeal")
        if isinstance(payload, tuple):
            return payload
        key = (body["device_id"], payload.get("appeal_id"))
        if key in self.fc.state.appeals:
            return 200, {"status": "duplicate", "appeal_id": key[1]}
        self.fc.state.appeals[key] = payload
        return 200, {"status": "accepted", "appeal_id": key[1]}
