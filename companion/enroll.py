"""Enrolment with a collector (docs/protocol.md "Enrolment"): a new device key, registered with the
collector (companion.collector_client), stored as this computer's identity (companion.device)."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

from companion import __version__
from companion.clock import now_iso
from companion.collector_client import EnrollError, normalize_url, request_enrolment
from companion.config import Paths
from companion.device import Device, load_device, save_device
from companion.errors import MailwardenError
from companion.keystore import delete_device_key, load_device_key, store_device_key
from companion.signing import generate_private_key, private_key_bytes, public_key_b64

if TYPE_CHECKING:
    import requests

    from companion.records import Database

log = logging.getLogger(__name__)


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
    from companion.records import Database

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
        answer = request_enrolment(url, body, session)
        # The new key may take the old one's place in the credential store: keep the old one until
        # the database says the new identity is the one in force, and put it back if that fails.
        old_raw = _old_key(paths, old)
        stored = store_device_key(paths, private_key_bytes(key))
        device = Device(
            answer.device_id,
            url,
            answer.collector_id,
            department or "",
            body["public_key"],
            answer.policy_key,
            stored.where,
            now_iso(),
        )
        try:
            with db.transaction():
                save_device(db, device)
                if old is not None:
                    _forget_old_identity(db)
        except Exception:
            if old is not None and old_raw is not None:
                store_device_key(paths, old_raw)  # the old identity stays whole
            raise
        if old is not None and old.key_store != stored.where:
            delete_device_key(paths, old.key_store)  # (in the same place it was simply replaced)
        log.info("enrolled as %s with %s (key in %s)", answer.device_id, url, stored.where)
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
