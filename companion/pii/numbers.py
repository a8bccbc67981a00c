"""Numbers that identify a person by their shape alone: e-mail addresses, IBANs, Chinese resident
IDs, payment cards, Chinese mobiles and other phone numbers.

Detection is two-staged: compiled regexes find cheap candidates in one linear pass per kind, then
the candidates are validated with check digits (python-stdnum) or numbering plans (phonenumbers).
Both libraries are imported lazily: `stdnum.util` pulls in pydoc/ssl and phonenumbers loads large
metadata, and CLI start-up time matters.

Every finder takes the normalised text (companion.pii.normalize: same length, full-width folded,
dashes unified) and yields PiiMatch ranges that index the original.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from companion.pii.model import PiiMatch

# --- candidate regexes ------------------------------------------------------------------------------
# Explicit [0-9] rather than \d: \d also matches Arabic-Indic and other digits we cannot validate.
# Digit-based kinds refuse an adjacent ASCII letter or digit: "INV2024...", "SO13812345678" are
# identifiers (order numbers, found by companion.pii.cued), and a number inside a longer digit run
# is not the number we are looking for. Phones glued to a phone cue ("Tel13812345678") are found
# by companion.pii.cued too.

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
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

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


def valid_cn_id(compact: str) -> bool:
    """GB 11643: the check character and a birth date that exists, whatever the region code.

    Deliberately not stdnum's `ric.is_valid`, which also wants a region code from its own table:
    real IDs carry codes of districts merged or renamed after the holder was born.
    """
    if len(compact) != 18 or not compact[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(compact[:17], _CN_ID_WEIGHTS, strict=True))
    if compact[17].upper() != "10X98765432"[total % 11]:
        return False
    try:
        born = date(int(compact[6:10]), int(compact[10:12]), int(compact[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


_TW_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"  # Taiwan ID letters in the order of their codes 10..35


def valid_tw_id(value: str) -> bool:
    """Taiwan national ID: a letter, 1 or 2 (or 8/9 for residents), eight digits, weighted mod 10."""
    code = 10 + _TW_LETTERS.index(value[0])
    digits = [int(d) for d in value[1:]]
    total = (
        code // 10
        + (code % 10) * 9
        + sum(d * w for d, w in zip(digits, (8, 7, 6, 5, 4, 3, 2, 1, 1), strict=True))
    )
    return total % 10 == 0


def valid_hkid(value: str) -> bool:
    """Hong Kong identity card: one or two letters, six digits, a check digit or A (mod 11)."""
    letters, digits, check = value[:-7], value[-7:-1], value[-1]
    values = [36] * (2 - len(letters)) + [ord(c) - 55 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


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


def _match(kind: str, start: int, end: int, text: str) -> PiiMatch:
    return PiiMatch(kind, start, end, text[start:end])


def find_emails(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _EMAIL_RE.finditer(norm):
        yield _match("email", m.start(), m.end(), text)


def find_ibans(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _IBAN_RE.finditer(norm):
        for cand in _shorter_by_groups(m.group(), " ", 15):
            if _valid_iban(cand.replace(" ", "")):
                yield _match("iban", m.start(), m.start() + len(cand), text)
                break


def find_cn_ids(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _CN_ID_RE.finditer(norm):
        if valid_cn_id(m.group().replace(" ", "").upper()):
            yield _match("cn_id", m.start(), m.end(), text)


_TW_ID_RE = re.compile(r"(?<![0-9A-Za-z])[A-Z][12890][0-9]{8}(?![0-9A-Za-z])")
_HKID_RE = re.compile(r"(?<![0-9A-Za-z])(?P<l>[A-Z]{1,2})(?P<d>[0-9]{6}) ?\((?P<c>[0-9A])\)")


# Brazil's CPF (123.456.789-09) and Malaysia's MyKad (850101-14-5678), checked by python-stdnum.
_CPF_RE = re.compile(r"(?<![0-9A-Za-z.])[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}(?![0-9])")
_NRIC_RE = re.compile(r"(?<![0-9A-Za-z-])[0-9]{6}-[0-9]{2}-[0-9]{4}(?![0-9-])")


def _valid_stdnum(module: str, value: str) -> bool:
    from importlib import import_module

    return bool(import_module(f"stdnum.{module}").is_valid(value))


def find_other_ids(norm: str, text: str) -> Iterator[PiiMatch]:
    """Taiwan, Hong Kong, Brazilian and Malaysian identity numbers, by their check digits."""
    for regex, module in ((_CPF_RE, "br.cpf"), (_NRIC_RE, "my.nric")):
        for m in regex.finditer(norm):
            if _valid_stdnum(module, m.group()):
                yield _match("id_number", m.start(), m.end(), text)
    for m in _TW_ID_RE.finditer(norm):
        if valid_tw_id(m.group()):
            yield _match("id_number", m.start(), m.end(), text)
    for m in _HKID_RE.finditer(norm):
        if valid_hkid(m.group("l") + m.group("d") + m.group("c")):
            yield _match("id_number", m.start(), m.end(), text)


def find_cards(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _CARD_RE.finditer(norm):
        sep = m.group("s1") or m.group("s2") or ""
        candidates = _shorter_by_groups(m.group(), sep, 13) if sep else (m.group(),)
        for cand in candidates:
            if _valid_card(cand.replace(sep, "") if sep else cand):
                yield _match("card", m.start(), m.start() + len(cand), text)
                break


def find_cn_mobiles(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _CN_MOBILE_RE.finditer(norm):
        yield _match("cn_mobile", m.start(), m.end(), text)


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


def find_phones(norm: str, text: str) -> Iterator[PiiMatch]:
    windows = _phone_windows(norm)
    if not windows:
        return  # the common case: phonenumbers is never imported
    # Lazy: phonenumbers loads large metadata and CLI start-up matters.
    from phonenumbers import Leniency, PhoneNumberMatcher

    for w_start, w_end in windows:
        # Region CN: "+xx" numbers and Chinese landlines written nationally (021-..., (010) ...).
        for pm in PhoneNumberMatcher(norm[w_start:w_end], "CN", leniency=Leniency.VALID):
            yield _match("phone", w_start + pm.start, w_start + pm.end, text)


FINDERS = (find_emails, find_ibans, find_cn_ids, find_other_ids, find_cards, find_cn_mobiles, find_phones)
