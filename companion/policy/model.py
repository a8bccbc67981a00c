"""What a policy is: rules with tiers, allow-phrases, structural rules, roles and the company's addresses."""

from __future__ import annotations

from dataclasses import dataclass, field

# Ordered from least to most severe.
TIERS = ("allowed", "info", "approval", "forbidden")
TIER_LABELS = {
    "allowed": {"en": "allowed", "zh": "可承诺"},
    "info": {"en": "info", "zh": "记录"},
    "approval": {"en": "needs approval", "zh": "需审批"},
    "forbidden": {"en": "forbidden", "zh": "绝对禁止"},
}
DIRECTIONS = ("sent", "received")
APPROVERS = ("finance", "supervisor")
STRUCTURAL_KINDS = ("quotation_without_finance", "mass_mailing")


@dataclass(frozen=True)
class Text:
    """A bilingual string: English and Simplified Chinese."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Pattern:
    """A regular expression, matched on the regex view. `hints`: literal strings one of which must
    be in the text for the expression to run at all (a speed hint; none = always run)."""

    regex: str
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    tier: str
    category: str
    explanation: Text
    phrases: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    applies_to: tuple[str, ...] = ("sent",)
    approver: str | None = None  # who may approve an `approval` finding: "finance" or "supervisor"


@dataclass(frozen=True)
class AllowRule:
    """Allow-phrases (可承诺): a match of one suppresses any finding it overlaps."""

    id: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class StructuralRule:
    id: str
    kind: str
    tier: str
    category: str
    explanation: Text
    pattern: str | None = (
        None  # quotation_without_finance: what marks a quotation in subject/attachment names
    )
    max_external: int = 20  # mass_mailing: more external recipients than this is flagged
    approver: str | None = None


@dataclass(frozen=True)
class Role:
    name: str
    # rule id -> tier in force for this role ("allowed" switches the rule off for the role)
    tiers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SnippetRules:
    """What a summary's event keeps of the text around its match ([snippets], docs/privacy.md):
    this many characters of Chinese/Japanese/Korean and words of other scripts on each side, cut
    at clause boundaries; nothing at all when disabled."""

    enabled: bool = True
    cjk_chars: int = 8
    latin_words: int = 4


@dataclass(frozen=True)
class Policy:
    version: str
    name: str
    rules: tuple[Rule, ...]
    allow: tuple[AllowRule, ...] = ()
    structural: tuple[StructuralRule, ...] = ()
    roles: dict[str, Role] = field(default_factory=dict)
    categories: dict[str, Text] = field(default_factory=dict)
    company_domains: tuple[str, ...] = ()
    finance_addresses: tuple[str, ...] = ()
    supervisor_addresses: tuple[str, ...] = ()
    snippets: SnippetRules = field(default_factory=SnippetRules)
    source: str = "<default>"

    def category_label(self, category: str, lang: str) -> str:
        label = self.categories.get(category)
        return label.get(lang) if label else category

    def approver_addresses(self, approver: str | None) -> tuple[str, ...]:
        if approver == "finance":
            return self.finance_addresses
        if approver == "supervisor":
            return self.supervisor_addresses
        return ()

    def is_internal(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.company_domains)
