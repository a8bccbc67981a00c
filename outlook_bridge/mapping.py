"""An Outlook MailItem being sent -> the compose details `companion.presend` checks.

Pure Python over duck-typed COM objects: only the Outlook object model's attribute and method
names are used (MailItem.Subject/Body/HTMLBody/SenderEmailType/Sender/SendUsingAccount/Recipients/
Attachments, Recipient.Type/Address/AddressEntry/PropertyAccessor, AddressEntry.GetExchangeUser,
ExchangeUser.PrimarySmtpAddress, Attachment.FileName/Size/Type/SaveAsFile), so tests run the same
code over small fakes. Collections are read as Outlook defines them: Count and 1-based Item(i).

Addresses are always SMTP. Exchange keeps its own users as X.500 DNs ("/O=EXCHANGELABS/OU=...");
those are resolved through the Exchange user or the PR_SMTP_ADDRESS MAPI property, and a
recipient that cannot be resolved is left out with a note instead of being checked as a DN.

What breaks the whole mail (no Recipients collection, no Body) raises: the add-in then lets the
mail go unchecked and records why. What only loses one detail (one recipient, one attachment's
text) is noted in details["notes"] and the check goes on.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PR_SMTP_ADDRESS = "http://schemas.microsoft.com/mapi/proptag/0x39FE001E"
OL_TO, OL_CC, OL_BCC = 1, 2, 3  # OlMailRecipientType
OL_BY_VALUE = 1  # OlAttachmentType: a copy of a file (embedded items and OLE objects have no file text)
# OlAddressEntryUserType values for which AddressEntry.GetExchangeUser() applies
EXCHANGE_USER_TYPES = (0, 5)  # olExchangeUserAddressEntry, olExchangeRemoteUserAddressEntry
EXCHANGE_DL_TYPE = 1  # olExchangeDistributionListAddressEntry

MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024  # read the text of attachments up to this size...
MAX_TOTAL_ATTACHMENT_BYTES = 8 * 1024 * 1024  # ...and of all attachments of one mail together

_SMTP = re.compile(r"^[^@\s/<>]+@[^@\s<>]+\.[^@\s<>]+$")
_FIELDS = {OL_TO: "to", OL_CC: "cc", OL_BCC: "bcc"}


def is_smtp(value: Any) -> bool:
    """An SMTP address (never an Exchange DN such as "/O=EXCHANGELABS/...")."""
    return isinstance(value, str) and bool(_SMTP.match(value.strip()))


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A property that may be missing or fail (COM raises com_error): `default` then."""
    if obj is None:
        return default
    try:
        value = getattr(obj, name)
    except Exception:  # noqa: BLE001 - COM errors are not one class we can name without pywin32
        return default
    return default if value is None else value


def _call(obj: Any, name: str, *args: Any) -> Any:
    """A method call that may fail: None then."""
    if obj is None:
        return None
    try:
        return getattr(obj, name)(*args)
    except Exception:  # noqa: BLE001
        return None


def _items(collection: Any) -> list[Any]:
    """An Outlook collection's items (Count, 1-based Item)."""
    return [collection.Item(i) for i in range(1, int(collection.Count) + 1)]


def entry_smtp(entry: Any) -> str:
    """The SMTP address of an AddressEntry: its own address when it is SMTP, else the Exchange
    user's (or distribution list's) primary SMTP address, else PR_SMTP_ADDRESS. "" if none."""
    if entry is None:
        return ""
    address = _get(entry, "Address", "")
    if str(_get(entry, "Type", "")).upper() == "SMTP" and is_smtp(address):
        return address.strip()
    user_type = _get(entry, "AddressEntryUserType")
    if user_type is None or user_type in EXCHANGE_USER_TYPES:
        smtp = _get(_call(entry, "GetExchangeUser"), "PrimarySmtpAddress", "")
        if is_smtp(smtp):
            return smtp.strip()
    if user_type == EXCHANGE_DL_TYPE:
        smtp = _get(_call(entry, "GetExchangeDistributionList"), "PrimarySmtpAddress", "")
        if is_smtp(smtp):
            return smtp.strip()
    smtp = _call(_get(entry, "PropertyAccessor"), "GetProperty", PR_SMTP_ADDRESS)
    if is_smtp(smtp):
        return smtp.strip()
    return address.strip() if is_smtp(address) else ""


