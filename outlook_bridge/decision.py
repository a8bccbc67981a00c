"""The pre-send decision for one mail, free of COM and of any window toolkit.

    pass  -> send ("sent")
    warn  -> ask the sender: go back and edit ("edited", the send is cancelled),
             add the approver in Cc and send ("added_approver"),
             or send with a written justification ("justified")
    block -> tell the sender; the send is cancelled ("blocked")

The check and the view come from the pre-send session (companion.presend), as for Thunderbird and
the local API. The dialog is anything with `ask_warn(view) -> WarnAnswer` and `show_block(view)`;
the add-in gives the Windows one, tests a fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from companion.presend import Check, Choice, PresendSession

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
    choice: Choice
    check: Check
    view: dict[str, Any]
    justification: str = ""
    add_cc: tuple[str, ...] = field(default=())  # approver addresses to add in Cc before the mail goes

    @property
    def stamp(self) -> str | None:
        """The X-Mailwarden value when the mail goes, None when it does not."""
        return None if self.cancel else self.check.stamp(self.choice)


def decide(session: PresendSession, details: dict[str, Any], dialog: Dialog) -> Outcome:
    check = session.check(details)
    view = session.view(check)
    verdict = check.verdict.verdict
    if verdict == "pass":
        return Outcome(False, Choice.SENT, check, view)
    if verdict == "block":
        dialog.show_block(view)
        return Outcome(True, Choice.BLOCKED, check, view)
    answer = dialog.ask_warn(view)
    if answer.action == "add_approver":
        present = {a.address for a in check.message.recipients}
        missing = tuple(a for a in view["approvers"] if a.lower() not in present)
        if view["approvers"]:
            return Outcome(False, Choice.ADDED_APPROVER, check, view, add_cc=missing)
    elif answer.action == "justify" and answer.justification.strip():
        return Outcome(False, Choice.JUSTIFIED, check, view, justification=answer.justification.strip())
    # "edit", a closed window, an approver the policy does not name, an empty justification:
    # back to the compose window, nothing sent.
    return Outcome(True, Choice.EDITED, check, view)
