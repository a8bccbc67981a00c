"""Load and validate a policy file (TOML); every error names the file and the line."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from companion.errors import PolicyError
from companion.policy.model import (
    APPROVERS,
    DIRECTIONS,
    STRUCTURAL_KINDS,
    TIERS,
    AllowRule,
    Pattern,
    Policy,
    Role,
    Rule,
    SnippetRules,
    StructuralRule,
    Text,
)

DEFAULT_POLICY_NAME = "default_policy.toml"

_RULE_KEYS = {"id", "tier", "category", "explanation", "phrases", "patterns", "applies_to", "approver"}
_ALLOW_KEYS = {"id", "phrases"}
_STRUCTURAL_KEYS = {"id", "kind", "tier", "category", "explanation", "pattern", "max_external", "approver"}
_POLICY_KEYS = {"version", "name", "company_domains", "finance_addresses", "supervisor_addresses"}
_TOP_KEYS = {"policy", "categories", "rule", "allow", "structural", "roles", "snippets"}
_SNIPPET_LIMITS = {"cjk_chars": 40, "latin_words": 20}  # keys of [snippets] with a count, and their maximum


class _Locator:
    """Finds the line of a table or key in the TOML source, for error messages."""

    def __init__(self, source: str, filename: str) -> None:
        self.lines = source.splitlines()
        self.filename = filename

    def _headers(self, array: str) -> list[int]:
        pattern = re.compile(rf"^\s*\[\[\s*{re.escape(array)}\s*\]\]")
        return [i for i, line in enumerate(self.lines) if pattern.match(line)]

    def line_of(self, array: str | None, index: int | None = None, key: str | None = None) -> int | None:
        """1-based line of `key` inside the `index`-th `[[array]]` table (or of the table itself)."""
        start, stop = 0, len(self.lines)
        if array is not None:
            headers = self._headers(array)
            if index is None or index >= len(headers):
                return None
            start = headers[index]
            stop = next(
                (i for i in range(start + 1, len(self.lines)) if self.lines[i].lstrip().startswith("[")),
                len(self.lines),
            )
        if key is None:
            return start + 1
        key_re = re.compile(rf"^\s*{re.escape(key)}\s*[.=]")
        for i in range(start, stop):
            if key_re.match(self.lines[i]):
                return i + 1
        return start + 1 if array is not None else None

    def error(self, message: str, line: int | None) -> PolicyError:
        where = f"{self.filename}, line {line}" if line else self.filename
        return PolicyError(f"{where}: {message}")


def _as_str_list(value: Any, what: str, loc: _Locator, line: int | None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise loc.error(f"{what} must be a list of strings", line)
    return tuple(value)


def _text(value: Any, what: str, loc: _Locator, line: int | None) -> Text:
    if isinstance(value, str):
        return Text(value, value)
    if isinstance(value, dict) and isinstance(value.get("en"), str) and isinstance(value.get("zh"), str):
        return Text(value["en"], value["zh"])
    raise loc.error(f"{what} must be a string or a table with 'en' and 'zh' strings", line)


def _check_keys(table: dict, allowed: set[str], what: str, loc: _Locator, line: int | None) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise loc.error(
            f"{what}: unknown key '{unknown[0]}' (expected one of {', '.join(sorted(allowed))})", line
        )


def _tier(value: Any, what: str, loc: _Locator, line: int | None, allowed: tuple[str, ...] = TIERS) -> str:
    if value not in allowed:
        raise loc.error(f"{what}: unknown tier {value!r} (expected one of {', '.join(allowed)})", line)
    return value


def _approver(value: Any, what: str, loc: _Locator, line: int | None) -> str | None:
    if value is None or value in APPROVERS:
        return value
    raise loc.error(f"{what}: unknown approver {value!r} (expected one of {', '.join(APPROVERS)})", line)


def _compile_check(pattern: str, what: str, loc: _Locator, line: int | None) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise loc.error(f"{what}: invalid regular expression {pattern!r}: {exc}", line) from None


def _patterns(value: Any, what: str, loc: _Locator, line: int | None) -> tuple[Pattern, ...]:
    """Each entry is a regular expression, or a table { regex = "...", hints = ["...", ...] }."""
    if not isinstance(value, list):
        raise loc.error(f"{what}: patterns must be a list", line)
    patterns = []
    for item in value:
        if isinstance(item, str):
            item = {"regex": item}
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("regex"), str)
            or set(item) - {"regex", "hints"}
        ):
            raise loc.error(
                f"{what}: each pattern is a string or a table with 'regex' and optional 'hints'", line
            )
        _compile_check(item["regex"], what, loc, line)
        hints = _as_str_list(item.get("hints", []), f"{what}: pattern hints", loc, line)
        patterns.append(Pattern(item["regex"], hints))
    return tuple(patterns)


def _rule(i: int, table: Any, loc: _Locator, ids: set[str]) -> Rule:
    line = loc.line_of("rule", i)
    if not isinstance(table, dict):
        raise loc.error("each [[rule]] must be a table", line)
    _check_keys(table, _RULE_KEYS, "rule", loc, line)
    rid = table.get("id")
    if not isinstance(rid, str) or not rid:
        raise loc.error("rule without an 'id'", line)
    what = f"rule '{rid}'"
    if rid in ids:
        raise loc.error(f"{what}: duplicate id", line)
    ids.add(rid)
    tier = _tier(table.get("tier"), what, loc, loc.line_of("rule", i, "tier"), TIERS[1:])
    category = table.get("category")
    if not isinstance(category, str) or not category:
        raise loc.error(f"{what}: missing 'category'", line)
    explanation = _text(
        table.get("explanation"), f"{what}: explanation", loc, loc.line_of("rule", i, "explanation")
    )
    phrases = _as_str_list(
        table.get("phrases", []), f"{what}: phrases", loc, loc.line_of("rule", i, "phrases")
    )
    patterns = _patterns(table.get("patterns", []), what, loc, loc.line_of("rule", i, "patterns"))
    if not phrases and not patterns:
        raise loc.error(f"{what}: needs 'phrases' or 'patterns'", line)
    applies_line = loc.line_of("rule", i, "applies_to")
    applies_to = _as_str_list(table.get("applies_to", ["sent"]), f"{what}: applies_to", loc, applies_line)
    for direction in applies_to:
        if direction not in DIRECTIONS:
            raise loc.error(f"{what}: applies_to has {direction!r} (expected sent or received)", applies_line)
    approver = _approver(table.get("approver"), what, loc, loc.line_of("rule", i, "approver"))
    return Rule(rid, tier, category, explanation, phrases, patterns, applies_to, approver)


def _allow(i: int, table: Any, loc: _Locator, ids: set[str]) -> AllowRule:
    line = loc.line_of("allow", i)
    if not isinstance(table, dict):
        raise loc.error("each [[allow]] must be a table", line)
    _check_keys(table, _ALLOW_KEYS, "allow", loc, line)
    aid = table.get("id") or f"allow-{i + 1}"
    if aid in ids:
        raise loc.error(f"allow '{aid}': duplicate id", line)
    ids.add(aid)
    phrases = _as_str_list(table.get("phrases", []), f"allow '{aid}': phrases", loc, line)
    if not phrases:
        raise loc.error(f"allow '{aid}': needs 'phrases'", line)
    return AllowRule(aid, phrases)


def _structural(i: int, table: Any, loc: _Locator, ids: set[str]) -> StructuralRule:
    line = loc.line_of("structural", i)
    if not isinstance(table, dict):
        raise loc.error("each [[structural]] must be a table", line)
    _check_keys(table, _STRUCTURAL_KEYS, "structural rule", loc, line)
    sid = table.get("id")
    if not isinstance(sid, str) or not sid:
        raise loc.error("structural rule without an 'id'", line)
    what = f"structural rule '{sid}'"
    if sid in ids:
        raise loc.error(f"{what}: duplicate id", line)
    ids.add(sid)
    kind = table.get("kind")
    if kind not in STRUCTURAL_KINDS:
        raise loc.error(
            f"{what}: unknown kind {kind!r} (expected one of {', '.join(STRUCTURAL_KINDS)})",
            loc.line_of("structural", i, "kind"),
        )
    tier = _tier(table.get("tier"), what, loc, loc.line_of("structural", i, "tier"), TIERS[1:])
    category = table.get("category")
    if not isinstance(category, str) or not category:
        raise loc.error(f"{what}: missing 'category'", line)
    explanation = _text(table.get("explanation"), f"{what}: explanation", loc, line)
    pattern = table.get("pattern")
    if kind == "quotation_without_finance":
        if not isinstance(pattern, str):
            raise loc.error(f"{what}: needs a 'pattern'", line)
        _compile_check(pattern, what, loc, loc.line_of("structural", i, "pattern"))
    max_external = table.get("max_external", 20)
    if not isinstance(max_external, int) or max_external < 0:
        raise loc.error(f"{what}: max_external must be a whole number >= 0", line)
    approver = _approver(table.get("approver"), what, loc, line)
    return StructuralRule(sid, kind, tier, category, explanation, pattern, max_external, approver)


def _roles(value: Any, loc: _Locator, rule_ids: set[str]) -> dict[str, Role]:
    if not isinstance(value, dict):
        raise loc.error("[roles] must be a table", loc.line_of(None, key="roles"))
    roles = {}
    for name, table in value.items():
        line = next(
            (
                n + 1
                for n, text in enumerate(loc.lines)
                if re.match(rf"^\s*\[roles\.{re.escape(name)}\]", text)
            ),
            None,
        )
        if not isinstance(table, dict) or set(table) - {"tiers"}:
            raise loc.error(f"role '{name}': expected only a 'tiers' table", line)
        tiers = table.get("tiers", {})
        if not isinstance(tiers, dict):
            raise loc.error(f"role '{name}': 'tiers' must be a table of rule id = tier", line)
        for rule_id, tier in tiers.items():
            if rule_id not in rule_ids:
                raise loc.error(f"role '{name}': unknown rule '{rule_id}'", line)
            _tier(tier, f"role '{name}', rule '{rule_id}'", loc, line)
        roles[name] = Role(name, dict(tiers))
    return roles


def _snippets(table: Any, loc: _Locator) -> SnippetRules:
    line = next((n + 1 for n, text in enumerate(loc.lines) if text.strip() == "[snippets]"), None)
    if not isinstance(table, dict):
        raise loc.error("[snippets] must be a table", line)
    _check_keys(table, {"enabled", *_SNIPPET_LIMITS}, "[snippets]", loc, line)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise loc.error("[snippets] enabled must be true or false", line)
    counts = {}
    for key, top in _SNIPPET_LIMITS.items():
        value = table.get(key, getattr(SnippetRules, key))
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
            raise loc.error(f"[snippets] {key} must be a whole number from 0 to {top}", line)
        counts[key] = value
    return SnippetRules(enabled, **counts)


def parse_policy(source: str, filename: str = "<policy>") -> Policy:
    """Parse and validate policy text; raises PolicyError naming the line of the first problem."""
    loc = _Locator(source, filename)
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise loc.error(f"TOML syntax error: {exc}", int(match.group(1)) if match else None) from None
    _check_keys(data, _TOP_KEYS, "policy file", loc, None)
    head = data.get("policy")
    if not isinstance(head, dict):
        raise loc.error("missing the [policy] table (version, name)", None)
    head_line = next((n + 1 for n, text in enumerate(loc.lines) if text.strip() == "[policy]"), None)
    _check_keys(head, _POLICY_KEYS, "[policy]", loc, head_line)
    version = head.get("version")
    if not isinstance(version, str) or not version:
        raise loc.error("[policy] needs a 'version' string", head_line)
    categories = {}
    for key, value in (data.get("categories") or {}).items():
        categories[key] = _text(value, f"category '{key}'", loc, None)
    ids: set[str] = set()
    rules = tuple(_rule(i, t, loc, ids) for i, t in enumerate(data.get("rule", [])))
    structural = tuple(_structural(i, t, loc, ids) for i, t in enumerate(data.get("structural", [])))
    allow = tuple(_allow(i, t, loc, ids) for i, t in enumerate(data.get("allow", [])))
    roles = _roles(data.get("roles", {}), loc, {r.id for r in rules} | {s.id for s in structural})
    return Policy(
        version=version,
        name=str(head.get("name", "")),
        rules=rules,
        allow=allow,
        structural=structural,
        roles=roles,
        categories=categories,
        company_domains=tuple(
            d.lower()
            for d in _as_str_list(head.get("company_domains", []), "company_domains", loc, head_line)
        ),
        finance_addresses=tuple(
            a.lower()
            for a in _as_str_list(head.get("finance_addresses", []), "finance_addresses", loc, head_line)
        ),
        supervisor_addresses=tuple(
            a.lower()
            for a in _as_str_list(
                head.get("supervisor_addresses", []), "supervisor_addresses", loc, head_line
            )
        ),
        snippets=_snippets(data.get("snippets", {}), loc),
        source=filename,
    )


def default_policy_text() -> str:
    return resources.files("companion.policy").joinpath(DEFAULT_POLICY_NAME).read_text(encoding="utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy at `path`, or the default bilingual policy shipped with the package."""
    if path is None:
        return parse_policy(default_policy_text(), "<default policy>")
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from None
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PolicyError(f"{path}, line {line}: the policy file is not UTF-8") from None
    return parse_policy(source, str(path))