def recipient_smtp(recipient: Any) -> str:
    """PR_SMTP_ADDRESS through the recipient's PropertyAccessor; else Address when it already is
    SMTP; else the AddressEntry (Exchange user). "" when none of them gives an SMTP address."""
    smtp = _call(_get(recipient, "PropertyAccessor"), "GetProperty", PR_SMTP_ADDRESS)
    if is_smtp(smtp):
        return smtp.strip()
    address = _get(recipient, "Address", "")
    if is_smtp(address):
        return address.strip()
    return entry_smtp(_get(recipient, "AddressEntry"))


def sender_smtp(item: Any, notes: list[str]) -> str:
    """The sender's SMTP address: for an Exchange sender (SenderEmailType "EX") through the
    Sender AddressEntry, else SenderEmailAddress; failing those, the sending account's SMTP
    address, then the session's own user."""
    if str(_get(item, "SenderEmailType", "")).upper() == "EX":
        smtp = entry_smtp(_get(item, "Sender"))
        if smtp:
            return smtp
    else:
        address = _get(item, "SenderEmailAddress", "")
        if is_smtp(address):
            return address.strip()
    smtp = _get(_get(item, "SendUsingAccount"), "SmtpAddress", "")
    if is_smtp(smtp):
        return smtp.strip()
    smtp = entry_smtp(_get(_get(_get(item, "Session"), "CurrentUser"), "AddressEntry"))
    if smtp:
        return smtp
    notes.append("the sender's SMTP address could not be read")
    return ""


def _attachment(att: Any, budget: list[int], notes: list[str]) -> dict[str, Any]:
    from companion.parsing.attachments import attachment_kind, extract_text

    name = str(_get(att, "FileName", "") or _get(att, "DisplayName", "") or "")
    size = int(_get(att, "Size", 0) or 0)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    out: dict[str, Any] = {"name": name, "content_type": content_type, "size": size, "text": None}
    if _get(att, "Type", OL_BY_VALUE) != OL_BY_VALUE or attachment_kind(name, content_type) is None:
        return out
    if size > MAX_ATTACHMENT_BYTES:
        notes.append(f"attachment {name!r} not read: {size} bytes is over the {MAX_ATTACHMENT_BYTES} limit")
        return out
    if size > budget[0]:
        notes.append(f"attachment {name!r} not read: the attachments of this mail are over the read limit")
        return out
    try:
        with tempfile.TemporaryDirectory(prefix="mailwarden-") as tmp:
            path = Path(tmp) / ("attachment" + Path(name).suffix.lower())
            att.SaveAsFile(str(path))
            data = path.read_bytes()
    except Exception as exc:  # noqa: BLE001 - a COM error, a full disk: the name is still checked
        notes.append(f"attachment {name!r} not read: {exc}")
        return out
    if len(data) > MAX_ATTACHMENT_BYTES:
        notes.append(
            f"attachment {name!r} not read: {len(data)} bytes is over the {MAX_ATTACHMENT_BYTES} limit"
        )
        return out
    budget[0] -= len(data)
    text, error = extract_text(name, content_type, data)
    if error:
        notes.append(f"attachment {name!r}: {error}")
    out["text"] = text
    return out


def compose_details(mail_item: Any) -> dict[str, Any]:
    """The compose details of `companion.presend` for a MailItem about to be sent, plus "notes"
    (what could not be read; never raised)."""
    notes: list[str] = []
    body = mail_item.Body or ""
    details: dict[str, Any] = {
        "subject": mail_item.Subject or "",
        "body": body,
        "to": [],
        "cc": [],
        "bcc": [],
    }
    if not body.strip():
        details["html"] = _get(mail_item, "HTMLBody", "") or ""
    details["from"] = sender_smtp(mail_item, notes)
    for recipient in _items(mail_item.Recipients):
        field = _FIELDS.get(_get(recipient, "Type", OL_TO))
        if field is None:  # olOriginator: not a recipient
            continue
        smtp = recipient_smtp(recipient)
        if smtp:
            details[field].append(smtp)
        else:
            notes.append(f"a {field} recipient has no SMTP address and was not checked")
    budget = [MAX_TOTAL_ATTACHMENT_BYTES]
    details["attachments"] = [_attachment(att, budget, notes) for att in _items(mail_item.Attachments)]
    details["notes"] = notes
    if notes:
        log.info("read with notes: %s", "; ".join(notes))
    return details
