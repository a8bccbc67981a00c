"""The collector's logic in a plain class (no web framework here): `Collector(storage,
policy_signer, clock)`. Methods take and return plain data; refusals raise `CollectorError`
carrying the HTTP status, the protocol's error code and a message.

Nothing here keeps state between calls: everything that matters is in the database, so several
web processes can share one PostgreSQL.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from collector import chain
from collector.admin import Administration, iso, token_hash, validate_policy
from collector.errors import CollectorError, bad_request
from collector.keys import (
    Signer,
    b64url_decode,
    canonical,
    load_audit_signer,
    request_message,
    verify,
    verify_bytes,
)
from collector.storage import SqlStorage, Tx
from collector.validation import INT64_MAX, bounded_int, check_text, naive_utc
from collector.validation import field as _field
from collector.validation import text as _text
from collector.validation import when as _when
from companion.policy_update import version_key  # one order of policy versions on both ends

MAX_BODY = 1024 * 1024
REQUEST_WINDOW = 300  # seconds a signed GET may be away from the collector's clock
APPEAL_DECISIONS = ("upheld", "rejected")
DECISIONS_PAGE = 500
KEY_CACHE_MAX = 100_000  # device keys cached per process (about 150 bytes each)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Collector(Administration):
    """The collector's API: ingest (enrolment, signed uploads and pulls), review and learning here;
    administration (tokens, devices, users, policy publishing, retention) from
    collector/admin.py."""

    def __init__(
        self,
        storage: SqlStorage,
        policy_signer: Signer,
        clock: Callable[[], datetime] = utcnow,
        audit_signer: Signer | None = None,
    ) -> None:
        self.storage = storage
        self.signer = policy_signer
        self.clock = clock
        self._audit_signer = audit_signer
        self.collector_id = storage.meta_setdefault("collector_id", "col_" + secrets.token_hex(8))
        # device id -> public key. A device's key never changes (a new key is a new enrolment, a new
        # id), so caching it keeps the process stateless in every way that matters and saves a
        # database round trip per upload. Revocation is NOT cached: it is checked on the device row
        # inside the upload's own transaction.
        self._keys: dict[str, str] = {}

    def now(self) -> datetime:
        return naive_utc(self.clock())

    @property
    def audit_signer(self) -> Signer:
        """The key that signs the access log's day heads (in the database unless given)."""
        if self._audit_signer is None:
            self._audit_signer = load_audit_signer(self.storage)
        return self._audit_signer

    # -- enrolment ---------------------------------------------------------------------------

    def enroll(self, body: dict[str, Any]) -> dict[str, Any]:
        where = "enroll"
        token = _text(body, "token", where, 200)
        public_key = _text(body, "public_key", where, 64)
        hostname = _text(body, "hostname", where, 255)
        department = _text(body, "department", where, 200, optional=True)
        agent_version = _text(body, "agent_version", where, 64, optional=True)
        try:
            if len(b64url_decode(public_key)) != 32:
                raise ValueError
        except ValueError:
            raise bad_request("public_key must be base64url of 32 raw Ed25519 bytes") from None
        now = self.now()
        with self.storage.transaction() as tx:
            row = tx.get("tokens", {"token_hash": token_hash(token)})
            if row is None:
                raise CollectorError(401, "invalid_token", "unknown enrolment token")
            if row["revoked_at"] is not None:
                raise CollectorError(403, "revoked_token", "this enrolment token was revoked")
            if row["expires_at"] is not None and row["expires_at"] <= now:
                raise CollectorError(403, "expired_token", "this enrolment token has expired")
            device_id = "dev_" + secrets.token_hex(12)
            tx.insert(
                "devices",
                {
                    "id": device_id,
                    "public_key": public_key,
                    "hostname": hostname,
                    "department": department or row["department"],
                    "agent_version": agent_version,
                    "token_id": row["id"],
                    "enrolled_at": now,
                    "last_seen": now,
                },
            )
        return {
            "device_id": device_id,
            "policy_key": self.signer.public_key_b64,
            "collector": self.collector_id,
        }

    # -- signed uploads ----------------------------------------------------------------------

    def _device_key(self, device_id: Any) -> str:
        """The device's public key (cached); 401 unknown_device when it never enrolled."""
        if not isinstance(device_id, str) or not device_id:
            raise bad_request("device_id must be a string")
        check_text(device_id, "device_id")
        key = self._keys.get(device_id)
        if key is None:
            with self.storage.read() as tx:
                device = tx.get("devices", {"id": device_id})
            if device is None:
                raise CollectorError(401, "unknown_device", "this device is not enrolled")
            if len(self._keys) >= KEY_CACHE_MAX:
                self._keys.clear()
            key = self._keys[device_id] = device["public_key"]
        return key

    @staticmethod
    def _admitted(tx: Tx, device_id: str) -> dict[str, Any]:
        """The device row, locked for this transaction; 403 when the device is revoked."""
        device = tx.get("devices", {"id": device_id}, lock=True)
        if device is None:
            raise CollectorError(401, "unknown_device", "this device is not enrolled")
        if device["revoked_at"] is not None:
            raise CollectorError(403, "revoked_device", "this device was revoked")
        return device

    def verify_envelope(self, envelope: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check the envelope and its signature (before anything else); return ({"id": device id},
        payload). Whether the device is revoked is checked by the upload's transaction."""
        device, payload, _data = self._verified(envelope, kind)
        return device, payload

    def _verified(self, envelope: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
        """verify_envelope, also returning canonical(payload): what was signed is what gets
        hashed and stored (and it is encoded once)."""
        device_id = _field(envelope, "device_id", str, "envelope")
        payload = _field(envelope, "payload", dict, "envelope")
        signature = _field(envelope, "signature", str, "envelope")
        data = canonical(payload)
        if not verify_bytes(self._device_key(device_id), data, signature):
            raise CollectorError(401, "bad_signature", "the signature does not verify with this device's key")
        if payload.get("type") != kind:
            raise bad_request(f"payload.type must be {kind!r}")
        if payload.get("schema") != 1 or isinstance(payload.get("schema"), bool):
            raise bad_request("payload.schema must be 1")
        if payload.get("device_id") != device_id:
            raise bad_request("payload.device_id differs from the envelope's device_id")
        return {"id": device_id}, payload, data

    def _events(self, payload: dict[str, Any], device: dict[str, Any]) -> list[dict[str, Any]]:
        raw = _field(payload, "events", list, "summary", optional=True, default=[])
        out = []
        for i, ev in enumerate(raw):
            where = f"events[{i}]"
            if not isinstance(ev, dict):
                raise bad_request(f"{where} must be an object")
            direction = _text(ev, "direction", where, 16)
            source = _text(ev, "source", where, 16)
            out.append(
                {
                    "device_id": device["id"],
                    "rule": _text(ev, "rule", where),
                    "tier": _text(ev, "tier", where, 64),
                    "category": _text(ev, "category", where, 64),
                    "at": _when(ev, "at", where),
                    "direction": direction,
                    "source": source,
                    "counterpart_domain": _text(ev, "counterpart_domain", where, 255, optional=True),
                    "snippet": _text(ev, "snippet", where, 400, optional=True),
                    "quoted": bool(_field(ev, "quoted", bool, where, optional=True, default=False)),
                    "message_hash": _text(ev, "message_hash", where, 64, optional=True),
                    "outcome": _text(ev, "outcome", where, 32, optional=True),
                }
            )
        return out

    def ingest_summary(self, envelope: dict[str, Any]) -> dict[str, Any]:
        device, payload, data = self._verified(envelope, "summary")
        where = "summary"
        seq = bounded_int(payload, "seq", where, 1)
        prev_hash = _text(payload, "prev_hash", where, 64)
        period = _field(payload, "period", dict, where)
        period_start = _when(period, "start", "period")
        period_end = _when(period, "end", "period")
        for name in ("counts", "presend", "health"):
            _field(payload, name, dict, where, optional=True)
        events = self._events(payload, device)
        # Informational labels: kept (cut to the column's width) whatever the agent sends, but
        # held to the rule of every text field.
        versions = {
            name: check_text(str(payload.get(name, ""))[:64], f"{where}: {name!r}")
            for name in ("policy_version", "agent_version")
        }
        digest = hashlib.sha256(data).hexdigest()
        device_id = device["id"]
        now = self.now()
        conflict: str | None = None
        answer: dict[str, Any]
        with self.storage.transaction() as tx:
            dev = self._admitted(tx, device_id)  # the lock serialises one device's uploads
            last_seq = dev["last_seq"]
            head = chain.Head(last_seq, dev["last_hash"])
            decision = chain.decide(head, seq, prev_hash, digest, self._neighbours(tx, device_id, head, seq))
            if decision.outcome is chain.Outcome.DUPLICATE:
                tx.update("devices", {"id": device_id}, {"last_seen": now})
                return {"status": "duplicate", "seq": seq, "hash": digest}
            if decision.outcome is chain.Outcome.CONFLICT:
                conflict = decision.detail
            if conflict is not None:
                tx.insert(
                    "alerts",
                    {
                        "device_id": device_id,
                        "kind": "sequence_conflict",
                        "seq": seq,
                        "detail": conflict,
                        "payload_hash": digest,
                        "at": now,
                    },
                )
                tx.update("devices", {"id": device_id}, {"last_seen": now})
            else:
                answer = {"status": "accepted", "seq": seq, "hash": digest}
                if decision.gap is not None:
                    first, last = decision.gap
                    tx.insert(
                        "gaps",
                        {"device_id": device_id, "from_seq": first, "to_seq": last, "detected_at": now},
                    )
                    answer["gap"] = [first, last]
                summary_id = tx.insert(
                    "summaries",
                    {
                        "device_id": device_id,
                        "seq": seq,
                        "hash": digest,
                        "prev_hash": prev_hash,
                        "period_start": period_start,
                        "period_end": period_end,
                        "policy_version": versions["policy_version"],
                        "agent_version": versions["agent_version"],
                        "payload": data.decode("utf-8"),
                        "signature": envelope["signature"],
                        "received_at": now,
                    },
                )
                tx.insert_many(
                    "events",
                    [{**ev, "summary_id": summary_id, "department": dev["department"]} for ev in events],
                )
                values: dict[str, Any] = {"last_seen": now}
                if seq > last_seq:
                    values.update(last_seq=seq, last_hash=digest)
                tx.update("devices", {"id": device_id}, values)
        if conflict is not None:
            raise CollectorError(409, "sequence_conflict", conflict)
        return answer

    @staticmethod
    def _neighbours(tx: Tx, device_id: str, head: chain.Head, seq: int) -> chain.Neighbours:
        """The stored facts chain.decide needs for this seq, and only those (one look-up each)."""
        needed = chain.lookups(head, seq)

        def stored(at: int) -> dict[str, Any] | None:
            return tx.get("summaries", {"device_id": device_id, "seq": at})

        existing = stored(seq) if "existing_hash" in needed else None
        previous = stored(seq - 1) if "previous_hash" in needed and existing is None else None
        following = stored(seq + 1) if "next_prev_hash" in needed and existing is None else None
        in_gap = (
            "in_gap" in needed
            and existing is None
            and any(g["from_seq"] <= seq <= g["to_seq"] for g in tx.select("gaps", {"device_id": device_id}))
        )
        return chain.Neighbours(
            existing_hash=existing["hash"] if existing else None,
            in_gap=in_gap,
            previous_hash=previous["hash"] if previous else None,
            next_prev_hash=following["prev_hash"] if following else None,
        )

    def ingest_appeal(self, envelope: dict[str, Any]) -> dict[str, Any]:
        device, payload = self.verify_envelope(envelope, "appeal")
        where = "appeal"
        appeal_id = bounded_int(payload, "appeal_id", where, 0)
        row = {
            "device_id": device["id"],
            "appeal_id": appeal_id,
            "message_hash": _text(payload, "message_hash", where, 64),
            "rule": _text(payload, "rule", where),
            "reason": _text(payload, "reason", where, 2000, multiline=True),
            "comment": _text(payload, "comment", where, 4000, optional=True, multiline=True),
            "filed_at": _text(payload, "filed_at", where, 64),
            "status": "pending",
        }
        now = self.now()
        try:
            with self.storage.transaction() as tx:
                dev = self._admitted(tx, device["id"])
                tx.update("devices", {"id": device["id"]}, {"last_seen": now})
                if tx.get("appeals", {"device_id": device["id"], "appeal_id": appeal_id}) is not None:
                    return {"status": "duplicate", "appeal_id": appeal_id}
                tx.insert("appeals", {**row, "department": dev["department"], "received_at": now})
        except sa.exc.IntegrityError:  # a concurrent twin won the race
            return {"status": "duplicate", "appeal_id": appeal_id}
        return {"status": "accepted", "appeal_id": appeal_id}

    # -- signed pulls ------------------------------------------------------------------------

    def verify_request(self, method: str, path: str, query: str, headers: dict[str, str]) -> dict[str, Any]:
        """Check a signed GET (X-Mailwarden-Device/-Time/-Signature); return the device."""
        device_id = headers.get("x-mailwarden-device")
        when_text = headers.get("x-mailwarden-time")
        signature = headers.get("x-mailwarden-signature")
        if not device_id or not when_text or not signature:
            raise bad_request("signed request headers are missing (X-Mailwarden-Device, -Time, -Signature)")
        try:
            when = int(when_text)
            if not 0 <= when <= INT64_MAX:
                raise ValueError
        except ValueError:
            raise bad_request("X-Mailwarden-Time must be an integer (unix seconds)") from None
        if not verify(self._device_key(device_id), request_message(method, path, query, when), signature):
            raise CollectorError(401, "bad_signature", "the request signature does not verify")
        if abs(self.clock().timestamp() - when) > REQUEST_WINDOW:
            raise CollectorError(401, "stale_request", "the request time is more than 300 s away")
        with self.storage.transaction() as tx:
            device = self._admitted(tx, device_id)
            tx.update("devices", {"id": device_id}, {"last_seen": self.now()})
        return device

    def current_policy(self) -> dict[str, Any] | None:
        with self.storage.read() as tx:
            row = tx.latest("policies")
        if row is None:
            return None
        return {
            "version": row["version"],
            "policy": row["policy"],
            "published_at": iso(row["published_at"]),
            "signature": row["signature"],
        }

    def decisions_since(self, device_id: str, after: int = 0) -> dict[str, Any]:
        with self.storage.read() as tx:
            rows = tx.select("decisions", {"device_id": device_id}, after_id=after, limit=DECISIONS_PAGE)
        out = [
            {
                "id": r["id"],
                "appeal_id": r["appeal_id"],
                "status": r["status"],
                "comment": r["comment"],
                "decided_at": iso(r["decided_at"]),
            }
            for r in rows
        ]
        return {"decisions": out, "cursor": out[-1]["id"] if out else after}

    # -- review and retention ------------------------------------------------------------------

    def decide_appeal(self, appeal_pk: int, status: str, comment: str, reviewer: str) -> dict[str, Any]:
        if status not in APPEAL_DECISIONS:
            raise bad_request(f"status must be one of {', '.join(APPEAL_DECISIONS)}")
        now = self.now()
        with self.storage.transaction() as tx:
            appeal = tx.get("appeals", {"id": appeal_pk}, lock=True)
            if appeal is None:
                raise CollectorError(404, "unknown_appeal", f"no appeal {appeal_pk}")
            tx.update(
                "appeals",
                {"id": appeal_pk},
                {"status": status, "reviewer": reviewer, "reviewer_comment": comment, "decided_at": now},
            )
            pk = tx.insert(
                "decisions",
                {
                    "appeal_pk": appeal_pk,
                    "device_id": appeal["device_id"],
                    "appeal_id": appeal["appeal_id"],
                    "status": status,
                    "comment": comment,
                    "decided_at": now,
                },
            )
        return {
            "id": pk,
            "appeal_id": appeal["appeal_id"],
            "status": status,
            "comment": comment,
            "decided_at": iso(now),
        }

    def appeals(self, status: str | None = None) -> list[dict[str, Any]]:
        with self.storage.read() as tx:
            return tx.select("appeals", {"status": status} if status else None)

    def device_status(self, device_id: str) -> dict[str, Any] | None:
        with self.storage.read() as tx:
            dev = tx.get("devices", {"id": device_id})
            if dev is None:
                return None
            return {
                **dev,
                "gaps": tx.select("gaps", {"device_id": device_id}),
                "alerts": tx.select("alerts", {"device_id": device_id}),
                "summaries": tx.count("summaries", {"device_id": device_id}),
            }

    # -- learning from appeals ----------------------------------------------------------------

    def false_flag_rates(
        self, since: datetime | None = None, department: str | None = None
    ) -> list[dict[str, Any]]:
        """Per rule: flagged messages, appeals (upheld, rejected, pending) and the false-flag rate
        = upheld appeals / flagged messages (None without flags; at most 1, since retention may
        have purged the events of an old appeal). Worst rules first. `since` limits events (by when
        they happened) and appeals (by when they arrived); `department` limits both."""
        where = {"department": department} if department else None
        since_naive = naive_utc(since) if since else None
        with self.storage.read() as tx:
            # A message counts once per rule, whether the scan, the pre-send check or both saw it.
            flags = tx.count_by(
                "events",
                "rule",
                distinct="message_hash",
                where=where,
                since=("at", since_naive) if since_naive else None,
            )
            by_status = {
                status: tx.count_by(
                    "appeals",
                    "rule",
                    where={**(where or {}), "status": status},
                    since=("received_at", since_naive) if since_naive else None,
                )
                for status in ("pending", *APPEAL_DECISIONS)
            }
        out = []
        for rule in sorted(set(flags).union(*by_status.values())):
            n = flags.get(rule, 0)
            upheld, rejected, pending = (by_status[s].get(rule, 0) for s in ("upheld", "rejected", "pending"))
            decided = upheld + rejected
            out.append(
                {
                    "rule": rule,
                    "flags": n,
                    "appeals": decided + pending,
                    "upheld": upheld,
                    "rejected": rejected,
                    "pending": pending,
                    "false_flag_rate": min(1.0, upheld / n) if n else None,
                    "upheld_share": upheld / decided if decided else None,
                }
            )
        out.sort(key=lambda r: (-(r["false_flag_rate"] or 0.0), -r["flags"], r["rule"]))
        return out

    def draft_exception(
        self, appeal_pk: int, phrase: str | None = None, base_text: str | None = None, reviewer: str = ""
    ) -> dict[str, Any]:
        """Turn an upheld appeal into an allow-phrase in a new policy DRAFT (not published: a human
        reviews it, then `publish_policy(draft["policy"])`). The phrase is `phrase`, else the clause
        around the match in the flagged event's masked snippet. The draft extends `base_text`, else
        the policy in force, under the next version. Returns {"policy", "version", "allow_id",
        "phrase", "based_on"}."""
        from collector import learning

        with self.storage.read() as tx:
            appeal = tx.get("appeals", {"id": appeal_pk})
            events = (
                []
                if appeal is None
                else tx.select(
                    "events", {"device_id": appeal["device_id"], "message_hash": appeal["message_hash"]}
                )
            )
        if appeal is None:
            raise CollectorError(404, "unknown_appeal", f"no appeal {appeal_pk}")
        if appeal["status"] != "upheld":
            raise CollectorError(409, "not_upheld", f"appeal {appeal_pk} is {appeal['status']}, not upheld")
        if phrase is None:
            # The flag of the appealed rule (any of the message's flags when the appeal names none).
            candidates = [e for e in events if e["rule"] == appeal["rule"]] or (
                [] if appeal["rule"] else events
            )
            found = (learning.exception_phrase(e["snippet"]) for e in candidates if not e["quoted"])
            phrase = next((p for p in found if p), None)
            if phrase is None:
                raise CollectorError(
                    409,
                    "no_phrase",
                    "no usable snippet for this appeal (masked, cut, purged "
                    "or snippets off): give the allow-phrase yourself",
                )
        phrase = " ".join(phrase.split())
        if not phrase or len(phrase) > 200:
            raise bad_request("the allow-phrase must be 1 to 200 characters")
        current = self.current_policy()
        text = base_text if base_text is not None else (current["policy"] if current else None)
        if text is None:
            raise CollectorError(
                409, "no_policy", "no policy is published yet: pass the policy text to extend"
            )
        try:
            _s, _e, old_version = learning.policy_version_span(text)
            floor = max(old_version, current["version"] if current else old_version, key=version_key)
            version = learning.bumped_version(floor, lambda a, b: version_key(a) > version_key(b))
            allow_id = f"allow.appeal-{appeal_pk}"
            note = (
                f"From appeal {appeal_pk} (rule {appeal['rule'] or '?'}, department {appeal['department']}), "
                f"upheld by {appeal['reviewer'] or reviewer or '?'}: {appeal['reviewer_comment'] or ''}"
            )
            draft = learning.add_allow_phrase(text, version, allow_id, phrase, note)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        validate_policy(draft)
        return {
            "policy": draft,
            "version": version,
            "allow_id": allow_id,
            "phrase": phrase,
            "based_on": old_version,
        }
