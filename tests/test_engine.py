"""The policy engine with the default policy: every tier-table row, normalisation, quoted text, roles."""

from __future__ import annotations

import pytest

from companion.errors import PolicyError
from companion.message import Address, Attachment, Field, Message, Span
from companion.parsing.quoted import find_quoted_spans
from companion.policy import PolicyEngine, parse_policy
from companion.policy.loader import default_policy_text


def sent(body: str = "", subject: str = "hello", **kw) -> Message:
    return Message(subject=subject, body=body, quoted=find_quoted_spans(body), direction="sent", **kw)


def rules(verdict) -> set[str]:
    return {f.rule for f in verdict.findings if not f.quoted}


# Every phrase row of the tier table, both languages.
TABLE = [
    (
        "forbidden",
        "offbook.private-deal",
        "block",
        [
            "私下交易",
            "私下折扣",
            "绕过公司",
            "别让公司知道",
            "打到我个人账户",
            "不要走公司账户",
            "keep this between us",
            "bypass the company",
            "off the books",
            "payment to my personal account",
            "don't tell my company",
        ],
    ),
    ("approval", "commit.lowest-price", "warn", ["最低价", "lowest price"]),
    ("approval", "commit.lifetime-warranty", "warn", ["终身保修", "lifetime warranty"]),
    ("approval", "commit.money-back", "warn", ["money-back guarantee", "无条件退款"]),
    ("approval", "commit.flexible-terms", "warn", ["可以通融", "flexible on this clause"]),
    (
        "approval",
        "commit.below-list-price",
        "warn",
        ["比官网价低15%", "比官网价格低 20 %", "12% below list price", "5 percent below the list price"],
    ),
    (
        "approval",
        "payment.bank-change",
        "warn",
        [
            "更改银行账户",
            "新的收款账户",
            "收款账户变更",
            "change of bank account",
            "new bank details",
            "updated bank details",
            "new beneficiary account",
        ],
    ),
    ("approval", "docs.original-invoice", "warn", ["原始发票", "original invoice"]),
    ("info", "info.payments", "pass", ["转账", "汇款", "wire transfer", "remittance"]),
]


@pytest.mark.parametrize(
    "tier,rule,verdict,phrase", [(t, r, v, p) for t, r, v, phrases in TABLE for p in phrases]
)
def test_tier_table_rows(engine, tier, rule, verdict, phrase):
    body = f"Dear customer, 您好。 Regarding the order: {phrase}. Thanks"
    result = engine.check(sent(body))
    found = [f for f in result.findings if f.rule == rule]
    assert found, f"{phrase!r} not flagged as {rule}"
    assert found[0].tier == tier
    assert [f.text for f in found] == [phrase] and body[found[0].start : found[0].end] == phrase
    assert result.verdict == verdict
    assert result.policy_version == "2026.11.1"


def test_offsets_index_the_original_field_text(engine):
    body = "第一行\nWe promise the LOWEST PRICE today."
    f = engine.check(sent(body)).findings[0]
    assert (f.field, body[f.start : f.end], f.text) == (Field("body"), "LOWEST PRICE", "LOWEST PRICE")


def test_clean_mail_passes(engine):
    v = engine.check(sent("Please find the packing list for PO 4471 attached. 谢谢！"))
    assert (v.verdict, v.findings) == ("pass", ())


@pytest.mark.parametrize(
    "text,matched",
    [
        ("ｌｏｗｅｓｔ　ｐｒｉｃｅ", "ｌｏｗｅｓｔ　ｐｒｉｃｅ"),  # full-width + ideographic space
        ("LoWeSt PrIcE", "LoWeSt PrIcE"),  # case folding
        ("最低價", "最低價"),  # traditional -> simplified
        ("終身保修", "終身保修"),
        ("最 低 价", "最 低 价"),  # spaces inside
        ("最\u3000低\u3000价", "最\u3000低\u3000价"),  # ideographic spaces
        ("最\u200b低\u200d价", "最\u200b低\u200d价"),  # zero-width characters
        ("low-est pri-ce", "low-est pri-ce"),  # hyphens
        ("最.低.价", "最.低.价"),  # punctuation inserted
        ("lоwеst price", "lоwеst price"),  # Cyrillic о and е
        ("lοwest price", "lοwest price"),  # Greek ο
        ("l0west price", "l0west price"),  # 0 for o inside a word
        ("1ifetime warranty", "1ifetime warranty"),  # 1 for l inside a word
    ],
)
def test_normalisations_catch_evasion(engine, text, matched):
    body = f"Offer: {text} now"
    findings = engine.check(sent(body)).findings
    assert findings, f"{text!r} not caught"
    assert findings[0].text == matched


