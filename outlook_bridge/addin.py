"""The COM add-in classic Outlook for Windows loads, and its ItemSend handler.

Outlook creates `MailwardenAddin` through pywin32 (registry rows: outlook_bridge.registration),
calls IDTExtensibility2.OnConnection with its Application object, and the add-in subscribes to
Application.ItemSend. For every item sent, `SendGuard.on_item_send` maps the MailItem
(outlook_bridge.mapping), checks it through the pre-send session (companion.presend: the policy in
force, in process, no network: this runs on Outlook's UI thread), asks the sender through the dialog
when the verdict says so (outlook_bridge.decision), adds the approver in Cc when chosen, stamps the
X-Mailwarden header with the decision key and records the decision in the local database. It
returns the new value of ItemSend's Cancel: True keeps the inspector open.

When the check cannot run: Outlook disables add-ins that raise or crash, so ANY exception while
mapping, checking, asking or adding the approver is caught, logged and recorded with the error.
What happens to the mail then is the machine's fail mode (POLICY_FAIL_MODE of the MSI,
companion.machine_config), as in Thunderbird: "open" (the default here: a mail is never lost to a
bug in the guard) lets it go as "unchecked_sent"; "closed" holds it and says so; "ask" asks the
sender whether to send it unchecked.

Nothing from pywin32 is imported at module level: `import outlook_bridge.addin` works anywhere.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from companion.presend import Check, Choice, PresendSession
from outlook_bridge.registration import CLSID, DESCRIPTION_COM, PROGID

log = logging.getLogger(__name__)

CHANNEL = "outlook"
OL_CC = 2  # OlMailRecipientType.olCC
# A named property in PS_INTERNET_HEADERS becomes a header of the mail Outlook sends.
HEADER_PROPERTY = (
    "http://schemas.microsoft.com/mapi/string/{00020386-0000-0000-C000-000000000046}/X-Mailwarden"
)
# The typelib of IDTExtensibility2 ("Microsoft Add-In Designer", MSADDNDR.DLL, installed with Office)
ADDIN_DESIGNER_TYPELIB = "{AC0714F2-3D04-11D1-AE7D-00A0C90F26F4}"


def _machine_fail_mode() -> str:
    """POLICY_FAIL_MODE from the machine configuration the MSI wrote; "open" without one."""
    try:
        from companion.machine_config import read_machine_config

        config = read_machine_config()
    except Exception:  # noqa: BLE001 - a broken configuration must not stop Outlook's add-in
        log.exception("machine configuration not read: fail mode open")
        return "open"
    return (config.policy_fail_mode if config else None) or "open"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def add_cc(mail_item: Any, addresses: tuple[str, ...] | list[str]) -> None:
    """Add `addresses` as Cc recipients and resolve them (before the mail goes)."""
    recipients = mail_item.Recipients
    for address in addresses:
        recipient = recipients.Add(address)
        recipient.Type = OL_CC
    recipients.ResolveAll()


def stamp_header(mail_item: Any, value: str) -> None:
    """Set the X-Mailwarden header of the mail about to go (a failure costs the tie to the decision,
    never the mail: it is logged)."""
    try:
        mail_item.PropertyAccessor.SetProperty(HEADER_PROPERTY, value)
    except Exception:  # noqa: BLE001 - a COM error: the mail still goes, untied
        log.exception("the X-Mailwarden header could not be set")


class SendGuard:
    """The ItemSend logic, free of COM plumbing (tests drive it with fake MailItems)."""

    def __init__(self, session: PresendSession, dialog: Any, fail_mode: str = "open") -> None:
        self.session = session
        self.dialog = dialog
        from companion.machine_config import FAIL_MODES

        self.fail_mode = fail_mode if fail_mode in FAIL_MODES else "open"
        self._busy = False

    @classmethod
    def create(cls, dialog: Any = None) -> SendGuard:
        """The guard for the policy in force in the user's data directory (built now; a new policy
        or role applies at the next send, as for every pre-send path)."""
        from companion.config import paths
        from companion.policy.in_force import PolicyInForce

        p = paths().ensure()
        policy = PolicyInForce(p)
        policy.get()
        if dialog is None:
            from outlook_bridge.dialog import default_dialog

            dialog = default_dialog()
        return cls(PresendSession(CHANNEL, policy, p.database), dialog, _machine_fail_mode())

    def _unchecked(self, item: Any, reason: str, details: dict[str, Any]) -> bool:
        """The check could not run: send or hold as the fail mode says; returns the new Cancel."""
        from companion.presend import new_key, unchecked_stamp

        send = self.fail_mode == "open"
        try:
            if self.fail_mode == "ask":
                send = bool(self.dialog.ask_unchecked(reason))
            elif self.fail_mode == "closed":
                self.dialog.show_unchecked(reason)
        except Exception:  # noqa: BLE001 - no way to ask: the mail is held (the sender can send again)
            log.exception("the fail-mode window could not open")
        key = new_key()
        if send:
            stamp_header(item, unchecked_stamp(key))
        self._record(
            Choice.UNCHECKED_SENT if send else Choice.UNCHECKED_CANCELLED,
            key=key,
            error=reason,
            details=details,
        )
        return not send

    def on_item_send(self, item: Any, cancel: bool = False) -> bool:
        """Check one item being sent; returns the new Cancel. Never raises."""
        if cancel:
            log.info("the send was already cancelled (by another add-in): not checked")
            return True
        if self._busy:  # a send started while our window is open (a macro or another add-in)
            self._record(
                Choice.UNCHECKED_CANCELLED,
                error="another Mailwarden check was still open",
                details=_minimal_details(item),
            )
            return True
        from outlook_bridge.decision import decide
        from outlook_bridge.mapping import compose_details

        self._busy = True
        started = time.perf_counter()
        details = None
        try:
            details = compose_details(item)
            outcome = decide(self.session, details, self.dialog)
            if outcome.add_cc:
                add_cc(item, outcome.add_cc)
        except Exception as exc:  # noqa: BLE001 - the fail mode decides, see the module docstring
            log.exception("the check could not run (fail mode %s)", self.fail_mode)
            return self._unchecked(item, _describe(exc), details or _minimal_details(item))
        finally:
            self._busy = False
        if outcome.stamp is not None:
            stamp_header(item, outcome.stamp)
        self._record(outcome.choice, check=outcome.check, justification=outcome.justification)
        log.info(
            "%s -> %s (%.0f ms)",
            outcome.check.verdict.verdict,
            outcome.choice.value,
            (time.perf_counter() - started) * 1000,
        )
        return outcome.cancel

    def _record(self, choice: Choice, *, check: Check | None = None, **fields: Any) -> None:
        """The decision, recorded by the pre-send session (one short transaction, a short busy
        timeout: never hold Outlook's UI for long); a failure is logged, never raised (the send
        decision is already made)."""
        from companion.presend import Decision

        try:
            key = fields.pop("key", "") or (check.key if check else "")
            decision = Decision(choice, check.id if check else None, key, **fields)
            self.session.record(decision, check=check)
        except Exception:  # noqa: BLE001
            log.exception("could not record the decision %r", choice.value)


def _minimal_details(item: Any) -> dict[str, Any]:
    """What can still be said about an item the mapping failed on (for the record)."""
    try:
        subject = item.Subject
    except Exception:  # noqa: BLE001
        subject = ""
    return {"subject": subject if isinstance(subject, str) else ""}


class ApplicationEvents:
    """The Outlook Application event sink (win32com.client.DispatchWithEvents calls On<Event>).
    pywin32 passes ByRef arguments in and takes their new values from the return value."""

    guard: SendGuard | None = None

    def OnItemSend(self, item: Any, cancel: bool) -> bool:  # noqa: N802 - COM event name
        guard = type(self).guard
        if guard is None:
            return bool(cancel)
        try:
            return bool(guard.on_item_send(item, bool(cancel)))
        except Exception:  # noqa: BLE001 - on_item_send never raises; this is the last guard rail
            log.exception("ItemSend handler failed: the mail goes")
            return bool(cancel)


def hook_item_send(application: Any, guard: SendGuard, dispatch_with_events: Any = None) -> Any:
    """Subscribe `guard` to Application.ItemSend; returns the event object (keep it alive)."""
    if dispatch_with_events is None:
        from win32com.client import DispatchWithEvents as dispatch_with_events  # type: ignore[import-not-found]
    sink = type("MailwardenApplicationEvents", (ApplicationEvents,), {"guard": guard})
    return dispatch_with_events(application, sink)


_log_handler: logging.Handler | None = None
_LOGGERS = ("outlook_bridge", "companion")


def setup_logging() -> None:
    """Log to <data dir>/logs/outlook.log (Outlook has no console)."""
    global _log_handler
    if _log_handler is not None:
        return
    from logging.handlers import RotatingFileHandler

    from companion.config import paths

    handler = RotatingFileHandler(
        paths().ensure().logs / "outlook.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    _log_handler = handler


def close_logging() -> None:
    global _log_handler
    if _log_handler is None:
        return
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.removeHandler(_log_handler)
        logger.setLevel(logging.NOTSET)
    _log_handler.close()
    _log_handler = None


class MailwardenAddin:
    """The COM object Outlook loads (IDTExtensibility2). pywin32's policy reads the class
    attributes below: `_typelib_guid_` + `_com_interfaces_` make it register the vtable interface
    _IDTExtensibility2 from the Add-In Designer typelib when the object is created."""

    _reg_clsid_ = CLSID
    _reg_progid_ = PROGID
    _reg_desc_ = DESCRIPTION_COM
    _reg_clsctx_ = 1  # CLSCTX_INPROC_SERVER
    _reg_threading_ = "both"
    _com_interfaces_ = ["_IDTExtensibility2"]
    _typelib_guid_ = ADDIN_DESIGNER_TYPELIB
    _typelib_version_ = (1, 0)
    _public_methods_ = [
        "OnConnection",
        "OnDisconnection",
        "OnAddInsUpdate",
        "OnStartupComplete",
        "OnBeginShutdown",
    ]

    def __init__(self) -> None:
        self.guard: SendGuard | None = None
        self.events: Any = None

    def OnConnection(self, application: Any, connect_mode: Any, addin_instance: Any, custom: Any) -> None:  # noqa: N802
        started = time.perf_counter()
        try:
            setup_logging()
            self.guard = SendGuard.create()
            self.events = hook_item_send(application, self.guard)
            log.info("connected to Outlook in %.0f ms", (time.perf_counter() - started) * 1000)
        except Exception:  # noqa: BLE001 - never fail Outlook's start; mail then goes unchecked
            log.exception("could not connect to Outlook: outgoing mail will NOT be checked")

    def OnDisconnection(self, mode: Any, custom: Any) -> None:  # noqa: N802
        events, self.events, self.guard = self.events, None, None
        try:
            if events is not None:
                events.close()  # pywin32's event classes unadvise the connection point here
        except Exception:  # noqa: BLE001
            log.debug("event sink already gone", exc_info=True)
        log.info("disconnected from Outlook")
        close_logging()

    def OnAddInsUpdate(self, custom: Any) -> None:  # noqa: N802
        pass

    def OnStartupComplete(self, custom: Any) -> None:  # noqa: N802
        pass

    def OnBeginShutdown(self, custom: Any) -> None:  # noqa: N802
        pass
