"""Street addresses (Chinese and Western) and company names.

No gazetteer: the shape gives an address away. A Chinese address is a chain of administrative units
(省/市/区/县 …) and a road with a number (…路1388号), ending in building, floor or room units; a
Western one is a house number, words and a street type (14 Harbour Road), then a town and a postcode.
A label (地址：, Address:) marks the rest of its line as an address whatever its shape.

Company names come from their legal form (…有限公司, … Co., Ltd.) and from the domains the mail's
own people write from: "huadong-trading.com" makes "Huadong" a company name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from companion.pii.model import People, PiiMatch

_HAN = r"\u4e00-\u9fff"
# Characters that end a name or an address when walking back from its end: particles, pronouns,
# verbs of sending and the like. A Chinese address or company name has no space to say where it
# starts, so it starts after the nearest of these.
_LEAD_STOP = set("的了和与跟给向是在对把被从到为及或并且我你他她们这那请将已也都还就寄送发往至于由按")


def _walk_back(norm: str, end: int, limit: int) -> int:
    """Start of the Han run that ends at `end`, at most `limit` long, stopping at a _LEAD_STOP char."""
    start = end
    while start > 0 and end - start < limit:
        ch = norm[start - 1]
        if not ("\u4e00" <= ch <= "\u9fff" or ch.isdigit() or ch in "-"):
            break
        if ch in _LEAD_STOP:
            break
        start -= 1
    return start


# --- Chinese addresses ----------------------------------------------------------------------------------

_ADMIN = r"(?:省|自治区|特别行政区|市|自治州|地区|区|县|旗|镇|乡|街道)"
_ROAD = r"(?:大道|路|街|巷|弄|胡同)"  # not 道 alone: "知道3号" is a date
_NUMBER = r"[0-9一二三四五六七八九十百零〇]+(?:-[0-9]+)?"
_UNIT = r"(?:号楼|号院|号|弄|巷|段|栋|幢|座|楼|层|室|单元|房|铺|仓|库|门|期|区)"
# The tail: "…路1388号", then "5号楼1203室", "B座12层" … Built on the normalised text (ASCII digits).
_CN_STREET = re.compile(
    rf"[{_HAN}A-Za-z0-9]{{1,12}}?(?P<road>{_ROAD})(?:[{_HAN}]{{0,3}})?{_NUMBER}{_UNIT}"
    rf"(?:[{_HAN}A-Za-z0-9\-]{{0,8}}?{_NUMBER}{_UNIT}|[A-Za-z]{_UNIT}|[{_HAN}]{{2,8}}(?:大厦|大楼|广场|中心|园|花园|小区|公寓))*"
)
_CN_ADMIN_CHAIN = re.compile(
    rf"(?P<first>[{_HAN}]{{2,6}}?{_ADMIN})(?:[{_HAN}]{{2,6}}?{_ADMIN}){{1,3}}[{_HAN}A-Za-z0-9\-]{{0,20}}?(?:{_NUMBER}{_UNIT}|村|组|工业园|工业区|开发区|园区|大厦|广场)"
)


def _find_cn_addresses(norm: str, text: str) -> Iterator[PiiMatch]:
    for regex in (_CN_STREET, _CN_ADMIN_CHAIN):
        for m in regex.finditer(norm):
            # The regex may start inside the words before the address ("请寄到上海市…"); the admin
            # chain before a street is taken by walking back over Han characters.
            if regex is _CN_STREET:
                start = _walk_back(norm, m.start("road"), 24)
            else:
                start = _walk_back(norm, m.end("first"), 8)
            start = _trim_lead(norm, start, m.end())
            yield PiiMatch("address", start, m.end(), text[start : m.end()])


def _trim_lead(norm: str, start: int, end: int) -> int:
    """Skip leading _LEAD_STOP characters and labels ("地址", "寄到") the regex took in."""
    while start < end and norm[start] in _LEAD_STOP:
        start += 1
    return start


# --- Western addresses ------------------------------------------------------------------------------------

_STREET_TYPES = (
    "Road|Rd|Street|St|Avenue|Ave|Av|Lane|Ln|Drive|Dr|Way|Boulevard|Blvd|Court|Ct|Place|Pl|Square|Sq|"
    "Terrace|Close|Crescent|Cres|Highway|Hwy|Parkway|Pkwy|Row|Walk|Gardens|Grove|Hill|Wharf|Quay|Parade|"
    "Circle|Plaza|Mews|Green|Rise|Broadway|Wall|Embankment|Chase|Reach|Strasse|Straße|Str|Weg|Allee|Platz|Gasse|Rue|Via|Calle|Avenida"
)
_CAP = r"(?:[A-Z][A-Za-z'’\-]*\.?|[0-9]+(?:st|nd|rd|th))"
_POSTCODE = (
    r"[A-Z]{1,2}[0-9][A-Z0-9]?\s?[0-9][A-Z]{2}"  # UK
    r"|[A-Z]{2}\s[0-9]{5}(?:-[0-9]{4})?"  # US state + ZIP
    r"|[0-9]{4,6}(?:-[0-9]{3,4})?"  # most others
)
_UNIT_PREFIX = r"(?:(?:Flat|Unit|Suite|Ste|Apt|Apartment|Room|Rm|Floor|Fl|Level|Building|Bldg|Block|Blk|Tower)\.?\s*[0-9A-Za-z\-/]+,?\s+)"
_WESTERN = re.compile(
    rf"(?<![A-Za-z0-9]){_UNIT_PREFIX}{{0,3}}(?:No\.?\s*)?[0-9]{{1,5}}[A-Za-z]?(?:[\-/][0-9]{{1,5}})?,?\s+"
    rf"(?:{_CAP}\s+){{0,4}}(?:{_STREET_TYPES})\b\.?"
    rf"(?:,?\s*(?:{_POSTCODE})(?![A-Za-z0-9])|,\s*(?:Suite|Ste|Unit|Floor|Fl|Room|Rm|Apt)\.?\s*[0-9A-Za-z\-]+|,\s*{_CAP}(?:\s+{_CAP}){{0,2}}|\s+{_CAP}(?=,))*"
    rf"(?:,?\s+(?:{_POSTCODE})(?![A-Za-z0-9]))?"
)
# "Hauptstraße 12, 10115 Berlin": the street first, then the number.
_WESTERN_NAME_FIRST = re.compile(
    r"(?<![A-Za-z])[A-Z][a-zäöüß]+(?:straße|strasse|str\.|weg|allee|platz|gasse|laan|straat|vej|gatan)"
    r"\s+[0-9]{1,4}[a-z]?(?:,\s*[0-9]{4,5}\s+[A-Z][a-zäöü]+)?"
)
# A UK postcode after a town, on its own ("London E14 9QR"); a US town, state and ZIP ("Denver, CO
# 80204"); a postcode before a town at the start of a line or after a comma ("40599 Düsseldorf").
_UK_TOWN_POSTCODE = re.compile(
    r"(?<![A-Za-z])[A-Z][a-z]+,?\s+[A-Z]{1,2}[0-9][A-Z0-9]?\s?[0-9][A-Z]{2}(?![A-Za-z0-9])"
)
_US_TOWN_ZIP = re.compile(
    r"(?<![A-Za-z])[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,\s[A-Z]{2}\s[0-9]{5}(?:-[0-9]{4})?(?![0-9])"
)
_POSTCODE_TOWN = re.compile(
    r"(?:^|(?<=\n)|(?<=[,·|]\s))[ \t]*(?:[A-Z]{1,2}-)?[0-9]{4,5}\s+"
    r"(?!(?i:pcs|pieces|units|sets|cartons|ctns|pairs|boxes|meters|tons|usd|rmb|eur)\b)"
    r"[A-ZÄÖÜÀ-Ý][a-zäöüßà-ÿ]+(?:[\s\-][A-Z][a-zäöüß]+)?(?![A-Za-z])"
)
# Comma-separated capitalised segments ending in a town and a long postcode ("Shop No. 7, Lohar
# Chawl, Kalbadevi, Mumbai 400002"): the shape of an address in most countries without a street type.
_SEGMENT = r"(?:[A-Z][A-Za-z'’.\-]*|No\.?|[0-9]+[A-Za-z]?)"
_SEGMENTS_POSTCODE = re.compile(
    rf"(?<![A-Za-z0-9])(?:{_SEGMENT}(?:[ \t]+{_SEGMENT})*,[ \t]*){{2,6}}"
    r"[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?[ \t\-]+[0-9]{5,6}(?![0-9])"
)


def _find_western_addresses(norm: str, text: str) -> Iterator[PiiMatch]:
    regexes = (
        _WESTERN,
        _WESTERN_NAME_FIRST,
        _UK_TOWN_POSTCODE,
        _US_TOWN_ZIP,
        _POSTCODE_TOWN,
        _SEGMENTS_POSTCODE,
    )
    for regex in regexes:
        for m in regex.finditer(norm):
            start = m.start() + len(m.group()) - len(m.group().lstrip())
            end = len(m.group().rstrip(" ,")) + m.start()
            yield PiiMatch("address", start, end, text[start:end])


# --- an address after its label -----------------------------------------------------------------------------

_ADDRESS_LABEL = re.compile(
    r"(?:收货地址|送货地址|邮寄地址|通讯地址|联系地址|公司地址|家庭地址|住址|地址|"
    r"(?<![A-Za-z])(?i:address|addr|add|delivery\s+address|ship\s+to)(?![A-Za-z]))"
    r"[ \t]*[:：][ \t]*"
)


# Where a labelled address ends: the line's or the sentence's end, and never past _LABELLED_MAX.
_ADDRESS_END = re.compile(r"\n|[。；;！!？?]|\.\s+[A-Z]|\s{3,}")
_LABELLED_MAX = 120


def _find_labelled_addresses(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _ADDRESS_LABEL.finditer(norm):
        stop = min(len(norm), m.end() + _LABELLED_MAX)
        found = _ADDRESS_END.search(norm, m.end(), stop)
        end = found.start() if found else stop
        value_end = len(norm[m.end() : end].rstrip(" \t.,，")) + m.end()
        if value_end - m.end() >= 4:
            yield PiiMatch("address", m.end(), value_end, text[m.end() : value_end])


# --- companies -------------------------------------------------------------------------------------------------

_CN_COMPANY = re.compile(r"(?:有限责任公司|股份有限公司|集团有限公司|有限公司|集团公司)")
_LATIN_COMPANY = re.compile(
    r"(?<![\w])(?:(?:[A-ZÀ-Þ][\w&'’\-]*\.?|\([A-Z]{2,3}\)|&|and|of|de)\s+){1,6}"
    r"(?:Co\.,?\s*Ltd\.?|Co\.?\s*Limited|Company\s+Limited|Ltd\.?|Limited|Inc\.?|LLC|L\.L\.C\.|LLP|"
    r"GmbH(?:\s*&\s*Co\.?\s*KG)?|AG|KG|S\.A\.(?:\s*de\s*C\.V\.)?|SA|SAC|S\.A\.C\.|SRL|S\.r\.l\.|SARL|SAS|"
    r"SpA|S\.p\.A\.|B\.V\.|BV|N\.V\.|NV|Oy|AB|A/S|Sdn\.?\s*Bhd\.?|Bhd|Pvt\.?\s*Ltd\.?|Private\s+Limited|"
    r"Corp\.?|Corporation|PLC|Pty\.?\s+Ltd\.?|Trading\s+Co\.?)(?![\w])"
)
# Chinese trade names without their legal form: two characters and the trade (锦华厨具, 港恒物流,
# 宗翰厨具行), where the two characters start a word.
_CN_TRADE_NAME = re.compile(
    rf"(?<![{_HAN}])[{_HAN}]{{2}}(?:厨具|物流|货代|船务|贸易|电器|五金|卫浴|照明|科技|实业|制造|机械|电子|服饰|纺织|"
    rf"化工|建材|家居|进出口|国际|陶瓷|塑胶|包装|印刷|家具|灯饰|商贸|工贸)(?:行|厂|店|公司)?"
)
#: Free-mail providers: their domain names no company, and stay visible (a deal moving to a personal
#: 163.com address is the very thing a reviewer must see).
FREE_MAIL = frozenset(
    "163.com 126.com yeah.net 188.com qq.com foxmail.com vip.qq.com sina.com sina.cn vip.sina.com sohu.com "
    "aliyun.com 139.com 189.cn wo.cn tom.com 21cn.com gmail.com googlemail.com outlook.com hotmail.com "
    "live.com msn.com yahoo.com yahoo.co.uk yahoo.com.hk icloud.com me.com mac.com aol.com proton.me "
    "protonmail.com gmx.de gmx.net web.de mail.ru yandex.ru yandex.com zoho.com hotmail.co.uk".split()
)
# Words in domains that name a trade rather than a company ("huadong-trading.com" → "huadong").
_GENERIC = frozenset(
    "trading trade trades tech technology technologies group global international intl industry industries "
    "industrial import export imports exports corp company china chinese online shop store mail email "
    "electronics electronic machinery textile textiles logistics supply supplies sourcing factory "
    "manufacturing products product service services solutions systems holdings limited example test "
    "www info home net world asia europe usa".split()
)
_SECOND_LEVEL = frozenset("com net org gov edu ac co or ne go".split())


def company_words(domain: str) -> tuple[str, ...]:
    """The distinctive words of a company's mail domain ("mail.huadong-trading.com.cn" → ("huadong",))."""
    domain = domain.lower().strip(".")
    if not domain or domain in FREE_MAIL:
        return ()
    labels = domain.split(".")
    while len(labels) > 1 and (len(labels[-1]) <= 3 or labels[-1] in _SECOND_LEVEL):
        labels.pop()  # the public suffix: com, cn, com.cn, co.uk …
    label = labels[-1] if labels else ""
    # The brand comes first ("lingtu-light", "huadong-trading"); the words after it name the trade
    # and are ordinary words elsewhere ("light"), so only the first distinctive word is taken.
    words = [w for w in re.split(r"[\-_0-9]+", label) if len(w) >= 4 and w not in _GENERIC]
    return tuple(words[:1])


