"""Load and validate a policy file (TOML); every error names the file and the line."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from companion.errors import PolicyError, os_reason
from companion.i18n import Msg, msg
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

    def error(self, problem: Msg | str, line: int | None) -> PolicyError:
        """The error naming the file (and the line) of `problem`, said in its reader's language."""
        key = "policy.e.at_line" if line else "policy.e.in_file"
        return PolicyError(key=key, values={"file": self.filename, "line": line, "problem": problem})


def _names(values) -> str:
    """Names the policy author writes, quoted as code: 'info', 'approval'."""
    return ", ".join(f"'{v}'" for v in values)


def _field(what: Msg, name: str) -> Msg:
    """ "rule 'x'" and "phrases" -> "rule 'x', key 'phrases'" (in the reader's language)."""
    return msg("policy.what.field", what=what, key=name)


def _key(name: str) -> Msg:
    return msg("policy.what.key", key=name)


def _as_str_list(value: Any, what: Msg, loc: _Locator, line: int | None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise loc.error(msg("policy.e.list_of_strings", what=what), line)
    return tuple(value)


def _text(value: Any, what: Msg, loc: _Locator, line: int | None) -> Text:
    if isinstance(value, str):
        return Text(value, value)
    if isinstance(value, dict) and isinstance(value.get("en"), str) and isinstance(value.get("zh"), str):
        return Text(value["en"], value["zh"])
    raise loc.error(msg("policy.e.text", what=what), line)


def _check_keys(table: dict, allowed: set[str], what: Msg, loc: _Locator, line: int | None) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise loc.error(
            msg("policy.e.unknown_key", what=what, key=unknown[0], allowed=_names(sorted(allowed))), line
        )


def _tier(value: Any, what: Msg, loc: _Locator, line: int | None, allowed: tuple[str, ...] = TIERS) -> str:
    if value is None:
        raise loc.error(msg("policy.e.no_key", what=what, key="tier"), line)
    if value not in allowed:
        raise loc.error(
            msg("policy.e.unknown_tier", what=what, value=repr(value), allowed=_names(allowed)), line
        )
    return value


def _approver(value: Any, what: Msg, loc: _Locator, line: int | None) -> str | None:
    if value is None or value in APPROVERS:
        return value
    raise loc.error(
        msg("policy.e.unknown_approver", what=what, value=repr(value), allowed=_names(APPROVERS)), line
    )


def _compile_check(pattern: str, what: Msg, loc: _Locator, line: int | None) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise loc.error(
            msg("policy.e.bad_regex", what=what, pattern=repr(pattern), detail=str(exc)), line
        ) from None


def _patterns(value: Any, what: Msg, loc: _Locator, line: int | None) -> tuple[Pattern, ...]:
    """Each entry is a regular expression, or a table { regex = "...", hints = ["...", ...] }."""
    if not isinstance(value, list):
        raise loc.error(msg("policy.e.patterns_list", what=what), line)
    patterns = []
    for item in value:
        if isinstance(item, str):
            item = {"regex": item}
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("regex"), str)
            or set(item) - {"regex", "hints"}
        ):
            raise loc.error(msg("policy.e.pattern_shape", what=what), line)
        _compile_check(item["regex"], what, loc, line)
        hints = _as_str_list(item.get("hints", []), _field(what, "hints"), loc, line)
        patterns.append(Pattern(item["regex"], hints))
    return tuple(patterns)


def _rule(i: int, table: Any, loc: _Locator, ids: set[str]) -> Rule:
    line = loc.line_of("rule", i)
    if not isinstance(table, dict):
        raise loc.error(msg("policy.e.table", table="[[rule]]"), line)
    _check_keys(table, _RULE_KEYS, msg("policy.what.rules"), loc, line)
    rid = table.get("id")
    if not isinstance(rid, str) or not rid:
        raise loc.error(msg("policy.e.no_id", table="[[rule]]"), line)
    what = msg("policy.what.rule", id=rid)
    if rid in ids:
        raise loc.error(msg("policy.e.duplicate_id", what=what), line)
    ids.add(rid)
    tier = _tier(table.get("tier"), what, loc, loc.line_of("rule", i, "tier"), TIERS[1:])
    category = table.get("category")
    if not isinstance(category, str) or not category:
        raise loc.error(msg("policy.e.no_key", what=what, key="category"), line)
    explanation = _text(
        table.get("explanation"), _field(what, "explanation"), loc, loc.line_of("rule", i, "explanation")
    )
    phrases = _as_str_list(
        table.get("phrases", []), _field(what, "phrases"), loc, loc.line_of("rule", i, "phrases")
    )
    patterns = _patterns(table.get("patterns", []), what, loc, loc.line_of("rule", i, "patterns"))
    if not phrases and not patterns:
        raise loc.error(msg("policy.e.no_phrases", what=what), line)
    applies_line = loc.line_of("rule", i, "applies_to")
    applies_to = _as_str_list(
        table.get("applies_to", ["sent"]), _field(what, "applies_to"), loc, applies_line
    )
    for direction in applies_to:
        if direction not in DIRECTIONS:
            raise loc.error(msg("policy.e.bad_direction", what=what, value=repr(direction)), applies_line)
    approver = _approver(table.get("approver"), what, loc, loc.line_of("rule", i, "approver"))
    return Rule(rid, tier, category, explanation, phrases, patterns, applies_to, approver)