@pytest.mark.parametrize(
    "text",
    [
        "the bypass valve is stuck",  # whole words: not "bypass the company"
        "slowest prices ever",  # "lowest price" inside other words
        "the flowest pricey",
        "10 pcs, PO 1010",  # digits outside words stay digits
    ],
)
def test_whole_word_matching_for_latin_phrases(engine, text):
    assert engine.check(sent(text)).findings == ()


def test_latin_phrase_next_to_chinese_still_matches(engine):
    assert rules(engine.check(sent("我们提供lowest price。"))) == {"commit.lowest-price"}


def test_allow_phrase_suppresses_overlapping_match(engine):
    v = engine.check(sent("Sorry, we cannot guarantee the lowest price. 我们不能保证最低价。"))
    assert (v.verdict, v.findings) == ("pass", ())
    # ...but not a match elsewhere in the text
    v = engine.check(sent("We cannot guarantee the lowest price. But lifetime warranty is fine."))
    assert rules(v) == {"commit.lifetime-warranty"}


@pytest.mark.parametrize(
    "reply",
    [
        "Noted.\n\n> keep this between us\n> lowest price",
        "Noted.\n\n-----Original Message-----\nFrom: a\nSent: b\n\nkeep this between us",
        "好的\n\n------------------ 原始邮件 ------------------\n发件人: a\n发送时间: b\n私下交易",
        "Noted.\n\nOn Mon, 2 Nov 2026 at 10:00, Bob <b@x.example> wrote:\nkeep this between us",
        "Noted.\n\nFrom: Bob <b@x.example>\nSent: Monday\nTo: me\nSubject: x\n\nbypass the company",
    ],
)
def test_match_only_in_quoted_text_does_not_raise_the_verdict(engine, reply):
    v = engine.check(sent(reply))
    assert v.findings and all(f.quoted for f in v.findings)
    assert v.verdict == "pass"


def test_unquoted_match_still_counts_beside_quoted_one(engine):
    v = engine.check(sent("keep this between us\n\n> lowest price"))
    assert v.verdict == "block"
    assert {(f.rule, f.quoted) for f in v.findings} == {
        ("offbook.private-deal", False),
        ("commit.lowest-price", True),
    }


def test_subject_and_attachment_text_are_checked(engine):
    m = sent(
        "see attached",
        subject="最低价 offer",
        attachments=(Attachment("terms.txt", "text/plain", 30, "We offer a lifetime warranty."),),
    )
    fields = {(f.field, f.rule) for f in engine.check(m).findings}
    assert fields == {
        (Field("subject"), "commit.lowest-price"),
        (Field("attachment", "terms.txt"), "commit.lifetime-warranty"),
    }


def test_received_mail_is_judged_only_by_rules_marked_for_received(engine):
    body = "Our bank details have changed. We offer the lowest price. keep this between us"
    received = Message(subject="x", body=body, direction="received", sender=Address("a@supplier.example"))
    v = engine.check(received)
    assert rules(v) == {"payment.bank-change"}
    assert v.verdict == "warn"
    assert rules(engine.check(sent(body))) == {
        "payment.bank-change",
        "commit.lowest-price",
        "offbook.private-deal",
    }


def test_info_tier_is_recorded_but_never_raises_the_verdict(engine):
    v = engine.check(sent("Please make the wire transfer today."))
    assert [(f.rule, f.tier) for f in v.findings] == [("info.payments", "info")]
    assert v.verdict == "pass"


