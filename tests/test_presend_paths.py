"""One set of mails through the three pre-send paths: the agent's local API (real HTTP on 127.0.0.1),
the Thunderbird native host (a real process speaking native messaging) and the Outlook add-in
(SendGuard over fakes of the Outlook object model). The same mail must get the same verdict, findings
and approvers everywhere, and the decisions recorded must be alike; then the user's role changes in
config.toml and all three follow it at the next check.

Also here: the extension's copies of the companion's words (choices, the unchecked stamp) agree with
the Python ones."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
from typing import Any

import pytest

from companion.agent.api import MailwardenAPI
from companion.agent.client import AgentClient, AgentInfo
from companion.agent.server import AgentServer
from companion.config import Paths
from companion.parsing.attachments import extract_text
from companion.presend import Choice, PresendSession, unchecked_stamp
from companion.records import Database, decisions
from outlook_bridge.addin import HEADER_PROPERTY, SendGuard
from outlook_bridge.decision import WarnAnswer
from tests.conftest import REPO
from tests.mailfactory import docx_bytes, pdf_bytes
from tests.test_native_host import HostProcess, policy_text
from tests.test_outlook_bridge import Attachment, MailItem, Recipient

SENDER = "li.wei@corp.example"


@pytest.fixture
def home(isolated_home) -> Paths:
    paths = Paths(isolated_home).ensure()
    text = policy_text().replace("company_domains = []", 'company_domains = ["corp.example"]')
    paths.policy.write_text(text, encoding="utf-8")
    return paths


# What each mail is: subject, body (plain, or HTML when the body is empty), To, Cc, attachments
# as (file name, bytes). Written the way people write, in both languages.
MAILS: dict[str, dict[str, Any]] = {
    "clean": dict(
        subject="PO 4711 packing list",
        body="Dear Anna,\nplease find the packing list for PO 4711 attached.\nBest regards, Li Wei",
        to=["Anna <anna@buyer.example>"],
        attachments=[("packing-list.txt", b"carton;pcs\n1;120\n2;120\n")],
    ),
    "lowest price": dict(
        subject="Re: valves DN50",
        body="Hi Tom,\nfor 500 valves we can give you the lowest price in the market.\nLi",
        to=["Tom <tom@buyer.example>"],
    ),
    "off-book, in Chinese": dict(
        subject="回复：返点",
        body="王总您好：\n这笔返点我们私下处理，请打到我个人账户，不要走公司账。\n李伟",
        to=["王总 <wang@client-sz.example>"],
    ),
    "quotation without finance": dict(
        subject="Quotation 2027-118",
        body="Dear Anna,\nattached is our proforma invoice.\nBest regards",
        to=["anna@buyer.example"],
        attachments=[("PI-2027-118.pdf", pdf_bytes(["Proforma invoice 2027-118", "Unit price USD 12.50"]))],
    ),
    "forbidden in a Word attachment": dict(
        subject="Memo",
        body="Please see the memo.",
        to=["tom@buyer.example"],
        attachments=[("memo.docx", docx_bytes(["About the rebate: please keep this between us."]))],
    ),
    "quoted forbidden text": dict(
        subject="Re: order",
        body="Thank you, we will check and come back to you.\n\n-----Original Message-----\n"
        "From: Anna\nSent: Monday\n\nCan you keep this between us and pay to my personal account?",
        to=["anna@buyer.example"],
    ),
    "approval and forbidden together": dict(
        subject="Offer",
        body="We guarantee the lowest price and a lifetime warranty. Keep this between us.",
        to=["anna@buyer.example"],
        cc=["sales@corp.example"],
    ),
    "HTML only": dict(
        subject="报价",
        html="<p>您好，</p><p>我们保证<b>全网最低价</b>，欢迎下单。</p>",
        to=["anna@buyer.example"],
    ),
}


def thunderbird_details(mail: dict[str, Any]) -> dict[str, Any]:
    """What the extension sends: attachment bytes as base64 (the host extracts the text)."""
    return {
        "subject": mail["subject"],
        "body": mail.get("body", ""),
        "html": mail.get("html", ""),
        "from": f"Li Wei <{SENDER}>",
        "to": mail["to"],
        "cc": mail.get("cc", []),
        "attachments": [
            {"name": n, "content_type": "", "size": len(d), "data_base64": base64.b64encode(d).decode()}
            for n, d in mail.get("attachments", [])
        ],
    }


def api_details(mail: dict[str, Any]) -> dict[str, Any]:
    """What a client of the local API sends: the attachments' text (extracted as the companion does)."""
    return {
        **thunderbird_details(mail),
        "attachments": [
            {"name": n, "size": len(d), "text": extract_text(n, "", d)[0]}
            for n, d in mail.get("attachments", [])
        ],
    }


