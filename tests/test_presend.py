"""The pre-send session: compose details in, the view every client shows out, the sender's decision
validated and recorded."""

from __future__ import annotations

import pytest

from companion.policy import PolicyEngine, parse_policy
from companion.policy.in_force import StaticPolicy
from companion.policy.loader import default_policy_text
from companion.presend import (
    Choice,
    ComposeError,
    Decision,
    DecisionError,
    PresendSession,
    message_from_compose,
    unchecked_stamp,
)
from companion.records import Database, decisions


@pytest.fixture(scope="module")
def engine():
    text = default_policy_text().replace(
        "finance_addresses = []", 'finance_addresses = ["finance@corp.example"]'
    )
    text = text.replace("supervisor_addresses = []", 'supervisor_addresses = ["boss@corp.example"]')
    return PolicyEngine(parse_policy(text))


@pytest.fixture
def db(isolated_home):
    database = Database(isolated_home / "m.db")
    yield database
    database.close()


@pytest.fixture
def session(engine, isolated_home):
    return PresendSession("thunderbird", StaticPolicy(engine), isolated_home / "m.db")


def test_compose_details_become_a_sent_message():
    m = message_from_compose(
        {
            "subject": "报价",
            "body": "",
            "html": "<p>Hi <b>Anna</b></p>",
            "from": "Li Wei <LI@corp.example>",
            "to": ["Anna <anna@buyer.example>"],
            "cc": "x@y.example",
            "attachments": [{"name": "PI-1.pdf", "size": 10}],
        }
    )
    assert (m.direction, m.sender.address, m.body.strip()) == ("sent", "li@corp.example", "Hi Anna")
    assert [a.address for a in m.recipients] == ["anna@buyer.example", "x@y.example"]
    assert m.attachments[0].name == "PI-1.pdf"


@pytest.mark.parametrize(
    "details,message",
    [
        ([], "JSON object"),
        ({"to": 5}, "'to' must be a list"),
        ({"subject": 3}, "must be strings"),
        ({"attachments": [5]}, "attachment"),
        ({"attachments": [{"name": "a", "size": "big"}]}, "'size' must be a number"),
    ],
)
def test_bad_compose_details_are_clear_errors(details, message):
    with pytest.raises(ComposeError, match=message) as raised:
        message_from_compose(details)
    assert (raised.value.code, raised.value.retryable) == ("bad_details", False)


def test_the_view_hides_info_and_quoted_findings_and_names_the_approvers(session):
    check = session.check(
        {
            "subject": "Offer",
            "to": ["a@buyer.example"],
            "body": "We offer the lowest price. Wire transfer soon.\n\n> keep this between us",
        }
    )
    # the engine found the quoted forbidden phrase (it is recorded), the window does not show it
    assert {(f.rule, f.quoted) for f in check.verdict.findings} >= {("offbook.private-deal", True)}
    shown = session.view(check)
    assert shown["verdict"] == "warn"
    assert [f["rule"] for f in shown["findings"]] == ["commit.lowest-price"]
    assert shown["approvers"] == ["boss@corp.example"]
    finding = shown["findings"][0]
    sentence = finding["sentence"]
    assert sentence["text"][sentence["start"] : sentence["end"]] == "lowest price"
    assert finding["explanation"]["zh"].startswith("承诺最低价") and finding["approver"] == "supervisor"
    assert shown["labels"]["tiers"] == {"approval": {"en": "needs approval", "zh": "需审批"}}
    assert shown["stamps"]["justified"] == f"policy 2026.11.1; warn; justified; key={check.key}"


def test_forbidden_findings_come_first_and_name_their_approvers_too(session):
    check = session.check(
        {"to": ["a@buyer.example"], "body": "We offer the lowest price. Keep this between us."}
    )
    view = session.view(check)
    assert [f["tier"] for f in view["findings"]] == ["forbidden", "approval"]
    assert view["verdict"] == "block" and list(view["stamps"]) == []  # a blocked mail never goes


def test_quotation_without_finance_names_finance(session):
    view = session.view(
        session.check(
            {
                "subject": "docs",
                "to": ["a@buyer.example"],
                "body": "see attached",
                "attachments": [{"name": "PI-2027-001.pdf"}],
            }
        )
    )
    assert view["verdict"] == "warn" and view["approvers"] == ["finance@corp.example"]
    [finding] = view["findings"]
    assert finding["field"] == {"kind": "attachment_name", "name": "PI-2027-001.pdf"}


