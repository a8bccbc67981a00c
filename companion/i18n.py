"""Simplified Chinese and English for everything a person reads, following the system locale.

MAILWARDEN_LANG=zh|en overrides the locale. Every string lives in one gettext catalogue, managed
with Babel (companion/locale/: the .pot holds each key with its English, the zh_CN .po its Chinese;
docs/i18n.md says how to add one). The build compiles them into .mo files keyed by the string's
key, which is all this module reads, with the standard library's gettext.

`t(key, lang, **values)` is the one way the companion, the agent and the CLI get text; the tray
(ui.i18n) and the dashboard (collector.dashboard.i18n) look up their own keys ("tray.…", "dash.…")
through `t_part`, falling back to the product's shared terms (tiers, directions, verdicts).
"""

from __future__ import annotations

import gettext
import locale
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LANGS = ("en", "zh")
LOCALES = {"en": "en", "zh": "zh_CN"}  # our language -> the catalogue's locale folder
DOMAIN = "mailwarden"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


_MISSING = "\x00missing key"  # what a catalogue answers for a key it does not have


class _Missing(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return _MISSING


class CatalogueMissing(RuntimeError):
    """The compiled catalogue is not there: a source checkout that was never built."""


@cache
def catalogue(lang: str) -> gettext.GNUTranslations:
    """The compiled catalogue of `lang` ("en" or "zh"): key -> text."""
    path = LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as f:
            translations = gettext.GNUTranslations(f)
    except OSError as exc:
        raise CatalogueMissing(
            f"the message catalogue {path} is missing: build it with `make i18n` "
            "(python scripts/i18n.py compile), as `make install` and the package build do"
        ) from exc
    translations.add_fallback(_Missing())
    return translations


def lookup(key: str, lang: str | None = None) -> str | None:
    """The text of `key` in `lang`, or None when the catalogue has no such key."""
    text = catalogue(lang or system_language()).gettext(key)
    return None if text is _MISSING else text


def has(key: str) -> bool:
    return lookup(key, "en") is not None


def system_language() -> str:
    forced = os.environ.get("MAILWARDEN_LANG", "").strip().lower()
    if forced[:2] in LANGS:
        return forced[:2]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    if sys.platform == "win32":  # Windows has no LANG: ask for the user's UI language
        try:
            import ctypes

            langid = ctypes.windll.kernel32.GetUserDefaultUILanguage()
            return "zh" if (langid & 0x3FF) == 0x04 else "en"
        except (AttributeError, OSError):
            pass
    name = locale.getlocale()[0] or ""
    return "zh" if name.lower().startswith(("zh", "chinese")) else "en"


@dataclass(frozen=True)
class Msg:
    """A text of the catalogue not said yet: its key and values, said in the language of whoever
    reads it (an error met in a scan, a part of a longer message). A value may be a Msg too."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        return t(self.key, lang, **self.values)

    def __str__(self) -> str:
        return self.text("en")  # for logs and the database


def msg(key: str, /, **values: object) -> Msg:
    return Msg(key, values)


def say(text: str | Msg | None, lang: str | None = None) -> str:
    """A text that may be a Msg, in `lang`; a plain string (data, or a message of another part) as it is."""
    if text is None:
        return ""
    return text.text(lang) if isinstance(text, Msg) else text


def t(key: str, lang: str | None = None, /, **values: object) -> str:
    """The text of `key` in `lang` (None: the system language), its {placeholders} filled from
    `values` (Msg values said in the same language). An unknown key is a bug: KeyError."""
    lang = lang or system_language()
    text = lookup(key, lang)
    if text is None:
        raise KeyError(key)
    if not values:
        return text
    return text.format(**{k: v.text(lang) if isinstance(v, Msg) else v for k, v in values.items()})


def t_part(part: str, key: str, lang: str | None = None, /, **values: object) -> str:
    """A part's own string ("tray" + "flags.title" -> "tray.flags.title"), else the shared term of
    that key ("tier.forbidden"), so each product term is written once."""
    own = f"{part}.{key}"
    return t(own if lookup(own, lang or "en") is not None else key, lang, **values)
