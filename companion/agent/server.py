"""The agent's HTTP API: thin routes over MailwardenAPI, on 127.0.0.1 only.

Stdlib ThreadingHTTPServer: no dependency, a few hundred KB, and a thread per request so a slow
status call never delays a pre-send check. Every request must carry the token from agent.json
(other users and web pages cannot read it) and a Host header naming 127.0.0.1 or localhost with
our port (a web page that rebinds its DNS name to 127.0.0.1 sends its own name: refused).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from companion.agent import API_VERSION
from companion.agent.api import MailwardenAPI
from companion.agent.errors import (
    AgentError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    TooLarge,
    Unauthorized,
)
from companion.errors import MailwardenError

log = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024  # a pre-send check carries extracted attachment text, not files

Query = dict[str, str]
# A route: (api, path groups, query, body) -> (HTTP status, answer, called after the answer is sent)
Handler = Callable[
    [MailwardenAPI, tuple[str, ...], Query, Any], tuple[int, dict[str, Any], Callable[[], Any] | None]
]


def _ok(result: dict[str, Any], status: int = 200) -> tuple[int, dict[str, Any], None]:
    return status, result, None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _appeal(api: MailwardenAPI, _: tuple[str, ...], __: Query, body: Any):
    body = _object(body)
    key = body.get("message_key")
    if not isinstance(key, str) or not key:
        raise BadRequest("'message_key' (the id of the flagged message) is required")
    return _ok(api.file_appeal(key, body.get("reason"), body.get("comment") or "", body.get("rule")), 201)


def _shutdown(api: MailwardenAPI, *_: Any):
    if api.on_shutdown is None:
        api.shutdown()  # raises Unavailable (503): this process cannot be shut down
    return 202, {"shutdown": "requested"}, api.shutdown  # stop only once the answer is out


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"status"), lambda api, g, q, b: _ok(api.status())),
    ("GET", re.compile(r"stores"), lambda api, g, q, b: _ok({"stores": api.stores_status()})),
    (
        "GET",
        re.compile(r"flags"),
        lambda api, g, q, b: _ok(api.flags(q.get("limit"), q.get("offset"), q.get("after_seq"))),
    ),
    (
        "POST",
        re.compile(r"flags/seen"),
        lambda api, g, q, b: _ok(api.mark_flags_seen(_object(b or {}).get("upto"))),
    ),
    ("GET", re.compile(r"flags/([^/]+)"), lambda api, g, q, b: _ok(api.flag(g[0]))),
    (
        "GET",
        re.compile(r"messages"),
        lambda api, g, q, b: _ok(api.messages(q.get("limit"), q.get("offset"), q.get("verdict") or None)),
    ),
    ("GET", re.compile(r"appeals"), lambda api, g, q, b: _ok(api.appeals(q.get("status") or None))),
    ("POST", re.compile(r"appeals"), _appeal),
    ("GET", re.compile(r"outbox"), lambda api, g, q, b: _ok(api.outbox(q.get("limit")))),
    ("GET", re.compile(r"outbox/all"), lambda api, g, q, b: _ok(api.transparency(q.get("limit")))),
    (
        "GET",
        re.compile(r"decisions"),
        lambda api, g, q, b: _ok(api.decisions(q.get("limit"), q.get("offset"))),
    ),
    ("POST", re.compile(r"decisions"), lambda api, g, q, b: _ok(api.record_decision(_object(b)), 201)),
    ("GET", re.compile(r"settings"), lambda api, g, q, b: _ok(api.settings_view())),
    ("POST", re.compile(r"settings"), lambda api, g, q, b: _ok(api.update_settings(_object(b)))),
    ("POST", re.compile(r"check"), lambda api, g, q, b: _ok(api.check(_object(b)))),
    ("POST", re.compile(r"scan"), lambda api, g, q, b: _ok(api.rescan(), 202)),
    ("POST", re.compile(r"sync"), lambda api, g, q, b: _ok(api.sync_now(), 202)),
    ("POST", re.compile(r"shutdown"), _shutdown),
]


def _route(method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
    prefix = f"/v{API_VERSION}/"
    if not path.startswith(prefix):
        raise NotFound(f"no such route: {path} (this agent speaks {prefix})")
    rest = path[len(prefix) :].rstrip("/")
    allowed = []
    for route_method, pattern, handler in ROUTES:
        m = pattern.fullmatch(rest)
        if m:
            if route_method == method:
                return handler, m.groups()
            allowed.append(route_method)
    if allowed:
        raise MethodNotAllowed(f"{path} accepts {', '.join(allowed)}, not {method}")
    raise NotFound(f"no such route: {path}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not keep the agent from exiting
    api: MailwardenAPI
    token: bytes
    max_body: int


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "Mailwarden"
    sys_version = ""  # do not advertise the Python version
    timeout = 30  # seconds a client may take to send its request

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")  # no CORS: browsers get no permission to call the agent

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The stdlib answers malformed requests (bad request line, huge headers) with HTML: keep to JSON.
        self.close_connection = True
        title = self.responses.get(code, ("Error",))[0]
        self._send(code, {"api": API_VERSION, **self._error(title, message or explain or title)})

    def _handle(self, method: str) -> None:
        after = None
        try:
            self._guard()
            url = urlsplit(self.path)
            handler, groups = _route(method, url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            body = self._body() if method != "GET" else None
            status, answer, after = handler(self.server.api, groups, query, body)
        except AgentError as exc:
            status, answer = exc.status, self._error(exc.title, exc.message)
        except MailwardenError as exc:
            status, answer = 500, self._error(exc.title, exc.message)
        except Exception:
            log.exception("%s %s failed", method, self.path.split("?")[0])
            status, answer = 500, self._error("Internal error", "the agent failed to answer; see its log")
        self._send(status, {"api": API_VERSION, **answer})
        if after is not None:
            after()

    @staticmethod
    def _error(title: str, message: str) -> dict[str, Any]:
        return {"error": {"title": title, "message": message}}

    def _guard(self) -> None:
        port = self.server.server_address[1]
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            self.close_connection = True
            raise Forbidden("requests must be addressed to 127.0.0.1 or localhost with the agent's port")
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        given = token.strip().encode("utf-8")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, self.server.token):
            raise Unauthorized(
                "a valid 'Authorization: Bearer <token>' header is required (the token is in agent.json)"
            )

    def _body(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise BadRequest("send the body with a Content-Length, not chunked")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise BadRequest("invalid Content-Length") from None
        if length < 0:
            self.close_connection = True
            raise BadRequest("invalid Content-Length")
        if length > self.server.max_body:
            self.close_connection = True  # the body is not read: drop the connection after answering
            raise TooLarge(f"the body is {length} bytes; at most {self.server.max_body} are accepted")
        if length == 0:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"the body is not valid JSON (UTF-8): {exc}") from None

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:  # the client went away: nothing to answer
            log.debug("answer not delivered: %s", exc)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        # The request line and status only; headers (and with them the token) are never logged.
        log.debug("%s " + format, self.address_string(), *args)


class AgentServer:
    """The HTTP server on 127.0.0.1 and a free port the OS picks, serving in its own thread."""

    def __init__(self, api: MailwardenAPI, token: str, *, port: int = 0, max_body: int = MAX_BODY) -> None:
        self.httpd = _Server(("127.0.0.1", port), _RequestHandler)
        self.httpd.api = api
        self.httpd.token = token.encode("utf-8")
        self.httpd.max_body = max_body
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="mailwarden-http",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests (requests being answered finish on their own threads)."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
        self.httpd.server_close()
