"""What the finders share: a match, the people a text is about, the normalised view of a text, and
the typed placeholders a match is replaced with."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

#: Every kind `find_pii` reports, in overlap priority order: when matches overlap they are merged
#: into one, and the merged match takes the kind that comes first here.
PII_KINDS: tuple[str, ...] = (
    "email",
    "iban",
    "cn_id",
    "card",
    "account",
    "id_number",
    "passport",
    "cn_mobile",
    "phone",
    "handle",
    "birth_date",
    "vehicle",
    "order",
    "subject",
    "address",
    "company",
    "name",
)

#: The typed placeholder of each kind, in English and Simplified Chinese.
PLACEHOLDERS: dict[str, tuple[str, str]] = {
    "email": ("[email]", "[邮箱]"),
    "iban": ("[account]", "[账号]"),
    "cn_id": ("[ID number]", "[证件号]"),
    "card": ("[card number]", "[卡号]"),
    "account": ("[account]", "[账号]"),
    "id_number": ("[ID number]", "[证件号]"),
    "passport": ("[passport]", "[护照号]"),
    "cn_mobile": ("[phone]", "[电话]"),
    "phone": ("[phone]", "[电话]"),
    "handle": ("[messaging ID]", "[社交账号]"),
    "birth_date": ("[date of birth]", "[出生日期]"),
    "vehicle": ("[plate no.]", "[车牌]"),
    "order": ("[order no.]", "[单号]"),
    "subject": ("[subject]", "[主题]"),
    "address": ("[address]", "[地址]"),
    "company": ("[company]", "[公司]"),
    "name": ("[name]", "[姓名]"),
}

#: Kinds found from the words around them rather than from a checksum or a numbering plan: inside a
#: flagged phrase they give way, so the phrase a reviewer must judge stays readable.
SOFT_KINDS = frozenset({"address", "company", "name", "subject"})


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data: its kind, the half-open range [start, end) and the original text."""

    kind: str
    start: int
    end: int
    text: str

    @classmethod
    def of(cls, kind: str, m: re.Match[str], text: str, group: int | str = 0) -> PiiMatch:
        """The match of `group` of the regex match `m` (found on the normalised text) in `text`."""
        start, end = m.start(group), m.end(group)
        return cls(kind, start, end, text[start:end])


@dataclass(frozen=True)
class People:
    """Who a text is about, as far as the mail around it tells: display names and addresses of its
    sender and recipients, the user's own names, and the domains its companies write from.

    Their names are masked wherever they occur, whatever the structure around them; the local parts
    of their addresses too (people use them as chat handles and sign with them); the distinctive
    words of their (non-free-mail) domains are masked as company names.
    """

    names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]], own_names: Iterable[str] = ()) -> People:
        """From (address, display name) pairs and the user's own names; blanks are dropped."""
        names: list[str] = []
        addresses: list[str] = []
        for address, name in pairs:
            if address and "@" in address and address.lower() not in addresses:
                addresses.append(address.lower())
            if name and name.strip() and name.strip() not in names:
                names.append(name.strip())
        names.extend(n.strip() for n in own_names if n and n.strip() and n.strip() not in names)
        return cls(tuple(names), tuple(addresses))

    def merged(self, other: People) -> People:
        return People(
            self.names + tuple(n for n in other.names if n not in self.names),
            self.addresses + tuple(a for a in other.addresses if a not in self.addresses),
        )


# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space map 1:1 onto ASCII, and every kind of
# dash onto "-", so matching runs on the translated text and every offset stays valid for the original.
_NORMALIZE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_NORMALIZE[0x3000] = 0x20
_NORMALIZE.update(dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), ord("-")))
_NORMALIZE.update({0xA0: 0x20, 0x202F: 0x20, 0x2007: 0x20})  # no-break spaces


@lru_cache(maxsize=1)
def _table() -> dict[int, int]:
    """_NORMALIZE plus traditional -> simplified Chinese, character for character (the policy's own
    table), so one set of patterns reads 陳/陈, 號/号, 區/区."""
    from companion.policy.normalize import t2s_table

    table = {ord(t): ord(s) for t, s in t2s_table().items() if len(t) == 1 and len(s) == 1}
    table.update(_NORMALIZE)
    return table


def normalize(text: str) -> str:
    """`text` with full-width forms folded to ASCII, dashes unified and traditional Chinese
    simplified; the same length, so offsets index the original."""
    return text.translate(_table())


_HAN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def has_han(text: str) -> bool:
    return _HAN_RE.search(text) is not None


def placeholder(kind: str, lang: str) -> str:
    """The placeholder of `kind` in `lang` ("zh" or "en")."""
    en, zh = PLACEHOLDERS[kind]
    return zh if lang == "zh" else en
