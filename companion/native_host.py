"""The native-messaging host Thunderbird starts for the Mailwarden MailExtension.

Thunderbird launches this program (through the launcher named in the host manifest, see
companion.thunderbird_install) and talks to it over stdin/stdout for as long as the extension keeps
its port open. Each message is a 4-byte length in native byte order followed by that many bytes of
UTF-8 JSON. Messages from the extension (each carries an "id" that the answer repeats):

    {"type": "ping", "id"}
        -> {"type": "pong", "id", "version", "policy_version", "protocol"}
    {"type": "check", "id", "details": {compose details, see companion.presend}}
        -> {"type": "verdict", "id", "verdict", "policy_version", "findings", "approvers"}
           (companion.presend.Check.to_dict; plus "truncated" and "findings_total" when cut to fit)
       An attachment may carry its bytes as "data_base64" instead of "text" (Word, Excel, PDF, HTML,
       mail, text in any charset): the host extracts the text (companion.parsing.attachments).
    {"type": "decision", "id", "check_id", "choice", "justification", "error", "details", "key"}
        -> {"type": "recorded", "id", "row"}
       A decision whose check this host does not know (reported late, after the host that checked
       it was replaced) is checked again from its "details", attachment bytes included.
    anything wrong
        -> {"type": "error", "id", "title", "message"}

Rules kept here:
- Nothing sent to Thunderbird exceeds MAX_OUTGOING (1 MiB, Thunderbird's limit; a bigger message
  would close the port): the findings of a verdict are cut to fit and the verdict says so.
- An incoming message over MAX_INCOMING is answered with an error and the host exits with status 1
  (the rest of the stream cannot be trusted). Malformed JSON or an unknown type is answered with an
  error and the host carries on. End of input (Thunderbird closed the port) ends the host with 0.
- Checks run on the main thread with one engine, built at start and rebuilt when the policy file
  changes. Decisions are written to the database by a writer thread, so a busy database never
  holds up a check.
- What is sent is always valid UTF-8: a lone surrogate coming in (JSON allows "\\ud800") is read
  as U+FFFD, and encode() escapes one that would still be there.
- The log (<data dir>/logs/native-host.log) holds ids, verdicts, rule ids and timings, never the
  text of a mail.

Run: python -m companion.native_host   (what `mailwarden native-host` runs)
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import logging.handlers
import queue
import re
import struct
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from companion import __version__
from companion.config import Paths, paths
from companion.errors import MailwardenError

if TYPE_CHECKING:
    from companion.policy import PolicyEngine
    from companion.presend import Check

log = logging.getLogger("companion.native_host")

PROTOCOL = 1
CHANNEL = "thunderbird"
MAX_OUTGOING = 1024 * 1024  # host -> Thunderbird: Thunderbird's own limit
MAX_INCOMING = 64 * 1024 * 1024  # Thunderbird -> host: refused beyond this
LOG_FILE = "native-host.log"
REMEMBERED_CHECKS = 256  # checks kept so that the decision that follows can be recorded with them
_HEADER = struct.Struct("=I")  # native byte order, 4 bytes
_TEXT_CAP = 500  # when a verdict must be cut: longest matched text kept per finding
_SENTENCE_CAP = 1000  # ... and longest sentence
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # in a message: maybe a lone surrogate
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in decoded JSON, pairs are already joined


class TooLarge(Exception):
    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length


# -- framing -------------------------------------------------------------------------------------


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


def encode(message: dict[str, Any]) -> bytes:
    """The message as UTF-8 JSON. A lone surrogate (it may come in from the extension, as JSON allows
    "\\ud800") cannot be encoded as UTF-8: then the message is written with ASCII escapes, which stay
    valid UTF-8 and decode to the same strings."""
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


def fit(message: dict[str, Any], limit: int = MAX_OUTGOING) -> bytes:
    """The message encoded within `limit` bytes: a verdict keeps as many findings as fit (in order,
    forbidden ones first) and says how many there were; anything else too big becomes an error."""
    data = encode(message)
    if len(data) <= limit:
        return data
    findings = message.get("findings")
    if isinstance(findings, list):
        order = {"forbidden": 0, "approval": 1}
        ranked = sorted(findings, key=lambda f: order.get(f.get("tier"), 2) if isinstance(f, dict) else 3)
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
    error = {
        "type": "error",
        "id": message.get("id"),
        "title": "Answer too large",
        "message": f"the answer ({len(data)} bytes) is over the {limit}-byte limit of native messaging",
    }
    return encode(error)


class Output:
    """Writes framed messages to Thunderbird; shared by the main and the writer thread."""

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


# -- the host ------------------------------------------------------------------------------------


class Host:
    def __init__(self, output: Output, where: Paths | None = None) -> None:
        from companion.agent.engines import EngineCache

        self.paths = where or paths()
        self.out = output
        self.engines = EngineCache(self.paths.policy)
        self._role_stamp = _file_stamp(self.paths.config)
        self.role = _configured_role(self.paths)
        self.checks: OrderedDict[Any, Check] = OrderedDict()
        self._decisions: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_decisions, name="decisions", daemon=True)
        self._writer.start()
        self._warmed = False
        self.engines.get()  # build the engine now, not on the first send

    # messages --------------------------------------------------------------------------------

    def handle(self, raw: bytes) -> None:
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.error(None, "Malformed message", f"the message is not UTF-8 JSON: {exc}")
            return
        if not isinstance(message, dict):
            self.error(None, "Malformed message", "the message must be a JSON object")
            return
        if _ESCAPED_SURROGATE.search(raw):
            message = _without_lone_surrogates(message)
        mid = message.get("id")
        if not isinstance(mid, str | int) or isinstance(mid, bool):
            mid = None
        kind = message.get("type")
        handler = {"ping": self.ping, "check": self.check, "decision": self.decision}.get(kind)
        if handler is None:
            self.error(
                mid, "Unknown message", f"unknown message type {kind!r} (known: ping, check, decision)"
            )
            return
        try:
            handler(mid, message)
        except MailwardenError as exc:
            log.warning("%s %s refused: %s", kind, mid, exc.title)
            self.error(mid, exc.title, exc.message)
        except Exception as exc:  # a bug must not take the host down: the next send still gets checked
            log.exception("%s %s failed", kind, mid)
            self.error(mid, "Mailwarden error", f"{type(exc).__name__}: {exc}")

    def error(self, mid: Any, title: str, message: str) -> None:
        self.out.send({"type": "error", "id": mid, "title": title, "message": message})

    def ping(self, mid: Any, message: dict[str, Any]) -> None:
        engine = self.engines.get()
        self.out.send(
            {
                "type": "pong",
                "id": mid,
                "version": __version__,
                "policy_version": engine.version,
                "protocol": PROTOCOL,
                "policy_error": self.engines.error,
            }
        )
        if not self._warmed:
            self._warm_up(engine)

    def _warm_up(self, engine: PolicyEngine) -> None:
        """One check of a tiny mail after the first ping (the extension pings when Thunderbird
        starts): the modules a check imports lazily (HTML, quoted text, the verdict's sentences)
        are loaded then, not during the first send, which waits on them under its time limit."""
        from companion.presend import check_outgoing

        self._warmed = True
        started = time.perf_counter()
        try:
            details = {
                "subject": "warm-up",
                "html": "<p>warm-up</p>",
                "to": ["warm-up@example.invalid"],
                "attachments": [{"name": "warm-up.txt", "text": "warm-up"}],
            }
            check_outgoing(engine, details, role=self._role_for(engine)).to_dict(engine)
        except Exception:  # a warm-up is an optimisation: never a reason to fail
            log.exception("warm-up check failed")
        log.info("warmed up in %.1f ms", (time.perf_counter() - started) * 1000)

    def check(self, mid: Any, message: dict[str, Any]) -> None:
        from companion.presend import check_outgoing

        started = time.perf_counter()
        engine = self.engines.get()
        details = with_attachment_text(message.get("details"))
        check = check_outgoing(engine, details, role=self._role_for(engine))
        answer = {"type": "verdict", "id": mid, **check.to_dict(engine)}
        if mid is not None:
            self.checks[mid] = check
            self.checks.move_to_end(mid)
            while len(self.checks) > REMEMBERED_CHECKS:
                self.checks.popitem(last=False)
        self.out.send(answer)
        log.info(
            "check %s: %s %s in %.1f ms",
            mid,
            check.verdict.verdict,
            ",".join(sorted({f["rule"] for f in answer["findings"]})) or "-",
            (time.perf_counter() - started) * 1000,
        )

    def decision(self, mid: Any, message: dict[str, Any]) -> None:
        from companion.presend import CHOICES, ComposeError, check_outgoing

        choice = message.get("choice")
        justification = message.get("justification") or ""
        error = message.get("error") or ""
        details = message.get("details")
        key = message.get("key") or ""
        if choice not in CHOICES:
            raise ComposeError(
                f"unknown choice {choice!r} (known: {', '.join(CHOICES)})", title="Unknown choice"
            )
        if not isinstance(justification, str) or not isinstance(error, str):
            raise ComposeError("'justification' and 'error' must be strings")
        if not isinstance(key, str) or len(key) > 100:
            raise ComposeError("'key' must be a string of at most 100 characters")
        if details is not None and not isinstance(details, dict):
            raise ComposeError("'details' must be a JSON object")
        if choice == "justified" and not justification.strip():
            raise ComposeError("a justification is required to send this mail", title="Justification missing")
        check = None
        if not choice.startswith("unchecked"):
            check = self.checks.get(message.get("check_id"))
            if check is None and details:
                # Reported late (the host that checked it is gone): check the details sent with it,
                # as a check does; attachments kept without their bytes are judged by name.
                notes = ["checked again from the details sent with the decision"]
                if _attachments_without_content(details):
                    notes.append("attachments judged by name")
                engine = self.engines.get()
                try:
                    check = check_outgoing(engine, with_attachment_text(details), role=self._role_for(engine))
                except ComposeError:  # recorded without a verdict; the writer says what is wrong
                    notes = [f"check {message.get('check_id')!r} is not known to this host"]
                error = "; ".join(filter(None, [error, *notes]))
            elif check is None:
                error = "; ".join(
                    filter(None, [error, f"check {message.get('check_id')!r} is not known to this host"])
                )
        self._decisions.put((mid, check, choice, justification, error[:2000], details, key))

    # the database writer -------------------------------------------------------------------

    def _write_decisions(self) -> None:
        from companion.presend import ComposeError, record_decision

        db = None
        while True:
            item = self._decisions.get()
            if item is None:
                break
            mid, check, choice, justification, error, details, key = item
            try:
                if db is None:
                    from companion.database import Database

                    db = Database(self.paths.database)
                try:
                    row = record_decision(
                        db,
                        CHANNEL,
                        check,
                        choice,
                        justification=justification,
                        error=error,
                        details=details if check is None else None,
                        key=key,
                    )
                except ComposeError as exc:
                    if check is not None or not details:
                        raise
                    error = "; ".join(filter(None, [error, f"details unreadable: {exc.message}"]))
                    row = record_decision(db, CHANNEL, None, choice, error=error, key=key)
                log.info("decision %s recorded: %s (row %s)", mid, choice, row)
                self.out.send({"type": "recorded", "id": mid, "row": row})
            except MailwardenError as exc:
                self.error(mid, exc.title, exc.message)
            except Exception as exc:
                log.exception("decision %s not recorded", mid)
                self.error(mid, "Decision not recorded", f"{type(exc).__name__}: {exc}")
        if db is not None:
            db.close()

    def close(self, timeout: float = 10.0) -> None:
        """Finish writing the decisions already received, then stop."""
        self._decisions.put(None)
        self._writer.join(timeout)

    # ---------------------------------------------------------------------------------------

    def _role_for(self, engine: PolicyEngine) -> str | None:
        # A Thunderbird session keeps one host for hours: follow config.toml (one stat per check).
        stamp = _file_stamp(self.paths.config)
        if stamp != self._role_stamp:
            self._role_stamp, self.role = stamp, _configured_role(self.paths)
        return self.role if self.role and self.role in engine.policy.roles else None


def with_attachment_text(details: Any) -> Any:
    """The compose details with the text of each attachment sent as bytes ("data_base64"), as
    companion.presend expects them. An attachment that cannot be decoded or read is checked by its
    name only (its text stays None); anything that is not compose details is returned as is, for
    check_outgoing to refuse with a clear error."""
    if not isinstance(details, dict) or not isinstance(details.get("attachments"), list):
        return details
    from companion.parsing.attachments import extract_text

    attachments = []
    for item in details["attachments"]:
        if isinstance(item, dict) and isinstance(item.get("data_base64"), str):
            item = dict(item)
            encoded = item.pop("data_base64")
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                log.warning("attachment bytes are not base64; checked by name only")
                data = None
            if data is not None:
                text, error = extract_text(
                    str(item.get("name") or ""), str(item.get("content_type") or ""), data
                )
                if error:
                    log.info("attachment checked by name only (%s)", error.split(":", 1)[0])  # no content
                item["text"] = text if text is not None else item.get("text")
                item["size"] = len(data)
        attachments.append(item)
    return {**details, "attachments": attachments}


def _without_lone_surrogates(value: Any) -> Any:
    """`value` with each lone surrogate (JSON allows "\\ud800"; UTF-8 and the database do not)
    replaced by U+FFFD, one character for one: the offsets of findings stay right."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def _attachments_without_content(details: dict[str, Any]) -> bool:
    """Whether some attachment comes with neither its bytes nor its text (it is judged by name)."""
    attachments = details.get("attachments")
    return isinstance(attachments, list) and any(
        isinstance(a, dict)
        and not isinstance(a.get("data_base64"), str)
        and not isinstance(a.get("text"), str)
        for a in attachments
    )


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _configured_role(where: Paths) -> str | None:
    try:
        from companion.settings import load_settings

        return load_settings(where).role
    except MailwardenError as exc:
        log.warning("settings not read, no role applied: %s", exc.message)
        return None


def _setup_logging(where: Paths) -> None:
    root = logging.getLogger("companion")
    if root.handlers:
        return
    try:
        where.ensure()
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            where.logs / LOG_FILE, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler(sys.stderr)  # Thunderbird shows a host's stderr in its console
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def serve(stdin: IO[bytes], stdout: IO[bytes], where: Paths | None = None) -> int:
    """Answer messages until end of input (0) or an oversize message (1)."""
    where = where or paths()
    output = Output(stdout)
    host = Host(output, where)
    status = 0
    try:
        while not output.closed:
            try:
                raw = read_message(stdin)
            except TooLarge as exc:
                log.error("message of %d bytes refused (limit %d); exiting", exc.length, MAX_INCOMING)
                host.error(
                    None,
                    "Message too large",
                    f"a message of {exc.length} bytes is over the {MAX_INCOMING}-byte limit; "
                    "the Mailwarden host stops and Thunderbird starts a new one on the next send",
                )
                status = 1
                break
            if raw is None:
                break
            host.handle(raw)
    finally:
        host.close()
    log.info("host stops (status %d)", status)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point: `mailwarden native-host` and `python -m companion.native_host`. Thunderbird passes
    the manifest path and the extension id as arguments; they are only logged."""
    argv = sys.argv[1:] if argv is None else argv
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never corrupt the message stream
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import msvcrt
        import os

        msvcrt.setmode(stdin.fileno(), os.O_BINARY)
        msvcrt.setmode(stdout.fileno(), os.O_BINARY)
    where = paths()
    _setup_logging(where)
    log.info("host %s starts for %s", __version__, " ".join(argv[1:2]) or "?")
    try:
        return serve(stdin, stdout, where)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