def test_decisions_are_recorded_with_their_findings_and_listed(session, db):
    check = session.check(
        {"subject": "Offer", "to": ["a@buyer.example"], "body": "lowest price"}, check_id="c1"
    )
    justified = session.record(
        Decision.parse({"check_id": "c1", "choice": "justified", "justification": " ok "}), db
    )
    session.record(
        Decision(
            Choice.UNCHECKED_SENT,
            error="companion not running",
            details={"subject": "x", "to": ["b@c.example"]},
        ),
        db,
    )
    clean = session.check({"subject": "hi", "to": ["a@b.example"], "body": "hello"})
    session.record(Decision(Choice.SENT, check_id=clean.id), db)
    rows = decisions.newest(db, None)
    assert [(r["channel"], r["choice"], r["verdict"]) for r in rows] == [
        ("thunderbird", "unchecked_sent", "unchecked"),
        ("thunderbird", "justified", "warn"),
    ]
    row = rows[1]
    assert (row["id"], row["justification"], row["key"]) == (justified, "ok", check.key)
    assert [(f["rule"], f["field"], f["approver"]) for f in row["findings"]] == [
        ("commit.lowest-price", {"kind": "body", "name": ""}, "supervisor")
    ]
    assert row["findings"][0]["explanation"]["zh"].startswith("承诺最低价")
    assert rows[0]["subject"] == "x" and rows[0]["recipients"] == ["b@c.example"]
    assert len(decisions.newest(db, None, noteworthy_only=False)) == 3


def test_the_choice_is_validated_once_for_every_client(session, db):
    for raw, code in [
        ({"choice": "justified", "justification": "  "}, "justification_missing"),
        ({"choice": "shrug"}, "unknown_choice"),
        ({"choice": "sent", "key": "no spaces allowed"}, "bad_decision"),
        ({"choice": "sent", "key": "x" * 101}, "bad_decision"),
        ({"choice": "sent", "justification": 3}, "bad_decision"),
        ({"choice": "sent", "details": []}, "bad_decision"),
        ([], "bad_decision"),
    ]:
        with pytest.raises(DecisionError) as raised:
            Decision.parse(raw)
        assert (raised.value.code, raised.value.retryable) == (code, False), raw
    assert decisions.newest(db, None, noteworthy_only=False) == []


def test_a_key_is_recorded_once_and_a_choice_that_does_not_follow_the_verdict_is_noted(session, db):
    check = session.check({"to": ["a@b.example"], "body": "Keep this between us."}, key="k-1")
    first = session.record(Decision(Choice.SENT, check_id=check.id, key="k-1"), db)
    again = session.record(Decision(Choice.SENT, check_id=check.id, key="k-1"), db)
    assert first == again
    [row] = decisions.by_key(db, "k-1")
    assert row["verdict"] == "block" and "does not follow a 'block' verdict" in row["error"]


def test_a_decision_for_an_unknown_check_is_checked_again_from_its_details(session, db):
    details = {"subject": "Offer", "to": ["a@buyer.example"], "body": "the lowest price"}
    row_id = session.record(Decision(Choice.EDITED, check_id="gone", key="late-1", details=details), db)
    [row] = decisions.by_key(db, "late-1")
    assert row["id"] == row_id and row["verdict"] == "warn"
    assert "checked again from the details" in row["error"]
    unknown = session.record(Decision(Choice.EDITED, check_id="gone-too"), db)
    assert [r["error"] for r in decisions.newest(db, None) if r["id"] == unknown] == [
        "check 'gone-too' is not known to this thunderbird companion"
    ]


def test_stamps_carry_the_key_the_scan_reads_back():
    from companion.mailwarden_header import decision_key

    assert unchecked_stamp("abc-1") == "unchecked; key=abc-1"
    assert decision_key("policy 2026.11.1; warn; justified; key=5f0c.9_d-2") == "5f0c.9_d-2"
    assert decision_key("unchecked; key=abc-1") == "abc-1"
    assert decision_key("policy 1; pass") == decision_key(None) == decision_key("key=a b") == ""
