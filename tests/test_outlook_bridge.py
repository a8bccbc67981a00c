"""The Outlook COM add-in, driven on Linux through fakes of the Outlook object model.

The fakes keep the real names and shapes: collections with Count and 1-based Item(i), Recipient.Type
as OlMailRecipientType numbers, Exchange addresses as X.500 DNs that only an ExchangeUser or the
PR_SMTP_ADDRESS property turns into SMTP, PropertyAccessor.GetProperty raising for a missing
property (as a COM error would), Attachment.SaveAsFile writing the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from companion.config import paths
from companion.policy.in_force import PolicyInForce, StaticPolicy
from companion.policy.loader import default_policy_text
from companion.presend import PresendSession
from companion.records import Database
from companion.records import decisions as decision_rows
from outlook_bridge import registration
from outlook_bridge.addin import (
    HEADER_PROPERTY,
    ApplicationEvents,
    MailwardenAddin,
    SendGuard,
    hook_item_send,
)
from outlook_bridge.decision import WarnAnswer, decide
from outlook_bridge.dialog import dialog_content, plain_summary
from outlook_bridge.install import install_outlook, uninstall_outlook
from outlook_bridge.mapping import PR_SMTP_ADDRESS, compose_details

REPO = Path(__file__).resolve().parents[1]
FINANCE = "finance@corp.example"
BOSS = "boss@corp.example"
EX_DN = "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=3F2A9C-LI.WEI"


# -- fakes of the Outlook object model ---------------------------------------------------------


class FakeComError(Exception):
    """Stands for pywintypes.com_error (what a failing COM call raises)."""


class PropertyAccessor:
    def __init__(self, props: dict[str, object] | None = None) -> None:
        self.props = props or {}

    def GetProperty(self, schema: str):  # noqa: N802
        if schema not in self.props:
            raise FakeComError(-2147221233, "The property cannot be found.")
        return self.props[schema]

    def SetProperty(self, schema: str, value: object) -> None:  # noqa: N802
        self.props[schema] = value


class ExchangeUser:
    def __init__(self, smtp: str, name: str = "") -> None:
        self.PrimarySmtpAddress = smtp
        self.Name = name


class AddressEntry:
    def __init__(
        self,
        address: str,
        kind: str = "EX",
        user_type: int = 0,
        exchange_user: ExchangeUser | None = None,
        props: dict | None = None,
        name: str = "",
    ) -> None:
        self.Address, self.Type, self.AddressEntryUserType, self.Name = address, kind, user_type, name
        self._user = exchange_user
        self.PropertyAccessor = PropertyAccessor(props)

    def GetExchangeUser(self):  # noqa: N802
        return self._user  # None for entries that are not Exchange users, as in Outlook


class Recipient:
    def __init__(
        self,
        name: str,
        address: str,
        type_: int = 1,
        smtp: str | None = None,
        entry: AddressEntry | None = None,
    ) -> None:
        self.Name, self.Address, self.Type = name, address, type_
        self.AddressEntry = entry
        self.PropertyAccessor = PropertyAccessor({PR_SMTP_ADDRESS: smtp} if smtp else {})
        self.Resolved = True


class Collection:
    def __init__(self, items: list) -> None:
        self._items = list(items)

    @property
    def Count(self) -> int:  # noqa: N802
        return len(self._items)

    def Item(self, index: int):  # noqa: N802
        if not 1 <= index <= len(self._items):
            raise FakeComError("Array index out of bounds.")
        return self._items[index - 1]


class Recipients(Collection):
    def __init__(self, items: list) -> None:
        super().__init__(items)
        self.added: list[str] = []
        self.resolve_all_calls = 0

    def Add(self, name: str) -> Recipient:  # noqa: N802
        recipient = Recipient(name, name, 1, smtp=name)  # Outlook adds as olTo; the caller sets Type
        self._items.append(recipient)
        self.added.append(name)
        return recipient

    def ResolveAll(self) -> bool:  # noqa: N802
        self.resolve_all_calls += 1
        return True


class Attachment:
    def __init__(
        self, filename: str, data: bytes = b"", type_: int = 1, size: int | None = None, fail: bool = False
    ) -> None:
        self.FileName = self.DisplayName = filename
        self.Type = type_
        self.Size = len(data) + 300 if size is None else size  # Outlook's Size includes MAPI overhead
        self._data, self._fail = data, fail
        self.saved: list[str] = []

    def SaveAsFile(self, path: str) -> None:  # noqa: N802
        if self._fail:
            raise FakeComError("Cannot save the attachment.")
        self.saved.append(path)
        Path(path).write_bytes(self._data)


class Account:
    def __init__(self, smtp: str) -> None:
        self.SmtpAddress = smtp


class MailItem:
    Class = 43  # olMail

    def __init__(
        self,
        subject: str = "Hello",
        body: str = "Please find the details below.",
        html: str = "",
        recipients: list | None = None,
        attachments: list | None = None,
        sender: AddressEntry | None = None,
        sender_type: str = "SMTP",
        sender_address: str = "li.wei@corp.example",
        account: str = "li.wei@corp.example",
    ) -> None:
        self.Subject, self.Body, self.HTMLBody = subject, body, html
        self.Recipients = Recipients(
            recipients
            if recipients is not None
            else [Recipient("Anna", "anna@buyer.example", 1, smtp="anna@buyer.example")]
        )
        self.Attachments = Collection(attachments or [])
        self.SenderEmailType, self.SenderEmailAddress, self.Sender = sender_type, sender_address, sender
        self.SendUsingAccount = Account(account)
        self.PropertyAccessor = PropertyAccessor()

    def header(self) -> str | None:
        """The X-Mailwarden header the add-in set (Outlook sends it with the mail)."""
        return self.PropertyAccessor.props.get(HEADER_PROPERTY)


def exchange_sender() -> dict:
    entry = AddressEntry(EX_DN, "EX", 0, ExchangeUser("li.wei@corp.example", "Li Wei"), name="Li Wei")
    return {"sender": entry, "sender_type": "EX", "sender_address": EX_DN, "account": ""}


class FakeDialog:
    def __init__(self, answer: WarnAnswer | None = None, fail: bool = False) -> None:
        self.answer = answer or WarnAnswer.edit()
        self.fail = fail
        self.warned: list[dict] = []
        self.blocked: list[dict] = []
        self.unchecked: list[tuple[str, str]] = []
        self.send_unchecked = False

    def ask_warn(self, view):
        if self.fail:
            raise RuntimeError("the window could not open")
        self.warned.append(view)
        return self.answer

    def show_block(self, view):
        if self.fail:
            raise RuntimeError("the window could not open")
        self.blocked.append(view)

    def ask_unchecked(self, reason):
        self.unchecked.append(("ask", reason))
        return self.send_unchecked

    def show_unchecked(self, reason):
        self.unchecked.append(("closed", reason))


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def policy_in_force(isolated_home):
    """The default policy with finance and supervisor addresses, installed as the policy in force."""
    text = default_policy_text().replace("finance_addresses = []", f'finance_addresses = ["{FINANCE}"]')
    text = text.replace("supervisor_addresses = []", f'supervisor_addresses = ["{BOSS}"]')
    text = text.replace("company_domains = []", 'company_domains = ["corp.example"]')
    paths().ensure().policy.write_text(text, encoding="utf-8")
    return paths().policy


def make_guard(dialog) -> SendGuard:
    return SendGuard.create(dialog=dialog)


def decisions() -> list[dict]:
    db = Database(paths().database)
    try:
        return decision_rows.newest(db, None, noteworthy_only=False)
    finally:
        db.close()


# -- mapping ----------------------------------------------------------------------------------


def test_exchange_sender_and_recipients_map_to_smtp_never_to_a_dn():
    recipients = [
        Recipient("Anna", "anna@buyer.example", 1),  # one-off SMTP: no PR_SMTP_ADDRESS, Address is SMTP
        Recipient("Wang Fang", EX_DN.replace("LI.WEI", "WANG.FANG"), 1, smtp="wang.fang@corp.example"),
        Recipient(
            "Zhao Lei",
            EX_DN.replace("LI.WEI", "ZHAO.LEI"),
            2,  # PR_SMTP_ADDRESS missing: ExchangeUser
            entry=AddressEntry("/O=X/CN=ZHAO.LEI", exchange_user=ExchangeUser("zhao.lei@corp.example")),
        ),
        Recipient(
            "Sun Li",
            "/O=X/CN=SUN.LI",
            3,  # an Exchange entry that is not a user: PR_SMTP_ADDRESS on it
            entry=AddressEntry(
                "/O=X/CN=SUN.LI", user_type=40, props={PR_SMTP_ADDRESS: "sun.li@corp.example"}
            ),
        ),
        Recipient("Ghost", "/O=X/CN=GHOST", 1, entry=AddressEntry("/O=X/CN=GHOST")),  # nothing resolves
        Recipient("Me", "me@corp.example", 0),  # olOriginator: not a recipient
    ]
    item = MailItem(subject="报价单 2027", recipients=recipients, **exchange_sender())
    details = compose_details(item)
    assert details["from"] == "li.wei@corp.example"
    assert details["to"] == ["anna@buyer.example", "wang.fang@corp.example"]
    assert details["cc"] == ["zhao.lei@corp.example"]
    assert details["bcc"] == ["sun.li@corp.example"]
    assert details["subject"] == "报价单 2027"
    assert not any("/O=" in a.upper() for f in ("to", "cc", "bcc") for a in details[f])
    assert not any("Ghost" in a for f in ("to", "cc", "bcc") for a in details[f])
    assert details["notes"] == ["a to recipient has no SMTP address and was not checked"]


def test_exchange_sender_falls_back_to_pr_smtp_address_and_never_to_the_dn():
    entry = AddressEntry(EX_DN, "EX", 0, exchange_user=None, props={PR_SMTP_ADDRESS: "li.wei@corp.example"})
    item = MailItem(sender=entry, sender_type="EX", sender_address=EX_DN, account="")
    assert compose_details(item)["from"] == "li.wei@corp.example"
    unresolvable = MailItem(sender=AddressEntry(EX_DN), sender_type="EX", sender_address=EX_DN, account="")
    details = compose_details(unresolvable)
    assert details["from"] == "" and "the sender's SMTP address could not be read" in details["notes"]


def test_html_body_is_used_only_when_body_is_empty():
    assert "html" not in compose_details(MailItem(body="text body", html="<p>html body</p>"))
    details = compose_details(MailItem(body="  ", html="<p>最低价 only in html</p>"))
    assert details["html"] == "<p>最低价 only in html</p>"


def test_attachments_names_sizes_and_text_of_small_text_like_files(tmp_path):
    attachments = [
        Attachment("PI-2027-001.pdf", b"%PDF-1.4 not really a pdf"),
        Attachment("notes.txt", "请打到我个人账户".encode()),
        Attachment("big.txt", b"x", size=3 * 1024 * 1024),  # over the limit: named, not read
        Attachment("broken.csv", b"a,b", fail=True),  # SaveAsFile fails: named, not read
        Attachment("photo.png", b"\x89PNG"),  # not text-like: never saved
        Attachment("Forwarded.msg", b"", type_=5),  # an embedded Outlook item
    ]
    details = compose_details(MailItem(attachments=attachments))
    by_name = {a["name"]: a for a in details["attachments"]}
    assert list(by_name) == [
        "PI-2027-001.pdf",
        "notes.txt",
        "big.txt",
        "broken.csv",
        "photo.png",
        "Forwarded.msg",
    ]
    assert by_name["notes.txt"]["text"] == "请打到我个人账户"
    assert by_name["notes.txt"]["size"] == attachments[1].Size
    assert by_name["big.txt"]["text"] is None and by_name["broken.csv"]["text"] is None
    assert attachments[4].saved == [] and attachments[5].saved == []
    assert not Path(attachments[1].saved[0]).exists()  # the temporary copy is gone
    notes = " | ".join(details["notes"])
    assert "'big.txt' not read" in notes and "'broken.csv' not read" in notes and "PI-2027-001.pdf" in notes


# -- the decision flow (pure) -----------------------------------------------------------------


def outlook_session(policy=None) -> PresendSession:
    return PresendSession("outlook", policy or PolicyInForce(paths()), paths().database)


def test_decide_pass_warn_block(policy_in_force):
    session = outlook_session()
    clean = {"subject": "Hello", "body": "See you tomorrow.", "to": ["a@buyer.example"]}
    assert (decide(session, clean, FakeDialog()).cancel, decide(session, clean, FakeDialog()).choice) == (
        False,
        "sent",
    )
    risky = {"subject": "Offer", "body": "我们保证最低价。", "to": ["a@buyer.example"]}
    edit = decide(session, risky, FakeDialog(WarnAnswer.edit()))
    assert (edit.cancel, edit.choice) == (True, "edited")
    blank = decide(session, risky, FakeDialog(WarnAnswer.justify("   ")))
    assert (blank.cancel, blank.choice) == (True, "edited")
    ok = decide(session, risky, FakeDialog(WarnAnswer.justify(" approved by Mr Zhang ")))
    assert (ok.cancel, ok.choice, ok.justification) == (False, "justified", "approved by Mr Zhang")
    cc = decide(session, risky | {"cc": [BOSS]}, FakeDialog(WarnAnswer.add_approver()))
    assert (cc.cancel, cc.choice, cc.add_cc) == (False, "added_approver", ())  # already in Cc: nothing to add
    from companion.policy import PolicyEngine, load_policy

    default = outlook_session(StaticPolicy(PolicyEngine(load_policy())))
    nobody = decide(default, risky, FakeDialog(WarnAnswer.add_approver()))
    assert (nobody.cancel, nobody.choice) == (
        True,
        "edited",
    )  # no approver address in the policy: back to edit
    forbidden = decide(
        session, {"subject": "x", "body": "keep this between us", "to": ["a@b.example"]}, FakeDialog()
    )
    assert (forbidden.cancel, forbidden.choice) == (True, "blocked")
    assert forbidden.view["labels"]["categories"]["off-book"] == {"en": "Off-book dealing", "zh": "私下交易"}


# -- the ItemSend handler end to end (fakes + the real engine + the real database) ----------


def test_quotation_without_finance_warns_and_add_approver_adds_finance_in_cc(policy_in_force):
    dialog = FakeDialog(WarnAnswer.add_approver())
    item = MailItem(
        subject="报价单 2027",
        body="Dear Anna, please see the attached PI.",
        attachments=[Attachment("PI-2027-001.pdf", b"%PDF-1.4")],
        **exchange_sender(),
    )
    cancel = make_guard(dialog).on_item_send(item, False)
    assert cancel is False
    view = dialog.warned[0]
    assert view["verdict"] == "warn" and view["approvers"] == [FINANCE]
    assert item.Recipients.added == [FINANCE]
    added = item.Recipients.Item(item.Recipients.Count)
    assert (added.Address, added.Type) == (FINANCE, 2)  # olCC
    assert item.Recipients.resolve_all_calls == 1
    [row] = decisions()
    assert (row["channel"], row["verdict"], row["choice"]) == ("outlook", "warn", "added_approver")
    assert row["subject"] == "报价单 2027"
    assert any(f["rule"] == "structure.quotation-without-finance" for f in row["findings"])


def test_quotation_with_finance_already_in_cc_passes(policy_in_force):
    dialog = FakeDialog()
    item = MailItem(
        subject="报价单 2027",
        attachments=[Attachment("PI-2027-001.pdf", b"%PDF")],
        recipients=[
            Recipient("Anna", "anna@buyer.example", 1, smtp="anna@buyer.example"),
            Recipient("Finance", "/O=X/CN=FIN", 2, smtp=FINANCE),
        ],
    )
    assert make_guard(dialog).on_item_send(item, False) is False
    assert dialog.warned == [] and decisions()[0]["choice"] == "sent"


def test_warn_and_justify_sends_and_records_the_justification(policy_in_force):
    dialog = FakeDialog(WarnAnswer.justify("张经理电话批准"))
    item = MailItem(subject="Offer", body="这是我们的最低价，欢迎下单。")
    assert make_guard(dialog).on_item_send(item, False) is False
    finding = dialog.warned[0]["findings"][0]
    assert finding["rule"] == "commit.lowest-price" and finding["approver"] == "supervisor"
    s = finding["sentence"]
    assert s["text"][s["start"] : s["end"]] == "最低价"
    assert item.Recipients.added == []
    [row] = decisions()
    assert (row["choice"], row["justification"]) == ("justified", "张经理电话批准")


def test_warn_and_edit_cancels_the_send(policy_in_force):
    item = MailItem(subject="Offer", body="We guarantee the lowest price.")
    assert make_guard(FakeDialog(WarnAnswer.edit())).on_item_send(item, False) is True
    assert decisions()[0]["choice"] == "edited"


def test_forbidden_text_blocks_and_keeps_the_inspector_open(policy_in_force):
    dialog = FakeDialog()
    item = MailItem(subject="Payment", body="Please transfer to my personal account, keep this between us.")
    assert make_guard(dialog).on_item_send(item, False) is True
    assert dialog.blocked[0]["verdict"] == "block" and dialog.warned == []
    [row] = decisions()
    assert (row["verdict"], row["choice"]) == ("block", "blocked")


def test_forbidden_text_quoted_from_an_earlier_outlook_mail_does_not_block(policy_in_force):
    body = (
        "Dear Anna,\r\nThank you, we will check.\r\n\r\n"
        "From: Anna <anna@buyer.example>\r\nSent: Monday, 2 November 2026 10:00\r\nTo: Li Wei\r\n"
        "Subject: order\r\n\r\nCan you keep this between us and pay to my personal account?\r\n"
    )
    dialog = FakeDialog()
    assert make_guard(dialog).on_item_send(MailItem(subject="RE: order", body=body), False) is False
    assert dialog.blocked == [] and decisions()[0]["choice"] == "sent"


def test_forbidden_text_in_an_attachment_blocks(policy_in_force):
    dialog = FakeDialog()
    item = MailItem(attachments=[Attachment("bank.txt", "新账户，请打到我个人账户，别告诉公司".encode())])
    assert make_guard(dialog).on_item_send(item, False) is True
    assert any(
        f["field"] == {"kind": "attachment", "name": "bank.txt"} for f in dialog.blocked[0]["findings"]
    )


def test_pass_sends_and_is_recorded_for_the_summary_counts(policy_in_force):
    dialog = FakeDialog()
    assert make_guard(dialog).on_item_send(MailItem(), False) is False
    assert dialog.warned == dialog.blocked == []
    [row] = decisions()
    assert (row["verdict"], row["choice"], json.loads(json.dumps(row["recipients"]))) == (
        "pass",
        "sent",
        ["anna@buyer.example"],
    )


def test_a_send_cancelled_by_another_add_in_stays_cancelled_and_unrecorded(policy_in_force):
    assert make_guard(FakeDialog()).on_item_send(MailItem(), True) is True
    assert decisions() == []


class BrokenMailItem(MailItem):
    @property
    def Recipients(self):  # noqa: N802
        raise FakeComError("The operation failed.")

    @Recipients.setter
    def Recipients(self, value):  # noqa: N802
        pass


def test_an_exception_in_mapping_lets_the_mail_go_and_is_recorded(policy_in_force):
    item = BrokenMailItem(subject="最低价 offer")
    assert make_guard(FakeDialog()).on_item_send(item, False) is False
    [row] = decisions()
    assert (row["verdict"], row["choice"]) == ("unchecked", "unchecked_sent")
    assert "FakeComError" in row["error"] and "operation failed" in row["error"]
    assert row["subject"] == "最低价 offer"


def test_an_exception_in_the_engine_lets_the_mail_go_and_is_recorded(policy_in_force):
    class BrokenPolicy:
        def get(self):
            raise MemoryError("engine exploded")

    guard = make_guard(FakeDialog())
    guard.session.policy = BrokenPolicy()
    assert guard.on_item_send(MailItem(subject="Offer", body="lowest price"), False) is False
    [row] = decisions()
    assert row["choice"] == "unchecked_sent" and row["error"] == "MemoryError: engine exploded"
    assert row["recipients"] == ["anna@buyer.example"]  # the mapped details were kept for the record


def test_a_dialog_that_fails_lets_the_mail_go_and_is_recorded(policy_in_force):
    item = MailItem(body="We guarantee the lowest price.")
    assert make_guard(FakeDialog(fail=True)).on_item_send(item, False) is False
    assert decisions()[0]["choice"] == "unchecked_sent"


def test_a_send_started_while_the_window_is_open_is_held_back(policy_in_force):
    nested = {}

    class ReentrantDialog(FakeDialog):
        def ask_warn(self, view):  # a macro sends another mail while the sender reads the window
            nested["cancel"] = guard.on_item_send(MailItem(subject="from a macro"), False)
            return WarnAnswer.justify("ok")

    guard = make_guard(ReentrantDialog())
    assert guard.on_item_send(MailItem(body="We guarantee the lowest price."), False) is False
    assert nested["cancel"] is True
    rows = {r["subject"]: r for r in decisions()}
    assert rows["from a macro"]["choice"] == "unchecked_cancelled"
    assert rows["from a macro"]["error"] == "another Mailwarden check was still open"
    assert rows["Hello"]["choice"] == "justified"


def test_a_database_that_fails_does_not_change_the_decision(policy_in_force, tmp_path):
    guard = make_guard(FakeDialog())
    guard.database_path = tmp_path / "a-directory.db"
    guard.database_path.mkdir()  # sqlite cannot open a directory
    assert guard.on_item_send(MailItem(body="keep this between us"), False) is True  # still blocked


def test_the_policy_file_is_reloaded_when_it_changes(policy_in_force):
    import os

    guard = make_guard(FakeDialog())
    item = MailItem(body="We talk about pineapple pricing.")
    assert guard.on_item_send(item, False) is False
    text = policy_in_force.read_text(encoding="utf-8") + (
        '\n[[rule]]\nid = "test.pineapple"\ntier = "forbidden"\ncategory = "off-book"\n'
        'explanation = { en = "no pineapples", zh = "禁止菠萝" }\nphrases = ["pineapple"]\n'
    )
    policy_in_force.write_text(text, encoding="utf-8")
    os.utime(policy_in_force, ns=(1, 10**18))  # a different mtime whatever the clock's resolution
    assert guard.on_item_send(item, False) is True


# -- the COM wiring, with a fake DispatchWithEvents ----------------------------------------------


def test_item_send_is_hooked_and_the_sink_returns_the_new_cancel(policy_in_force):
    created = {}

    def fake_dispatch_with_events(application, sink_class):
        created["application"], created["sink"] = application, sink_class()
        return created["sink"]

    guard = make_guard(FakeDialog())
    events = hook_item_send("Outlook.Application object", guard, fake_dispatch_with_events)
    assert isinstance(events, ApplicationEvents) and created["application"] == "Outlook.Application object"
    assert events.OnItemSend(MailItem(body="keep this between us"), False) is True
    assert events.OnItemSend(MailItem(), False) is False
    assert ApplicationEvents.guard is None  # each hook gets its own sink class


def test_on_connection_hooks_item_send_through_win32com(policy_in_force, monkeypatch):
    import types

    hooked = []
    client = types.ModuleType("win32com.client")
    client.DispatchWithEvents = lambda app, sink: hooked.append((app, sink)) or sink()
    win32com = types.ModuleType("win32com")
    win32com.client = client
    monkeypatch.setitem(sys.modules, "win32com", win32com)
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    monkeypatch.setattr("outlook_bridge.dialog.default_dialog", lambda: FakeDialog())
    addin = MailwardenAddin()
    addin.OnConnection("app", 0, None, [])
    assert hooked and hooked[0][0] == "app"
    assert addin.events.OnItemSend(MailItem(body="keep this between us"), False) is True
    assert (paths().logs / "outlook.log").is_file()
    addin.OnDisconnection(1, [])
    assert addin.events is None


def test_on_connection_never_raises_into_outlook(policy_in_force, monkeypatch):
    monkeypatch.setitem(sys.modules, "win32com", None)  # importing win32com now raises ImportError
    monkeypatch.setitem(sys.modules, "win32com.client", None)
    monkeypatch.setattr("outlook_bridge.dialog.default_dialog", lambda: FakeDialog())
    addin = MailwardenAddin()
    addin.OnConnection("app", 0, None, [])  # logged, not raised
    assert addin.events is None
    assert "could not connect to Outlook" in (paths().logs / "outlook.log").read_text(encoding="utf-8")
    addin.OnDisconnection(1, [])


def test_com_class_attributes():
    assert MailwardenAddin._reg_progid_ == "Mailwarden.OutlookAddin" == registration.PROGID
    assert MailwardenAddin._reg_clsid_ == registration.CLSID
    assert MailwardenAddin._com_interfaces_ == ["_IDTExtensibility2"]
    assert set(MailwardenAddin._public_methods_) == {
        "OnConnection",
        "OnDisconnection",
        "OnAddInsUpdate",
        "OnStartupComplete",
        "OnBeginShutdown",
    }
    assert registration.PYTHON_CLASS == f"{MailwardenAddin.__module__}.{MailwardenAddin.__name__}"


# -- the dialog's content (the Tk window itself only runs on Windows) -------------------------


def test_dialog_content_is_bilingual_and_splits_the_match_out_of_its_sentence(policy_in_force):
    outcome = decide(
        outlook_session(),
        {"subject": "Offer", "body": "Hello. 这是我们的最低价，欢迎下单。", "to": ["a@b.example"]},
        FakeDialog(),
    )
    zh = dialog_content(outcome.view, "warn", "zh")
    en = dialog_content(outcome.view, "warn", "en")
    [line] = zh["findings"]
    assert (line.before, line.match, line.after) == ("这是我们的", "最低价", "，欢迎下单。")
    assert line.heading == "需审批 · 价格与保修承诺 · 正文" and line.explanation.startswith("承诺最低价")
    assert en["findings"][0].heading == "needs approval · Price and warranty commitments · body"
    assert zh["buttons"] == {
        "edit": "返回修改",
        "add_approver": "抄送审批人并发送",
        "justify": "填写理由并发送",
    }
    assert en["buttons"]["justify"] == "Send with justification" and en["approvers"] == [BOSS]
    assert "»最低价«" in plain_summary(zh)
    block = dialog_content(outcome.view, "block", "en")
    assert (
        block["header"].startswith("This mail cannot be sent") and block["buttons"]["edit"] == "Back to edit"
    )


# -- importing without pywin32 -------------------------------------------------------------------

_BLOCKER = """
import sys
BLOCKED = {"win32com", "pythoncom", "pywintypes", "win32api", "win32con", "winreg", "tkinter", "_tkinter"}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Blocker())
for name in ("win32com.client", "pythoncom", "pywintypes"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"the blocker let {name} through")
import outlook_bridge
import outlook_bridge.addin, outlook_bridge.decision, outlook_bridge.dialog, outlook_bridge.install
import outlook_bridge.mapping, outlook_bridge.registration
from outlook_bridge.addin import MailwardenAddin
from outlook_bridge.registration import user_rows
MailwardenAddin()
user_rows(r"C:\\\\Py\\\\pythoncom312.dll", r"C:\\\\Py\\\\Lib\\\\site-packages")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print("loaded:", loaded)
"""


def test_every_module_imports_where_pywin32_and_tkinter_cannot_be_imported():
    out = subprocess.run(
        [sys.executable, "-c", _BLOCKER], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "loaded: []"


# -- registration ---------------------------------------------------------------------------------

DLL = r"C:\Program Files\Mailwarden\python\pythoncom312.dll"
SITE = r"C:\Program Files\Mailwarden\python\Lib\site-packages"
CLSID = "{82C8E60E-8AA4-4780-B209-37CDB75CE3BF}"
ADDIN = r"Software\Microsoft\Office\Outlook\Addins\Mailwarden.OutlookAddin"


def _addin_rows(hive, view):
    desc = "Checks outgoing mail against the company policy before it is sent / 发送前按公司策略检查邮件"
    return [
        (hive, ADDIN, "LoadBehavior", 3, "REG_DWORD", view),
        (hive, ADDIN, "FriendlyName", "Mailwarden", "REG_SZ", view),
        (hive, ADDIN, "Description", desc, "REG_SZ", view),
        (hive, ADDIN, "CommandLineSafe", 0, "REG_DWORD", view),
    ]


def _com_rows(hive, view):
    c = rf"Software\Classes\CLSID\{CLSID}"
    return [
        (hive, c, "", "Mailwarden Outlook add-in", "REG_SZ", view),
        (hive, c + r"\ProgID", "", "Mailwarden.OutlookAddin", "REG_SZ", view),
        (hive, c + r"\InprocServer32", "", DLL, "REG_SZ", view),
        (hive, c + r"\InprocServer32", "ThreadingModel", "Both", "REG_SZ", view),
        (hive, c + r"\PythonCOM", "", "outlook_bridge.addin.MailwardenAddin", "REG_SZ", view),
        (hive, c + r"\PythonCOMPath", "", SITE, "REG_SZ", view),
        (hive, r"Software\Classes\Mailwarden.OutlookAddin", "", "Mailwarden Outlook add-in", "REG_SZ", view),
        (hive, r"Software\Classes\Mailwarden.OutlookAddin\CLSID", "", CLSID, "REG_SZ", view),
    ]


def _tuples(rows):
    return [(r.hive, r.key, r.name, r.value, r.type, r.view) for r in rows]


def test_user_rows_are_exact():
    assert _tuples(registration.user_rows(DLL, SITE, view=64)) == _addin_rows("HKCU", 64) + _com_rows(
        "HKCU", 64
    )
    assert _tuples(registration.user_rows(DLL, SITE, view=32)) == _addin_rows("HKCU", 32) + _com_rows(
        "HKCU", 32
    )


def test_machine_rows_cover_both_views_of_the_addin_key_and_the_python_view_of_the_com_server():
    assert _tuples(registration.machine_rows(DLL, SITE)) == (
        _addin_rows("HKLM", 64) + _addin_rows("HKLM", 32) + _com_rows("HKLM", 64)
    )
    assert _tuples(registration.machine_rows(DLL, SITE, python_view=32))[-8:] == _com_rows("HKLM", 32)
    assert registration.pythoncom_dll_name((3, 12)) == "pythoncom312.dll"


class FakeRegistry:
    """A dict registry: (hive, view, key) -> {value name: (value, type)}."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, int, str], dict[str, tuple]] = {}

    def set_value(self, row) -> None:
        parts = row.key.split("\\")
        for i in range(1, len(parts) + 1):  # creating a key creates its parents, as RegCreateKeyEx does
            self.keys.setdefault((row.hive, row.view, "\\".join(parts[:i])), {})
        self.keys[(row.hive, row.view, row.key)][row.name] = (row.value, row.type)

    def delete_key(self, hive, key, view) -> bool:
        if any(k[:2] == (hive, view) and k[2].startswith(key + "\\") for k in self.keys):
            raise OSError("the key has subkeys")  # RegDeleteKeyEx refuses, so deepest must go first
        return self.keys.pop((hive, view, key), None) is not None


