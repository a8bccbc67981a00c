"""MailwardenAPI: everything the agent can tell or do, as plain data (dicts, lists, str, int, bool).

The HTTP server, the CLI and the tray all call this one class, so they cannot disagree. Reads open
their own short-lived Database connection (SQLite connections belong to one thread, and the HTTP
server answers each request on a thread of its own); check() touches no database at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from companion import __version__
from companion.agent.errors import BadRequest, NotFound, Unavailable
from companion.config import Paths
from companion.policy.in_force import PolicyInForce
from companion.presend import PresendSession
from companion.settings import Settings

if TYPE_CHECKING:
    from companion.agent.sync_loop import SyncLoop
    from companion.agent.watcher import Watcher
    from companion.records import Database
    from companion.stores.discovery import StoreInfo

VERDICTS = ("pass", "warn", "block")
MAX_PAGE = 500
MAX_REASON = 2000
MAX_COMMENT = 10000
LANGUAGES = ("", "en", "zh")  # "" follows the system locale
SETTINGS_KEYS = ("language",)  # what the tray may change; monitoring itself cannot be switched off
_KEY = re.compile(r"^[0-9a-f]{1,64}$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _page(limit: Any, offset: Any, default: int = 50) -> tuple[int, int]:
    try:
        limit = default if limit is None else int(limit)
        offset = 0 if offset is None else int(offset)
    except (TypeError, ValueError):
        raise BadRequest("limit and offset must be whole numbers") from None
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise BadRequest("offset must not be negative")
    return limit, offset


def _outbox_item(row: dict[str, Any]) -> dict[str, Any]:
    """One outbox row for the transparency view: the exact queued bytes ("raw", the canonical JSON
    the collector receives) and, read from them, the payload, its signature and its chain position."""
    raw = row["payload"] or ""
    envelope: Any = None
    try:
        envelope = json.loads(raw)
    except (TypeError, ValueError):
        pass
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    payload = payload if isinstance(payload, dict) else {}
    return {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "created_at": row["created_at"],
        "attempts": row["attempts"] or 0,
        "next_attempt_at": row["next_attempt_at"] or "",
        "acked_at": row["acked_at"] or "",
        "last_error": row["last_error"] or "",
        "raw": raw,
        "bytes": len(raw.encode("utf-8")),
        "sha256": hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        "payload": payload,
        "signature": envelope.get("signature", "") if isinstance(envelope, dict) else "",
        "device_id": envelope.get("device_id", "") if isinstance(envelope, dict) else "",
        "seq": payload.get("seq"),
        "prev_hash": payload.get("prev_hash"),
    }


def _text_field(payload: dict[str, Any], name: str, limit: int | None = None, required: bool = False) -> str:
    value = payload.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    if required and not value.strip():
        raise BadRequest(f"'{name}' is required and must not be empty")
    if limit is not None and len(value) > limit:
        raise BadRequest(f"'{name}' is too long (at most {limit} characters)")
    return value


class MailwardenAPI:
    def __init__(
        self,
        paths: Paths,
        settings: Settings | None = None,
        *,
        stores: Sequence[StoreInfo] = (),
        watcher: Watcher | None = None,
        policy: PolicyInForce | None = None,
        on_shutdown: Callable[[], None] | None = None,
        sync: SyncLoop | None = None,
    ) -> None:
        self.paths = paths
        self.settings = settings or Settings()
        self.stores = list(stores)
        self.watcher = watcher
        self.policy = policy or PolicyInForce(paths)
        self.presend = PresendSession("api", self.policy, paths.database)
        self.on_shutdown = on_shutdown
        self.sync_loop = sync
        self.started_at = _now()
        self._write_lock = threading.Lock()  # appeals are written by one request at a time

    @contextmanager
    def _db(self) -> Iterator[Database]:
        from companion.records import Database

        db = Database(self.paths.database)
        try:
            yield db
        finally:
            db.close()

    # -- status -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from companion.records import appeals, outbox, scans, state

        in_force = self.policy.get()
        with self._db() as db:
            tray = state.tray(db)
            counts = scans.totals(db, tray["flags_seen"])
            totals = {
                "messages": counts["messages"],
                "flagged": counts["flagged"],
                "errors": counts["errors"],
                "appeals": appeals.counts_by_status(db),
                "outbox_queued": outbox.delivery(db)["queued"],
            }
            sync = self._sync_state(db)
        scan = self.watcher.scan_state() if self.watcher else {"state": "off"}
        if self.sync_loop is not None:
            schedule = self.sync_loop.state()
            sync["schedule"] = schedule
            if schedule["last_error"] and sync["enrolled"]:
                sync["collector_reachable"] = False  # the last round could not reach it
                sync["last_error"] = sync["last_error"] or schedule["last_error"]
        return {
            "agent": {"version": __version__, "pid": os.getpid(), "started_at": self.started_at},
            "policy": {
                "version": in_force.version,
                "name": in_force.engine.policy.name,
                "source": str(self.paths.policy) if in_force.installed else "default",
                "error": in_force.error,
            },
            "stores": self.stores_status(),
            "totals": totals,
            "scan": scan,
            "flags": {"new": counts["new_flags"], "seen": tray["flags_seen"], "last": counts["last_flag"]},
            "sync": sync,
            "language": tray["language"],
        }

    def stores_status(self) -> list[dict[str, Any]]:
        if self.watcher is not None:
            return self.watcher.stores_state()
        return [
            {
                **s.to_dict(),
                "watching": False,
                "last_scan": None,
                "last_totals": None,
                "last_error": None,
                "last_error_at": None,
            }
            for s in self.stores
        ]

    # -- flags and messages -------------------------------------------------------------------

    def flags(self, limit: Any = None, offset: Any = None, after_seq: Any = None) -> dict[str, Any]:
        """Flagged messages (those with findings), newest first, each with its findings. With
        after_seq: only those whose seq is greater, in seq order (oldest scan first), whatever their
        Date header says: what was flagged since the caller last looked."""
        from companion.records import scans

        limit, offset = _page(limit, offset)
        if after_seq is not None:
            try:
                after_seq = int(after_seq)
            except (TypeError, ValueError):
                raise BadRequest("after_seq must be a whole number") from None
            if after_seq < 0:
                raise BadRequest("after_seq must not be negative")
        with self._db() as db:
            answer: dict[str, Any] = {
                **scans.flags(db, limit, offset, after_seq),
                "limit": limit,
                "offset": offset,
            }
        if after_seq is not None:
            answer["after_seq"] = after_seq
        return answer

    def messages(self, limit: Any = None, offset: Any = None, verdict: str | None = None) -> dict[str, Any]:
        """Every scanned message, newest first, optionally only those with one verdict."""
        from companion.records import scans

        limit, offset = _page(limit, offset)
        if verdict is not None and verdict not in VERDICTS:
            raise BadRequest(f"unknown verdict '{verdict}' (one of: {', '.join(VERDICTS)})")
        with self._db() as db:
            return {**scans.messages(db, limit, offset, verdict), "limit": limit, "offset": offset}

    def flag(self, key: str) -> dict[str, Any]:
        """One message with its findings, the text of every flagged field ("excerpts", which the
        findings' start/end index), the appeals filed against it and, for sent mail, the pre-send
        decision its X-Mailwarden header names."""
        from companion.records import appeals, decisions, findings, scans

        with self._db() as db:
            row = self._message(db, key)
            return {
                "flag": {
                    **scans.message_data(row),
                    "findings": findings.of_message(db, key),
                    "excerpts": scans.excerpts(db, key),
                    "appeals": appeals.of_message(db, key),
                    "decisions": decisions.by_key(db, row["decision_key"])
                    if row["direction"] == "sent"
                    else [],
                }
            }

    @staticmethod
    def _message(db: Database, key: Any) -> dict[str, Any]:
        from companion.records import scans

        if not isinstance(key, str) or not _KEY.match(key):
            raise NotFound(f"no message with the id {key!r}")
        row = scans.message(db, key)
        if row is None:
            raise NotFound(f"no message with the id {key!r}; it may not have been scanned on this computer")
        return row

    # -- appeals and outbox ---------------------------------------------------------------------

    def file_appeal(
        self, message_key: str, reason: str, comment: str = "", rule: str | None = None
    ) -> dict[str, Any]:
        """Appeal a flag. Stored at once as "pending"; the outbox takes it to the collector later."""
        from companion.records import appeals, findings

        fields = {"reason": reason, "comment": comment, "rule": rule or ""}
        reason = _text_field(fields, "reason", MAX_REASON, required=True).strip()
        comment = _text_field(fields, "comment", MAX_COMMENT).strip()
        rule = _text_field(fields, "rule", 200).strip() or None
        with self._write_lock, self._db() as db:
            self._message(db, message_key)
            if rule is not None:
                rules = findings.rules_of_message(db, message_key)
                if rule not in rules:
                    known = ", ".join(sorted(rules)) or "none"
                    raise BadRequest(f"the message has no finding of rule '{rule}' (its rules: {known})")
            appeal = appeals.file(db, message_key, reason, comment, rule)
        if self.sync_loop is not None:
            self.sync_loop.wake()  # an appeal goes at once, without waiting for the hourly summary
        return {"appeal": appeal}

    def appeals(self, status: str | None = None) -> dict[str, Any]:
        from companion.records import appeals

        with self._db() as db:
            return {"appeals": appeals.listing(db, status)}

    def outbox(self, limit: Any = None) -> dict[str, Any]:
        """What waits to leave this computer, oldest first (empty until something is queued)."""
        from companion.records import outbox

        limit, _ = _page(limit, 0)
        with self._db() as db:
            rows = outbox.waiting(db, limit)
        for row in rows:
            try:
                row["payload"] = json.loads(row["payload"])
            except (TypeError, ValueError):
                pass  # shown as stored
        return {"outbox": rows}

    # -- tray: seen marker, settings, decisions, transparency ------------------------------------

    @staticmethod
    def _sync_state(db: Database) -> dict[str, Any]:
        """Enrolment and delivery, read from the outbox: the collector counts as unreachable while the
        oldest waiting item has failed to go at least once (network error, 5xx, refused device)."""
        from companion.records import outbox, state

        device = state.device(db)
        delivery = outbox.delivery(db)
        failing = delivery["failing"]
        if failing:
            reachable: bool | None = False
        elif delivery["last_upload"]:
            reachable = True
        else:
            reachable = None  # nothing was tried yet
        return {
            "enrolled": device is not None,
            "device_id": device["device_id"] if device else "",
            "collector_url": device["collector_url"] if device else "",
            "department": device["department"] if device else "",
            "enrolled_at": device["enrolled_at"] if device else "",
            "queued": delivery["queued"],
            "last_upload": delivery["last_upload"],
            "collector_reachable": reachable,
            "last_error": failing["last_error"] if failing else "",
            "next_attempt_at": failing["next_attempt_at"] if failing else "",
        }

    def mark_flags_seen(self, upto: Any = None) -> dict[str, Any]:
        """Remember that the user has looked at the flags up to message `upto` (a flag's "seq";
        default: every flag so far). The marker never goes back."""
        from companion.records import scans, state

        if upto is not None and (isinstance(upto, bool) or not isinstance(upto, int) or upto < 0):
            raise BadRequest("'upto' must be a whole number (a flag's seq)")
        with self._write_lock, self._db() as db:
            state.mark_flags_seen(db, scans.last_seq(db) if upto is None else upto)
            return {"seen": state.tray(db)["flags_seen"]}

    def settings_view(self) -> dict[str, Any]:
        from companion.records import state

        in_force = self.policy.get()
        with self._db() as db:
            tray = state.tray(db)
            sync = self._sync_state(db)
        return {
            "settings": {
                "language": tray["language"],
                "languages": ["en", "zh"],
                "policy_version": in_force.version,
                "policy_source": "installed" if in_force.installed else "default",
                "collector_url": sync["collector_url"],
                "enrolled": sync["enrolled"],
                "device_id": sync["device_id"],
                "department": sync["department"],
                "enrolled_at": sync["enrolled_at"],
                "monitoring": "always on",
            }
        }

    def update_settings(self, changes: Any) -> dict[str, Any]:
        from companion.records import state

        if not isinstance(changes, dict):
            raise BadRequest("the settings must be a JSON object")
        unknown = sorted(set(changes) - set(SETTINGS_KEYS))
        if unknown:
            raise BadRequest(
                f"cannot change {', '.join(map(repr, unknown))} here (only: {', '.join(SETTINGS_KEYS)})"
            )
        if "language" in changes:
            lang = changes["language"]
            if lang not in LANGUAGES:
                raise BadRequest('\'language\' must be "en", "zh" or "" (follow the system)')
            with self._write_lock, self._db() as db:
                state.set_language(db, lang)
        return self.settings_view()

    def decisions(self, limit: Any = None, offset: Any = None) -> dict[str, Any]:
        """Pre-send decisions, newest first: what the user did when a check found something (or
        when the check could not run)."""
        from companion.records import decisions

        limit, offset = _page(limit, offset)
        with self._db() as db:
            return {"decisions": decisions.newest(db, limit, offset)}

    def transparency(self, limit: Any = None) -> dict[str, Any]:
        """Everything put in the outbox, newest first, whatever its status (queued, acked, failed),
        each with its exact bytes: what leaves this computer, or left it."""
        from companion.records import outbox

        limit, _ = _page(limit, 0, default=200)
        with self._db() as db:
            rows, total = outbox.newest(db, limit)
        return {"items": [_outbox_item(r) for r in rows], "total": total}

    # -- pre-send -------------------------------------------------------------------------------

    def check(self, payload: Any) -> dict[str, Any]:
        """Judge an outgoing message given as compose details (companion.presend), as the user's role
        or the "role" given: the pre-send view every client shows. Nothing is stored until the client
        reports what the sender decided (record_decision, with the view's check_id)."""
        from companion.errors import PolicyError
        from companion.presend import ComposeError, DecisionError

        if not isinstance(payload, dict):
            raise BadRequest("the compose details must be a JSON object")
        role = payload.get("role")
        if role is not None and not isinstance(role, str):
            raise BadRequest("'role' must be a string")
        try:
            check = self.presend.check(payload, key=payload.get("key"), role=role)
        except (ComposeError, DecisionError, PolicyError) as exc:
            raise BadRequest(exc.message) from None
        return self.presend.view(check)

    def record_decision(self, payload: Any) -> dict[str, Any]:
        """Record what the sender decided after a check ({check_id, choice, justification, key,
        error, details}): the pre-send session validates it as for every other client."""
        from companion.presend import ComposeError, Decision, DecisionError

        try:
            decision = Decision.parse(payload)
            with self._write_lock, self._db() as db:
                row = self.presend.record(decision, db)
        except (ComposeError, DecisionError) as exc:
            raise BadRequest(exc.message) from None
        return {"recorded": row}

    # -- control --------------------------------------------------------------------------------

    def sync_now(self) -> dict[str, Any]:
        """Ask the agent's schedule to sign a summary, send what waits and pull, now."""
        if self.sync_loop is None:
            raise Unavailable("no sync schedule runs in this process: start the agent")
        self.sync_loop.run_now()
        return {"sync": "requested"}

    def rescan(self) -> dict[str, Any]:
        if self.watcher is None:
            raise Unavailable("no watcher runs in this process: start the agent to scan")
        self.watcher.rescan()
        return {"scan": "requested"}

    def shutdown(self) -> dict[str, Any]:
        if self.on_shutdown is None:
            raise Unavailable("this process cannot be shut down through the API")
        self.on_shutdown()
        return {"shutdown": "requested"}
