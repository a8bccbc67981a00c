"""Request bodies read with a cap, for the ingest API and the dashboard's forms alike: a body over
the limit is refused from its Content-Length before a byte is read, and a body sent without one
(chunked) is refused as soon as it passes the limit (never more than limit + one chunk read)."""

from __future__ import annotations

from starlette.requests import Request

from collector.errors import CollectorError, bad_request


def too_large(limit: int) -> CollectorError:
    return CollectorError(413, "too_large", f"bodies are limited to {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise bad_request("invalid Content-Length") from None
        if declared > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
