"""Policy files: validation errors name the file and line; the default policy loads."""

from __future__ import annotations

import pytest

from companion.errors import PolicyError
from companion.policy import load_policy, parse_policy
from companion.policy.model import TIERS

HEAD = '[policy]\nversion = "1"\n'
RULE = '[[rule]]\nid = "r1"\ntier = "approval"\ncategory = "c"\nexplanation = { en = "e", zh = "中" }\nphrases = ["abc"]\n'


def test_default_policy_is_bilingual_and_complete():
    p = load_policy()
    assert p.version == "2026.11.1"
    tiers = {r.tier for r in p.rules} | {s.tier for s in p.structural}
    assert tiers == {"forbidden", "approval", "info"}
    assert p.allow, "allow-phrases (the allowed tier) ship too"
    for rule in p.rules:
        assert rule.explanation.en and rule.explanation.zh and rule.explanation.en != rule.explanation.zh
        if rule.phrases:
            assert any(ch >= "\u4e00" for ph in rule.phrases for ch in ph), f"{rule.id} has no Chinese phrase"
            assert any(ph.isascii() for ph in rule.phrases), f"{rule.id} has no English phrase"
    assert [r.id for r in p.rules if "received" in r.applies_to] == ["payment.bank-change"]
    assert set(TIERS) == {"allowed", "info", "approval", "forbidden"}


@pytest.mark.parametrize(
    "text,message",
    [
        (
            HEAD + RULE.replace('"approval"', '"maybe"'),
            r"policy.toml, line 5: rule 'r1': unknown tier 'maybe'",
        ),
        (HEAD + RULE + "[[rule]]\nid = \n", r"policy.toml, line 10: TOML syntax error"),
        (HEAD + RULE + RULE, r"policy.toml, line 9: rule 'r1': duplicate id"),
        (
            HEAD + RULE.replace('phrases = ["abc"]', 'patterns = ["(unclosed"]'),
            r"policy.toml, line 8: rule 'r1': invalid regular expression",
        ),
        (
            HEAD + RULE.replace('phrases = ["abc"]', 'phrasez = ["abc"]'),
            r"line 3: rule: unknown key 'phrasez'",
        ),
        (
            HEAD + RULE.replace('phrases = ["abc"]', 'phrases = "abc"\napplies_to = ["outgoing"]'),
            r"line 9: rule 'r1': applies_to has 'outgoing'",
        ),
        ('[policy]\nname = "x"\n', r"line 1: \[policy\] needs a 'version'"),
        (RULE, r"missing the \[policy\] table"),
        (
            HEAD + RULE + '[roles.boss]\ntiers = { "nope" = "info" }\n',
            r"line 9: role 'boss': unknown rule 'nope'",
        ),
        (HEAD + RULE.replace('phrases = ["abc"]', 'phrases = ["..."]'), r"phrase '...' has no letters"),
        (
            HEAD + RULE.replace('tier = "approval"\n', 'tier = "approval"\napprover = "ceo"\n'),
            r"line 6: rule 'r1': unknown approver 'ceo'",
        ),
    ],
)
def test_bad_policy_files_name_the_problem_and_line(tmp_path, text, message):
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        from companion.policy import PolicyEngine

        PolicyEngine(load_policy(path))


def test_missing_and_non_utf8_policy_files(tmp_path):
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.toml")
    bad = tmp_path / "gbk.toml"
    bad.write_bytes((HEAD + "# 策略\n").encode("gbk"))
    with pytest.raises(PolicyError, match="line 3: the policy file is not UTF-8"):
        load_policy(bad)


def test_plain_string_explanation_and_roles():
    p = parse_policy(
        HEAD
        + RULE.replace('{ en = "e", zh = "中" }', '"same"')
        + '[roles.boss]\ntiers = { "r1" = "allowed" }\n'
    )
    assert p.rules[0].explanation.get("zh") == "same"
    assert p.roles["boss"].tiers == {"r1": "allowed"}
