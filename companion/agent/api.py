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
from companion.agent.engines import EngineCache
from companion.agent.errors import BadRequest, NotFound, Unavailable
from companion.config import Paths
from companion.settings import Settings

if TYPE_CHECKING:
    from companion.agent.sync_loop import SyncLoop
    from companion.agent.watcher import Watcher
    from companion.database import Database
    from companion.stores.discovery import StoreInfo

VERDICTS = ("pass", "warn", "block")
MAX_PAGE = 500
MAX_REASON = 2000
MAX_COMMENT = 10000
LANGUAGES = ("", "en", "zh")  # "" follows the system locale
SETTINGS_KEYS = ("language",)  # what the tray may change; monitoring itself cannot be switched off
_KEY = re.compile(r"^[0-9a-f]{1,64}$")
# What waits to leave the computer: outbox rows the collector has not acknowledged.
_WAITING = "status = 'queued'"  # failed items are not waiting: they are never re-sent


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


def _explanation(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh}


def _finding_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "rule": row["rule"],
        "tier": row["tier"],
        "category": row["category"],
        "field": row["field"],
        "start": row["start"],
        "end": row["end"],
        "text": row["text"],
        "quoted": bool(row["quoted"]),
        "explanation": _explanation(row["explanation_en"], row["explanation_zh"]),
    }


def _message_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["key"],
        "date": row["date"],
        "direction": row["direction"],
        "sender": row["sender"],
        "recipients": json.loads(row["recipients"] or "[]"),
        "counterpart": row["counterpart"],
        "subject": row["subject"],
        "verdict": row["verdict"],
        "policy_version": row["policy_version"],
        "source": row["source"],
        "account": row["account"],
        "folder": row["folder"],
        "scanned_at": row["scanned_at"],
        "seq": row.get("seq"),
    }


def _appeal_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in (
            "id",
            "message_key",
            "rule",
            "reason",
            "comment",
            "status",
            "created_at",
            "updated_at",
            "reviewer_comment",
        )
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


DECISION_KEYS = (
    "id",
    "at",
    "channel",
    "verdict",
    "policy_version",
    "choice",
    "justification",
    "error",
    "subject",
    "recipients",
    "counterpart",
    "findings",
)


def _decision_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row.get(k) for k in DECISION_KEYS}
    for k in ("recipients", "findings"):
        try:
            out[k] = json.loads(out[k] or "[]")
        except (TypeError, ValueError):
            out[k] = []
    return out


def _decisions_for(db: Database, message: dict[str, Any]) -> list[dict[str, Any]]:
    """The pre-send decisions recorded for a sent message. A decision is taken before the mail has a
    Message-ID, so it is matched by subject and first recipient (the mail's counterpart)."""
    rows = db.db.query(
        "SELECT * FROM presend WHERE subject = ? AND lower(counterpart) = lower(?) ORDER BY at, id",
        [message["subject"] or "", message["counterpart"] or ""],
    )
    return [_decision_row(r) for r in rows]


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


