"""How the companion talks to its collector over HTTP (docs/protocol.md): the API root, one session
per round, the protocol's error answers, and the enrolment request.

`requests` is imported lazily: only the commands that talk to the collector pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from companion import __version__
from companion.errors import MailwardenError
from companion.signing import b64url_decode

if TYPE_CHECKING:
    import requests

API = "/api/v1"
TIMEOUT = 15.0  # seconds for one request; the agent retries later, so failing fast is fine


class SyncError(MailwardenError):
    title = "Cannot talk to the collector"


class EnrollError(SyncError):
    title = "Enrolment failed"


@dataclass(frozen=True)
class Enrolment:
    """The collector's answer to an accepted enrolment."""

    device_id: str
    policy_key: str  # the collector's policy-signing key, to be pinned
    collector_id: str


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


def request_enrolment(url: str, body: dict[str, Any], session: requests.Session | None = None) -> Enrolment:
    """POST /enroll to the collector at `url` (normalized); EnrollError names what went wrong."""
    import requests

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
        raise EnrollError("the collector's answer to the enrolment is not what the protocol says") from None
    return Enrolment(device_id, policy_key, str(answer.get("collector") or ""))
