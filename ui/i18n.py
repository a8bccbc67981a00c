"""Every string the tray shows, in English and Simplified Chinese, switchable at runtime.

The strings are the "tray." keys of the product's one catalogue (companion.i18n, docs/i18n.md):
`tr(key, **values)` is the only way a window gets text, and `translator.changed` tells every open
window to set its texts again. Mnemonics follow each language's habit: "&Appeal…" in English,
"申诉(&A)…" in Chinese. tests/test_ui_i18n.py proves every visible string goes through it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from companion.i18n import LANGS, lookup, t_part
from ui.qtcompat import emit

PART = "tray"  # the tray's keys in the catalogue: "tray.flags.title", …


class Translator(QObject):
    """The language in force; `changed` is emitted when it is switched."""

    changed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        from companion.i18n import system_language

        self.lang = system_language()

    def set_language(self, lang: str) -> None:
        """`lang` is "en", "zh", or "" (follow the system locale)."""
        if not lang:
            from companion.i18n import system_language

            lang = system_language()
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}")
        if lang != self.lang:
            self.lang = lang
            emit(self.changed, lang)


_translator: Translator | None = None


def translator() -> Translator:
    global _translator
    if _translator is None:
        _translator = Translator()
    return _translator


def tr(key: str, **values: object) -> str:
    return t_part(PART, key, translator().lang, **values)


def has(key: str) -> bool:
    return lookup(f"{PART}.{key}", "en") is not None or lookup(key, "en") is not None


def tr_or(prefix: str, value: str) -> str:
    """The translation of a value from the agent (a tier, a status, a choice), or the value itself."""
    key = f"{prefix}.{value}"
    return tr(key) if has(key) else value


def explanation(expl: dict[str, str] | None) -> str:
    """A rule's explanation in the language in force (the policy carries both)."""
    expl = expl or {}
    return expl.get(translator().lang) or expl.get("en") or ""
