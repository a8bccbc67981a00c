"""What a Chinese user must not read: English words in a text shown in the zh locale.

`english_words(text)` lists the English words of a text that is meant to be Chinese. Not counted:
the names and standards that stay as they are in Chinese (docs/glossary.md says which), ALL-CAPS
tokens (metavars such as FILE, acronyms), and data: anything holding a digit, a dot, a slash, an
@, a colon, an underscore, a hyphen or an equals sign (paths, addresses, rule ids, versions,
options such as --json, hosts). Words a test knows to be data (a user name, a subject the test
wrote) are passed as `data`; quoted names ('category', “sales-east”) are data too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Kept as they are in Chinese text (docs/glossary.md, last paragraph), plus command and program
# names a user types.
KEPT = {
    "mailwarden",
    "mailwarden-tray",
    "mailwarden-collector",
    "thunderbird",
    "outlook",
    "windows",
    "english",  # the name of the other language in a language menu
    "cc",
    "it",  # the IT department
    "maildir",
    "mbox",
    "ctrl",
    "https",
    "http",
}
_TOKEN = re.compile(r"[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef，。：；、！？（）“”‘’《》【】…—·]+")
_EDGE = "\"'`«»‹›()[]{}<>,;!?*"
_DATA = re.compile(r"[\d./\\@:_=\-#%&+~|]")
# Quoted names are what the user wrote or must write ('category', “sales-east”, `mailwarden serve`).
# So are TOML tables ([policy], [[rule]]).
_QUOTED = re.compile(r"'[^'\n]+'|“[^”]+”|`[^`\n]+`|\"[^\"\n]+\"|\[\[?[\w.\-]+\]\]?")


def english_words(text: str, data: Iterable[str] = (), kept: Iterable[str] = ()) -> list[str]:
    """The English words in `text`, in order (empty when the text is all Chinese, names and data)."""
    for value in sorted(data, key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    text = _QUOTED.sub(" ", text)
    allowed = KEPT | {k.lower() for k in kept}
    found = []
    tokens = []
    for token in _TOKEN.findall(text):
        name, equals, _ = token.partition("=")
        tokens += [name, "="] if equals else [token]  # the name in "appeals=2,1" is a word too
    for token in tokens:
        token = token.strip(_EDGE)
        if len(token) < 2 or _DATA.search(token) or not re.fullmatch(r"[A-Za-z]+", token):
            continue
        if len(token) > 1 and token.isupper():
            continue  # a metavar (FILE, PATH) or an acronym (TOML, JSON, PDF, UTC)
        if token.lower() in allowed:
            continue
        found.append(token)
    return found


def assert_chinese(texts: dict[str, str], data: Iterable[str] = (), kept: Iterable[str] = ()) -> None:
    """Fail naming every text (by its label) that shows English words in the zh locale."""
    data = list(data)
    leaks = {label: words for label, text in texts.items() if (words := english_words(text, data, kept))}
    assert leaks == {}, "English shown in Chinese:\n" + "\n".join(
        f"  {label}: {words}  <- {texts[label][:200]!r}" for label, words in leaks.items()
    )