_TRANSLITERATED = {"ue": "(?:ue|ü)", "oe": "(?:oe|ö)", "ae": "(?:ae|ä)", "ss": "(?:ss|ß)"}


def _spelled(word: str) -> str:
    """A domain word as a pattern that also reads its umlauts ("kuechenwelt" finds "Küchenwelt")."""
    return re.sub("ue|oe|ae|ss", lambda m: _TRANSLITERATED[m.group()], re.escape(word))


def _find_companies(norm: str, text: str, people: tuple[People, ...]) -> Iterator[PiiMatch]:
    for m in _CN_COMPANY.finditer(norm):
        start = _trim_lead(norm, _walk_back(norm, m.start(), 16), m.start())
        if m.start() - start >= 2:
            yield PiiMatch("company", start, m.end(), text[start : m.end()])
    for regex in (_LATIN_COMPANY, _CN_TRADE_NAME):
        for m in regex.finditer(norm):
            yield PiiMatch.of("company", m, text)
    for group in people:
        regex = _company_pattern(group)
        if regex is not None:
            for m in regex.finditer(norm):
                yield PiiMatch.of("company", m, text)


@lru_cache(maxsize=64)
def _company_pattern(people: People) -> re.Pattern[str] | None:
    words = {w for address in people.addresses for w in company_words(address.rpartition("@")[2])}
    if not words:
        return None
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(map(_spelled, sorted(words))) + r")(?![^\W\d_])", re.I)


def find_places(norm: str, text: str, people: tuple[People, ...]) -> Iterator[PiiMatch]:
    yield from _find_cn_addresses(norm, text)
    yield from _find_western_addresses(norm, text)
    yield from _find_labelled_addresses(norm, text)
    yield from _find_companies(norm, text, people)
