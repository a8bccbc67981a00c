"""The pre-send session: every sending path (the Thunderbird host, the Outlook add-in, the agent's
local API) checks a mail, shows the result and records the sender's choice through it, so the same
mail gets the same verdict, findings and approvers everywhere.

    session = PresendSession("outlook", PolicyInForce(paths), paths.database)
    check = session.check(details)             # compose details -> Message -> Verdict (policy, role in force)
    view = session.view(check)                 # what every pre-send window shows: one shape
    row = session.record(Decision.parse(raw))  # the sender's choice, validated here and only here

Compose details are plain JSON, so one format serves a MailExtension and a COM add-in:
    {"subject": str, "body": str, "html": str (optional, used when body is empty),
     "from": str, "to": [str], "cc": [str], "bcc": [str],
     "attachments": [{"name": str, "content_type": str, "size": int, "text": str | None}]}

Every check has a decision key: the client's (the Thunderbird extension makes one per send), or one
made here. It goes into the X-Mailwarden header of the mail (`stamp`), is recorded with the decision,
and ties the copy the scan later finds in the Sent folder to this decision.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from companion import mailwarden_header
from companion.errors import MailwardenError
from companion.message import Address, Attachment, Message
from companion.policy.model import TIER_LABELS, TIERS

if TYPE_CHECKING:
    from companion.policy.engine import Finding, PolicyEngine, Verdict
    from companion.policy.in_force import InForce
    from companion.records import Database

log = logging.getLogger(__name__)

CHANNELS = ("thunderbird", "outlook", "api", "cli")
SHOWN_TIERS = ("forbidden", "approval")  # what a window shows; info findings are recorded, never shown
REMEMBERED_CHECKS = 256  # checks kept so that the decision that follows can be recorded with them
MAX_JUSTIFICATION = 4000
MAX_ERROR = 2000


class Choice(StrEnum):
    """What the sender did: the one vocabulary of the extension, the add-in, the API and stored rows
    (the extension's copy, thunderbird_ext/background/vocabulary.js, is tested against it)."""

    SENT = "sent"  # pass: nothing to ask
    EDITED = "edited"  # warn or block: went back to edit (the send was cancelled)
    ADDED_APPROVER = "added_approver"  # warn: the approver was added in Cc and the mail sent
    JUSTIFIED = "justified"  # warn: sent with a written justification
    BLOCKED = "blocked"  # block: could not be sent
    UNCHECKED_SENT = "unchecked_sent"  # the check could not run (no companion, too slow, an error); sent
    UNCHECKED_CANCELLED = "unchecked_cancelled"  # the check could not run; the sender chose not to send

    @property
    def checked(self) -> bool:
        return not self.value.startswith("unchecked")


# The choices that follow each verdict; another one is recorded with a note (a late report checked
# again under a newer policy may legitimately disagree, so it is never refused).
FOLLOWS = {
    "pass": (Choice.SENT,),
    "warn": (Choice.EDITED, Choice.ADDED_APPROVER, Choice.JUSTIFIED),
    "block": (Choice.BLOCKED, Choice.EDITED),
}
# What the X-Mailwarden header says of a mail that goes, after the policy and the verdict.
_STAMPS = {Choice.SENT: (), Choice.ADDED_APPROVER: ("approver in cc",), Choice.JUSTIFIED: ("justified",)}


class ComposeError(MailwardenError):
    title = "Cannot read the mail being sent"
    code = "bad_details"


class DecisionError(MailwardenError):
    title = "Invalid decision"
    code = "bad_decision"


class PolicySource(Protocol):
    def get(self) -> InForce:
        """The policy in force now (companion.policy.in_force.PolicyInForce)."""


# -- compose details -> Message ---------------------------------------------------------------------


def _addresses(values: Any, name: str) -> tuple[Address, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ComposeError(f"'{name}' must be a list of addresses")
    return tuple(Address(addr.lower(), display) for display, addr in getaddresses(values) if addr)


def _size(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ComposeError(f"an attachment's 'size' must be a number, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ComposeError(f"an attachment's 'size' must be a number, not {value!r}") from None


def message_from_compose(details: Any) -> Message:
    """The core's Message for a mail about to be sent."""
    from companion.parsing.quoted import find_quoted_spans

    if not isinstance(details, dict):
        raise ComposeError("the compose details must be a JSON object")
    subject, body, html = details.get("subject") or "", details.get("body") or "", details.get("html") or ""
    if not all(isinstance(v, str) for v in (subject, body, html)):
        raise ComposeError("'subject', 'body' and 'html' must be strings")
    if not body.strip() and html:
        from companion.parsing.html import html_to_text

        body = html_to_text(html)
    attachments = []
    for item in details.get("attachments") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name", ""), str):
            raise ComposeError("each attachment must be an object with a 'name'")
        text = item.get("text")
        attachments.append(
            Attachment(
                item.get("name", ""),
                item.get("content_type") or "application/octet-stream",
                _size(item.get("size")),
                text if isinstance(text, str) else None,
            )
        )
    sender = _addresses(details.get("from"), "from")
    return Message(
        subject=subject,
        body=body,
        sender=sender[0] if sender else None,
        to=_addresses(details.get("to"), "to"),
        cc=_addresses(details.get("cc"), "cc"),
        bcc=_addresses(details.get("bcc"), "bcc"),
        direction="sent",
        attachments=tuple(attachments),
        quoted=find_quoted_spans(body),
        source="compose",
    )


# -- the check, the view, the decision --------------------------------------------------------------


def new_key() -> str:
    return uuid.uuid4().hex


def valid_key(key: Any, name: str = "key") -> str:
    """A client's decision key (it goes into a mail header): refused unless short and header-safe."""
    if key is None or key == "":
        return ""
    if not isinstance(key, str) or not mailwarden_header.KEY_PATTERN.match(key):
        raise DecisionError(f"'{name}' must be at most 100 letters, digits, '.', '_' or '-'")
    return key


@dataclass(frozen=True)
class Check:
    """One mail checked: what was read, the verdict, and what judged it."""

    id: str  # what the client names when it reports the decision
    key: str  # the decision key: X-Mailwarden header and decision row
    message: Message
    verdict: Verdict
    engine: PolicyEngine
    role: str | None
    notes: tuple[str, ...] = ()  # what could not be read (an attachment judged by name...)

    @cached_property  # frozen dataclass: cached in the instance __dict__, fields stay immutable
    def shown(self) -> tuple[Finding, ...]:
        """The findings a window shows, most severe first: never info, never quoted text."""
        shown = [f for f in self.verdict.findings if f.tier in SHOWN_TIERS and not f.quoted]
        return tuple(
            sorted(shown, key=lambda f: -TIERS.index(f.tier))
        )  # stable: the mail's order within a tier

    def approvers(self) -> list[str]:
        """Whom the sender may add in Cc to get the mail approved: the approvers of what is shown."""
        policy = self.engine.policy
        return sorted({a.lower() for f in self.shown for a in policy.approver_addresses(f.approver)})

    def stamp(self, choice: Choice) -> str:
        """The X-Mailwarden value of this mail when it goes with `choice`."""
        verdict = self.verdict
        return mailwarden_header.value(
            [f"policy {verdict.policy_version}", verdict.verdict, *_STAMPS[choice]], self.key
        )


def unchecked_stamp(key: str) -> str:
    """The X-Mailwarden value of a mail that went without a check."""
    return mailwarden_header.value(["unchecked"], key)


@dataclass(frozen=True)
class Decision:
    """What a client reports after a check: the choice, validated once here."""

    choice: Choice
    check_id: Any = None
    key: str = ""
    justification: str = ""
    error: str = ""
    details: dict[str, Any] | None = None  # the compose details, for a check this session does not know

    def __post_init__(self) -> None:
        if self.choice == Choice.JUSTIFIED and not self.justification.strip():
            raise DecisionError(
                "a justification is required to send this mail",
                title="Justification missing",
                code="justification_missing",
            )

    @classmethod
    def parse(cls, raw: Any) -> Decision:
        """A decision from JSON ({choice, check_id, key, justification, error, details})."""
        if not isinstance(raw, dict):
            raise DecisionError("a decision must be a JSON object")
        choice = raw.get("choice")
        if choice not in Choice.__members__.values():
            known = ", ".join(Choice)
            raise DecisionError(
                f"unknown choice {choice!r} (known: {known})", title="Unknown choice", code="unknown_choice"
            )
        justification, error = raw.get("justification") or "", raw.get("error") or ""
        if not isinstance(justification, str) or not isinstance(error, str):
            raise DecisionError("'justification' and 'error' must be strings")
        if len(justification) > MAX_JUSTIFICATION:
            raise DecisionError(f"'justification' is too long (at most {MAX_JUSTIFICATION} characters)")
        details = raw.get("details")
        if details is not None and not isinstance(details, dict):
            raise DecisionError("'details' must be a JSON object")
        check_id = raw.get("check_id")
        if check_id is not None and (isinstance(check_id, bool) or not isinstance(check_id, str | int)):
            raise DecisionError("'check_id' must be a string or a number")
        return cls(
            Choice(choice),
            check_id,
            valid_key(raw.get("key")),
            justification.strip(),
            error[:MAX_ERROR],
            details,
        )


def _sentence(text: str, start: int, end: int, width: int = 60) -> dict[str, Any]:
    """The sentence around a match, with the match's offsets inside it (for highlighting)."""
    from companion.report import context

    before, match, after = context(text, start, end, width) if end > start else ("", text, "")
    return {"text": before + match + after, "start": len(before), "end": len(before) + len(match)}


def view(check: Check) -> dict[str, Any]:
    """What every pre-send window shows (Thunderbird, Outlook, a client of the local API): the
    verdict, the findings to show with their sentence, both languages of every label, the approvers,
    and the X-Mailwarden value for each way the mail may go."""
    from companion.records.findings import finding_data

    shown = check.shown
    texts = check.message.field_texts()
    policy = check.engine.policy
    verdict = check.verdict.verdict
    return {
        "check_id": check.id,
        "key": check.key,
        "verdict": verdict,
        "policy_version": check.verdict.policy_version,
        "role": check.role,
        "findings": [
            {**finding_data(f), "sentence": _sentence(texts.get(f.field, ""), f.start, f.end)} for f in shown
        ],
        "approvers": check.approvers(),
        "labels": {
            "tiers": {t: TIER_LABELS[t] for t in dict.fromkeys(f.tier for f in shown)},
            "categories": {
                c: {lang: policy.category_label(c, lang) for lang in ("en", "zh")}
                for c in sorted({f.category for f in shown})
            },
        },
        "stamps": {c.value: check.stamp(c) for c in FOLLOWS[verdict] if c in _STAMPS},
        "notes": list(check.notes),
    }


class PresendSession:
    """The pre-send path of one client (a Thunderbird host, an Outlook add-in, the agent's API):
    checks with the policy in force, keeps the last checks for the decisions that follow, records
    decisions in the companion's database. Thread-safe: the native host checks on its main thread
    and records on a writer thread."""

    def __init__(self, channel: str, policy: PolicySource, database: Path | None) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        self.channel = channel
        self.policy = policy
        self.database = database
        self._checks: OrderedDict[Any, Check] = OrderedDict()
        self._lock = threading.Lock()

    def check(
        self,
        details: Any,
        *,
        check_id: Any = None,
        key: Any = None,
        role: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Check:
        """Check the mail in `details` as the policy in force says (as `role` when a caller names
        one, else as the user's configured role). The check is remembered under `check_id` (one is
        made when none is given) for the decision that follows."""
        message = message_from_compose(details)
        in_force = self.policy.get()
        role = in_force.role_for(role)
        verdict = in_force.engine.check(message, role=role)
        check = Check(
            str(check_id) if check_id is not None else new_key(),
            valid_key(key) or new_key(),
            message,
            verdict,
            in_force.engine,
            role,
            notes,
        )
        with self._lock:
            self._checks[check.id] = check
            self._checks.move_to_end(check.id)
            while len(self._checks) > REMEMBERED_CHECKS:
                self._checks.popitem(last=False)
        return check

    def view(self, check: Check) -> dict[str, Any]:
        return view(check)

    def known(self, check_id: Any) -> Check | None:
        if check_id is None:
            return None
        with self._lock:
            return self._checks.get(str(check_id))

    def record(self, decision: Decision, db: Database | None = None, *, check: Check | None = None) -> int:
        """Record what the sender decided; returns the decision's row id. The check is the one named
        by `decision.check_id`, or `check`; a checked choice whose check this session does not know
        (reported late, after the client's companion was replaced) is checked again from the details
        sent with it. A key already recorded is not recorded twice (its row id is returned)."""
        check = check or self.known(decision.check_id)
        notes: list[str] = []
        if check is None and decision.choice.checked:
            check, notes = self._check_again(decision)
        if check is not None:
            message = check.message
        else:
            message, unreadable = _summary_message(decision.details)
            notes += unreadable
        if check is not None and decision.choice not in FOLLOWS[check.verdict.verdict]:
            notes.append(
                f"choice {decision.choice.value!r} does not follow a {check.verdict.verdict!r} verdict"
            )
        recipients = [a.address for a in message.recipients]
        row = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "channel": self.channel,
            "verdict": check.verdict.verdict if check else "unchecked",
            "policy_version": check.verdict.policy_version if check else "",
            "choice": decision.choice.value,
            "justification": decision.justification,
            "error": "; ".join(filter(None, [decision.error, *notes]))[:MAX_ERROR],
            "subject": message.subject,
            "recipients": json.dumps(recipients),
            "counterpart": recipients[0] if recipients else "",
            "body_hash": hashlib.sha256(message.body.encode("utf-8", "surrogatepass")).hexdigest()[:32],
            "decision_key": decision.key or (check.key if check else ""),
        }
        findings = check.verdict.findings if check else ()
        from companion.records import Database, decisions

        if db is not None:
            return decisions.add(db, row, findings)
        if self.database is None:
            raise MailwardenError("this session has no database to record decisions in", code="no_database")
        with Database(self.database, busy_timeout=3.0) as own:
            return decisions.add(own, row, findings)

    def _check_again(self, decision: Decision) -> tuple[Check | None, list[str]]:
        if not decision.details:
            return None, [f"check {decision.check_id!r} is not known to this {self.channel} companion"]
        notes = ["checked again from the details sent with the decision"]
        if _attachments_without_content(decision.details):
            notes.append("attachments judged by name")
        try:
            return self.check(decision.details, check_id=decision.check_id, key=decision.key), notes
        except ComposeError:  # recorded without a verdict; _summary_message says what is wrong
            return None, [f"check {decision.check_id!r} is not known to this {self.channel} companion"]


def _summary_message(details: dict[str, Any] | None) -> tuple[Message, list[str]]:
    """What a decision without a check still says about its mail (subject, recipients)."""
    if not details:
        return Message(), []
    try:
        return message_from_compose(details), []
    except ComposeError as exc:
        return Message(), [f"details unreadable: {exc.message}"]


def _attachments_without_content(details: dict[str, Any]) -> bool:
    """Whether some attachment comes with neither its bytes nor its text (it is judged by name)."""
    attachments = details.get("attachments")
    return isinstance(attachments, list) and any(
        isinstance(a, dict)
        and not isinstance(a.get("data_base64"), str)
        and not isinstance(a.get("text"), str)
        for a in attachments
    )
