"""Personal data told apart by the word in front of it: bank accounts (账号, a/c …) whatever their
checksum, ID and passport numbers, WeChat/QQ/WhatsApp handles, phones glued to their label or written
in any format ("Tel13812345678", "电话：021–6123 4567"), and order numbers (PO, 订单号 …).

A number alone says little (an account number has no checksum that banks agree on, a QQ number is
any 5 to 11 digits); the label in front of it says what it is. So each finder looks for a label,
then for a value of the right shape right after it. Labels are matched on the normalised text
(companion.pii.model.normalize), case-insensitively where they are Latin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from companion.pii.model import PiiMatch

_NOT_LATIN_BEFORE = r"(?<![A-Za-z])"
_NOT_LATIN_AFTER = r"(?![A-Za-z])"
_DATE_RE = re.compile(r"[0-9]{4}([\-./])[0-9]{1,2}\1[0-9]{1,2}|[0-9]{1,2}([\-./])[0-9]{1,2}\2[0-9]{4}")


def _cue(chinese: str, latin: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{chinese}|{_NOT_LATIN_BEFORE}(?i:{latin}){_NOT_LATIN_AFTER})")


# --- bank accounts ------------------------------------------------------------------------------------

_ACCOUNT_CUE = _cue(
    r"账号|帐号|账户|帐户|卡号|银行卡|开户行|收款行|户号|银行|汇丰|中行|工行|建行|农行|交行|招行",
    r"account(?:\s+(?:no\.?|number|#))?|acct\.?|a/c(?:\s+no\.?)?|iban|beneficiary|bank|hsbc",
)
# 8 to 30 digits, spaces or dashes allowed between them; not an amount (no decimal part).
_ACCOUNT_VALUE = re.compile(r"(?<![0-9A-Za-z.,])[0-9](?:[ \-]?[0-9]){7,29}(?![0-9]|[.,][0-9])")
_ACCOUNT_REACH = 48  # a bank name may stand between the label and the number ("开户行：中国银行 账号：")
# UnionPay cards (62…, 16 to 19 digits) are bank accounts with or without a label and whatever Luhn says.
_UNIONPAY = re.compile(r"(?<![0-9A-Za-z])62[0-9]{2}(?:[ \-]?[0-9]{4}){3}(?:[ \-]?[0-9]{1,3})?(?![0-9A-Za-z])")


def _values_after(
    cue: re.Pattern[str], value: re.Pattern[str], reach: int, norm: str
) -> Iterator[re.Match[str]]:
    """The first `value` starting within `reach` characters after each `cue`, not past a blank line."""
    for c in cue.finditer(norm):
        stop = min(len(norm), c.end() + reach + 64)  # room for the value itself
        blank = norm.find("\n\n", c.end(), stop)
        m = value.search(norm, c.end(), blank if blank >= 0 else stop)
        if m and m.start() - c.end() <= reach:
            yield m


def find_accounts(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _values_after(_ACCOUNT_CUE, _ACCOUNT_VALUE, _ACCOUNT_REACH, norm):
        if not _DATE_RE.fullmatch(m.group()):
            yield PiiMatch.of("account", m, text)
    for m in _UNIONPAY.finditer(norm):
        yield PiiMatch.of("account", m, text)


# --- ID and passport numbers --------------------------------------------------------------------------

_ID_CUE = _cue(
    r"身份证(?:号码|号)?|证件号(?:码)?|身份号码",
    r"(?:ID|identity)\s*(?:card\s*)?(?:no\.?|number|#)|ID\s+card|HKID|national\s+ID",
)
_ID_VALUE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{0,2}[0-9]{6,17}[0-9Xx]?(?:\([0-9A]\))?(?![0-9A-Za-z])")
_PASSPORT_CUE = _cue(r"护照(?:号码|号)?", r"passport(?:\s+(?:no\.?|number|#))?")
_PASSPORT_VALUE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{0,2}[0-9]{6,9}(?![0-9A-Za-z])")
# Chinese passports need no label: E + 8 digits, E + letter + 7 digits, G + 8 digits.
_CN_PASSPORT = re.compile(r"(?<![0-9A-Za-z])(?:E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8})(?![0-9A-Za-z])")


def find_id_numbers(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _values_after(_ID_CUE, _ID_VALUE, 16, norm):
        yield PiiMatch.of("id_number", m, text)


def find_passports(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _values_after(_PASSPORT_CUE, _PASSPORT_VALUE, 16, norm):
        yield PiiMatch.of("passport", m, text)
    for m in _CN_PASSPORT.finditer(norm):
        yield PiiMatch.of("passport", m, text)


# --- messaging handles --------------------------------------------------------------------------------

_HANDLE_CUE = _cue(
    r"微信号?|微信|薇信|威信|V信|QQ号?|(?<![A-Za-z])LINE(?:\s*ID)?(?![A-Za-z])",
    r"we\s?chat(?:\s+id)?|weixin|wx|vx|qq|whats\s?app|skype|telegram|line\s+id|signal|viber|kakao(?:talk)?",
)
# What people put between the label and the handle: "：", "号", "是", "is", "me at", "on" …
_HANDLE_VALUE = re.compile(
    r"[\s:：#()（）\-]*"
    r"(?:(?:号码|号|账号|ID|id|是|为|也是|就是|搜|加|is|me\s+at|me\s+on|me|at|on|:)[\s:：#]*){0,3}"
    r"(?P<v>@?[A-Za-z][A-Za-z0-9_\-.]{4,29}(?<![.\-])|\+?[0-9][0-9 \-]{3,18}[0-9])"
    r"(?![A-Za-z0-9@_])"
)
_WXID = re.compile(r"(?<![A-Za-z0-9_])wxid_[A-Za-z0-9_]{4,}")


def find_handles(norm: str, text: str) -> Iterator[PiiMatch]:
    for c in _HANDLE_CUE.finditer(norm):
        m = _HANDLE_VALUE.match(norm, c.end())
        if m and m.start("v") - c.end() <= 16:
            yield PiiMatch.of("handle", m, text, "v")
    for m in _WXID.finditer(norm):
        yield PiiMatch.of("handle", m, text)


# --- dates of birth and number plates -------------------------------------------------------------------

_BIRTH_CUE = _cue(
    r"出生日期|出生年月日?|生日|出生于|出生",
    r"date\s+of\s+birth|birth\s*date|d\.?o\.?b\.?|born(?:\s+on)?|birthday",
)
_DATE_VALUE = re.compile(
    r"[0-9]{1,4}\s*[\-/.年]\s*[0-9]{1,2}\s*[\-/.月]\s*[0-9]{1,4}日?"
    r"|[0-9]{1,2}\s+(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+[0-9]{4}"
    r"|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+[0-9]{1,2},?\s+[0-9]{4}"
)
# Chinese number plates: a province's character, a letter, five or six letters and digits.
_CN_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][·•.\s\-]?[A-HJ-NP-Z0-9]{5,6}(?![A-Za-z0-9])"
)


def find_birth_dates(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _values_after(_BIRTH_CUE, _DATE_VALUE, 12, norm):
        yield PiiMatch.of("birth_date", m, text)


def find_plates(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _CN_PLATE.finditer(norm):
        yield PiiMatch.of("vehicle", m, text)


# --- phones by their label ----------------------------------------------------------------------------

# Glued to the label or not, with any separators: a label says it is a phone even where the
# numbering-plan check (companion.pii.numbers) cannot ("Tel13812345678", "Mob: 0086-138-1234-5678").
_PHONE_CUE = re.compile(
    r"(?:电话|手机号?码?|座机|传真|联系方式|分机|"
    r"(?<![A-Za-z])(?i:tel|telephone|phone|mob|mobile|cell|cellphone|fax|ph|hp|whats\s?app)(?:\.|(?![a-z])))"
)
_PHONE_VALUE = re.compile(
    r"(?:\s*(?:no\.?|number|号码|号)?\s*[:：#]?\s*)"
    r"(?P<v>\+?\(?[0-9][0-9 ()\-./]{5,22}[0-9])"
    r"(?![0-9A-Za-z])"
)


# Phone shapes no numbering plan vouches for (fictional ranges, national formats of other
# countries): "+" and at least 8 digits, or a trunk "0" / an area code in brackets and groups.
_PHONE_SHAPES = re.compile(
    r"(?<![0-9A-Za-z+])(?:"
    r"\+[0-9]{1,3}[ \-.]?(?:\(0?[0-9]{1,4}\)[ \-.]?)?[0-9]{2,6}(?:[ \-.][0-9]{2,8}){1,4}"
    r"|\(0?[0-9]{1,4}\)[ \-.]?[0-9]{3,4}[ \-.][0-9]{3,4}"
    r"|0[0-9]{1,4}[ \-][0-9]{3,4}[ \-][0-9]{3,4}"
    r")(?![0-9A-Za-z])"
)


def find_phone_shapes(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _PHONE_SHAPES.finditer(norm):
        digits = sum(ch.isdigit() for ch in m.group())
        if 8 <= digits <= 15 and not _DATE_RE.search(m.group()):
            yield PiiMatch.of("phone", m, text)


def find_cued_phones(norm: str, text: str) -> Iterator[PiiMatch]:
    for c in _PHONE_CUE.finditer(norm):
        m = _PHONE_VALUE.match(norm, c.end())
        if not m:
            continue
        value = m.group("v")
        if sum(ch.isdigit() for ch in value) >= 7 and not _DATE_RE.fullmatch(value.strip()):
            yield PiiMatch.of("phone", m, text, "v")


# --- order numbers ------------------------------------------------------------------------------------

# They tie a snippet to one deal and one customer. A label and a value with a digit in it, or a
# code that starts like one (PO-…, INV…, SO…); model numbers, HS codes and containers stay.
_ORDER_CUE = _cue(
    r"订单号?|订单编号|单号|合同号?|合同编号|发票号码?|提单号|运单号|报价单号|采购单号?",
    r"p\.?o\.?|s\.?o\.?|purchase\s+order|sales\s+order|order|invoice|inv|proforma|contract|ref\.?|reference|b/l|booking",
)
_ORDER_VALUE = re.compile(
    r"(?:\s*(?:no\.?|nos\.?|number|#|号码|号|编号)?\s*[:：#.]?\s*)"
    r"(?P<v>[A-Za-z0-9][A-Za-z0-9/_\-]*[0-9][A-Za-z0-9/_\-]*)(?![A-Za-z0-9])"
)
_ORDER_CODE = re.compile(
    r"(?<![A-Za-z0-9/\-])(?:PO|SO|INV|PI|HT|ORD|CT|QT|DN|CI|PL)[\-_#/]?[0-9][A-Za-z0-9\-_/]{3,}(?![A-Za-z0-9])"
)
# Any code of capitals and digits that carries a year (20xx) or a run of five digits or more:
# "HSNB-2026-031", "KS/IMP/2026/09", "BW-10492". Model numbers ("HS-K2308", "SUS304") carry
# neither; container numbers (ISO 6346: MSCU1234567) are not about anyone.
_CODE = re.compile(
    r"(?<![A-Za-z0-9\-/])[A-Z]{2,5}(?:[\-/][A-Z]{2,5})*[\-/]?[0-9][A-Z0-9]*(?:[\-/][A-Z0-9]+)*(?![A-Za-z0-9])"
)
_CONTAINER = re.compile(r"[A-Z]{3}U[0-9]{7}")
_DIGIT_RUNS = re.compile(r"[0-9]+")
_COURIER_CUE = _cue(
    r"运单号?|快递单号?|物流单号|顺丰|单号",
    r"awb|air\s*waybill|waybill|tracking(?:\s+(?:no\.?|number|#))?|dhl|fedex|ups|tnt|ems|courier",
)
_COURIER_VALUE = re.compile(r"(?<![0-9A-Za-z])[0-9](?:[ \-]?[0-9]){7,21}(?![0-9A-Za-z])")


def _coded(code: str) -> bool:
    if _CONTAINER.fullmatch(code):
        return False
    runs = _DIGIT_RUNS.findall(code)
    return len(runs) >= 2 or any(len(r) >= 5 or (len(r) == 4 and r.startswith("20")) for r in runs)


def _order_like(value: str) -> bool:
    if _DATE_RE.fullmatch(value):
        return False
    if value.isdigit():
        return len(value) >= 6  # "order 2000 pcs" is a quantity
    return len(value) >= 4


def find_orders(norm: str, text: str) -> Iterator[PiiMatch]:
    for c in _ORDER_CUE.finditer(norm):
        m = _ORDER_VALUE.match(norm, c.end())
        if m and _order_like(m.group("v")):
            yield PiiMatch.of("order", m, text, "v")
    for m in _ORDER_CODE.finditer(norm):
        yield PiiMatch.of("order", m, text)
    for m in _CODE.finditer(norm):
        if _coded(m.group()):
            yield PiiMatch.of("order", m, text)
    for m in _values_after(_COURIER_CUE, _COURIER_VALUE, 24, norm):
        if not _DATE_RE.fullmatch(m.group()):
            yield PiiMatch.of("order", m, text)


FINDERS = (
    find_accounts,
    find_id_numbers,
    find_passports,
    find_handles,
    find_birth_dates,
    find_plates,
    find_phone_shapes,
    find_cued_phones,
    find_orders,
)
