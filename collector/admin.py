"""Administration, apart from ingest: enrolment tokens, devices, dashboard users and their
passwords, publishing the signed policy, retention. A mixin of `collector.service.Collector`
(one API class for the CLI, the dashboard and the tests), kept here so that the ingest path reads
on its own; it uses the collector's storage, clock and policy signer.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from collector.errors import CollectorError, bad_request
from collector.keys import Signer
from collector.storage import SqlStorage
from collector.validation import INT32_MAX, check_text, days
from companion.policy_update import version_key  # one order of policy versions on both ends

ROLES = ("admin", "compliance", "manager", "auditor")


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.replace(tzinfo=UTC).isoformat()


def token_hash(token: str) -> str:
    # Tokens are 256-bit random strings: a plain SHA-256 is enough to keep them unusable at rest.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(secrets.token_urlsafe(16))


def validate_policy(text: str) -> str:
    """Check that `text` is TOML with a [policy] table carrying a string version; return it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise bad_request(f"the policy is not valid TOML: {exc}") from None
    policy = data.get("policy")
    if not isinstance(policy, dict) or not isinstance(policy.get("version"), str) or not policy["version"]:
        raise bad_request('the policy needs a [policy] table with version = "…"')
    return policy["version"]


class Administration:
    storage: SqlStorage
    signer: Signer

    def now(self) -> datetime:  # pragma: no cover - provided by Collector
        raise NotImplementedError

    def create_token(self, department: str, expires_days: float | None = None) -> dict[str, Any]:
        if not department:
            raise bad_request("a token needs a department")
        check_text(department, "the department")
        if len(department) > 200:
            raise bad_request("the department is longer than 200 characters")
        if expires_days is not None:
            days(expires_days, "the validity", 1 / 1440)  # a minute at least
        token = "mwt_" + secrets.token_urlsafe(32)
        now = self.now()
        expires = now + timedelta(days=expires_days) if expires_days is not None else None
        with self.storage.transaction() as tx:
            pk = tx.insert(
                "tokens",
                {
                    "token_hash": token_hash(token),
                    "department": department,
                    "created_at": now,
                    "expires_at": expires,
                },
            )
        return {"token": token, "id": pk, "department": department, "expires_at": iso(expires)}

    def revoke_token(self, token_or_id: str | int) -> bool:
        """Revoke by the token itself or by its numeric id; True when something was revoked."""
        text = str(token_or_id)
        if isinstance(token_or_id, int) or (text.isascii() and text.isdigit() and len(text) <= 10):
            where: dict[str, Any] = {"id": int(token_or_id)}
            if not 0 <= where["id"] <= INT32_MAX:
                return False
        else:
            where = {"token_hash": token_hash(str(token_or_id))}
        with self.storage.transaction() as tx:
            return tx.update("tokens", {**where, "revoked_at": None}, {"revoked_at": self.now()}) > 0

    def revoke_device(self, device_id: str) -> bool:
        check_text(device_id, "the device id")
        with self.storage.transaction() as tx:
            return tx.update("devices", {"id": device_id, "revoked_at": None}, {"revoked_at": self.now()}) > 0

    def create_user(
        self, username: str, password: str, role: str = "admin", department: str | None = None
    ) -> int:
        from argon2 import PasswordHasher

        if role not in ROLES:
            raise bad_request(f"role must be one of {', '.join(ROLES)}")
        if not username or len(password) < 8:
            raise bad_request("a user needs a name and a password of at least 8 characters")
        check_text(username, "the user name")
        check_text(department or "", "the department")
        if len(username) > 200 or len(department or "") > 200:
            raise bad_request("the user name and the department are at most 200 characters")
        try:
            with self.storage.transaction() as tx:
                return tx.insert(
                    "users",
                    {
                        "username": username,
                        "password_hash": PasswordHasher().hash(password),
                        "role": role,
                        "department": department,
                        "created_at": self.now(),
                    },
                )
        except sa.exc.IntegrityError:
            raise CollectorError(409, "user_exists", f"user {username!r} exists already") from None

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        with self.storage.read() as tx:
            user = tx.get("users", {"username": username})
        usable = user is not None and user["disabled_at"] is None
        try:
            # An unknown or disabled user costs one verification too, so the answer's timing does
            # not tell which usernames exist.
            PasswordHasher().verify(user["password_hash"] if usable else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if not usable:
            return None
        return {k: v for k, v in user.items() if k != "password_hash"}

    def update_user(self, user_id: int, role: str, department: str | None, disabled: bool) -> dict[str, Any]:
        """Change a user's role, department or access; returns the user as it was (404 unknown)."""
        if role not in ROLES:
            raise bad_request(f"role must be one of {', '.join(ROLES)}")
        check_text(department or "", "the department")
        with self.storage.transaction() as tx:
            target = tx.get("users", {"id": user_id})
            if target is None:
                raise CollectorError(404, "unknown_user", f"no user {user_id}")
            tx.update(
                "users",
                {"id": user_id},
                {
                    "role": role,
                    "department": department,
                    "disabled_at": (target["disabled_at"] or self.now()) if disabled else None,
                },
            )
        return target

    # -- the policy and retention ---------------------------------------------------------------

    def publish_policy(self, text: str, published_by: str = "") -> dict[str, Any]:
        version = validate_policy(text)
        signature = self.signer.sign({"version": version, "policy": text})
        now = self.now()
        with (
            self.storage.transaction() as tx
        ):  # the check and the insert in one: two publishers never both win
            current = tx.latest("policies", lock=True)
            if current is not None and version_key(version) <= version_key(current["version"]):
                raise CollectorError(
                    409,
                    "stale_version",
                    f"version {version} is not newer than {current['version']} (in force)",
                )
            tx.insert(
                "policies",
                {
                    "version": version,
                    "policy": text,
                    "signature": signature,
                    "published_at": now,
                    "published_by": published_by,
                },
            )
        return {"version": version, "policy": text, "published_at": iso(now), "signature": signature}

    def purge(self, older_than_days: float) -> dict[str, int]:
        """Retention: delete summaries and their events received, gaps and alerts recorded, and
        appeals decided (with their decisions) more than `older_than_days` ago. Devices keep their
        chain head (last seq and hash), so the chain still verifies after a purge."""
        days(older_than_days, "older_than", 0)
        cutoff = self.now() - timedelta(days=older_than_days)
        with self.storage.transaction() as tx:
            counts = {"events": tx.delete_events_of_summaries_before(cutoff)}
            counts["summaries"] = tx.delete_before("summaries", "received_at", cutoff)
            counts["gaps"] = tx.delete_before("gaps", "detected_at", cutoff)
            counts["alerts"] = tx.delete_before("alerts", "at", cutoff)
            counts["decisions"] = tx.delete_decisions_of_appeals_before(cutoff)
            counts["appeals"] = tx.delete_before("appeals", "decided_at", cutoff)
        return counts
