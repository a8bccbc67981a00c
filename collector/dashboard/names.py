"""Rule and category names in the reader's language, from the policy in force.

A category has its labels in the policy's `[categories]` (`off-book = { en = "Off-book dealing",
zh = "私下交易" }`). A rule is named by its own `name = { en = …, zh = … }` when the policy gives
one, else by its category's label followed by its id (`私下交易 · offbook.private-deal`): ids are
data, the same in both languages. The tooltip (`title`) holds the id and the rule's explanation.

Read from the published policy's TOML as data (the collector does not load the companion's
engine); a policy that cannot be read, or none, leaves ids as they are.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

SEPARATOR = " · "


def _label(value: Any, lang: str) -> str:
    """{"en": …, "zh": …} in `lang` (English when that language is missing); a plain string as is."""
    if isinstance(value, dict):
        text = value.get(lang) or value.get("en") or ""
        return text if isinstance(text, str) else ""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Names:
    lang: str
    categories: dict[str, str] = field(default_factory=dict)  # id -> label in lang
    rules: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # id -> (name, category, explanation)

    @classmethod
    def from_policy(cls, text: str | None, lang: str) -> Names:
        try:
            data = tomllib.loads(text) if text else {}
        except tomllib.TOMLDecodeError:
            data = {}
        table = data.get("categories", {})
        categories = (
            {k: _label(v, lang) or k for k, v in table.items() if isinstance(v, dict)}
            if isinstance(table, dict)
            else {}
        )
        rules = {}
        for rule in data.get("rule", []) if isinstance(data.get("rule"), list) else []:
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                category = rule.get("category") if isinstance(rule.get("category"), str) else ""
                rules[rule["id"]] = (
                    _label(rule.get("name"), lang),
                    category,
                    _label(rule.get("explanation"), lang),
                )
        return cls(lang, categories, rules)

    def category(self, category_id: str) -> str:
        return self.categories.get(category_id, category_id)

    def rule(self, rule_id: str, category_id: str = "") -> str:
        """The rule's name; else its category's label and its id."""
        name, category, _ = self.rules.get(rule_id, ("", category_id, ""))
        if name:
            return name
        label = self.categories.get(category or category_id)
        return f"{label}{SEPARATOR}{rule_id}" if label else rule_id

    def rule_title(self, rule_id: str) -> str:
        """The tooltip: the id, then the explanation."""
        explanation = self.rules.get(rule_id, ("", "", ""))[2]
        return f"{rule_id} — {explanation}" if explanation else rule_id

    def of(self, dimension: str, value: str) -> str:
        """A trend label: a rule's or category's name; a department as it is."""
        if dimension == "rule":
            return self.rule(value)
        if dimension == "category":
            return self.category(value)
        return value

    def title_of(self, dimension: str, value: str) -> str:
        return self.rule_title(value) if dimension == "rule" else value
