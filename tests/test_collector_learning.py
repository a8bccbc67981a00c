"""Learning from appeals (the data side), on both backends: the false-flag rate per rule, and an
upheld appeal turned into an allow-phrase in a new policy draft that the workstation accepts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from collector.learning import add_allow_phrase, bumped_version, exception_phrase
from collector.service import CollectorError, version_key
from tests.collector_fixtures import *  # noqa: F403
from tests.collector_fixtures import Server, Workstation, summary_payload


def _event(
    rule: str,
    message: str,
    snippet: str = "…we guarantee the »lowest price« for this order…",
    quoted: bool = False,
) -> dict:
    return {
        "rule": rule,
        "tier": "approval",
        "category": "commitment",
        "at": "2026-11-24T09:00:00+00:00",
        "direction": "sent",
        "source": "scan",
        "counterpart_domain": "buyer.example",
        "snippet": snippet,
        "quoted": quoted,
        "message_hash": hashlib.sha256(message.encode()).hexdigest(),
    }


def _upload_events(ws: Workstation, events: list[dict]) -> None:
    payload = summary_payload(ws.device_id, ws.seq + 1, ws.last_hash, events=events)
    r = ws.upload(payload)
    assert r.status_code == 200, r.text


def _appeal(srv: Server, ws: Workstation, appeal_id: int, rule: str, message: str) -> int:
    payload = {
        "type": "appeal",
        "schema": 1,
        "device_id": ws.device_id,
        "appeal_id": appeal_id,
        "message_hash": hashlib.sha256(message.encode()).hexdigest(),
        "rule": rule,
        "reason": "false_positive",
        "comment": "",
        "filed_at": "2026-11-24T10:00:00+00:00",
    }
    assert ws.post("appeals", payload).json()["status"] == "accepted"
    [row] = [
        a for a in srv.collector.appeals() if a["device_id"] == ws.device_id and a["appeal_id"] == appeal_id
    ]
    return row["id"]


def test_false_flag_rate_per_rule(server):
    coll = server.collector
    sales, logistics = server.enrolled("sales"), server.enrolled("logistics")
    # Four messages flagged by commit.lowest-price (m1 seen by the scan and the pre-send check:
    # still one flagged message), two by payment.bank-change.
    _upload_events(sales, [_event("commit.lowest-price", m) for m in ("m1", "m1", "m2", "m3")])
    _upload_events(
        logistics,
        [
            _event("commit.lowest-price", "m4"),
            _event("payment.bank-change", "m5"),
            _event("payment.bank-change", "m6"),
        ],
    )
    upheld = _appeal(server, sales, 1, "commit.lowest-price", "m1")
    rejected = _appeal(server, sales, 2, "commit.lowest-price", "m2")
    _appeal(server, logistics, 1, "payment.bank-change", "m5")
    coll.decide_appeal(upheld, "upheld", "quoting the buyer", "alice")
    coll.decide_appeal(rejected, "rejected", "a real promise", "alice")

    rates = coll.false_flag_rates()
    assert rates == [
        {
            "rule": "commit.lowest-price",
            "flags": 4,
            "appeals": 2,
            "upheld": 1,
            "rejected": 1,
            "pending": 0,
            "false_flag_rate": 0.25,
            "upheld_share": 0.5,
        },
        {
            "rule": "payment.bank-change",
            "flags": 2,
            "appeals": 1,
            "upheld": 0,
            "rejected": 0,
            "pending": 1,
            "false_flag_rate": 0.0,
            "upheld_share": None,
        },
    ]
    [sales_only] = coll.false_flag_rates(department="sales")
    assert sales_only["flags"] == 3 and sales_only["false_flag_rate"] == pytest.approx(1 / 3)
    # Nothing happened after tomorrow; an appeal without any flag left (purged) reads as no rate.
    assert coll.false_flag_rates(since=datetime.now(UTC) + timedelta(days=1)) == []
    assert coll.false_flag_rates(department="nobody") == []


POLICY = """[policy]
version = "2026.12.9"
name = "Trade"

[categories]
commitment = { en = "Commitments", zh = "承诺" }

[[rule]]
id = "commit.lowest-price"
tier = "approval"
category = "commitment"
explanation = "Promising the lowest price needs approval."
phrases = ["lowest price"]

[[allow]]
id = "allow.x"
phrases = ["x"]

