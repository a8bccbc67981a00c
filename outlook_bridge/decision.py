"""The pre-send decision for one mail, free of COM and of any window toolkit.

    pass  -> send ("sent")
    warn  -> ask the sender: go back and edit ("edited", the send is cancelled),
             add the approver in Cc and send ("added_approver"),
             or send with a written justification ("justified")
    block -> tell the sender; the send is cancelled ("blocked")

The dialog is anything with `ask_warn(view) -> WarnAnswer` and `show_block(view)`; the add-in
gives the Windows one, tests a fake. `view` is `Check.to_dict(engine)` (what Thunderbird shows)
plus the category labels in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from companion.policy.engine import PolicyEngine
from companion.presend import Check, check_outgoing

WarnAction = Literal["edit", "add_approver", "justify"]


@dataclass(frozen=True)
class WarnAnswer:
    action: WarnAction
    justification: str = ""

    @classmethod
    def edit(cls) -> WarnAnswer:
        return cls("edit")

    @classmethod
    def add_approver(cls) -> WarnAnswer:
        return cls("add_approver")

    @classmethod
    def justify(cls, text: str) -> WarnAnswer:
        return cls("justify", text)


class Dialog(Protocol):
    def ask_warn(self, view: dict[str, Any]) -> WarnAnswer:
        """Show the findings of a warn verdict and return what the sender chose."""

    def show_block(self, view: dict[str, Any]) -> None:
        """Show the findings of a block verdict; the only way on is back to editing."""

    def ask_unchecked(self, reason: str) -> bool:
        """The check could not run (`reason`): True when the sender sends the mail unchecked."""

    def show_unchecked(self, reason: str) -> None:
        """The check could not run and the company holds unchecked mail: say so."""


@dataclass(frozen=True)
class Outcome:
    cancel: bool  # the value for ItemSend's Cancel (True keeps the inspector open)
    choice: str  # one of companion.presend.CHOICES, for record_decision
    check: Check
    view: dict[str, Any]
    justification: str = ""
    add_cc: tuple[str, ...] = field(default=())  # approver addresses to add in Cc before the mail goes


def view_of(engine: PolicyEngine, check: Check) -> dict[str, Any]:
    view = check.to_dict(engine)
    categories = {f["category"] for f in view["findings"]}
    view["category_labels"] = {
        c: {lang: engine.policy.category_label(c, lang) for lang in ("en", "zh")} for c in sorted(categories)
    }
    return view


def decide(engine: PolicyEngine, details: dict[str, Any], dialog: Dialog, role: str | None = None) -> Outcome:
    check = check_outgoing(engine, details, role)
    view = view_of(engine, check)
    verdict = check.verdict.verdict
    if verdict == "pass":
        return Outcome(False, "sent", check, view)
    if verdict == "block":
        dialog.show_block(view)
        return Outcome(True, "blocked", check, view)
    answer = dialog.ask_warn(view)
    if answer.action == "add_approver":
        present = {a.address for a in check.message.recipients}
        missing = tuple(a for a in view["approvers"] if a.lower() not in present)
        if view["approvers"]:
            return Outcome(False, "added_approver", check, view, add_cc=missing)
    elif answer.action == "justify" and answer.justification.strip():
        return Outcome(False, "justified", check, view, justification=answer.justification.strip())
    # "edit", a closed window, an approver the policy does not name, an empty justification:
    # back to the compose window, nothing sent.
    return Outcome(True, "edited", check, view)
