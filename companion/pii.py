"""PII detection and length-preserving masking.

Everything that leaves the user's machine (summaries uploaded to the central server, `mailwarden mask`)
goes through `mask_text` / `mask_with_matches`.

Detection is two-staged: compiled regexes find cheap candidates in one linear pass per kind, then the
candidates are validated with python-stdnum (check digits) or phonenumbers (numbering plans). Both
libraries are imported lazily: `stdnum.util` pulls in pydoc/ssl and phonenumbers loads large metadata,
and CLI start-up time matters.

Masking replaces hidden characters with "*" one for one, so offsets computed on the original text
still index the masked text. Separators (spaces, dashes, "+", brackets) stay as they are.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["PII_KINDS", "PiiMatch", "find_pii", "mask_text", "mask_with_matches"]

#: Every kind `find_pii` can report, in overlap-resolution priority order (first wins).
PII_KINDS: tuple[str, ...] = ("email", "iban", "cn_id", "card", "cn_mobile", "phone")
_PRIORITY = {kind: rank for rank, kind in enumerate(PII_KINDS)}

MASK_CHAR = "*"


@dataclass(frozen=True)
class PiiMatch:
    """One piece of PII: its kind, the half-open range [start, end) and the original text there."""

    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Hit:
    """A validated match plus how many significant characters masking keeps at each end."""

    match: PiiMatch
    keep_head: int
    keep_tail: int


# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space map 1:1 onto ASCII, so matching runs on
# the translated text and every offset stays valid for the original.
_FULLWIDTH_TO_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH_TO_ASCII[0x3000] = 0x20


def _normalize(text: str) -> str:
    return text.translate(_FULLWIDTH_TO_ASCII)


# --- candidate regexes ------------------------------------------------------------------------------
# Explicit [0-9] rather than \d: \d also matches Arabic-Indic and other digits we cannot validate.
# Digit-based kinds refuse an adjacent ASCII letter or digit: "INV2024...", "SO13812345678" are
# identifiers, and a number inside a longer digit run is not the number we are looking for.

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])"  # start at the beginning of the local part, not inside it
    r"[A-Za-z0-9._%+\-]{1,64}"
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
    r"(?![A-Za-z0-9\-])"
)

# Compact ("GB82WEST12345698765432") or printed in groups of four ("GB82 WEST 1234 5698 7654 32").
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])"
    r"[A-Z]{2}[0-9]{2}"
    r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)"
    r"(?![A-Za-z0-9])"
)

# 18 characters, optionally printed 6-8-4 (region, birth date, sequence + check).
_CN_ID_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{6} ?[0-9]{8} ?[0-9]{3}[0-9Xx](?![0-9A-Za-z])")

# Issuer prefix 2-6 (Mastercard 2-series, Amex/Diners/JCB 3, Visa 4, Mastercard 5, Discover/UnionPay 6).
# Grouped forms must use one separator consistently and the usual layouts (4-4-4-4[-1..3], 4-6-4/5),
# which keeps dates and phone-like runs such as "2024-11-24 2024-11-25" out.
_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:"
    r"[2-6][0-9]{12,18}"
    r"|[2-6][0-9]{3}(?P<s1>[ \-])[0-9]{4}(?:(?P=s1)[0-9]{4}){1,3}(?:(?P=s1)[0-9]{1,3})?"
    r"|[2-6][0-9]{3}(?P<s2>[ \-])[0-9]{6}(?P=s2)[0-9]{4,5}"
    r")"
    r"(?![0-9A-Za-z])"
)

# 1[3-9]x xxxx xxxx with an optional +86 / 86 / 0086 / (+86) prefix. The "+" in the look-behind stops
# "+13812345678" (a +1 number) from being read as a Chinese mobile.
_CN_MOBILE_RE = re.compile(
    r"(?<![0-9A-Za-z+])"
    r"(?:\(?(?:\+|00)?86\)?[ \-]?)?"
    r"1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}"
    r"(?![0-9A-Za-z])"
)

# Digits joined by short separator runs: the cheap pre-filter that decides where phonenumbers looks.
# "A run of >= 7 digits" counts digits across separators, because landlines are written in groups
# ("021-6123 4567", "(010) 8888 8888") and would never show 7 adjacent digits.
_DIGIT_RUN_RE = re.compile(r"[0-9](?:[ \-./()]{0,3}[0-9])*")
_PHONE_MIN_DIGITS = 7  # a run this long (separators allowed) is worth asking phonenumbers about
_PHONE_MIN_DIGITS_PLUS = 5  # "+" right before the run: international numbers can be short
_PHONE_LEAD = 8  # context before a run handed to phonenumbers
_IDENT_BEFORE_RE = re.compile(r"[A-Za-z][\-_]?\Z")  # searched in the 2 characters before a run
_DATE_RUN_RE = re.compile(r"[0-9]{4}([\-./])[0-9]{1,2}\1[0-9]{1,2}|[0-9]{1,2}([\-./])[0-9]{1,2}\2[0-9]{4}")


# --- validators (lazy imports, see the module docstring) --------------------------------------------


def _valid_iban(compact: str) -> bool:
    from stdnum import iban

    return bool(iban.is_valid(compact))


def _valid_cn_id(compact: str) -> bool:
    from stdnum.cn import ric

    # ric checks the check digit, the birth date and that the region code exists.
    return bool(ric.is_valid(compact))


def _valid_card(digits: str) -> bool:
    from stdnum import luhn

    return 13 <= len(digits) <= 19 and digits[0] in "23456" and bool(luhn.is_valid(digits))


# --- finders ------------------------------------------------------------------------------------------


def _shorter_by_groups(candidate: str, sep: str, min_len: int) -> Iterator[str]:
    """The candidate, then the candidate with trailing groups dropped while long enough.

    A greedy regex may swallow a following group ("4111 1111 1111 1111 12/26" takes the "12" of the
    expiry date); dropping whole groups recovers the real number. At most a handful of tries.
    """
    current = candidate
    while len(current.replace(sep, "")) >= min_len:
        yield current
        cut = current.rfind(sep)
        if cut <= 0:
            return
        current = current[:cut]


def _find_emails(norm: str, text: str) -> Iterator[_Hit]:
    for m in _EMAIL_RE.finditer(norm):
        yield _Hit(PiiMatch("email", m.start(), m.end(), text[m.start() : m.end()]), 0, 0)


def _find_ibans(norm: str, text: str) -> Iterator[_Hit]:
    for m in _IBAN_RE.finditer(norm):
        for cand in _shorter_by_groups(m.group(), " ", 15):
            if _valid_iban(cand.replace(" ", "")):
                end = m.start() + len(cand)
                yield _Hit(PiiMatch("iban", m.start(), end, text[m.start() : end]), 2, 4)
                break


def _find_cn_ids(norm: str, text: str) -> Iterator[_Hit]:
    for m in _CN_ID_RE.finditer(norm):
        if _valid_cn_id(m.group().replace(" ", "").upper()):
            yield _Hit(PiiMatch("cn_id", m.start(), m.end(), text[m.start() : m.end()]), 3, 2)


def _find_cards(norm: str, text: str) -> Iterator[_Hit]:
    for m in _CARD_RE.finditer(norm):
        sep = m.group("s1") or m.group("s2") or ""
        candidates = _shorter_by_groups(m.group(), sep, 13) if sep else (m.group(),)
        for cand in candidates:
            if _valid_card(cand.replace(sep, "") if sep else cand):
                end = m.start() + len(cand)
                yield _Hit(PiiMatch("card", m.start(), end, text[m.start() : end]), 0, 4)
                break


def _find_cn_mobiles(norm: str, text: str) -> Iterator[_Hit]:
    for m in _CN_MOBILE_RE.finditer(norm):
        digits = sum(ch.isdigit() for ch in m.group())
        # Keep the prefix (86/0086) and the first 3 of the 11 mobile digits.
        yield _Hit(PiiMatch("cn_mobile", m.start(), m.end(), text[m.start() : m.end()]), digits - 8, 4)


def _phone_windows(norm: str) -> list[tuple[int, int]]:
    """Merged, disjoint [start, end) windows around digit runs that could be phone numbers."""
    windows: list[tuple[int, int]] = []
    n = len(norm)
    for m in _DIGIT_RUN_RE.finditer(norm):
        run, run_start, lead = m.group(), m.start(), _PHONE_LEAD
        if _IDENT_BEFORE_RE.search(norm, max(0, run_start - 2), run_start):
            # "PO-2024-00123", "INV2024 ...": the first group belongs to an identifier, not to a phone.
            rest = run.lstrip("0123456789").lstrip(" -./()")
            run, run_start, lead = rest, run_start + len(run) - len(rest), 1
        digits = sum(map(str.isdigit, run))
        plus = "+" in norm[max(0, run_start - 3) : run_start]
        if digits < _PHONE_MIN_DIGITS and not (plus and digits >= _PHONE_MIN_DIGITS_PLUS):
            continue
        if _DATE_RUN_RE.fullmatch(run):
            continue  # "2024-11-24": the most common long digit run in business mail
        # Small windows on purpose: each number phonenumbers parses costs ~0.1 ms, so a window must not
        # drag in the dates and amounts around it. One character of context on each side is what its
        # VALID check looks at; a few more in front catch "(+86) " and "+".
        start = max(0, run_start - lead)
        end = min(n, m.end() + 1)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def _find_phones(norm: str, text: str) -> Iterator[_Hit]:
    windows = _phone_windows(norm)
    if not windows:
        return  # the common case: phonenumbers is never imported
    # Lazy: phonenumbers loads large metadata and CLI start-up matters.
    from phonenumbers import Leniency, PhoneNumberMatcher

    for w_start, w_end in windows:
        # Region CN: "+xx" numbers and Chinese landlines written nationally (021-..., (010) ...).
        for pm in PhoneNumberMatcher(norm[w_start:w_end], "CN", leniency=Leniency.VALID):
            start, end = w_start + pm.start, w_start + pm.end
            piece = norm[start:end]
            yield _Hit(
                PiiMatch("phone", start, end, text[start:end]), _phone_head(piece, pm.number.country_code), 2
            )


def _phone_head(piece: str, country_code: int) -> int:
    """How many leading digits form a visible international prefix ("+44" -> 2, "0044" -> 4)."""
    cc = str(country_code)
    first_digit = next((i for i, ch in enumerate(piece) if ch.isdigit()), len(piece))
    if "+" in piece[:first_digit]:
        return len(cc)
    digits = "".join(ch for ch in piece if ch.isdigit())
    if digits.startswith("00" + cc):
        return 2 + len(cc)
    return 0


_FINDERS = (_find_emails, _find_ibans, _find_cn_ids, _find_cards, _find_cn_mobiles, _find_phones)


# --- overlap resolution and masking -------------------------------------------------------------------


def _resolve(hits: Iterable[_Hit]) -> list[_Hit]:
    """Keep non-overlapping hits: higher-priority kind first, then longer, then earlier."""
    ordered = sorted(
        hits, key=lambda h: (_PRIORITY[h.match.kind], h.match.start - h.match.end, h.match.start)
    )
    starts: list[int] = []
    ends: list[int] = []
    kept: list[_Hit] = []
    for hit in ordered:
        m = hit.match
        i = bisect.bisect_right(starts, m.start)
        # Kept intervals are disjoint and sorted, so only the neighbours can overlap.
        if i > 0 and ends[i - 1] > m.start:
            continue
        if i < len(starts) and starts[i] < m.end:
            continue
        starts.insert(i, m.start)
        ends.insert(i, m.end)
        kept.insert(i, hit)
    return kept


def _find_hits(text: str) -> list[_Hit]:
    norm = _normalize(text)
    return _resolve(hit for finder in _FINDERS for hit in finder(norm, text))


def _mask_hit(hit: _Hit) -> str:
    original = hit.match.text
    norm = _normalize(original)
    if hit.match.kind == "email":
        at = norm.rindex("@")
        return MASK_CHAR * at + original[at:]
    # Phones hide digits only (an "ext." stays readable); the other kinds also hide letters
    # (IBAN bank codes such as "WEST", the X check character of an ID number).
    significant = str.isdigit if hit.match.kind == "phone" else str.isalnum
    positions = [i for i, ch in enumerate(norm) if significant(ch)]
    hidden = positions[hit.keep_head : max(hit.keep_head, len(positions) - hit.keep_tail)]
    chars = list(original)
    for i in hidden:
        chars[i] = MASK_CHAR
    return "".join(chars)


def _apply(text: str, hits: list[_Hit]) -> str:
    parts: list[str] = []
    pos = 0
    for hit in hits:
        parts.append(text[pos : hit.match.start])
        parts.append(_mask_hit(hit))
        pos = hit.match.end
    parts.append(text[pos:])
    return "".join(parts)


def _check_kinds(kinds: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(kinds)
    unknown = wanted.difference(PII_KINDS)
    if unknown:
        raise ValueError(f"unknown PII kind(s): {', '.join(sorted(unknown))}; known: {', '.join(PII_KINDS)}")
    return wanted


# --- public API ---------------------------------------------------------------------------------------


def find_pii(text: str) -> list[PiiMatch]:
    """Find PII in `text`: validated matches sorted by start, never overlapping.

    Overlaps are resolved by kind priority (email > iban > cn_id > card > cn_mobile > phone),
    then the longer match. Full-width digits and letters are recognised; offsets index `text`.
    """
    return [hit.match for hit in _find_hits(text)]


def mask_with_matches(text: str) -> tuple[str, list[PiiMatch]]:
    """Mask every kind of PII in `text`; return the masked text (same length) and the matches."""
    hits = _find_hits(text)
    return _apply(text, hits), [hit.match for hit in hits]


def mask_text(text: str, kinds: frozenset[str] | None = None) -> str:
    """Return `text` with PII replaced by "*" one character for one (length-preserving).

    `kinds` limits masking to those kinds (None = all of PII_KINDS); unknown kinds raise ValueError.
    Detection always considers every kind, so a card number is not half-masked as a "phone" when
    only phones are requested.
    """
    wanted = _check_kinds(kinds) if kinds is not None else None  # fail fast on a typo
    hits = _find_hits(text)
    if wanted is not None:
        hits = [hit for hit in hits if hit.match.kind in wanted]
    return _apply(text, hits)