def test_install_and_uninstall_through_a_writer():
    reg = FakeRegistry()
    other = r"Software\Microsoft\Office\Outlook\Addins\Other.Addin"
    reg.set_value(registration.RegistryRow("HKCU", other, "LoadBehavior", 3, "REG_DWORD", 64))
    written = install_outlook(writer=reg, pythoncom_dll=DLL, python_path=SITE, view=64, check_files=False)
    assert [tuple(r.values()) for r in written] == _addin_rows("HKCU", 64) + _com_rows("HKCU", 64)
    assert reg.keys[("HKCU", 64, ADDIN)]["LoadBehavior"] == (3, "REG_DWORD")
    assert reg.keys[("HKCU", 64, rf"Software\Classes\CLSID\{CLSID}\InprocServer32")][""] == (DLL, "REG_SZ")
    removed = uninstall_outlook(writer=reg, view=64)
    assert {r["key"] for r in removed} == {
        ADDIN,
        rf"Software\Classes\CLSID\{CLSID}",
        *(
            rf"Software\Classes\CLSID\{CLSID}\{s}"
            for s in ("ProgID", "InprocServer32", "PythonCOM", "PythonCOMPath")
        ),
        r"Software\Classes\Mailwarden.OutlookAddin",
        r"Software\Classes\Mailwarden.OutlookAddin\CLSID",
    }
    left = {k[2] for k in reg.keys}
    assert other in left and r"Software\Classes\CLSID" in left  # what is not ours stays
    assert not any("Mailwarden" in k or CLSID in k for k in left)
    assert uninstall_outlook(writer=reg, view=64) == []  # twice is harmless


