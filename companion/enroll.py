"""Enrolment with a collector (docs/protocol.md "Enrolment"), and the enrolment as stored.

`requests` is imported lazily: only the commands that talk to the collector pay for it.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from companion import __version__
from companion.config import Paths
from companion.errors import MailwardenError
from companion.keystore import delete_device_key, load_device_key, store_device_key
from companion.signing import b64url_decode, generate_private_key, private_key_bytes, public_key_b64

if TYPE_CHECKING:
    import requests
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from companion.records import Database

log = logging.getLogger(__name__)

API = "/api/v1"
TIMEOUT = 15.0  # seconds for one request; the agent retries later, so failing fast is fine


class SyncError(MailwardenError):
    title = "Cannot talk to the collector"


class EnrollError(SyncError):
    title = "Enrolment failed"


class NotEnrolledError(SyncError):
    title = "Not enrolled"

    def __init__(
        self,
        message: str = "this computer is not enrolled with a collector (run: mailwarden enroll URL TOKEN)",
    ) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Device:
    device_id: str
    collector_url: str
    collector_id: str
    department: str
    public_key: str
    policy_key: str  # the collector's policy-signing key, pinned at enrolment
    key_store: str  # where the private key is (companion.keystore: "keyring" or "file")
    enrolled_at: str

    def to_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def url(self, route: str) -> str:
        return self.collector_url + API + route


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def load_device(db: Database) -> Device | None:
    from companion.records import state

    row = state.device(db)
    return None if row is None else Device(**row)


def require_device(db: Database) -> Device:
    device = load_device(db)
    if device is None:
        raise NotEnrolledError()
    return device


def device_private_key(paths: Paths, device: Device) -> Ed25519PrivateKey:
    from companion.signing import load_private_key

    return load_private_key(load_device_key(paths, device.key_store))


def new_session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = f"mailwarden/{__version__}"
    return session


def error_of(response: requests.Response) -> tuple[str, str]:
    """(code, message) of a protocol error answer; falls back to the HTTP status."""
    try:
        err = response.json().get("error") or {}
        return str(err.get("code") or f"http_{response.status_code}"), str(err.get("message") or "")
    except (ValueError, AttributeError):
        return f"http_{response.status_code}", response.reason or ""


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EnrollError(f"'{url}' is not a collector address (expected http(s)://host[:port])")
    if url.endswith(API):
        url = url[: -len(API)]  # accept the API root as well as the server root
    return url


def enroll(
    paths: Paths,
    collector_url: str,
    token: str,
    department: str | None = None,
    *,
    db: Database | None = None,
    session: requests.Session | None = None,
    hostname: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Make the device key, register it with the collector, store the enrolment; return it as plain data."""
    import requests

    from companion.records import Database, state

    url = normalize_url(collector_url)
    if not token.strip():
        raise EnrollError("the enrolment token is empty")
    own_db = db is None
    db = db or Database(paths.ensure().database)
    try:
        old = load_device(db)
        if old is not None and not force:
            raise EnrollError(
                f"already enrolled as {old.device_id} with {old.collector_url} (use --force to enrol"
                " again: a new device identity)"
            )
        key = generate_private_key()
        body = {
            "token": token.strip(),
            "public_key": public_key_b64(key),
            "hostname": hostname or socket.gethostname(),
            "agent_version": __version__,
        }
        if department:
            body["department"] = department
        session = session or new_session()
        try:
            response = session.post(url + API + "/enroll", json=body, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise EnrollError(f"cannot reach the collector at {url}: {type(exc).__name__}") from None
        if response.status_code != 201:
            code, message = error_of(response)
            raise EnrollError(
                f"the collector refused the enrolment ({response.status_code} {code})"
                + (f": {message}" if message else "")
            )
        try:
            answer = response.json()
            device_id, policy_key = str(answer["device_id"]), str(answer["policy_key"])
            if not device_id or len(b64url_decode(policy_key)) != 32:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise EnrollError(
                "the collector's answer to the enrolment is not what the protocol says"
            ) from None
        # The new key may take the old one's place in the credential store: keep the old one until
        # the database says the new identity is the one in force, and put it back if that fails.
        old_raw = _old_key(paths, old)
        stored = store_device_key(paths, private_key_bytes(key))
        device = Device(
            device_id,
            url,
            str(answer.get("collector") or ""),
            department or "",
            body["public_key"],
            policy_key,
            stored.where,
            now_iso(),
        )
        try:
            with db.transaction():
                state.save_device(db, device.to_dict())
                if old is not None:
                    _forget_old_identity(db)
        except Exception:
            if old is not None and old_raw is not None:
                store_device_key(paths, old_raw)  # the old identity stays whole
            raise
        if old is not None and old.key_store != stored.where:
            delete_device_key(paths, old.key_store)  # (in the same place it was simply replaced)
        log.info("enrolled as %s with %s (key in %s)", device_id, url, stored.where)
        return device.to_dict()
    finally:
        if own_db:
            db.close()


def _old_key(paths: Paths, old: Device | None) -> bytes | None:
    if old is None:
        return None
    try:
        return load_device_key(paths, old.key_store)
    except MailwardenError:
        return None  # unreadable already: nothing to keep


def _forget_old_identity(db: Database) -> None:
    """A new identity starts a new chain; what the old one queued can no longer be sent (appeals
    are queued again under the new identity)."""
    from companion.records import appeals, outbox, state

    state.restart_chain(db)
    outbox.supersede(db, "superseded by a new enrolment")
    appeals.requeue(db)