[roles.finance]
tiers = { "commit.lowest-price" = "info" }
"""


def test_upheld_appeal_becomes_an_allow_phrase_in_a_draft(server):
    from companion.policy import parse_policy

    coll = server.collector
    ws = server.enrolled("sales")
    _upload_events(
        ws, [_event("commit.lowest-price", "m1"), _event("offbook.private-deal", "m1", "»off-book«")]
    )
    pk = _appeal(server, ws, 7, "commit.lowest-price", "m1")
    with pytest.raises(CollectorError) as exc:
        coll.draft_exception(pk)
    assert exc.value.code == "not_upheld"
    coll.decide_appeal(pk, "upheld", "quoted from the buyer's mail", "alice")
    with pytest.raises(CollectorError) as exc:
        coll.draft_exception(pk)
    assert exc.value.code == "no_policy"
    with pytest.raises(CollectorError) as exc:
        coll.draft_exception(10_000)
    assert exc.value.status == 404

    coll.publish_policy(POLICY)
    draft = coll.draft_exception(pk)
    assert draft["version"] == "2026.12.10" and draft["based_on"] == "2026.12.9"
    assert (
        draft["phrase"] == "guarantee the lowest price for this" and draft["allow_id"] == f"allow.appeal-{pk}"
    )
    assert coll.current_policy()["version"] == "2026.12.9"  # a draft, not published
    policy = parse_policy(draft["policy"], "draft")  # the workstation's own parser accepts it
    assert policy.version == "2026.12.10"
    assert [(a.id, a.phrases) for a in policy.allow] == [
        ("allow.x", ("x",)),
        (f"allow.appeal-{pk}", ("guarantee the lowest price for this",)),
    ]
    assert policy.roles["finance"].tiers == {"commit.lowest-price": "info"}  # the rest is untouched
    assert "upheld by alice: quoted from the buyer's mail" in draft["policy"]
    assert coll.publish_policy(draft["policy"])["version"] == "2026.12.10"
    # The same appeal cannot be added twice; a reviewer may give the phrase and the base text.
    with pytest.raises(CollectorError) as exc:
        coll.draft_exception(pk)
    assert exc.value.status == 400 and "already" in exc.value.message
    own = coll.draft_exception(pk, phrase="  lowest  price quoted ", base_text=POLICY)
    assert own["phrase"] == "lowest price quoted" and own["version"] == "2026.12.11"  # newer than in force


def test_no_usable_snippet_needs_a_phrase(server):
    coll = server.collector
    ws = server.enrolled()
    _upload_events(
        ws,
        [
            _event("commit.lowest-price", "m1", snippet="»lo*****rice«"),
            _event("commit.lowest-price", "m1", snippet=""),
        ],
    )
    pk = _appeal(server, ws, 1, "commit.lowest-price", "m1")
    coll.decide_appeal(pk, "upheld", "", "alice")
    coll.publish_policy(POLICY)
    with pytest.raises(CollectorError) as exc:
        coll.draft_exception(pk)
    assert exc.value.code == "no_phrase"
    assert coll.draft_exception(pk, phrase="lowest price")["phrase"] == "lowest price"


@pytest.mark.parametrize(
    ("snippet", "phrase"),
    [
        ("…we guarantee the »lowest price« for this order…", "guarantee the lowest price for this"),
        ("»lowest price«", "lowest price"),
        ("Call ***** now. We guarantee the »lowest price«! Thanks", "we guarantee the lowest price"),
        ("…ee 我们保证»最低价«，请尽快下单。谢谢", "我们保证最低价"),
        ("Dear buyer, as agreed we »guarantee« it, really", "as agreed we guarantee it"),
        ("»lo***«", None),
        # Placeholders of masked personal data end the context like a mask did.
        ("…[姓名]说我们保证»最低价«给[公司]…", "说我们保证最低价给"),
        ("…told [name] we offer the »lowest price« to [company] now", "we offer the lowest price to"),
        ("»[name]«", None),
        ("no mark at all", None),
        ("»«", None),
    ],
)
def test_exception_phrase(snippet, phrase):
    assert exception_phrase(snippet) == phrase


def test_versions_and_drafts_without_a_database():
    def newer(a: str, b: str) -> bool:
        return version_key(a) > version_key(b)

    assert bumped_version("2026.11.9", newer) == "2026.11.10"
    assert bumped_version("demo-2026.11.9", newer) == "demo-2026.11.9.1"  # "…10" sorts before "…9" as text
    assert bumped_version("beta", newer) == "beta.1"
    with pytest.raises(ValueError):
        add_allow_phrase("[rules]\n", "2", "allow.a", "p", "")
    with pytest.raises(ValueError):
        add_allow_phrase('[policy]\nname = "x"\n', "2", "allow.a", "p", "")
    text = add_allow_phrase('[policy]\nversion = "1"\n', "2", "allow.a", 'say "hi"\\', "line\nbreak")
    assert (
        text
        == '[policy]\nversion = "2"\n\n# line break\n[[allow]]\nid = "allow.a"\nphrases = ["say \\"hi\\"\\\\"]\n'
    )
