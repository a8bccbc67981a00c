"""The native-messaging host Thunderbird starts for the Mailwarden MailExtension.

Thunderbird launches this program (through the launcher named in the host manifest, see
companion.thunderbird_install) and talks to it over stdin/stdout (companion.native_messaging) for as
long as the extension keeps its port open. Every message carries an "id" that its answer repeats:

    {"type": "hello", "id"}
        -> {"type": "hello", "id", "version", "protocol", "policy_version", "policy_error",
            "attachments", "fail_modes", "choices"}
       What the extension needs to know before a send: which attachments the companion reads from
       their bytes (and up to what size), which it reads as text, the fail modes and the choices.
       ("ping" gets the same as "pong", for extensions of protocol 1.)
    {"type": "check", "id", "key", "details": {compose details, see companion.presend}}
        -> {"type": "verdict", "id", ...companion.presend.view}
           (plus "truncated" and "findings_total" when the findings were cut to fit)
       An attachment may carry its bytes as "data_base64" instead of "text" (Word, Excel, PDF, HTML,
       mail, text in any charset): the host extracts the text (companion.parsing.attachments).
    {"type": "decision", "id", "check_id", "choice", "justification", "error", "details", "key"}
        -> {"type": "recorded", "id", "row"}
       A decision whose check this host does not know (reported late, after the host that checked
       it was replaced) is checked again from its "details", attachment bytes included.
    anything wrong
        -> {"type": "error", "id", "code", "retryable", "title", "message"}
       The extension decides by `code` and `retryable` (a decision the database could not take now
       is worth sending again; a refused choice never is), never by the English title.

Rules kept here:
- An incoming message over the size limit is answered with an error and the host exits with
  status 1. Malformed JSON or an unknown type is answered with an error and the host carries on.
  End of input (Thunderbird closed the port) ends the host with 0.
- Checks run on the main thread with the policy in force (companion.policy.in_force: a new policy
  or role applies at the next check). Decisions are written to the database by a writer thread, so
  a busy database never holds up a check.
- A lone surrogate coming in (JSON allows "\\ud800") is read as U+FFFD.
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
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from companion import __version__
from companion.config import Paths, paths
from companion.errors import MailwardenError
from companion.native_messaging import (
    ESCAPED_SURROGATE,
    MAX_INCOMING,
    Output,
    TooLarge,
    read_message,
    without_lone_surrogates,
)

if TYPE_CHECKING:
    from companion.presend import PresendSession

log = logging.getLogger("companion.native_host")

PROTOCOL = 2  # 2: hello, error codes, fields as {kind, name}, decision keys in X-Mailwarden
CHANNEL = "thunderbird"
LOG_FILE = "native-host.log"
# What the extension sends of an attachment: its bytes (the companion extracts the text) for the
# formats companion.parsing.attachments reads, up to a size; its text, read by the extension as
# UTF-8, for other text formats; the name only for the rest. The total keeps a check, as base64,
# well under native messaging's incoming limit.
AS_TEXT = (".text", ".markdown", ".xml", ".json", ".ics", ".vcf", ".rtf", ".ini", ".cfg", ".yaml", ".yml")
EXTRACT_MAX = 10 * 1024 * 1024
EXTRACT_TOTAL_MAX = 40 * 1024 * 1024
AS_TEXT_MAX = 512 * 1024


class HostError(MailwardenError):
    title = "Mailwarden host error"


def attachment_rules() -> dict[str, Any]:
    from companion.parsing.attachments import READABLE_EXTENSIONS

    return {
        "extract": list(READABLE_EXTENSIONS),
        "extract_max": EXTRACT_MAX,
        "extract_total_max": EXTRACT_TOTAL_MAX,
        "as_text": list(AS_TEXT),
        "as_text_max": AS_TEXT_MAX,
    }


class Host:
    def __init__(self, output: Output, where: Paths | None = None) -> None:
        from companion.policy.in_force import PolicyInForce
        from companion.presend import PresendSession

        self.paths = where or paths()
        self.out = output
        self.policy = PolicyInForce(self.paths)
        self.session: PresendSession = PresendSession(CHANNEL, self.policy, self.paths.database)
        self._decisions: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_decisions, name="decisions", daemon=True)
        self._writer.start()
        self._warmed = False
        self.policy.get()  # build the engine now, not on the first send

    # messages --------------------------------------------------------------------------------

    def handle(self, raw: bytes) -> None:
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.error(
                None,
                HostError(
                    f"the message is not UTF-8 JSON: {exc}", title="Malformed message", code="malformed"
                ),
            )
            return
        if not isinstance(message, dict):
            self.error(
                None,
                HostError("the message must be a JSON object", title="Malformed message", code="malformed"),
            )
            return
        if ESCAPED_SURROGATE.search(raw):
            message = without_lone_surrogates(message)
        mid = message.get("id")
        if not isinstance(mid, str | int) or isinstance(mid, bool):
            mid = None
        kind = message.get("type")
        handlers = {"hello": self.hello, "ping": self.hello, "check": self.check, "decision": self.decision}
        handler = handlers.get(kind)
        try:
            if handler is None:
                known = ", ".join(handlers)
                raise HostError(
                    f"unknown message type {kind!r} (known: {known})",
                    title="Unknown message",
                    code="unknown_type",
                )
            handler(mid, message)
        except MailwardenError as exc:
            log.warning("%s %s refused: %s", kind, mid, exc.code)
            self.error(mid, exc)
        except Exception as exc:  # a bug must not take the host down: the next send still gets checked
            log.exception("%s %s failed", kind, mid)
            self.error(mid, HostError(f"{type(exc).__name__}: {exc}", code="internal"))

    def error(self, mid: Any, exc: MailwardenError) -> None:
        self.out.send({"type": "error", "id": mid, **exc.to_dict()})

    def hello(self, mid: Any, message: dict[str, Any]) -> None:
        from companion.machine_config import FAIL_MODES
        from companion.presend import Choice

        in_force = self.policy.get()
        self.out.send(
            {
                "type": "pong" if message.get("type") == "ping" else "hello",
                "id": mid,
                "version": __version__,
                "protocol": PROTOCOL,
                "policy_version": in_force.version,
                "policy_error": in_force.error,
                "attachments": attachment_rules(),
                "fail_modes": list(FAIL_MODES),
                "choices": [c.value for c in Choice],
            }
        )
        if not self._warmed:
            self._warm_up()

    def _warm_up(self) -> None:
        """One check of a tiny mail after the first hello (the extension says hello when Thunderbird
        starts): the modules a check imports lazily (HTML, quoted text, the verdict's sentences)
        are loaded then, not during the first send, which waits on them under its time limit."""
        from companion.presend import view

        self._warmed = True
        started = time.perf_counter()
        try:
            details = {
                "subject": "warm-up",
                "html": "<p>warm-up</p>",
                "to": ["warm-up@example.invalid"],
                "attachments": [{"name": "warm-up.txt", "text": "warm-up"}],
            }
            view(self.session.check(details, check_id="warm-up"))
        except Exception:  # a warm-up is an optimisation: never a reason to fail
            log.exception("warm-up check failed")
        log.info("warmed up in %.1f ms", (time.perf_counter() - started) * 1000)

    def check(self, mid: Any, message: dict[str, Any]) -> None:
        started = time.perf_counter()
        check = self.session.check(
            with_attachment_text(message.get("details")), check_id=mid, key=message.get("key")
        )
        answer = {"type": "verdict", "id": mid, **self.session.view(check)}
        self.out.send(answer)
        log.info(
            "check %s: %s %s in %.1f ms",
            mid,
            check.verdict.verdict,
            ",".join(sorted({f["rule"] for f in answer["findings"]})) or "-",
            (time.perf_counter() - started) * 1000,
        )

    def decision(self, mid: Any, message: dict[str, Any]) -> None:
        from companion.presend import Decision

        # Attachment bytes sent with a late decision are read as a check reads them.
        decision = Decision.parse({**message, "details": with_attachment_text(message.get("details"))})
        self._decisions.put((mid, decision))

    # the database writer -------------------------------------------------------------------

    def _write_decisions(self) -> None:
        from companion.records import Database

        db = None
        while True:
            item = self._decisions.get()
            if item is None:
                break
            mid, decision = item
            try:
                if db is None:
                    db = Database(self.paths.database)
                row = self.session.record(decision, db)
                log.info("decision %s recorded: %s (row %s)", mid, decision.choice.value, row)
                self.out.send({"type": "recorded", "id": mid, "row": row})
            except MailwardenError as exc:
                self.error(mid, exc)
            except Exception as exc:  # the database is busy, locked, full...: worth sending again
                log.exception("decision %s not recorded", mid)
                self.error(
                    mid,
                    HostError(
                        f"{type(exc).__name__}: {exc}",
                        title="Decision not recorded",
                        code="not_recorded",
                        retryable=True,
                    ),
                )
        if db is not None:
            db.close()

    def close(self, timeout: float = 10.0) -> None:
        """Finish writing the decisions already received, then stop."""
        self._decisions.put(None)
        self._writer.join(timeout)


def with_attachment_text(details: Any) -> Any:
    """The compose details with the text of each attachment sent as bytes ("data_base64"), as
    companion.presend expects them. An attachment that cannot be decoded or read is checked by its
    name only (its text stays None); anything that is not compose details is returned as is, for
    the pre-send session to refuse with a clear error."""
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
                    HostError(
                        f"a message of {exc.length} bytes is over the {MAX_INCOMING}-byte limit; "
                        "the Mailwarden host stops and Thunderbird starts a new one on the next send",
                        title="Message too large",
                        code="too_large",
                    ),
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
