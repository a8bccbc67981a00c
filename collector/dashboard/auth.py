"""Logins, server-side sessions and CSRF tokens.

The session cookie carries a 256-bit random token; the database keeps only its SHA-256, the user
and a per-session CSRF token that every POST form must echo. Sessions expire after SESSION_HOURS;
logging in always makes a new session (no fixation), logging out deletes it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from collector.service import Collector, token_hash

SESSION_COOKIE = "mw_session"
LOGIN_CSRF_COOKIE = "mw_login_csrf"
SESSION_HOURS = 8
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class Auth:
    """The logged-in user of one request."""

    user_id: int
    username: str
    role: str
    department: str | None
    csrf: str
    session_id: str


def login(collector: Collector, username: str, password: str) -> str | None:
    """Check the password; on success create a session and return the cookie token."""
    user = collector.check_password(username, password)
    if user is None:
        return None
    token = secrets.token_urlsafe(32)
    now = collector.now()
    row = {
        "id": token_hash(token),
        "user_id": user["id"],
        "csrf": secrets.token_urlsafe(32),
        "created_at": now,
        "expires_at": now + timedelta(hours=SESSION_HOURS),
    }
    collector.storage.reports.create_session(row, now)
    return token


def session_user(collector: Collector, token: str | None) -> Auth | None:
    if not token:
        return None
    found = collector.storage.reports.session(token_hash(token))
    if found is None or found["expires_at"] <= collector.now() or found["disabled_at"] is not None:
        return None
    return Auth(
        found["id"], found["username"], found["role"], found["department"], found["csrf"], found["session_id"]
    )


def logout(collector: Collector, auth: Auth) -> None:
    collector.storage.reports.delete_session(auth.session_id)


def end_sessions_of(collector: Collector, user_id: int) -> None:
    """A user whose role, department or access changed logs in again."""
    collector.storage.reports.delete_sessions_of(user_id)


def same_token(expected: str | None, given: Any) -> bool:
    return (
        bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
    )


def secure_cookie(scheme: str, host: str | None) -> bool:
    """Cookies are Secure except when the dashboard is reached over plain HTTP on loopback
    (a local test or an SSH tunnel): a browser would not send a Secure cookie back there."""
    return not (scheme == "http" and (host or "") in LOOPBACK)