def test_install_refuses_a_missing_pythoncom_when_asked_to_check(tmp_path):
    from outlook_bridge.install import InstallError

    with pytest.raises(InstallError, match="pythoncom"):
        install_outlook(
            writer=FakeRegistry(), pythoncom_dll=str(tmp_path / "pythoncom312.dll"), check_files=True
        )


def test_install_module_prints_rows_without_writing():
    out = subprocess.run(
        [sys.executable, "-m", "outlook_bridge.install", "--print", "--python-dir", r"C:\Py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    dll = next(r["value"] for r in rows if r["key"].endswith("InprocServer32") and r["name"] == "")
    assert dll == "C:\\Py\\" + registration.pythoncom_dll_name()
    assert {r["hive"] for r in rows} == {"HKCU"}


@pytest.mark.parametrize(
    "mode, send_unchecked, cancel, choice",
    [
        ("open", False, False, "unchecked_sent"),
        ("closed", False, True, "unchecked_cancelled"),
        ("ask", True, False, "unchecked_sent"),
        ("ask", False, True, "unchecked_cancelled"),
    ],
)
def test_when_the_check_cannot_run_the_machines_fail_mode_decides(
    policy_in_force, mode, send_unchecked, cancel, choice
):
    dialog = FakeDialog()
    dialog.send_unchecked = send_unchecked
    guard = make_guard(dialog)
    guard.fail_mode = mode
    assert guard.on_item_send(BrokenMailItem(subject="最低价 offer"), False) is cancel
    [row] = decisions()
    assert (row["verdict"], row["choice"], row["subject"]) == ("unchecked", choice, "最低价 offer")
    asked = [] if mode == "open" else [mode]
    assert [m for m, _ in dialog.unchecked] == asked
    assert all("FakeComError" in reason for _, reason in dialog.unchecked)


def test_ask_without_a_window_holds_the_mail(policy_in_force):
    class NoWindow(FakeDialog):
        def ask_unchecked(self, reason):
            raise RuntimeError("no window either")

    guard = make_guard(NoWindow())
    guard.fail_mode = "ask"
    assert guard.on_item_send(BrokenMailItem(subject="x"), False) is True
    assert decisions()[0]["choice"] == "unchecked_cancelled"


def test_the_fail_mode_comes_from_the_machine_configuration(policy_in_force, monkeypatch):
    from companion import machine_config
    from outlook_bridge import addin

    assert make_guard(FakeDialog()).fail_mode == "open"  # no machine configuration here
    monkeypatch.setattr(
        machine_config,
        "read_machine_config",
        lambda registry=None: machine_config.MachineConfig(policy_fail_mode="closed"),
    )
    assert make_guard(FakeDialog()).fail_mode == "closed"
    monkeypatch.setattr(machine_config, "read_machine_config", lambda registry=None: 1 / 0)
    assert addin._machine_fail_mode() == "open"  # a broken configuration never stops the add-in


def test_the_unchecked_texts_in_both_languages():
    from outlook_bridge.dialog import unchecked_text

    en = unchecked_text("closed", "OSError: boom", "en")
    assert en.startswith("Mailwarden on this computer could not check this mail.") and "not sent" in en
    zh = unchecked_text("ask", "OSError: boom", "zh")
    assert zh.startswith("本机的 Mailwarden 未能检查此邮件。") and "不经检查直接发送" in zh
    assert "boom" not in en + zh  # the technical reason is recorded for IT, not shown
