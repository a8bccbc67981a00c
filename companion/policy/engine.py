"""The one policy engine: every path (scan, CLI, Thunderbird, Outlook) judges mail here.

Phrases of every rule are compiled into one Aho-Corasick automaton over the compact view of the
text (see normalize.py), so matching cost does not grow with the number of phrases; regex rules
run on the regex view. Offsets of findings index the original field text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import ahocorasick

from companion.errors import PolicyError
from companion.message import BODY, RECIPIENTS, SUBJECT, Field, Message
from companion.policy import normalize as nz
from companion.policy.model import AllowRule, Policy, Rule, StructuralRule, Text

VerdictName = Literal["pass", "warn", "block"]


@dataclass(frozen=True)
class Finding:
    rule: str
    tier: str
    category: str
    field: Field
    start: int
    end: int
    text: str
    quoted: bool
    explanation: Text
    approver: str | None = None

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "rule": self.rule,
            "tier": self.tier,
            "category": self.category,
            "field": self.field.to_dict(),
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "quoted": self.quoted,
            "explanation": self.explanation.get(lang),
        }


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictName
    findings: tuple[Finding, ...]
    policy_version: str

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "findings": [f.to_dict(lang) for f in self.findings],
            "policy_version": self.policy_version,
        }


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> VerdictName:
    """block if any unquoted forbidden finding, else warn if any unquoted approval finding, else pass."""
    tiers = {f.tier for f in findings if not f.quoted}
    if "forbidden" in tiers:
        return "block"
    if "approval" in tiers:
        return "warn"
    return "pass"


@dataclass(frozen=True)
class _Entry:
    target: int  # index into PolicyEngine._targets
    length: int  # length of the phrase in the compact view
    latin_start: bool  # whole-word checks apply at a Latin edge
    latin_end: bool


# "Re:", "Fw:", "回复：" ...: what follows was written by someone earlier, like quoted body text.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|回复|答复|转发|回覆|轉寄)\s*[:：]\s*)+", re.IGNORECASE
)


def _hint(hint: str) -> tuple[str, bool]:
    """A hint is looked for like a phrase (compact view) when it has letters or digits, else as
    symbols after width and case folding ("％" finds "%")."""
    compact = nz.compact(hint)
    return (compact, True) if compact else (nz.fold(hint), False)


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class PolicyEngine:
    """A compiled policy. Build once, call `check` for every message (thread-safe: read-only)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._targets: list[Rule | AllowRule] = [*policy.rules, *policy.allow]
        self._automaton = self._compile_phrases()
        self._patterns = [
            (i, tuple(_hint(h) for h in p.hints), re.compile(p.regex))
            for i, t in enumerate(self._targets)
            if isinstance(t, Rule)
            for p in t.patterns
        ]
        self._structural_patterns = {
            s.id: re.compile(s.pattern) for s in policy.structural if s.pattern is not None
        }

    @property
    def version(self) -> str:
        return self.policy.version

    def _compile_phrases(self) -> ahocorasick.Automaton | None:
        entries: dict[str, list[_Entry]] = {}
        for index, target in enumerate(self._targets):
            for phrase in target.phrases:
                key = nz.compact(phrase)
                if not key:
                    raise PolicyError(
                        f"{self.policy.source}: rule '{target.id}': phrase {phrase!r} has no letters to match"
                    )
                entry = _Entry(index, len(key), _is_latin(key[0]), _is_latin(key[-1]))
                bucket = entries.setdefault(key, [])
                if all(e.target != index for e in bucket):
                    bucket.append(entry)
        if not entries:
            return None
        automaton = ahocorasick.Automaton()
        for key, bucket in entries.items():
            automaton.add_word(key, tuple(bucket))
        automaton.make_automaton()
        return automaton

    # -- matching one text ------------------------------------------------------------------

    def match_text(self, text: str) -> list[tuple[int, int, int]]:
        """(target index, start, end) of every phrase and pattern match in `text`, original offsets."""
        found: list[tuple[int, int, int]] = []
        if not text:
            return found
        folded = nz.Folded(text)  # both views share one fold of the text
        if self._automaton is not None:
            compact = folded.view(nz.COMPACT)
            for end, bucket in self._automaton.iter(compact.value):
                for entry in bucket:
                    start, stop = compact.original(end - entry.length + 1, end + 1)
                    if entry.latin_start and not nz.word_boundary_before(text, start):
                        continue
                    if entry.latin_end and not nz.word_boundary_after(text, stop):
                        continue
                    found.append((entry.target, start, stop))
        regex = None  # made only when some pattern may match
        for index, hints, pattern in self._patterns:
            if hints and not any(folded.contains(h, in_compact) for h, in_compact in hints):
                continue  # none of the rule's literal hints is there: the pattern cannot match
            regex = regex or folded.view(nz.REGEX)
            for m in pattern.finditer(regex.value):
                if m.end() > m.start():
                    found.append((index, *regex.original(m.start(), m.end())))
        return found

    def _field_findings(
        self, message: Message, field: Field, text: str, role_tiers: dict[str, str]
    ) -> list[Finding]:
        matches = self.match_text(text)
        if not matches:
            return []
        allowed = [(s, e) for i, s, e in matches if isinstance(self._targets[i], AllowRule)]
        spans: dict[int, list[tuple[int, int]]] = {}
        for index, start, end in matches:
            target = self._targets[index]
            if not isinstance(target, Rule) or message.direction not in target.applies_to:
                continue
            if any(s < end and start < e for s, e in allowed):
                continue
            spans.setdefault(index, []).append((start, end))
        findings = []
        inherited = _REPLY_PREFIX.match(text) is not None if field == SUBJECT else False
        for index, rule_spans in spans.items():
            rule = self._targets[index]
            tier = role_tiers.get(rule.id, rule.tier)
            if tier == "allowed":
                continue
            for start, end in _merge(rule_spans):
                quoted = inherited or (field == BODY and message.is_quoted(start, end))
                findings.append(
                    Finding(
                        rule.id,
                        tier,
                        rule.category,
                        field,
                        start,
                        end,
                        text[start:end],
                        quoted,
                        rule.explanation,
                        rule.approver,
                    )
                )
        return findings

    # -- structural rules -------------------------------------------------------------------

    def _structural_findings(self, message: Message, role_tiers: dict[str, str]) -> list[Finding]:
        findings: list[Finding] = []
        if message.direction != "sent":
            return findings
        recipients = {a.address.lower() for a in message.recipients}
        for rule in self.policy.structural:
            tier = role_tiers.get(rule.id, rule.tier)
            if tier == "allowed":
                continue
            if rule.kind == "quotation_without_finance":
                finance = set(self.policy.finance_addresses)
                if not finance or finance & recipients:
                    continue
                hit = self._quotation_hit(rule, message)
                if hit:
                    field, start, end, text = hit
                    findings.append(
                        Finding(
                            rule.id,
                            tier,
                            rule.category,
                            field,
                            start,
                            end,
                            text,
                            False,
                            rule.explanation,
                            rule.approver,
                        )
                    )
            elif rule.kind == "mass_mailing":
                external = {a for a in recipients if not self.policy.is_internal(a)}
                if len(external) > rule.max_external:
                    findings.append(
                        Finding(
                            rule.id,
                            tier,
                            rule.category,
                            RECIPIENTS,
                            0,
                            0,
                            f"{len(external)} external recipients",
                            False,
                            rule.explanation,
                            rule.approver,
                        )
                    )
        return findings

    def _quotation_hit(self, rule: StructuralRule, message: Message) -> tuple[Field, int, int, str] | None:
        pattern = self._structural_patterns[rule.id]
        candidates = [(SUBJECT, message.subject)]
        candidates += [(Field("attachment_name", a.name), a.name) for a in message.attachments]
        for field, text in candidates:
            if not text:
                continue
            view = nz.regex_view_of(text)
            m = pattern.search(view.value)
            if m and m.end() > m.start():
                start, end = view.original(m.start(), m.end())
                return field, start, end, text[start:end]
        return None

    # -- the verdict ------------------------------------------------------------------------

    def check(self, message: Message, role: str | None = None) -> Verdict:
        """Judge `message` by its direction: sent mail by every rule, received mail by the rules
        the policy marks for received mail."""
        role_tiers = self._role_tiers(role)
        findings = self._field_findings(message, SUBJECT, message.subject, role_tiers)
        findings += self._field_findings(message, BODY, message.body, role_tiers)
        for attachment in message.attachments:
            if attachment.text:
                findings += self._field_findings(
                    message, Field("attachment", attachment.name), attachment.text, role_tiers
                )
        findings += self._structural_findings(message, role_tiers)
        findings = tuple(findings)
        return Verdict(verdict_of(findings), findings, self.policy.version)

    def _role_tiers(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        try:
            return self.policy.roles[role].tiers
        except KeyError:
            known = ", ".join(sorted(self.policy.roles)) or "none"
            raise PolicyError(f"unknown role '{role}' (roles in this policy: {known})") from None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping matches of one rule become one finding spanning them all."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
