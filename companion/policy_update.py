"""Pulling from the collector (docs/protocol.md "Pulling"): the signed policy and appeal decisions.

A policy is applied only when its signature verifies against the key pinned at enrolment, its
version is newer than the one in force, and it parses; it then replaces Paths.policy atomically
(temp file + os.replace), so the engine never reads half a file.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from companion.clock import now_iso
from companion.collector_client import API, TIMEOUT, SyncError, error_of, new_session
from companion.config import Paths
from companion.device import Device, device_private_key, require_device
from companion.errors import PolicyError
from companion.signing import request_message, sign, verify

if TYPE_CHECKING:
    import requests

    from companion.records import Database

log = logging.getLogger(__name__)


def version_key(version: str) -> tuple[int, tuple[Any, ...]]:
    """Order of policy versions: dotted numbers compare as numbers ("2026.10.2" < "2026.11.1" <
    "2026.11.10"); a version that is not all digits compares as a string, after the numeric ones."""
    parts = version.strip().split(".")
    if parts and all(re.fullmatch(r"[0-9]+", p) for p in parts):
        return (0, tuple(int(p) for p in parts))
    return (1, (version,))


def is_newer(candidate: str, current: str) -> bool:
    return version_key(candidate) > version_key(current)


def signed_get(
    device: Device,
    paths: Paths,
    route: str,
    params: dict[str, Any] | None = None,
    *,
    session: requests.Session | None = None,
) -> requests.Response:
    """GET an /api/v1 route with the device's request signature headers."""
    import requests

    query = urlencode(params or {})
    now = int(time.time())
    message = request_message("GET", API + route, query, now)
    headers = {
        "X-Mailwarden-Device": device.device_id,
        "X-Mailwarden-Time": str(now),
        "X-Mailwarden-Signature": sign(device_private_key(paths, device), message),
    }
    url = device.url(route) + (f"?{query}" if query else "")
    try:
        response = (session or new_session()).get(url, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise SyncError(
            f"cannot reach the collector at {device.collector_url}: {type(exc).__name__}"
        ) from None
    if response.status_code not in (200, 204):
        code, text = error_of(response)
        raise SyncError(
            f"the collector answered {response.status_code} {code}" + (f": {text}" if text else "")
        )
    return response


def current_policy_version(paths: Paths) -> str:
    from companion.policy import load_policy

    try:
        return load_policy(paths.policy if paths.policy.is_file() else None).version
    except PolicyError:
        return ""  # a broken installed policy: any valid signed one replaces it


def pull_policy(db: Database, paths: Paths, session: requests.Session | None = None) -> dict[str, Any]:
    """Fetch and, when it may be, apply the published policy. Returns {"status": "applied" |
    "current" | "none" | "refused", "version", "reason"}; transport problems raise SyncError."""
    from companion.policy import parse_policy
    from companion.records import state

    device = require_device(db)
    response = signed_get(device, paths, "/policy", session=session)
    if response.status_code == 204:
        return {"status": "none", "version": "", "reason": "the collector has not published a policy"}
    try:
        doc = response.json()
        version, text, signature = doc["version"], doc["policy"], doc["signature"]
        if not all(isinstance(v, str) for v in (version, text, signature)):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return _refused("", "the collector's policy answer is malformed")
    if not verify(device.policy_key, {"version": version, "policy": text}, signature):
        return _refused(version, "the signature does not verify against the pinned policy key")
    current = current_policy_version(paths)
    if not is_newer(version, current):
        # Not an error when equal (nothing new), but an older one is a downgrade attempt: say so.
        if version == current:
            return {"status": "current", "version": version, "reason": "this version is already in force"}
        return _refused(version, f"version {version} is not newer than the policy in force ({current})")
    try:
        policy = parse_policy(text, f"<collector policy {version}>")
    except PolicyError as exc:
        return _refused(version, f"the policy is invalid: {exc}")
    if policy.version != version:
        return _refused(
            version, f"the policy text says version {policy.version}, the collector says {version}"
        )
    _write_atomically(paths, text)
    state.policy_applied(db, version, now_iso())
    log.info("policy %s applied (was %s)", version, current or "none")
    return {"status": "applied", "version": version, "reason": f"replaces {current or 'no policy'}"}


def _refused(version: str, reason: str) -> dict[str, Any]:
    log.warning("collector policy %s refused: %s", version or "?", reason)
    return {"status": "refused", "version": version, "reason": reason}


def _write_atomically(paths: Paths, text: str) -> None:
    paths.ensure()
    tmp = paths.policy.with_name(f".{paths.policy.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, paths.policy)


def pull_decisions(db: Database, paths: Paths, session: requests.Session | None = None) -> dict[str, Any]:
    """Fetch decisions after the stored cursor; update the appeals they decide; advance the cursor.
    Returns {"updated": n, "unknown": n (decisions for appeals this database does not have), "cursor"}."""
    from companion.records import appeals, state

    device = require_device(db)
    cursor = state.decisions_cursor(db)
    response = signed_get(device, paths, "/decisions", {"after": cursor}, session=session)
    try:
        doc = response.json()
        decisions, new_cursor = doc["decisions"], int(doc["cursor"])
        if not isinstance(decisions, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise SyncError("the collector's decisions answer is malformed") from None
    updated = unknown = 0
    now = now_iso()
    with db.transaction():  # the updates and the cursor together: a crash re-reads the same page
        for d in decisions:
            if not isinstance(d, dict) or d.get("status") not in ("upheld", "rejected"):
                log.warning("ignoring a malformed decision: %r", d)
                continue
            known = appeals.decide(db, d.get("appeal_id"), d["status"], str(d.get("comment") or ""), now)
            updated += known
            unknown += not known
        if new_cursor > cursor:
            state.set_decisions_cursor(db, new_cursor)
    return {"updated": updated, "unknown": unknown, "cursor": max(cursor, new_cursor)}
