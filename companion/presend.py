"""The pre-send check shared by every sending path (Thunderbird host, Outlook add-in, local API):
compose details in, verdict out, and the sender's decision recorded.

Compose details are plain JSON so the same function serves a MailExtension and a COM add-in:
    {"subject": str, "body": str, "html": str (optional, used when body is empty),
     "from": str, "to": [str], "cc": [str], "bcc": [str],
     "attachments": [{"name": str, "content_type": str, "size": int, "text": str | None}]}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from companion.errors import MailwardenError
from companion.message import Address, Attachment, Message
from companion.policy.engine import PolicyEngine, Verdict

CHANNELS = ("thunderbird", "outlook", "api", "cli")
# What the sender did, as recorded: the outcomes summaries count.
CHOICES = (
    "sent",  # pass: nothing to ask
    "edited",  # warn or block: went back to edit (the send was cancelled)
    "added_approver",  # warn: the approver was added in Cc and the mail sent
    "justified",  # warn: sent with a written justification
    "blocked",  # block: could not be sent
    "unchecked_sent",  # the check could not run (no companion, too slow, an error) and the mail went
    "unchecked_cancelled",  # the check could not run and the sender chose not to send
)


class ComposeError(MailwardenError):
    title = "Cannot read the mail being sent"


def _addresses(values: Any, field: str) -> tuple[Address, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ComposeError(f"'{field}' must be a list of addresses")
    return tuple(Address(addr.lower(), name) for name, addr in getaddresses(values) if addr)


def message_from_compose(details: dict[str, Any]) -> Message:
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
                int(item.get("size") or 0),
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


@dataclass(frozen=True)
class Check:
    message: Message
    verdict: Verdict

    def to_dict(self, engine: PolicyEngine) -> dict[str, Any]:
        """What a pre-send window needs: the verdict, the findings to show (info findings are
        recorded, never shown before send), both explanations, the approvers to offer."""
        shown = [f for f in self.verdict.findings if f.tier != "info" and not f.quoted]
        approvers = sorted({a for f in shown for a in engine.policy.approver_addresses(f.approver)})
        fields = self.message.field_texts()
        return {
            "verdict": self.verdict.verdict,
            "policy_version": self.verdict.policy_version,
            "findings": [
                {
                    **f.to_dict("en"),
                    "explanation_zh": f.explanation.zh,
                    "approver": f.approver,
                    "sentence": _sentence(fields.get(f.field, ""), f.start, f.end),
                }
                for f in shown
            ],
            "approvers": approvers,
        }


def _sentence(text: str, start: int, end: int, width: int = 60) -> dict[str, Any]:
    """The sentence around a match, with the match's offsets inside it (for highlighting)."""
    from companion.report import context

    before, match, after = context(text, start, end, width) if end > start else ("", text, "")
    return {"text": before + match + after, "start": len(before), "end": len(before) + len(match)}


def check_outgoing(engine: PolicyEngine, details: dict[str, Any], role: str | None = None) -> Check:
    message = message_from_compose(details)
    return Check(message, engine.check(message, role=role))


def record_decision(
    db,
    channel: str,
    check: Check | None,
    choice: str,
    *,
    justification: str = "",
    error: str = "",
    details: dict[str, Any] | None = None,
    key: str = "",
) -> int:
    """Store what happened at send time. `check` is None when the check could not run. A decision
    with a `key` already recorded is not recorded again: the row it has is returned."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}")
    if choice == "justified" and not justification.strip():
        raise ComposeError("a justification is required to send this mail")
    message = check.message if check else (message_from_compose(details) if details else Message())
    findings = (
        [f.to_dict("en") | {"explanation_zh": f.explanation.zh} for f in check.verdict.findings]
        if check
        else []
    )
    recipients = [a.address for a in message.recipients]
    row = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "channel": channel,
        "verdict": check.verdict.verdict if check else "unchecked",
        "policy_version": check.verdict.policy_version if check else "",
        "choice": choice,
        "justification": justification,
        "error": error,
        "subject": message.subject,
        "recipients": json.dumps(recipients),
        "counterpart": recipients[0] if recipients else "",
        "body_hash": hashlib.sha256(message.body.encode("utf-8", "surrogatepass")).hexdigest()[:32],
        "findings": json.dumps(findings, ensure_ascii=False),
        "decision_key": key,
    }
    with db.transaction():
        if key:
            known = db.conn.execute("SELECT id FROM presend WHERE decision_key = ?", (key,)).fetchone()
            if known:
                return known[0]
        cur = db.conn.execute(
            f"INSERT INTO presend ({','.join(row)}) VALUES ({','.join('?' * len(row))})", tuple(row.values())
        )
    return cur.lastrowid
