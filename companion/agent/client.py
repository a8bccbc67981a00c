"""AgentClient: the API's calls over HTTP, for the CLI and the tray. Stdlib only, so talking to the
agent costs the caller no heavy import.

The few lines of HTTP/1.1 the agent needs are written on a plain socket: urllib honours
HTTP(S)_PROXY (it would send the token to a proxy when no_proxy does not list 127.0.0.1) and follows
redirects, and http.client pulls in ssl and the email package (~6 MB of resident memory in the
tray, which lives all day) for a connection that is always plain HTTP to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from companion.agent import AGENT_FILE, API_VERSION
from companion.agent.errors import BY_STATUS, AgentError, AgentNotRunning
from companion.config import Paths
from companion.errors import os_reason

HOST = "127.0.0.1"


@dataclass(frozen=True)
class AgentInfo:
    """What agent.json holds: where the running agent listens and the token it wants."""

    pid: int
    port: int
    token: str
    version: str = ""
    started_at: str = ""
    api: int = API_VERSION

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def write_agent_file(path: Path, info: AgentInfo) -> None:
    """Atomically, readable by the user only: the token in it grants access to the user's mail data."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({**asdict(info), "url": info.url}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_agent_file(path: Path) -> AgentInfo:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return AgentInfo(
            int(data["pid"]),
            int(data["port"]),
            str(data["token"]),
            str(data.get("version", "")),
            str(data.get("started_at", "")),
            int(data.get("api", API_VERSION)),
        )
    except FileNotFoundError:
        raise AgentNotRunning(key="error.agent.not_running") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AgentNotRunning(
            key="error.agent.unreadable_file", values={"path": str(path), "detail": str(exc)}
        ) from None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes  # lazy: Windows only

        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
        kernel32.OpenProcess.restype = ctypes.c_void_p  # a HANDLE: pointer-sized
        kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong))
        kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            return (
                bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
            )  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


def _port_answers(port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _parse_head(head: bytes) -> tuple[int, int | None]:
    """(status, Content-Length or None) of an HTTP answer's header block."""
    status_line, *fields = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    try:
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError
        status = int(parts[1])
        length = None
        for field in fields:
            name, _, value = field.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
                if length < 0:
                    raise ValueError
    except ValueError:
        raise AgentError(f"the agent answered something that is not HTTP: {status_line[:80]!r}") from None
    return status, length


class AgentClient:
    def __init__(self, info: AgentInfo, *, timeout: float = 10.0) -> None:
        self.info = info
        self.timeout = timeout

    @classmethod
    def connect(cls, paths: Paths | None = None, *, timeout: float = 10.0) -> AgentClient:
        """A client for the agent running for this user; AgentNotRunning when there is none
        (no agent.json, or one left by an agent that died: its pid is gone or its port is silent)."""
        if paths is None:
            from companion.config import paths as current

            paths = current()
        info = read_agent_file(paths.home / AGENT_FILE)
        if not pid_alive(info.pid):
            raise AgentNotRunning(key="error.agent.exited", values={"pid": info.pid})
        if not _port_answers(info.port, min(timeout, 2.0)):
            raise AgentNotRunning(key="error.agent.silent", values={"pid": info.pid, "port": info.port})
        return cls(info, timeout=timeout)

    # -- transport --------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One call; the JSON answer without its "api" key, or the agent's error raised as an AgentError."""
        params = {k: v for k, v in (query or {}).items() if v is not None}
        target = f"/v{API_VERSION}/{path}" + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.info.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            status, raw = self._exchange(method, target, data, headers)
        except ConnectionRefusedError:
            raise AgentNotRunning(key="error.agent.no_answer", values={"port": self.info.port}) from None
        except TimeoutError:
            raise AgentError(
                key="error.agent.timeout", values={"seconds": f"{self.timeout:g}"}, title="Agent busy"
            ) from None
        except OSError as exc:
            raise AgentError(key="error.agent.cannot_talk", values={"reason": os_reason(exc)}) from None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise AgentError(f"the agent answered HTTP {status} with something that is not JSON") from None
        if status >= 400:
            error = answer.get("error") or {}
            cls = BY_STATUS.get(status, AgentError)
            raise cls(str(error.get("message", f"HTTP {status}")), title=error.get("title"))
        if answer.get("api") != API_VERSION:
            raise AgentError(
                f"the agent speaks API version {answer.get('api')}, this program {API_VERSION}; "
                "restart the agent after updating Mailwarden"
            )
        answer.pop("api")
        return answer

    def _exchange(
        self, method: str, target: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """One HTTP/1.1 request on its own connection ("Connection: close"); (status, body)."""
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {HOST}:{self.info.port}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
            f"Content-Length: {len(data or b'')}",
        ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (data or b"")
        received = bytearray()
        length: int | None
        status, length, start = 0, None, -1
        with socket.create_connection((HOST, self.info.port), timeout=self.timeout) as sock:
            sock.sendall(request)
            while True:
                chunk = sock.recv(65536)
                if chunk:
                    received += chunk
                if start < 0 and (end := received.find(b"\r\n\r\n")) >= 0:
                    start = end + 4
                    status, length = _parse_head(bytes(received[:end]))
                if start >= 0 and length is not None and len(received) - start >= length:
                    break  # the whole body is in
                if not chunk:
                    break  # the agent closed the connection
        if start < 0:
            raise AgentError("the agent's answer was cut short (no complete header)")
        body = bytes(received[start:])
        if length is not None:
            if len(body) < length:
                raise AgentError(f"the agent's answer was cut short ({len(body)} of {length} bytes)")
            body = body[:length]
        return status, body

    # -- the API, mirrored -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.request("GET", "status")

    def stores(self) -> list[dict[str, Any]]:
        return self.request("GET", "stores")["stores"]

    def flags(self, limit: int = 50, offset: int = 0, after_seq: int | None = None) -> dict[str, Any]:
        return self.request("GET", "flags", query={"limit": limit, "offset": offset, "after_seq": after_seq})

    def messages(self, limit: int = 50, offset: int = 0, verdict: str | None = None) -> dict[str, Any]:
        return self.request("GET", "messages", query={"limit": limit, "offset": offset, "verdict": verdict})

    def flag(self, key: str) -> dict[str, Any]:
        return self.request("GET", f"flags/{quote(key, safe='')}")

    def file_appeal(
        self, message_key: str, reason: str, comment: str = "", rule: str | None = None
    ) -> dict[str, Any]:
        body = {"message_key": message_key, "reason": reason, "comment": comment, "rule": rule}
        return self.request("POST", "appeals", body)

    def appeals(self) -> dict[str, Any]:
        return self.request("GET", "appeals")

    def outbox(self, limit: int = 50) -> dict[str, Any]:
        return self.request("GET", "outbox", query={"limit": limit})

    def transparency(self, limit: int = 200) -> dict[str, Any]:
        return self.request("GET", "outbox/all", query={"limit": limit})

    def mark_flags_seen(self, upto: int | None = None) -> dict[str, Any]:
        return self.request("POST", "flags/seen", {} if upto is None else {"upto": upto})

    def decisions(self, limit: int = 50) -> dict[str, Any]:
        return self.request("GET", "decisions", query={"limit": limit})

    def settings(self) -> dict[str, Any]:
        return self.request("GET", "settings")["settings"]

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        return self.request("POST", "settings", changes)["settings"]

    def check(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "check", payload)

    def record_decision(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "decisions", payload)

    def rescan(self) -> dict[str, Any]:
        return self.request("POST", "scan", {})

    def shutdown(self) -> dict[str, Any]:
        return self.request("POST", "shutdown", {})
