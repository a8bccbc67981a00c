"""Native messaging, the wire between Thunderbird and the companion's host: framing, and answers
trimmed to what Thunderbird accepts. Nothing here knows what the messages mean (companion.native_host).

Each message is a 4-byte length in native byte order followed by that many bytes of UTF-8 JSON.
- Nothing sent to Thunderbird exceeds MAX_OUTGOING (1 MiB, Thunderbird's limit; a bigger message
  would close the port): the findings of a verdict are cut to fit, most severe first, and the
  verdict says so ("truncated", "findings_total"); anything else too big becomes an error.
- An incoming message over MAX_INCOMING raises TooLarge (the rest of the stream cannot be trusted).
- What is sent is always valid UTF-8: a lone surrogate (JSON allows "\\ud800") is written with ASCII
  escapes, which stay valid UTF-8 and decode to the same strings.
"""

from __future__ import annotations

import json
import re
import struct
import threading
from typing import IO, Any

from companion.policy.model import TIERS

MAX_OUTGOING = 1024 * 1024  # host -> Thunderbird: Thunderbird's own limit
MAX_INCOMING = 64 * 1024 * 1024  # Thunderbird -> host: refused beyond this
_HEADER = struct.Struct("=I")  # native byte order, 4 bytes
_TEXT_CAP = 500  # when a verdict must be cut: longest matched text kept per finding
_SENTENCE_CAP = 1000  # ... and longest sentence
ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # in a message: maybe a lone surrogate
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in decoded JSON, pairs are already joined


class TooLarge(Exception):
    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None  # end of input (mid-message counts as end: the sender is gone)
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_message(stream: IO[bytes], limit: int = MAX_INCOMING) -> bytes | None:
    """The next message's bytes, or None at end of input. Raises TooLarge for an oversize message."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > limit:
        raise TooLarge(length)
    return _read_exactly(stream, length) if length else b""


def without_lone_surrogates(value: Any) -> Any:
    """`value` with each lone surrogate (JSON allows "\\ud800"; UTF-8 and the database do not)
    replaced by U+FFFD, one character for one: the offsets of findings stay right."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value


def encode(message: dict[str, Any]) -> bytes:
    """The message as UTF-8 JSON; with ASCII escapes when a lone surrogate would not encode."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def frame(data: bytes) -> bytes:
    return _HEADER.pack(len(data)) + data


def _trim_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding made small enough to travel: long matches and sentences are cut around the match."""
    finding = dict(finding)
    if isinstance(finding.get("text"), str) and len(finding["text"]) > _TEXT_CAP:
        finding["text"] = finding["text"][:_TEXT_CAP] + "…"
    sentence = finding.get("sentence")
    if (
        isinstance(sentence, dict)
        and isinstance(sentence.get("text"), str)
        and len(sentence["text"]) > _SENTENCE_CAP
    ):
        text, start, end = sentence["text"], int(sentence.get("start", 0)), int(sentence.get("end", 0))
        end = min(end, start + _TEXT_CAP)
        lo = max(0, start - (_SENTENCE_CAP - (end - start)) // 2)
        hi = min(len(text), lo + _SENTENCE_CAP)
        finding["sentence"] = {"text": text[lo:hi], "start": start - lo, "end": min(end, hi) - lo}
    return finding


def _severity(finding: Any) -> int:
    """Most severe first (companion.policy.model.TIERS is ordered least to most severe)."""
    tier = finding.get("tier") if isinstance(finding, dict) else None
    return -TIERS.index(tier) if tier in TIERS else 1


def fit(message: dict[str, Any], limit: int = MAX_OUTGOING) -> bytes:
    """The message encoded within `limit` bytes: a verdict keeps as many findings as fit (most severe
    first) and says how many there were; anything else too big becomes an error."""
    data = encode(message)
    if len(data) <= limit:
        return data
    findings = message.get("findings")
    if isinstance(findings, list):
        ranked = sorted(findings, key=_severity)
        cut = {**message, "findings": [], "truncated": True, "findings_total": len(findings)}
        budget = limit - len(encode(cut)) - 16
        kept = []
        for finding in ranked:
            item = encode(_trim_finding(finding)) if isinstance(finding, dict) else b"null"
            if len(item) + 1 > budget:
                break
            kept.append(json.loads(item))
            budget -= len(item) + 1
        cut["findings"] = kept
        data = encode(cut)
        if len(data) <= limit:
            return data
    return encode(
        {
            "type": "error",
            "id": message.get("id"),
            "code": "answer_too_large",
            "retryable": False,
            "title": "Answer too large",
            "message": f"the answer ({len(data)} bytes) is over the {limit}-byte limit of native messaging",
        }
    )


class Output:
    """Writes framed messages to Thunderbird; shared by the host's main and writer threads."""

    def __init__(self, stream: IO[bytes], limit: int = MAX_OUTGOING) -> None:
        self.stream = stream
        self.limit = limit
        self.lock = threading.Lock()
        self.closed = False

    def send(self, message: dict[str, Any]) -> None:
        data = frame(fit(message, self.limit))
        with self.lock:
            if self.closed:
                return
            try:
                self.stream.write(data)
                self.stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.closed = True  # Thunderbird is gone; the main loop sees end of input next
