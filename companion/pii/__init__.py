"""Personal data: finding it in mail text and masking it with typed placeholders.

Everything that leaves the user's machine (summary snippets, appeal texts) and `mailwarden mask`
goes through here. Each piece of personal data becomes a placeholder that says what was there —
"[姓名]" / "[name]", "[地址]" / "[address]", "[账号]" / "[account]" … (model.PLACEHOLDERS) — so a
reviewer still sees that something stood there, never what.

The finders (one module per family, each yielding PiiMatch ranges on the original text):
- numbers: e-mail addresses, IBANs, resident IDs, cards, phones — by checksum or numbering plan;
- cued: accounts, ID and passport numbers, messaging handles, labelled phones, order numbers — by
  the label in front of them;
- places: street addresses and company names — by their shape;
- names: people's names — from the mail's own people and from greetings, titles, signatures.
Overlapping matches are merged into one, which takes the first kind in PII_KINDS.

The placeholder language follows the text, not the user's locale: Chinese placeholders where the
line (or the snippet) around them has Chinese, English ones elsewhere, so the same text is masked
the same way on every computer and the placeholder reads as part of its sentence.
"""

from __future__ import annotations

from collections.abc import Iterable

from companion.pii import cued, numbers
from companion.pii.model import (
    PII_KINDS,
    PLACEHOLDERS,
    SOFT_KINDS,
    People,
    PiiMatch,
    has_han,
    normalize,
    placeholder,
)
from companion.pii.names import echo_pattern, find_names
from companion.pii.places import FREE_MAIL, find_places

__all__ = [
    "PII_KINDS",
    "PLACEHOLDERS",
    "People",
    "PiiMatch",
    "find_pii",
    "mask_text",
    "mask_with_matches",
    "placeholder",
    "render",
]

_PRIORITY = {kind: rank for rank, kind in enumerate(PII_KINDS)}


Peoples = People | tuple[People, ...] | None


def _groups(people: Peoples) -> tuple[People, ...]:
    if people is None:
        return ()
    return people if isinstance(people, tuple) else (people,)


def _all_matches(text: str, people: tuple[People, ...]) -> list[PiiMatch]:
    norm = normalize(text)
    found: list[PiiMatch] = []
    for finder in numbers.FINDERS + cued.FINDERS:
        found.extend(finder(norm, text))
    found.extend(find_places(norm, text, people))
    found.extend(find_names(norm, text, people))
    # A name the structure gave away once is masked wherever it comes back in the same text.
    echo = echo_pattern({m.text.strip() for m in found if m.kind == "name"})
    if echo is not None:
        found.extend(PiiMatch.of("name", m, text) for m in echo.finditer(norm))
    return found


def _clip(m: PiiMatch, protect: tuple[int, int], text: str) -> list[PiiMatch]:
    """The parts of a soft match outside the protected range (a flagged phrase stays readable)."""
    lo, hi = protect
    if m.end <= lo or m.start >= hi or m.kind not in SOFT_KINDS:
        return [m]
    parts = [(m.start, min(m.end, lo)), (max(m.start, hi), m.end)]
    return [PiiMatch(m.kind, s, e, text[s:e]) for s, e in parts if e - s >= 2]


def _merge(matches: Iterable[PiiMatch], text: str) -> list[PiiMatch]:
    """Sorted, disjoint matches: overlapping ones become one, of the higher-priority kind."""
    out: list[PiiMatch] = []
    for m in sorted(matches, key=lambda m: (m.start, -m.end)):
        if m.end <= m.start or not text[m.start : m.end].strip():
            continue
        if out and m.start < out[-1].end:
            last = out[-1]
            end = max(last.end, m.end)
            kind = min(last.kind, m.kind, key=_PRIORITY.__getitem__)
            out[-1] = PiiMatch(kind, last.start, end, text[last.start : end])
        else:
            out.append(m)
    return out


def find_pii(text: str, people: Peoples = None, *, protect: tuple[int, int] | None = None) -> list[PiiMatch]:
    """Personal data in `text`, sorted by start and never overlapping; offsets index `text`.

    `people` are the mail's own people, or several groups of them (the mail's, the whole mailbox's):
    their names are masked wherever they occur. `protect` is
    the range of a flagged phrase, which names, places and companies never cover (numbers still do).
    """
    found: Iterable[PiiMatch] = _all_matches(text, _groups(people))
    if protect is not None:
        found = [part for m in found for part in _clip(m, protect, text)]
    return _merge(found, text)


def _lang_at(text: str, start: int, end: int) -> str:
    """The language around [start, end): "zh" when its line has Chinese outside that range, "en"
    when it has Latin letters, else (a line with only a name on it) that of the whole text."""
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    hi = len(text) if hi < 0 else hi
    around = text[lo:start] + " " + text[end:hi]
    if has_han(around):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in around):
        return "en"
    return "zh" if has_han(text) else "en"


def render(text: str, matches: Iterable[PiiMatch], lang: str | None = None) -> str:
    """`text` with each match replaced by its placeholder (in `lang`, or the language of its line)."""
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        mark = placeholder(m.kind, lang or _lang_at(text, m.start, m.end))
        if m.kind == "email":
            domain = normalize(m.text).rpartition("@")[2].lower()
            if domain in FREE_MAIL:
                mark += "@" + domain  # a personal mailbox at a free-mail provider is a risk signal
        parts.append(mark)
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def _check_kinds(kinds: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(kinds)
    unknown = wanted.difference(PII_KINDS)
    if unknown:
        raise ValueError(f"unknown PII kind(s): {', '.join(sorted(unknown))}; known: {', '.join(PII_KINDS)}")
    return wanted


def mask_with_matches(
    text: str, people: Peoples = None, lang: str | None = None
) -> tuple[str, list[PiiMatch]]:
    """Mask every kind of personal data in `text`; return the masked text and the matches."""
    matches = find_pii(text, people)
    return render(text, matches, lang), matches


def mask_text(
    text: str, kinds: Iterable[str] | None = None, *, people: Peoples = None, lang: str | None = None
) -> str:
    """`text` with personal data replaced by typed placeholders.

    `kinds` limits masking to those kinds (None = all of PII_KINDS); unknown kinds raise ValueError.
    Detection always considers every kind, so a card number is not half-masked as a "phone" when
    only phones are requested.
    """
    wanted = _check_kinds(kinds) if kinds is not None else None  # fail fast on a typo
    matches = find_pii(text, people)
    if wanted is not None:
        matches = [m for m in matches if m.kind in wanted]
    return render(text, matches, lang)
