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
    r"账号|帐号|账户|帐户|卡号|银行卡|开户行|收款行|户号",
    r"account(?:\s+(?:no\.?|number|#))?|acct\.?|a/c(?:\s+no\.?)?|iban|beneficiary",
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
            yield PiiMatch("account", m.start(), m.end(), text[m.start() : m.end()])
    for m in _UNIONPAY.finditer(norm):
        yield PiiMatch("account", m.start(), m.end(), text[m.start() : m.end()])


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
        yield PiiMatch("id_number", m.start(), m.end(), text[m.start() : m.end()])


def find_passports(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _values_after(_PASSPORT_CUE, _PASSPORT_VALUE, 16, norm):
        yield PiiMatch("passport", m.start(), m.end(), text[m.start() : m.end()])
    for m in _CN_PASSPORT.finditer(norm):
        yield PiiMatch("passport", m.start(), m.end(), text[m.start() : m.end()])


# --- messaging handles --------------------------------------------------------------------------------

_HANDLE_CUE = _cue(
    r"微信号?|微信|薇信|威信|V信|QQ号?",
    r"we\s?chat(?:\s+id)?|weixin|wx|vx|qq|whats\s?app|skype|telegram|line\s+id|signal",
)
# What people put between the label and the handle: "：", "号", "是", "is", "me at", "on" …
_HANDLE_VALUE = re.compile(
    r"[\s:：#()（）\-]*"
    r"(?:(?:号码|号|账号|ID|id|是|为|也是|就是|搜|加|is|me\s+at|me\s+on|me|at|on|:)[\s:：#]*){0,3}"
    r"(?P<v>[A-Za-z][A-Za-z0-9_\-.]{4,29}(?<![.\-])|\+?[0-9][0-9 \-]{3,18}[0-9])"
    r"(?![A-Za-z0-9@_])"
)
_WXID = re.compile(r"(?<![A-Za-z0-9_])wxid_[A-Za-z0-9_]{4,}")


def find_handles(norm: str, text: str) -> Iterator[PiiMatch]:
    for c in _HANDLE_CUE.finditer(norm):
        m = _HANDLE_VALUE.match(norm, c.end())
        if m and m.start("v") - c.end() <= 16:
            yield PiiMatch("handle", m.start("v"), m.end("v"), text[m.start("v") : m.end("v")])
    for m in _WXID.finditer(norm):
        yield PiiMatch("handle", m.start(), m.end(), text[m.start() : m.end()])


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


def find_cued_phones(norm: str, text: str) -> Iterator[PiiMatch]:
    for c in _PHONE_CUE.finditer(norm):
        m = _PHONE_VALUE.match(norm, c.end())
        if not m:
            continue
        value = m.group("v")
        if sum(ch.isdigit() for ch in value) >= 7 and not _DATE_RE.fullmatch(value.strip()):
            yield PiiMatch("phone", m.start("v"), m.end("v"), text[m.start("v") : m.end("v")])


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
    r"(?<![A-Za-z0-9])(?:PO|SO|INV|PI|HT|ORD|CT|QT|DN|CI|PL)[\-_#/]?[0-9][A-Za-z0-9\-_/]{3,}(?![A-Za-z0-9])"
)


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
            yield PiiMatch("order", m.start("v"), m.end("v"), text[m.start("v") : m.end("v")])
    for m in _ORDER_CODE.finditer(norm):
        yield PiiMatch("order", m.start(), m.end(), text[m.start() : m.end()])


FINDERS = (find_accounts, find_id_numbers, find_passports, find_handles, find_cued_phones, find_orders)
