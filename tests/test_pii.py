"""Tests for companion.pii: detection, validation and length-preserving masking."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from companion.pii import PII_KINDS, PiiMatch, find_pii, mask_text, mask_with_matches

REPO_ROOT = Path(__file__).resolve().parent.parent

# --- helpers computing check digits independently of python-stdnum ------------------------------------

_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id(body17: str) -> str:
    """Append the GB 11643 check character to 17 digits."""
    total = sum(int(d) * w for d, w in zip(body17, _CN_WEIGHTS, strict=True))
    return body17 + "10X98765432"[total % 11]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(partial: str) -> str:
    """Append the digit that makes `partial` pass the Luhn check."""
    return next(partial + d for d in "0123456789" if luhn_ok(partial + d))


def kinds_of(text: str) -> list[str]:
    return [m.kind for m in find_pii(text)]


VALID_ID = cn_id("11010119900307451")  # Beijing Dongcheng, born 1990-03-07
VALID_ID_X = cn_id("11010519850612107")  # check character X
UNIONPAY_19 = luhn_complete("622202123456789012")


def test_helpers_produce_expected_numbers() -> None:
    assert VALID_ID == "110101199003074514"
    assert VALID_ID_X == "11010519850612107X"
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert len(UNIONPAY_19) == 19 and luhn_ok(UNIONPAY_19)


# --- each kind, masked exactly --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        # Chinese mobiles: first 3 and last 4 of the 11 digits stay, prefixes and separators stay.
        ("电话13812345678谢谢", "cn_mobile", "电话138****5678谢谢"),
        ("Mobile: 138 1234 5678.", "cn_mobile", "Mobile: 138 **** 5678."),
        ("tel +86 139-1234-5678", "cn_mobile", "tel +86 139-****-5678"),
        ("+8615912345678", "cn_mobile", "+86159****5678"),
        ("0086 18612345678", "cn_mobile", "0086 186****5678"),
        ("(+86) 177 1234 5678", "cn_mobile", "(+86) 177 **** 5678"),
        # Chinese resident ID: first 3 and last 2 stay.
        (f"身份证号：{VALID_ID}", "cn_id", "身份证号：110*************14"),
        (f"ID {VALID_ID_X.lower()} ok", "cn_id", "ID 110*************7x ok"),
        ("ID 110101 19900307 4514", "cn_id", "ID 110*** ******** **14"),
        # Other phones: "+country code" and the last 2 digits stay.
        ("Tel +44 20 7946 0958.", "phone", "Tel +44 ** **** **58."),
        ("call +1 415-555-2671 today", "phone", "call +1 ***-***-**71 today"),
        ("+81 3-1234-5678", "phone", "+81 *-****-**78"),
        ("0044 20 7946 0958", "phone", "0044 ** **** **58"),
        ("Office 021-6123 4567", "phone", "Office ***-**** **67"),
        ("(010) 8888 8888", "phone", "(***) **** **88"),
        # E-mail: the whole local part is hidden, the domain stays.
        ("j.smith@acme.com", "email", "*******@acme.com"),
        ("<john.doe+invoices@mail.acme.co.uk>", "email", "<*****************@mail.acme.co.uk>"),
        # IBAN: country code and last 4 characters stay.
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "iban", "IBAN GB** **** **** **** **54 32 thanks"),
        ("DE89 3704 0044 0532 0130 00", "iban", "DE** **** **** **** **30 00"),
        ("GB82WEST12345698765432", "iban", "GB****************5432"),
        # Cards: last 4 digits stay.
        ("Visa 4111 1111 1111 1111", "card", "Visa **** **** **** 1111"),
        ("4111-1111-1111-1111", "card", "****-****-****-1111"),
        ("card 4111111111111111 exp 12/26", "card", "card ************1111 exp 12/26"),
        ("card 4111 1111 1111 1111 12/26", "card", "card **** **** **** 1111 12/26"),
        ("Amex 3782 822463 10005", "card", "Amex **** ****** *0005"),
        (f"银联 {UNIONPAY_19}", "card", f"银联 {'*' * 15}{UNIONPAY_19[-4:]}"),
    ],
)
def test_each_kind_detected_and_masked(text: str, kind: str, masked: str) -> None:
    assert kinds_of(text) == [kind]
    assert mask_text(text) == masked


def test_match_fields_index_the_original() -> None:
    text = "Contact j.smith@acme.com or 13812345678."
    matches = find_pii(text)
    assert matches == [
        PiiMatch("email", 8, 24, "j.smith@acme.com"),
        PiiMatch("cn_mobile", 28, 39, "13812345678"),
    ]
    for m in matches:
        assert text[m.start : m.end] == m.text


def test_full_width_digits() -> None:
    text = "手机：１３８１２３４５６７８，座机：０２１－６１２３ ４５６７"
    masked, matches = mask_with_matches(text)
    assert [(m.kind, m.start, m.end) for m in matches] == [("cn_mobile", 3, 14), ("phone", 18, 31)]
    assert matches[0].text == "１３８１２３４５６７８"
    assert masked == "手机：１３８****５６７８，座机：***－**** **６７"


# --- validation rejects bad check digits ----------------------------------------------------------------


def test_cn_id_with_wrong_check_digit_is_not_an_id() -> None:
    wrong = VALID_ID[:-1] + str((int(VALID_ID[-1]) + 1) % 10)
    text = f"身份证 {wrong}"
    assert find_pii(text) == []
    assert mask_text(text) == text


def test_cn_id_with_impossible_birth_date_is_not_an_id() -> None:
    bad_date = cn_id("11010119901337451")  # month 13, valid check character
    assert kinds_of(bad_date) == []


def test_iban_with_wrong_check_digits_is_not_masked() -> None:
    for text in ("GB83 WEST 1234 5698 7654 32", "DE88 3704 0044 0532 0130 00", "GB83WEST12345698765432"):
        assert find_pii(text) == []
        assert mask_text(text) == text


def test_card_failing_luhn_is_not_masked() -> None:
    for text in ("4111 1111 1111 1112", "4111111111111112", "3782 822463 10006"):
        assert find_pii(text) == []
        assert mask_text(text) == text


def test_card_needs_plausible_issuer_prefix() -> None:
    # Luhn-valid, but cards do not start with 0, 1, 7, 8 or 9.
    for prefix in "01789":
        number = luhn_complete(prefix + "11111111111111")
        assert kinds_of(f"no {number} here") == []


def test_numbers_inside_longer_runs_are_not_matched() -> None:
    assert kinds_of("ref 213812345678900 x") == []  # a mobile-looking run inside 15 digits
    assert kinds_of("ref 41111111111111111111 x") == []  # 20 digits: not a card
    assert kinds_of("SO13812345678") == []  # letters glued on: an identifier
    assert kinds_of("+13812345678") == []  # a +1 number, not a Chinese mobile (and not a valid one)


# --- no false positives on business text ----------------------------------------------------------------

BUSINESS = [
    "PO-2024-00123",
    "USD 12,345.00",
    "2024-11-24",
    "8471.30.0100",
    "INV20241124001",
    "Order 20241124001 shipped",
    "2024-11-24 2024-11-25",
    "Qty 1,200 pcs @ USD 3.45 = USD 4,140.00",
    "HS code 8471.30.0100, invoice INV20241124001, PO-2024-00123, dated 2024-11-24, total USD 12,345.00.",
    "合同号 HT-2024-0815，金额 RMB 1,234,567.89 元，交货期 2024/12/31。",
    "Container MSCU1234567, B/L 2024112400123, 40HQ x 2",
    "Version 1.2.3, build 20241124.1",
]


@pytest.mark.parametrize("text", BUSINESS)
def test_no_false_positives(text: str) -> None:
    assert find_pii(text) == []
    assert mask_text(text) == text


# --- mixed text, priorities, filters ----------------------------------------------------------------------

MIXED = (
    "您好 Mr. Smith，请联系张经理：手机 +86 138-1234-5678，邮箱 zhang.wei@example.cn；"
    f"身份证 {VALID_ID}。付款 IBAN DE89 3704 0044 0532 0130 00，Visa 4111-1111-1111-1111。"
    "Office 021-6123 4567. PO-2024-00123 合计 USD 12,345.00，2024-11-24。"
)
MIXED_MASKED = (
    "您好 Mr. Smith，请联系张经理：手机 +86 138-****-5678，邮箱 *********@example.cn；"
    "身份证 110*************14。付款 IBAN DE** **** **** **** **30 00，Visa ****-****-****-1111。"
    "Office ***-**** **67. PO-2024-00123 合计 USD 12,345.00，2024-11-24。"
)


def test_mixed_chinese_english_text() -> None:
    masked, matches = mask_with_matches(MIXED)
    assert [m.kind for m in matches] == ["cn_mobile", "email", "cn_id", "iban", "card", "phone"]
    assert masked == MIXED_MASKED
    assert mask_text(MIXED) == MIXED_MASKED


def test_matches_sorted_and_disjoint() -> None:
    matches = find_pii(MIXED + " " + MIXED)
    assert len(matches) == 12
    for a, b in zip(matches, matches[1:], strict=False):
        assert a.end <= b.start


def test_email_wins_over_mobile_inside_it() -> None:
    assert mask_with_matches("13812345678@163.com") == (
        "***********@163.com",
        [PiiMatch("email", 0, 19, "13812345678@163.com")],
    )


def test_cn_id_wins_over_card() -> None:
    # An ID number that also passes Luhn and starts with a card issuer digit.
    number = next(
        n for n in (cn_id(f"31010119900307{seq}") for seq in range(100, 1000)) if n[-1] != "X" and luhn_ok(n)
    )
    assert kinds_of(f"证件 {number}") == ["cn_id"]
    assert mask_text(number) == number[:3] + "*" * 13 + number[-2:]


def test_overlap_resolution_priority_then_length() -> None:
    # The public finders never produce same-kind overlaps, so exercise the resolver directly.
    from companion.pii import _Hit, _resolve

    def hit(kind: str, start: int, end: int) -> _Hit:
        return _Hit(PiiMatch(kind, start, end, "x" * (end - start)), 0, 0)

    kept = _resolve([hit("phone", 0, 5), hit("phone", 2, 12), hit("card", 10, 20), hit("email", 18, 25)])
    assert [(h.match.kind, h.match.start, h.match.end) for h in kept] == [("phone", 2, 12), ("email", 18, 25)]
    kept = _resolve([hit("phone", 0, 5), hit("phone", 2, 12), hit("cn_mobile", 30, 41)])
    assert [(h.match.start, h.match.end) for h in kept] == [(2, 12), (30, 41)]


def test_kinds_filter() -> None:
    only_email = mask_text(MIXED, frozenset({"email"}))
    assert "*********@example.cn" in only_email
    assert "+86 138-1234-5678" in only_email and "4111-1111-1111-1111" in only_email
    only_cards_and_phones = mask_text(MIXED, frozenset({"card", "phone"}))
    assert "Visa ****-****-****-1111" in only_cards_and_phones
    assert "Office ***-**** **67" in only_cards_and_phones
    assert "zhang.wei@example.cn" in only_cards_and_phones and VALID_ID in only_cards_and_phones
    assert mask_text(MIXED, frozenset()) == MIXED
    assert mask_text(MIXED, frozenset(PII_KINDS)) == MIXED_MASKED


def test_kinds_filter_does_not_reclassify() -> None:
    # Asking for phones only must not half-mask the mobile inside an e-mail address.
    text = "13812345678@163.com"
    assert mask_text(text, frozenset({"cn_mobile", "phone"})) == text


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="passport"):
        mask_text("x", frozenset({"passport"}))


# --- properties ---------------------------------------------------------------------------------------------

SAMPLES = [
    "",
    "plain text without anything",
    MIXED,
    "手机：１３８１２３４５６７８，座机：０２１－６１２３ ４５６７",
    "Tel +44 20 7946 0958 / +1 415-555-2671 / 0044 20 7946 0958",
    "GB82WEST12345698765432 and DE89 3704 0044 0532 0130 00",
    "cards 4111 1111 1111 1111, 3782 822463 10005, " + UNIONPAY_19,
    "emails a@b.cn, very.long.local+tag@sub.example.com.cn",
    *BUSINESS,
]


@pytest.mark.parametrize("text", SAMPLES)
def test_length_preserved_and_offsets_stable(text: str) -> None:
    masked, matches = mask_with_matches(text)
    assert len(masked) == len(text)
    assert len(mask_text(text)) == len(text)
    # Outside the matches nothing changes.
    covered = {i for m in matches for i in range(m.start, m.end)}
    assert all(masked[i] == text[i] for i in range(len(text)) if i not in covered)


@pytest.mark.parametrize("text", SAMPLES)
def test_masking_masked_text_is_stable(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once
    assert find_pii(once) == []


def test_large_text_is_fast() -> None:
    chunk = (
        "Dear customer, PO-2024-00123 at USD 12,345.00 left on 2024-11-24; call +44 20 7946 0958 "
        "or 138-1234-5678, mail j.smith@acme.com. "
    )
    text = chunk * (200_000 // len(chunk))
    start = time.perf_counter()
    masked, matches = mask_with_matches(text)
    elapsed = time.perf_counter() - start
    assert len(masked) == len(text)
    assert len(matches) == 3 * (200_000 // len(chunk))
    assert elapsed < 10, elapsed  # generous: guards against accidental quadratic behaviour


def test_heavy_libraries_load_lazily() -> None:
    code = (
        "import sys\n"
        "from companion.pii import mask_text\n"
        "mask_text('Invoice INV20241124001 dated 2024-11-24, j.smith@acme.com')\n"
        "print('phonenumbers' in sys.modules, 'stdnum' in sys.modules)\n"
        "mask_text('call 021-6123 4567')\n"
        "print('phonenumbers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "False False"
    assert out[1] == "True"
