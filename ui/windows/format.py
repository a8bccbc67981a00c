"""How the windows show the agent's plain data: times, tiers, field names, HTML text. No widgets."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from companion.policy.model import TIERS
from ui.i18n import tr, tr_or

TIER_RANK = {tier: rank for rank, tier in enumerate(TIERS)}  # the policy's order, least severe first
TIER_COLOR = {"forbidden": "#ff8a80", "approval": "#ffd54f", "info": "#b3e5fc", "allowed": "#c8e6c9"}


def escape(text: Any) -> str:
    """Text from the agent (or a translation) inside the HTML a QTextBrowser renders."""
    return html.escape(str(text))


def top_tier(flag: dict[str, Any]) -> str:
    findings = flag.get("findings") or []
    counted = [f for f in findings if not f.get("quoted")] or findings
    return max((f.get("tier", "") for f in counted), key=lambda t: TIER_RANK.get(t, -1), default="")


def field_label(field: dict[str, str]) -> str:
    """A finding's field ({"kind", "name"}, as the agent gives it) in the user's language."""
    kind, name = field.get("kind", ""), field.get("name", "")
    if kind.startswith("attachment"):
        return tr("field.attachment", name=name)
    return tr_or("field", kind)


def short_time(value: str | None) -> str:
    """An ISO time from the agent, in the computer's local time, to the minute."""
    if not value:
        return tr("none")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value
    if when.tzinfo is not None:
        when = when.astimezone()  # local time
    return when.strftime("%Y-%m-%d %H:%M")