def test_role_overrides_change_the_tier(engine):
    body = "This is our lowest price, and we can be flexible on this clause."
    assert engine.check(sent(body)).verdict == "warn"
    v = engine.check(sent(body), role="sales-manager")
    assert {f.tier for f in v.findings} == {"info"} and v.verdict == "pass"
    v = engine.check(sent("Attached the original invoice."), role="finance")
    assert v.findings == ()  # "allowed" for the role: not a finding at all


def test_unknown_role_is_a_clear_error(engine):
    with pytest.raises(PolicyError, match="unknown role 'ceo'.*finance"):
        engine.check(sent("x"), role="ceo")


def _policy_with(**head) -> PolicyEngine:
    text = default_policy_text()
    for key, value in head.items():
        text = text.replace(f"{key} = []", f"{key} = {value}", 1)
    return PolicyEngine(parse_policy(text))


def test_quotation_without_finance_is_active_once_finance_is_named(engine):
    quote = sent(
        "Dear Anna, see attached.",
        subject="Quotation 118",
        to=(Address("anna@buyer.example"),),
        attachments=(Attachment("PI-118.pdf", "application/pdf", 10),),
    )
    assert engine.check(quote).verdict == "pass"  # no finance addresses in the default policy
    configured = _policy_with(finance_addresses='["finance@corp.example"]')
    v = configured.check(quote)
    assert v.verdict == "warn"
    assert [(f.rule, f.field, f.text) for f in v.findings] == [
        ("structure.quotation-without-finance", Field("subject"), "Quotation")
    ]
    with_finance = sent(
        "see attached",
        subject="Quotation 118",
        to=(Address("anna@buyer.example"),),
        cc=(Address("Finance@corp.example"),),
    )
    assert configured.check(with_finance).verdict == "pass"


@pytest.mark.parametrize(
    "subject,attachment,hit",
    [
        ("报价单 2026", None, "报价单"),
        ("形式发票", None, "形式发票"),
        ("Proforma invoice", None, "proforma"),
        ("docs", "PI-2026-118.pdf", "PI"),
        ("api changes", None, None),
        ("Pineapple", None, None),
    ],
)
def test_quotation_markers(subject, attachment, hit):
    configured = _policy_with(finance_addresses='["finance@corp.example"]')
    atts = (Attachment(attachment, "application/pdf", 1),) if attachment else ()
    v = configured.check(sent("x", subject=subject, to=(Address("a@b.example"),), attachments=atts))
    texts = [f.text.lower() for f in v.findings if f.rule == "structure.quotation-without-finance"]
    assert texts == ([hit.lower()] if hit else [])


def test_mass_mailing_counts_external_recipients_only():
    configured = _policy_with(company_domains='["corp.example"]')
    external = tuple(Address(f"buyer{i}@client{i}.example") for i in range(21))
    internal = tuple(Address(f"staff{i}@corp.example") for i in range(30))
    v = configured.check(sent("Season's greetings", bcc=external))
    assert [(f.rule, f.field, f.text) for f in v.findings] == [
        ("structure.mass-mailing", Field("recipients"), "21 external recipients")
    ]
    assert configured.check(sent("Season's greetings", bcc=external[:20] + internal)).verdict == "pass"


def test_many_phrases_one_automaton():
    phrases = ", ".join(f'"secret phrase {i}"' for i in range(2000))
    text = f"""
[policy]
version = "big-1"
[[rule]]
id = "big"
tier = "approval"
category = "x"
explanation = "x"
phrases = [{phrases}]
"""
    engine = PolicyEngine(parse_policy(text))
    v = engine.check(sent("this mentions secret phrase 1999 and secret phrase 7."))
    assert [f.text for f in v.findings] == ["secret phrase 1999", "secret phrase 7"]


def test_message_with_quoted_spans_given_explicitly(engine):
    m = Message(body="lowest price", quoted=(Span(0, 12),))
    assert engine.check(m).findings[0].quoted is True


@pytest.mark.parametrize(
    "subject,quoted",
    [
        ("Re: our bank details have changed", True),
        ("回复：最低价", True),
        ("RE: FW: lowest price", True),
        ("lowest price, re: your mail", False),
        ("最低价", False),
    ],
)
def test_subject_of_a_reply_counts_as_quoted(engine, subject, quoted):
    (finding,) = engine.check(sent("ok", subject=subject)).findings
    assert finding.quoted is quoted