class MailwardenAPI:
    def __init__(
        self,
        paths: Paths,
        settings: Settings | None = None,
        *,
        stores: Sequence[StoreInfo] = (),
        watcher: Watcher | None = None,
        engines: EngineCache | None = None,
        on_shutdown: Callable[[], None] | None = None,
        sync: SyncLoop | None = None,
    ) -> None:
        self.paths = paths
        self.settings = settings or Settings()
        self.stores = list(stores)
        self.watcher = watcher
        self.engines = engines or EngineCache(paths.policy)
        self.on_shutdown = on_shutdown
        self.sync_loop = sync
        self.started_at = _now()
        self._write_lock = threading.Lock()  # appeals are written by one request at a time

    @contextmanager
    def _db(self) -> Iterator[Database]:
        from companion.database import Database

        db = Database(self.paths.database)
        try:
            yield db
        finally:
            db.close()

    # -- status -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        engine = self.engines.get()
        with self._db() as db:
            q = db.conn.execute
            totals = {
                "messages": q("SELECT count(*) FROM messages").fetchone()[0],
                "flagged": q("SELECT count(DISTINCT message_key) FROM findings").fetchone()[0],
                "errors": q("SELECT count(*) FROM scan_errors").fetchone()[0],
                "appeals": dict(
                    q("SELECT status, count(*) FROM appeals GROUP BY status ORDER BY status").fetchall()
                ),
                "outbox_queued": q(f"SELECT count(*) FROM outbox WHERE {_WAITING}").fetchone()[0],
            }
            tray = self._tray_state(db)
            sync = self._sync_state(db)
            new_flags = q(
                "SELECT count(*) FROM messages WHERE rowid > ? AND key IN (SELECT message_key FROM findings)",
                (tray["flags_seen"],),
            ).fetchone()[0]
            last_flag = q(
                "SELECT coalesce(max(rowid), 0) FROM messages WHERE key IN (SELECT message_key FROM findings)"
            ).fetchone()[0]
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
                "version": engine.version,
                "name": engine.policy.name,
                "source": str(self.paths.policy) if self.engines.installed else "default",
                "error": self.engines.error,
            },
            "stores": self.stores_status(),
            "totals": totals,
            "scan": scan,
            "flags": {"new": new_flags, "seen": tray["flags_seen"], "last": last_flag},
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
        limit, offset = _page(limit, offset)
        flagged = "key IN (SELECT message_key FROM findings)"
        params: list[Any] = []
        order = "date DESC, scanned_at DESC, key"
        if after_seq is not None:
            try:
                after_seq = int(after_seq)
            except (TypeError, ValueError):
                raise BadRequest("after_seq must be a whole number") from None
            if after_seq < 0:
                raise BadRequest("after_seq must not be negative")
            flagged += " AND rowid > ?"
            params.append(after_seq)
            order = "rowid"
        with self._db() as db:
            total = db.conn.execute(f"SELECT count(*) FROM messages WHERE {flagged}", params).fetchone()[0]
            rows = list(
                db.db.query(
                    f"SELECT rowid AS seq, * FROM messages WHERE {flagged} ORDER BY {order} LIMIT ? OFFSET ?",
                    [*params, limit, offset],
                )
            )
            items = []
            for row in rows:
                findings = db.db.query(
                    "SELECT * FROM findings WHERE message_key = ? ORDER BY field, start, id", [row["key"]]
                )
                items.append({**_message_row(row), "findings": [_finding_row(f) for f in findings]})
        answer: dict[str, Any] = {"flags": items, "total": total, "limit": limit, "offset": offset}
        if after_seq is not None:
            answer["after_seq"] = after_seq
        return answer

    def messages(self, limit: Any = None, offset: Any = None, verdict: str | None = None) -> dict[str, Any]:
        """Every scanned message, newest first, optionally only those with one verdict."""
        limit, offset = _page(limit, offset)
        if verdict is not None and verdict not in VERDICTS:
            raise BadRequest(f"unknown verdict '{verdict}' (one of: {', '.join(VERDICTS)})")
        where, params = ("WHERE verdict = ?", [verdict]) if verdict else ("", [])
        with self._db() as db:
            total = db.conn.execute(f"SELECT count(*) FROM messages {where}", params).fetchone()[0]
            rows = db.db.query(
                f"SELECT m.rowid AS seq, m.*, (SELECT count(*) FROM findings f WHERE f.message_key = m.key) AS n_findings"
                f" FROM messages m {where} ORDER BY date DESC, scanned_at DESC, key LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            items = [{**_message_row(r), "findings": r["n_findings"]} for r in rows]
        return {"messages": items, "total": total, "limit": limit, "offset": offset}

    def flag(self, key: str) -> dict[str, Any]:
        """One message with its findings, the text of every flagged field ("excerpts", which the
        findings' start/end index) and the appeals filed against it."""
        with self._db() as db:
            row = self._message(db, key)
            findings = [
                _finding_row(f)
                for f in db.db.query(
                    "SELECT * FROM findings WHERE message_key = ? ORDER BY field, start, id", [key]
                )
            ]
            excerpts = {
                r["field"]: r["text"]
                for r in db.db.query(
                    "SELECT field, text FROM flagged_fields WHERE message_key = ? ORDER BY field", [key]
                )
            }
            appeals = [
                _appeal_row(a)
                for a in db.db.query("SELECT * FROM appeals WHERE message_key = ? ORDER BY id", [key])
            ]
            decisions = _decisions_for(db, row) if row["direction"] == "sent" else []
        return {
            "flag": {
                **_message_row(row),
                "findings": findings,
                "excerpts": excerpts,
                "appeals": appeals,
                "decisions": decisions,
            }
        }

    @staticmethod
    def _message(db: Database, key: Any) -> dict[str, Any]:
        if not isinstance(key, str) or not _KEY.match(key):
            raise NotFound(f"no message with the id {key!r}")
        rows = list(db.db.query("SELECT rowid AS seq, * FROM messages WHERE key = ?", [key]))
        if not rows:
            raise NotFound(f"no message with the id {key!r}; it may not have been scanned on this computer")
        return rows[0]

    # -- appeals and outbox ---------------------------------------------------------------------

    def file_appeal(
        self, message_key: str, reason: str, comment: str = "", rule: str | None = None
    ) -> dict[str, Any]:
        """Appeal a flag. Stored at once as "pending"; the outbox takes it to the collector later."""
        fields = {"reason": reason, "comment": comment, "rule": rule or ""}
        reason = _text_field(fields, "reason", MAX_REASON, required=True).strip()
        comment = _text_field(fields, "comment", MAX_COMMENT).strip()
        rule = _text_field(fields, "rule", 200).strip() or None
        with self._write_lock, self._db() as db:
            self._message(db, message_key)
            if rule is not None:
                rules = {
                    r[0]
                    for r in db.conn.execute(
                        "SELECT DISTINCT rule FROM findings WHERE message_key = ?", (message_key,)
                    )
                }
                if rule not in rules:
                    known = ", ".join(sorted(rules)) or "none"
                    raise BadRequest(f"the message has no finding of rule '{rule}' (its rules: {known})")
            now = _now()
            with db.transaction():
                cur = db.conn.execute(
                    "INSERT INTO appeals (message_key, rule, reason, comment, status, created_at, updated_at,"
                    " reviewer_comment) VALUES (?,?,?,?,?,?,?,?)",
                    (message_key, rule, reason, comment, "pending", now, now, ""),
                )
            row = next(db.db.query("SELECT * FROM appeals WHERE id = ?", [cur.lastrowid]))
        if self.sync_loop is not None:
            self.sync_loop.wake()  # an appeal goes at once, without waiting for the hourly summary
        return {"appeal": _appeal_row(row)}

    def appeals(self, status: str | None = None) -> dict[str, Any]:
        where, params = ("WHERE a.status = ?", [status]) if status else ("", [])
        with self._db() as db:
            rows = db.db.query(
                f"SELECT a.*, m.subject FROM appeals a LEFT JOIN messages m ON m.key = a.message_key {where}"
                " ORDER BY a.id DESC",
                params,
            )
            return {"appeals": [{**_appeal_row(r), "subject": r["subject"]} for r in rows]}

    def outbox(self, limit: Any = None) -> dict[str, Any]:
        """What waits to leave this computer, oldest first (empty until something is queued)."""
        limit, _ = _page(limit, 0)
        with self._db() as db:
            rows = list(db.db.query(f"SELECT * FROM outbox WHERE {_WAITING} ORDER BY id LIMIT ?", [limit]))
        for row in rows:
            try:
                row["payload"] = json.loads(row["payload"])
            except (TypeError, ValueError):
                pass  # shown as stored
        return {"outbox": rows}

    # -- tray: seen marker, settings, decisions, transparency ------------------------------------

    @staticmethod
    def _tray_state(db: Database) -> dict[str, Any]:
        rows = list(db.db.query("SELECT flags_seen, language FROM tray_state WHERE id = 1"))
        return rows[0] if rows else {"flags_seen": 0, "language": ""}

    @staticmethod
    def _sync_state(db: Database) -> dict[str, Any]:
        """Enrolment and delivery, read from the outbox: the collector counts as unreachable while the
        oldest waiting item has failed to go at least once (network error, 5xx, refused device)."""
        q = db.conn.execute
        device = list(
            db.db.query("SELECT device_id, collector_url, department, enrolled_at FROM device WHERE id = 1")
        )
        queued = q("SELECT count(*) FROM outbox WHERE status = 'queued'").fetchone()[0]
        last_upload = q("SELECT max(acked_at) FROM outbox WHERE status = 'acked'").fetchone()[0]
        failing = list(
            db.db.query(
                "SELECT attempts, last_error, next_attempt_at FROM outbox WHERE status = 'queued' AND attempts > 0"
                " ORDER BY id LIMIT 1"
            )
        )
        if failing:
            reachable: bool | None = False
        elif last_upload:
            reachable = True
        else:
            reachable = None  # nothing was tried yet
        return {
            "enrolled": bool(device),
            **(
                device[0]
                if device
                else {"device_id": "", "collector_url": "", "department": "", "enrolled_at": ""}
            ),
            "queued": queued,
            "last_upload": last_upload or "",
            "collector_reachable": reachable,
            "last_error": failing[0]["last_error"] if failing else "",
            "next_attempt_at": failing[0]["next_attempt_at"] if failing else "",
        }

    def mark_flags_seen(self, upto: Any = None) -> dict[str, Any]:
        """Remember that the user has looked at the flags up to message `upto` (a flag's "seq";
        default: every flag so far). The marker never goes back."""
        if upto is not None and (isinstance(upto, bool) or not isinstance(upto, int) or upto < 0):
            raise BadRequest("'upto' must be a whole number (a flag's seq)")
        with self._write_lock, self._db() as db:
            if upto is None:
                upto = db.conn.execute("SELECT coalesce(max(rowid), 0) FROM messages").fetchone()[0]
            with db.transaction():
                db.conn.execute("UPDATE tray_state SET flags_seen = max(flags_seen, ?) WHERE id = 1", (upto,))
            seen = self._tray_state(db)["flags_seen"]
        return {"seen": seen}

    def settings_view(self) -> dict[str, Any]:
        engine = self.engines.get()
        with self._db() as db:
            tray = self._tray_state(db)
            sync = self._sync_state(db)
        return {
            "settings": {
                "language": tray["language"],
                "languages": ["en", "zh"],
                "policy_version": engine.version,
                "policy_source": "installed" if self.engines.installed else "default",
                "collector_url": sync["collector_url"],
                "enrolled": sync["enrolled"],
                "device_id": sync["device_id"],
                "department": sync["department"],
                "enrolled_at": sync["enrolled_at"],
                "monitoring": "always on",
            }
        }

    def update_settings(self, changes: Any) -> dict[str, Any]:
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
            with self._write_lock, self._db() as db, db.transaction():
                db.conn.execute("UPDATE tray_state SET language = ? WHERE id = 1", (lang,))
        return self.settings_view()

    def decisions(self, limit: Any = None) -> dict[str, Any]:
        """Pre-send decisions, newest first: what the user did when a check found something."""
        limit, _ = _page(limit, 0)
        with self._db() as db:
            rows = db.db.query(
                "SELECT * FROM presend WHERE verdict != 'pass' OR findings != '[]'"
                " ORDER BY at DESC, id DESC LIMIT ?",
                [limit],
            )
            return {"decisions": [_decision_row(r) for r in rows]}

    def transparency(self, limit: Any = None) -> dict[str, Any]:
        """Everything put in the outbox, newest first, whatever its status (queued, acked, failed),
        each with its exact bytes: what leaves this computer, or left it."""
        limit, _ = _page(limit, 0, default=200)
        with self._db() as db:
            total = db.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
            rows = list(db.db.query("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", [limit]))
        return {"items": [_outbox_item(r) for r in rows], "total": total}

    # -- pre-send check -------------------------------------------------------------------------

    def check(self, payload: Any) -> dict[str, Any]:
        """Judge an outgoing message given as JSON. In memory only: nothing is stored."""
        from companion.errors import PolicyError
        from companion.presend import ComposeError, message_from_compose

        try:
            message = message_from_compose(payload)  # the one conversion every sending path shares
        except ComposeError as exc:
            raise BadRequest(exc.message) from None
        except (TypeError, ValueError) as exc:  # e.g. an attachment size that is not a number
            raise BadRequest(f"invalid message: {exc}") from None
        engine = self.engines.get()
        role = payload.get("role")
        if role is not None and not isinstance(role, str):
            raise BadRequest("'role' must be a string")
        if role is None and self.settings.role in engine.policy.roles:
            role = self.settings.role  # the user's configured role, when this policy knows it
        try:
            verdict = engine.check(message, role=role)
        except PolicyError as exc:
            raise BadRequest(exc.message) from None
        return {
            "verdict": verdict.verdict,
            "findings": [
                {
                    "rule": f.rule,
                    "tier": f.tier,
                    "category": f.category,
                    "field": f.field.to_dict(),
                    "start": f.start,
                    "end": f.end,
                    "text": f.text,
                    "quoted": f.quoted,
                    "approver": f.approver,
                    "explanation": _explanation(f.explanation.en, f.explanation.zh),
                }
                for f in verdict.findings
            ],
            "policy_version": verdict.policy_version,
            "role": role,
            # Whom the sender may add to get a warned mail approved (from the policy).
            "approvers": sorted(
                {
                    a
                    for f in verdict.findings
                    if f.tier == "approval" and not f.quoted
                    for a in engine.policy.approver_addresses(f.approver)
                }
            ),
        }

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