def outlook_item(mail: dict[str, Any]) -> MailItem:
    kinds = [(1, a) for a in mail["to"]] + [(2, a) for a in mail.get("cc", [])]
    recipients = [Recipient(a, a, kind, smtp=a.rpartition("<")[2].rstrip(">")) for kind, a in kinds]
    return MailItem(
        subject=mail["subject"],
        body=mail.get("body", ""),
        html=mail.get("html", ""),
        recipients=recipients,
        attachments=[Attachment(n, d) for n, d in mail.get("attachments", [])],
        sender_address=SENDER,
        account=SENDER,
    )


def same(view: dict[str, Any]) -> dict[str, Any]:
    """What must be identical whatever the path (ids and keys are per check)."""
    return {k: v for k, v in view.items() if k not in ("check_id", "key", "stamps", "notes")}


class RecordingSession(PresendSession):
    """The add-in's pre-send session, keeping each view it made (the window shows only some)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.views: list[dict[str, Any]] = []

    def view(self, check):
        view = super().view(check)
        self.views.append(view)
        return view


class Dialog:
    """The sender of every path answers a warning the same way: with a justification."""

    def ask_warn(self, view):
        return WarnAnswer.justify("approved by Mr Zhang")

    def show_block(self, view):
        pass


def run_all(home: Paths, client: AgentClient, host: HostProcess) -> dict[str, dict[str, dict[str, Any]]]:
    """Each mail through the three paths; the views by mail and path. Each path records the
    decision its sender made (justified when warned, blocked, or sent)."""
    from companion.policy.in_force import PolicyInForce

    session = RecordingSession("outlook", PolicyInForce(home), home.database)
    guard = SendGuard(session, Dialog(), "open")
    views: dict[str, dict[str, dict[str, Any]]] = {}
    for n, (name, mail) in enumerate(MAILS.items()):
        api = client.check(api_details(mail))
        host_view = host.ask({"type": "check", "id": f"c-{n}", "details": thunderbird_details(mail)})
        assert host_view.pop("type") == "verdict" and host_view.pop("id") == f"c-{n}"
        item = outlook_item(mail)
        guard.on_item_send(item, False)
        outlook = session.views[-1]
        choice = {"pass": "sent", "warn": "justified", "block": "blocked"}[api["verdict"]]
        decision = {
            "choice": choice,
            "justification": "approved by Mr Zhang" if choice == "justified" else "",
        }
        client.record_decision({"check_id": api["check_id"], **decision})
        recorded = host.ask({"type": "decision", "id": f"d-{n}", "check_id": f"c-{n}", **decision})
        assert recorded["type"] == "recorded", recorded
        # the mail Outlook sends carries the key of the decision the add-in recorded
        if choice != "blocked":
            assert item.PropertyAccessor.props[HEADER_PROPERTY] == outlook["stamps"][choice]
        views[name] = {"api": api, "thunderbird": host_view, "outlook": outlook}
    return views


@pytest.fixture
def paths_up(home):
    server = AgentServer(MailwardenAPI(home), token := secrets.token_urlsafe(16))
    server.start()
    host = HostProcess(home.home)
    try:
        yield AgentClient(AgentInfo(0, server.port, token)), host
    finally:
        host.kill()
        server.stop()


def test_one_set_of_mails_gets_the_same_answers_through_the_api_the_host_and_outlook(home, paths_up):
    client, host = paths_up
    views = run_all(home, client, host)
    for name, by_path in views.items():
        api = same(by_path["api"])
        assert same(by_path["thunderbird"]) == api, name
        assert same(by_path["outlook"]) == api, name
    # what the set covers: every verdict, both approvers, findings in attachments and in HTML
    verdicts = {name: v["api"]["verdict"] for name, v in views.items()}
    assert verdicts == {
        "clean": "pass",
        "lowest price": "warn",
        "off-book, in Chinese": "block",
        "quotation without finance": "warn",
        "forbidden in a Word attachment": "block",
        "quoted forbidden text": "pass",
        "approval and forbidden together": "block",
        "HTML only": "warn",
    }
    assert views["lowest price"]["api"]["approvers"] == ["boss@corp.example"]
    assert views["quotation without finance"]["api"]["approvers"] == ["finance@corp.example"]
    together = views["approval and forbidden together"]["api"]["findings"]
    assert [f["tier"] for f in together] == ["forbidden", "approval", "approval"]
    word = views["forbidden in a Word attachment"]["outlook"]["findings"]
    assert word[0]["field"] == {"kind": "attachment", "name": "memo.docx"}
    assert views["quoted forbidden text"]["thunderbird"]["findings"] == []

    # and what each path recorded is alike: same verdicts, choices and findings
    assert host.close() == 0
    db = Database(home.database)
    try:
        rows = decisions.newest(db, None, noteworthy_only=False)
    finally:
        db.close()
    by_channel: dict[str, list] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        by_channel.setdefault(row["channel"], []).append(
            (
                row["subject"],
                row["verdict"],
                row["choice"],
                row["recipients"],
                [f["rule"] for f in row["findings"]],
            )
        )
    assert set(by_channel) == {"api", "thunderbird", "outlook"}
    assert by_channel["api"] == by_channel["thunderbird"] == by_channel["outlook"]
    assert len(by_channel["api"]) == len(MAILS)


def test_a_role_set_in_config_toml_applies_to_every_path_at_the_next_check(home, paths_up):
    client, host = paths_up
    before = run_all(home, client, host)["lowest price"]
    assert {v["verdict"] for v in before.values()} == {"warn"}
    home.config.write_text('role = "sales-manager"\n', encoding="utf-8")  # may promise the lowest price
    after = run_all(home, client, host)
    assert {path: v["verdict"] for path, v in after["lowest price"].items()} == dict.fromkeys(
        ("api", "thunderbird", "outlook"), "pass"
    )
    assert {v["role"] for v in after["lowest price"].values()} == {"sales-manager"}
    assert same(after["off-book, in Chinese"]["api"]) == same(after["off-book, in Chinese"]["outlook"])


# -- the extension's copies -------------------------------------------------------------------


def _node(script: str) -> Any:
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_extension_speaks_the_companions_words():
    ext = (REPO / "thunderbird_ext" / "background").as_uri()
    got = _node(
        f'import {{ CHOICE }} from "{ext}/vocabulary.js";'
        f'import {{ uncheckedStamp }} from "{ext}/header.js";'
        'console.log(JSON.stringify({choices: Object.values(CHOICE), stamp: uncheckedStamp("5f0c-1")}));'
    )
    assert got == {"choices": [c.value for c in Choice], "stamp": unchecked_stamp("5f0c-1")}


def test_no_copy_of_the_tier_labels_the_readable_formats_or_the_fail_modes_is_left_in_the_extension():
    ext = REPO / "thunderbird_ext"
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in ext.rglob("*") if p.suffix in (".js", ".json", ".html")
    )
    for copy in (
        "tierForbidden",
        "tierApproval",
        "docx|xlsx",
        "txt|csv",
        '["ask", "open", "closed"]',
        'value="closed"',
    ):
        assert copy not in text, copy


def test_the_catalogues_tier_names_are_the_policy_models():
    """The windows of the pre-send paths take tier labels from the view (companion.policy.model); the
    CLI, the tray and the dashboard from the message catalogue: both must say the same words."""
    from companion.i18n import t
    from companion.policy.model import TIER_LABELS, TIERS

    assert list(TIER_LABELS) == list(TIERS)
    for tier, labels in TIER_LABELS.items():
        assert {lang: t(f"tier.{tier}", lang) for lang in ("en", "zh")} == labels