def _allow(i: int, table: Any, loc: _Locator, ids: set[str]) -> AllowRule:
    line = loc.line_of("allow", i)
    if not isinstance(table, dict):
        raise loc.error(msg("policy.e.table", table="[[allow]]"), line)
    _check_keys(table, _ALLOW_KEYS, msg("policy.what.allows"), loc, line)
    aid = table.get("id") or f"allow-{i + 1}"
    what = msg("policy.what.allow", id=aid)
    if aid in ids:
        raise loc.error(msg("policy.e.duplicate_id", what=what), line)
    ids.add(aid)
    phrases = _as_str_list(table.get("phrases", []), _field(what, "phrases"), loc, line)
    if not phrases:
        raise loc.error(msg("policy.e.no_key", what=what, key="phrases"), line)
    return AllowRule(aid, phrases)


def _structural(i: int, table: Any, loc: _Locator, ids: set[str]) -> StructuralRule:
    line = loc.line_of("structural", i)
    if not isinstance(table, dict):
        raise loc.error(msg("policy.e.table", table="[[structural]]"), line)
    _check_keys(table, _STRUCTURAL_KEYS, msg("policy.what.structurals"), loc, line)
    sid = table.get("id")
    if not isinstance(sid, str) or not sid:
        raise loc.error(msg("policy.e.no_id", table="[[structural]]"), line)
    what = msg("policy.what.structural", id=sid)
    if sid in ids:
        raise loc.error(msg("policy.e.duplicate_id", what=what), line)
    ids.add(sid)
    kind = table.get("kind")
    if kind not in STRUCTURAL_KINDS:
        raise loc.error(
            msg("policy.e.unknown_kind", what=what, value=repr(kind), allowed=_names(STRUCTURAL_KINDS)),
            loc.line_of("structural", i, "kind"),
        )
    tier = _tier(table.get("tier"), what, loc, loc.line_of("structural", i, "tier"), TIERS[1:])
    category = table.get("category")
    if not isinstance(category, str) or not category:
        raise loc.error(msg("policy.e.no_key", what=what, key="category"), line)
    explanation = _text(table.get("explanation"), _field(what, "explanation"), loc, line)
    pattern = table.get("pattern")
    if kind == "quotation_without_finance":
        if not isinstance(pattern, str):
            raise loc.error(msg("policy.e.no_key", what=what, key="pattern"), line)
        _compile_check(pattern, what, loc, loc.line_of("structural", i, "pattern"))
    max_external = table.get("max_external", 20)
    if not isinstance(max_external, int) or max_external < 0:
        raise loc.error(msg("policy.e.max_external", what=what), line)
    approver = _approver(table.get("approver"), what, loc, line)
    return StructuralRule(sid, kind, tier, category, explanation, pattern, max_external, approver)


def _roles(value: Any, loc: _Locator, rule_ids: set[str]) -> dict[str, Role]:
    if not isinstance(value, dict):
        raise loc.error(msg("policy.e.table", table="[roles]"), loc.line_of(None, key="roles"))
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
            raise loc.error(msg("policy.e.role_shape", what=msg("policy.what.role", name=name)), line)
        tiers = table.get("tiers", {})
        if not isinstance(tiers, dict):
            raise loc.error(msg("policy.e.role_tiers", what=msg("policy.what.role", name=name)), line)
        for rule_id, tier in tiers.items():
            if rule_id not in rule_ids:
                raise loc.error(
                    msg("policy.e.role_rule", what=msg("policy.what.role", name=name), rule=rule_id), line
                )
            _tier(tier, msg("policy.what.role_rule", name=name, rule=rule_id), loc, line)
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
        raise loc.error(
            msg("policy.e.toml", detail=str(exc)), int(match.group(1)) if match else None
        ) from None
    _check_keys(data, _TOP_KEYS, msg("policy.what.file"), loc, None)
    head = data.get("policy")
    if not isinstance(head, dict):
        raise loc.error(msg("policy.e.no_policy_table"), None)
    head_line = next((n + 1 for n, text in enumerate(loc.lines) if text.strip() == "[policy]"), None)
    _check_keys(head, _POLICY_KEYS, msg("policy.what.table", table="[policy]"), loc, head_line)
    version = head.get("version")
    if not isinstance(version, str) or not version:
        raise loc.error(msg("policy.e.no_version"), head_line)
    categories = {}
    for key, value in (data.get("categories") or {}).items():
        categories[key] = _text(value, msg("policy.what.category", name=key), loc, None)
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
            for d in _as_str_list(head.get("company_domains", []), _key("company_domains"), loc, head_line)
        ),
        finance_addresses=tuple(
            a.lower()
            for a in _as_str_list(
                head.get("finance_addresses", []), _key("finance_addresses"), loc, head_line
            )
        ),
        supervisor_addresses=tuple(
            a.lower()
            for a in _as_str_list(
                head.get("supervisor_addresses", []), _key("supervisor_addresses"), loc, head_line
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
        raise PolicyError(
            key="policy.e.cannot_read", values={"file": str(path), "reason": os_reason(exc)}
        ) from None
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PolicyError(
            key="policy.e.at_line",
            values={"file": str(path), "line": line, "problem": msg("policy.e.not_utf8")},
        ) from None
    return parse_policy(source, str(path))
