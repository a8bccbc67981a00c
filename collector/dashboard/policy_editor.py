"""Policy editor logic: validate an uploaded policy with the companion's own loader (line-numbered
errors), diff it against the version in force, publish it signed through the collector."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from collector.dashboard import learning
from collector.service import Collector, CollectorError, validate_policy, version_key
from companion.errors import PolicyError
from companion.i18n import Msg
from companion.policy.loader import parse_policy


def normalise(text: str) -> str:
    """Browsers send a textarea's lines ending in CRLF: store and diff the policy with LF only."""
    return text.replace("\r\n", "\n")


@dataclass
class Checked:
    ok: bool
    error: str | Msg = ""  # a Msg is said in the reader's language (the template's say())
    version: str = ""
    rules: int = 0
    allow: int = 0
    allowed_phrases: set[str] = field(default_factory=set)


def check(text: str, current_version: str | None, filename: str = "policy.toml") -> Checked:
    try:
        policy = parse_policy(text, filename)  # what the workstations will run: same loader
        validate_policy(text)  # what the collector requires to publish
    except PolicyError as exc:
        return Checked(False, exc.msg)
    except CollectorError as exc:
        return Checked(False, exc.message)
    if current_version is not None and version_key(policy.version) <= version_key(current_version):
        return Checked(
            False,
            Msg(
                "policy.e.not_newer",
                {"file": filename, "version": policy.version, "current": current_version},
            ),
        )
    phrases = {p for a in policy.allow for p in a.phrases}
    return Checked(
        True, "", policy.version, len(policy.rules) + len(policy.structural), len(policy.allow), phrases
    )


@dataclass
class DiffLine:
    kind: str  # "add", "del", "hunk", "ctx", "file"
    text: str


def diff(current: str, proposed: str, current_name: str, proposed_name: str) -> list[DiffLine]:
    out = []
    for line in difflib.unified_diff(
        current.splitlines(), proposed.splitlines(), current_name, proposed_name, lineterm=""
    ):
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append(DiffLine(kind, line))
    return out


def publish(collector: Collector, text: str, user: str) -> dict[str, Any]:
    """Validate again (never trust the round trip through the browser), sign and publish."""
    current = collector.current_policy()
    checked = check(text, current["version"] if current else None)
    if not checked.ok:
        raise CollectorError(400, "invalid_policy", checked.error)
    published = collector.publish_policy(text, published_by=user)
    learning.mark_published(collector, published["version"], checked.allowed_phrases)
    return published
