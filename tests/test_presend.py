"""The shared pre-send check: compose details in, verdict out, the sender's decision recorded."""

from __future__ import annotations

import pytest

from companion.database import Database
from companion.policy import PolicyEngine, parse_policy
from companion.policy.loader import default_policy_text
from companion.presend import ComposeError, check_outgoing, message_from_compose, record_decision


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
    ],
)
def test_bad_compose_details_are_clear_errors(details, message):
    with pytest.raises(ComposeError, match=message):
        message_from_compose(details)


def test_check_hides_info_and_quoted_findings_and_names_the_approvers(engine):
    check = check_outgoing(
        engine,
        {
            "subject": "Offer",
            "to": ["a@buyer.example"],
            "body": "We offer the lowest price. Wire transfer soon.\n\n> keep this between us",
        },
    )
    shown = check.to_dict(engine)
    assert shown["verdict"] == "warn"
    assert [f["rule"] for f in shown["findings"]] == ["commit.lowest-price"]
    assert shown["approvers"] == ["boss@corp.example"]
    sentence = shown["findings"][0]["sentence"]
    assert sentence["text"][sentence["start"] : sentence["end"]] == "lowest price"
    assert shown["findings"][0]["explanation_zh"].startswith("承诺最低价")


def test_quotation_without_finance_names_finance(engine):
    check = check_outgoing(
        engine,
        {
            "subject": "docs",
            "to": ["a@buyer.example"],
            "body": "see attached",
            "attachments": [{"name": "PI-2027-001.pdf"}],
        },
    )
    shown = check.to_dict(engine)
    assert shown["verdict"] == "warn" and shown["approvers"] == ["finance@corp.example"]


def test_decisions_are_recorded_and_listed(engine, db):
    check = check_outgoing(engine, {"subject": "Offer", "to": ["a@buyer.example"], "body": "lowest price"})
    record_decision(db, "thunderbird", check, "justified", justification="approved by phone")
    record_decision(
        db,
        "outlook",
        None,
        "unchecked_sent",
        error="companion not running",
        details={"subject": "x", "to": ["b@c.example"]},
    )
    clean = check_outgoing(engine, {"subject": "hi", "to": ["a@b.example"], "body": "hello"})
    record_decision(db, "thunderbird", clean, "sent")
    rows = db.presend_decisions()
    assert [(r["channel"], r["choice"], r["verdict"]) for r in rows] == [
        ("outlook", "unchecked_sent", "unchecked"),
        ("thunderbird", "justified", "warn"),
    ]
    assert (
        rows[1]["justification"] == "approved by phone"
        and rows[1]["findings"][0]["rule"] == "commit.lowest-price"
    )
    assert len(db.presend_decisions(flagged_only=False)) == 3
    with pytest.raises(ComposeError, match="justification is required"):
        record_decision(db, "thunderbird", check, "justified", justification="  ")
