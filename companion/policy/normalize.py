"""Text normalisation against evasion, with offsets mapped back to the original text.

Two views of a text are made:

* the *compact* view keeps only letters and digits, so "最 低 价", "l-o-w-e-s-t price" and
  "lowest\u200bprice" all read as "最低价" / "lowestprice"; phrases are matched here;
* the *regex* view keeps punctuation, turns white space into " " and drops invisible characters,
  for regex rules.

Each step is chosen to be character-local (NFKD rather than NFKC, case folding, a character table
for traditional -> simplified Chinese and look-alike letters, deleting a character class), so a
view is the concatenation of the views of the characters. That lets the views be built with a few
C-speed whole-string passes, while the offset map (which needs per-character work) is built only
for the stretch of text around a match, and agrees with the fast path by construction. The one
contextual step, 0/1 read as o/l inside Latin words, keeps lengths, so it needs no map.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Cyrillic and Greek letters that look like Latin ones (after case folding).
# fmt: off
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "ı": "i",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
}
# fmt: on

# Variants OpenCC's character table keeps that the policy does not use (账户 is the standard form).
_CJK_OVERRIDES = {"帳": "账", "帐": "账"}

# Compact view: everything that is not a letter or a digit goes (same definition as str.isalnum()).
_NOT_ALNUM = re.compile(r"[\W_]+")
# Regex view: white space becomes one space each (plain spaces need no work); invisible characters go.
_SPACE = re.compile(r"[^\S ]")
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u1ab0-\u1aff\u1dc0-\u1dff"
    "\u20d0-\u20ff\ufe20-\ufe2f]+"
)

# 0 and 1 standing for o and l inside a Latin word ("l0west", "1ifetime"); the digit comes first in
# the pattern so the regex engine can skip ahead to candidates.
_DIGIT_IN_WORD = re.compile(r"[01](?:(?<=[a-z][01])|(?=[a-z]))")
_DIGIT_AS_LETTER = {"0": "o", "1": "l"}


@lru_cache(maxsize=1)
def t2s_table() -> dict[str, str]:
    """Traditional -> simplified, character by character: OpenCC's t2s conversion of each CJK
    character alone, shipped as a table (scripts/make_t2s_table.py) so the agent needs neither
    OpenCC's dictionaries in memory nor their load time."""
    from importlib import resources

    text = resources.files("companion.policy").joinpath("t2s_chars.txt").read_text(encoding="utf-8")
    return dict(line.split(" ") for line in text.splitlines() if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def _char_map() -> tuple[dict[str, str], re.Pattern[str]]:
    """Look-alike letters and traditional -> simplified characters, as a table and a pattern of its keys."""
    table = dict(t2s_table())
    table.update(_CJK_OVERRIDES)
    table.update({c: _CJK_OVERRIDES.get(s, s) for c, s in table.items()})
    table.update(_HOMOGLYPHS)
    pattern = re.compile("[" + "".join(re.escape(c) for c in sorted(table)) + "]")
    return table, pattern


def _map_chars(text: str) -> str:
    table, pattern = _char_map()
    return pattern.sub(lambda m: table[m.group()], text)


def fold(text: str) -> str:
    """The character-local steps shared by both views: compatibility decomposition, case folding."""
    return unicodedata.normalize("NFKD", text).casefold()


_fold = fold


def _compact_of_fold(folded: str) -> str:
    # split/join drops white space at C speed and leaves the regex far fewer runs to delete
    return _map_chars(_NOT_ALNUM.sub("", "".join(folded.split())))


def _regex_of_fold(folded: str) -> str:
    return _map_chars(_INVISIBLE.sub("", _SPACE.sub(" ", folded)))


def _compact_raw(text: str) -> str:
    return _compact_of_fold(_fold(text))


def _regex_raw(text: str) -> str:
    return _regex_of_fold(_fold(text))


def _fix_digits(text: str) -> str:
    if "0" not in text and "1" not in text:
        return text
    return _DIGIT_IN_WORD.sub(lambda m: _DIGIT_AS_LETTER[m.group()], text)


_CHUNK = 512


@dataclass(frozen=True)
class _Kind:
    name: str
    of_fold: object  # folded text -> view
    kept: re.Pattern[str]  # runs of folded characters that survive into the view one for one


COMPACT = _Kind("compact", _compact_of_fold, re.compile(r"[^\W_]+"))
REGEX = _Kind("regex", _regex_of_fold, re.compile("[^" + _INVISIBLE.pattern[1:-2] + "]+"))


@lru_cache(maxsize=50_000)
def _char_length(kind: _Kind, ch: str) -> int:
    return len(kind.of_fold(_fold(ch)))


class Folded:
    """`text` cut into chunks and folded once; both views are made from it on demand."""

    __slots__ = ("text", "pieces", "folded", "_views", "_joined")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces = (
            [text] if len(text) <= _CHUNK else [text[s : s + _CHUNK] for s in range(0, len(text), _CHUNK)]
        )
        self.folded = [_fold(p) for p in self.pieces]
        self._views: dict[str, View] = {}
        self._joined: str | None = None

    def contains(self, needle: str, in_compact: bool) -> bool:
        """Whether `needle` (already normalised) is in the compact view, or in the folded text."""
        if in_compact:
            return needle in self.view(COMPACT).value
        if self._joined is None:
            self._joined = "".join(self.folded)
        return needle in self._joined

    def view(self, kind: _Kind) -> View:
        view = self._views.get(kind.name)
        if view is None:
            view = self._views[kind.name] = View(self, kind)
        return view


class View:
    """A normalised view of a text. Because every step but the length-keeping 0/1 fix is
    character-local, a range of the view is mapped back to the original by looking only at the
    chunk it falls in."""

    __slots__ = ("source", "kind", "value", "_chunk_ends", "_maps")

    def __init__(self, source: Folded, kind: _Kind) -> None:
        self.source = source
        self.kind = kind
        pieces = [kind.of_fold(f) for f in source.folded]
        self._chunk_ends = list(itertools.accumulate(map(len, pieces)))
        self.value = _fix_digits("".join(pieces))
        self._maps: dict[int, tuple[list[int], list[int]]] = {}

    @property
    def text(self) -> str:
        return self.source.text

    def _chunk_map(self, chunk: int) -> tuple[list[int], list[int]]:
        """(view offsets, original offsets) of the start of each run of characters kept one for one."""
        piece, folded = self.source.pieces[chunk], self.source.folded[chunk]
        if len(folded) == len(piece):  # the common case: no character expanded when folded
            runs = [(m.start(), m.end()) for m in self.kind.kept.finditer(folded)]
            view_starts = list(itertools.accumulate((e - s for s, e in runs), initial=0))[:-1]
            return view_starts, [s for s, _ in runs]
        # Some character expanded (a ligature, "…"): fall back to per-character lengths.
        view_starts, orig_starts, position = [], [], 0
        for i, ch in enumerate(piece):
            n = _char_length(self.kind, ch)
            for k in range(n):
                view_starts.append(position + k)
                orig_starts.append(i)
            position += n
        return view_starts, orig_starts

    def _position(self, j: int) -> int:
        """Index of the original character that produced value[j]."""
        chunk = bisect.bisect_right(self._chunk_ends, j)
        local = j - (self._chunk_ends[chunk - 1] if chunk else 0)
        maps = self._maps.get(chunk)
        if maps is None:
            maps = self._maps[chunk] = self._chunk_map(chunk)
        view_starts, orig_starts = maps
        r = bisect.bisect_right(view_starts, local) - 1
        return chunk * _CHUNK + orig_starts[r] + (local - view_starts[r])

    def original(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of the characters that produced value[start:end]."""
        return self._position(start), self._position(end - 1) + 1


def compact_view(text: str) -> View:
    return Folded(text).view(COMPACT)


def regex_view_of(text: str) -> View:
    return Folded(text).view(REGEX)


def compact(text: str) -> str:
    """The compact view: what phrases are matched against."""
    return compact_view(text).value


def regex_view(text: str) -> str:
    """The regex view: folded like `compact` but with punctuation kept and spaces as " "."""
    return regex_view_of(text).value


def is_latin_word_char(ch: str) -> bool:
    """True when `ch` folds to a Latin letter or digit (so it would continue a Latin word)."""
    folded = _regex_raw(ch)
    return bool(folded) and folded[-1].isascii() and folded[-1].isalnum()


def _visible(ch: str) -> bool:
    return _regex_raw(ch) != ""


def word_boundary_before(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and not _visible(text[i]):  # look through zero-width characters
        i -= 1
    return i < 0 or not is_latin_word_char(text[i])


def word_boundary_after(text: str, end: int) -> bool:
    i = end
    while i < len(text) and not _visible(text[i]):
        i += 1
    return i >= len(text) or not is_latin_word_char(text[i])
