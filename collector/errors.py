"""The collector's refusal: an HTTP status, the protocol's error code and a message that names the
problem (docs/protocol.md). The service raises it; the web layer turns it into a JSON answer."""

from __future__ import annotations

from typing import Any


class CollectorError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(message: str) -> CollectorError:
    return CollectorError(400, "bad_request", message)
