"""Simplified Chinese and English for every string the dashboard shows: the "dash." keys of the
product's one catalogue (companion.i18n, docs/i18n.md), and its shared terms (tiers, directions).

The language comes from `?lang=` (remembered in a cookie), else that cookie, else the browser's
Accept-Language (a zh* language preferred over the others → Chinese), else English.
"""

from __future__ import annotations

import re

from companion.i18n import LANGS, lookup, t_part

LANG_COOKIE = "mw_lang"
PART = "dash"  # the dashboard's keys in the catalogue: "dash.nav.trends", …


def has(key: str) -> bool:
    return lookup(f"{PART}.{key}", "en") is not None or lookup(key, "en") is not None


def translate(lang: str, key: str, **values: object) -> str:
    if not has(key):
        # A value outside the catalogue (a tier or action a newer workstation sends) shows as itself.
        return key.partition(".")[2] or key
    return t_part(PART, key, lang, **values)


def describe_target(lang: str, target: str) -> str:
    """What an access-log entry was about, in words: the stored "appeal=12 status=upheld" (kept
    as written: the hash chain covers it) as "申诉=12 · 处理结果=申诉成立". A name or value the catalogue
    does not know is shown as it is."""
    if target == "ok":  # a verification of the chain (access_log_verify)
        return translate(lang, "chain.ok")
    broken = re.fullmatch(r"broken at (\d+)", target)
    if broken:
        return translate(lang, "log.target.broken", seq=broken.group(1))
    pairs = re.findall(r"(\w+)=(.*?)(?=\s+\w+=|$)", target)  # a value may hold spaces (a phrase)
    if not pairs:
        return target
    parts = []
    for name, value in pairs:
        label = translate(lang, f"log.field.{name}") if has(f"log.field.{name}") else name
        if value == "*":
            value = translate(lang, "common.all_departments" if name == "department" else "common.all")
        for prefix in VALUE_KEYS.get(name, ()):
            if has(f"{prefix}.{value}"):
                value = translate(lang, f"{prefix}.{value}")
                break
        parts.append(f"{label}={value or '—'}")
    return " · ".join(parts)


# An access-log field -> the catalogue prefixes its values may have an entry under.
VALUE_KEYS = {
    "status": ("status",),
    "period": ("period",),
    "dimension": ("dimension",),
    "role": ("role",),
    "stream": ("stream",),
}


def from_accept_language(header: str | None) -> str:
    """'zh-CN,zh;q=0.9,en;q=0.8' → zh; 'en-US,en;q=0.9,zh;q=0.5' → en (highest q wins)."""
    best, best_q = "en", -1.0
    for position, part in enumerate((header or "").split(",")):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if not name or q <= 0:
            continue
        score = q - position * 1e-6  # earlier wins among equals
        if score > best_q:
            best, best_q = ("zh" if name.lower().startswith("zh") else "en"), score
    return best


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for choice in (query, cookie):
        if choice in LANGS:
            return choice
    return from_accept_language(accept_language)
