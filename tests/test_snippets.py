"""Snippets: the flagged phrase and a few words of its clause, nothing personal (companion.snippets)."""

from __future__ import annotations

import pytest

from companion.errors import PolicyError
from companion.pii import People
from companion.policy import load_policy, parse_policy
from companion.policy.loader import default_policy_text
from companion.policy.model import SnippetRules
from companion.snippets import SNIPPET_MAX, snippet


def snip(text: str, phrase: str, field: str = "body", **kw) -> str:
    start = text.index(phrase)
    return snippet(text, field, start, start + len(phrase), phrase, **kw)


def test_a_few_words_of_the_clause_and_no_further() -> None:
    text = (
        "Dear Tom,\nAs agreed on the phone we guarantee the lowest price in town; call me at 13812345678.\n"
    )
    assert snip(text, "lowest price") == "…phone we guarantee the »lowest price« in town…"
    zh = "王总您好：\n上次电话里说的，这批货我们保证给贵司全网最低价，货款请打到我个人账户6222021234567890123。\n"
    assert snip(zh, "全网最低价") == "…货我们保证给贵司»全网最低价«…"
    assert snip(zh, "打到我个人账户") == "…货款请»打到我个人账户«[账号]…"


def test_the_window_follows_the_policy() -> None:
    text = "one two three four five six lowest price a b c d e f"
    assert snip(text, "lowest price", rules=SnippetRules(latin_words=2)) == "…five six »lowest price« a b…"
    assert snip(text, "lowest price", rules=SnippetRules(latin_words=0)) == "…»lowest price«…"
    assert snip(text, "lowest price", rules=SnippetRules(enabled=False)) == ""
    zh = "一二三四五六七八九十最低价十九八七六五四三二一"
    assert snip(zh, "最低价", rules=SnippetRules(cjk_chars=3)) == "…八九十»最低价«十九八…"


def test_no_context_on_header_lines_signatures_or_an_attachments_first_line() -> None:
    quoted = "See below.\n\nFrom: 李娜 <lina@huadong.com>\nSubject: lowest price for Huadong\n"
    assert snip(quoted, "lowest price") == "»lowest price«"
    signed = "Thanks.\n\nBest regards,\nTom Hughes\nLifetime warranty on every sink\n"
    assert snip(signed, "Lifetime warranty") == "»Lifetime warranty«"
    attached = "Re: lowest price for Mr Wang\n\nWe can offer the lowest price this month."
    assert snip(attached, "lowest price", field="attachment:fw.eml") == "»lowest price«"
    later = attached.index("lowest price", 10)
    assert (
        snippet(attached, "attachment:fw.eml", later, later + 12, "lowest price")
        == "…We can offer the »lowest price« this month…"
    )
    assert snippet("Lowest price for Mr Wang", "subject", 0, 12, "Lowest price") == "»Lowest price«"


def test_names_around_the_phrase_become_placeholders_in_the_snippets_language() -> None:
    people = People.of([("fang.li@acme.cn", "李芳"), ("tom@harbour.co.uk", "Tom Hughes")])
    assert snip("芳姐说我们给全网最低价。", "全网最低价", people=people) == "[姓名]说我们给»全网最低价«…"
    assert snip("Tom said the lowest price is ours.", "lowest price", people=people) == (
        "[name] said the »lowest price« is ours…"
    )


def test_the_phrase_keeps_its_words_but_loses_its_numbers() -> None:
    text = "请汇到我个人账户 6222 0212 3456 7890 123 即可"
    start = text.index("汇到")
    assert snippet(text, "body", start, len(text) - 3, text[start:-3]) == "请»汇到我个人账户 [账号]« 即可"
    assert snippet(None, "body", 0, 0, "pay to my personal account 6222021234567890123") == (
        "»pay to my personal account [account]«"
    )


def test_long_matches_stay_within_the_limit() -> None:
    text = "x " + "lowest price " * 30 + "y"
    out = snippet(text, "body", 2, len(text) - 2, text[2:-2])
    assert len(out) <= SNIPPET_MAX and out.startswith("»lowest price") and out.endswith("…«")


def test_snippet_rules_in_the_policy() -> None:
    assert load_policy().snippets == SnippetRules(True, 8, 4)
    text = (
        default_policy_text()
        .replace("cjk_chars = 8", "cjk_chars = 12")
        .replace("enabled = true", "enabled = false")
    )
    assert parse_policy(text).snippets == SnippetRules(False, 12, 4)
    for bad, message in (
        ("cjk_chars = 99", "cjk_chars must be a whole number from 0 to 40"),
        ("latin_words = -1", "latin_words must be a whole number from 0 to 20"),
        ('enabled = "yes"', "enabled must be true or false"),
        ("context = 3", "unknown key 'context'"),
    ):
        key = bad.split(" ")[0]
        line = (
            "cjk_chars = 8"
            if key in ("cjk_chars", "context")
            else f"{key} = " + ("4" if key == "latin_words" else "true")
        )
        broken = default_policy_text().replace(line, bad)
        with pytest.raises(PolicyError, match=message) as err:
            parse_policy(broken, "p.toml")
        assert "p.toml, line" in str(err.value)


def test_the_managers_view_reads_the_new_snippets() -> None:
    from collector.dashboard.masking import manager_snippet

    zh = snip("芳姐说我们给全网最低价。", "全网最低价", people=People.of([("f@acme.cn", "李芳")]))
    assert manager_snippet(zh) == "…»全网最低价«…"
    assert (
        manager_snippet(snip("请打到我个人账户6222021234567890123。", "打到我个人账户"))
        == "…»打到我个人账户«…"
    )
    assert manager_snippet("") == ""  # a quoted event
