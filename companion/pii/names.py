"""People's names in Chinese and English, without a dictionary of names.

Two sources. The mail itself: the display names and address local parts of its sender and
recipients and the user's own names (companion.pii.model.People) are masked wherever they occur,
with the forms colleagues make of them (李芳 → 芳姐, 小芳; "John Smith" → Smith). And the structure
around a name: greetings (Dear X, Hi X, X您好, 尊敬的X), forms of address (张总, 王经理, 陈建国先生,
老王, Mr. Wang), signatures (the line after "Best regards" / "此致 敬礼"), and labels (联系人：, Attn:,
From:, 收件人: …). A short list of common surnames is the only word list: it tells "张总" (a person)
from "汇总" (a total).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from companion.pii.model import People, PiiMatch

_HAN = r"\u4e00-\u9fff"

# Common single-character surnames, less those that are mostly prepositions or function words in
# running text (和, 向, 时, 全, 应, 成, 关, 常, 单, 连, 路 …): "向经理汇报" is not about Mr Xiang.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔汤温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞柳甘祝舒阮柯纪梅童凌毕季裴"
    "霍涂苗谷盛曲翁冉骆蓝游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤穆农卓缪褚娄窦戚岑宫卜晏瞿桂佟臧闵"
    "苟邬卞姬栾隋刁荣巫寇桑郎甄丛虞敖巩佘邝"
)
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|东方|皇甫|慕容|令狐|夏侯|公孙|尉迟|长孙|宇文|司徒|端木"
_SURNAME = rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])"
# Titles after a surname or a full name, longest first. "总" alone is a title only when it does not
# start a word (总价, 总计, 总部 …); likewise "工" (工作, 工厂) and "董" (董事).
_LONG_TITLE = (
    r"(?:总经理|总监|总裁|总工|董事长|副总|经理|主管|主任|老板|老师|先生|女士|小姐|太太|夫人|教授|博士|律师|"
    r"会计|部长|处长|科长|厂长|院长|校长|局长|组长|助理|秘书|工程师|师傅)"
)
# One-character titles follow the surname directly (张总, never 张建国总).
_SHORT_TITLE = (
    r"(?:总(?![价计额量共部结体之数值重和是要归监裁经工公统署局包代站务台算而])|董(?!事)|"
    r"工(?![作厂程艺期资具人业商单号位时序装地会])|姐|哥|姨|叔)"
)
_TITLE = rf"(?:{_LONG_TITLE}|{_SHORT_TITLE})"
_CN_TITLED = re.compile(rf"{_SURNAME}(?:[{_HAN}]{{0,2}}?{_LONG_TITLE}|{_SHORT_TITLE})")
# A full name before its titled short form, as people write it: "梁永强梁总", "王伟王经理".
_CN_FULL_THEN_TITLED = re.compile(
    rf"(?P<s>[{_SURNAMES}])[{_HAN}]{{1,2}}(?P=s)(?:{_LONG_TITLE}|{_SHORT_TITLE})"
)
# 老王, 小李: a surname after 老/小, then a break in the sentence (not "小时", "老板").
_CN_OLD_YOUNG = re.compile(
    rf"(?:老|小){_SURNAME}(?=[的说讲话是也都在和跟给您你吧呢啊呀了们，。！？、,.!?\s:：]|$)|阿[{_HAN}](?=[话[的说讲是也都在和跟给您你吧呢啊呀了们，。！？、,.!?\s:：]|$)"
)
# 芳姐, 强哥: a given-name character and 姐/哥, not 小姐/大哥/师姐 and the like.
_CN_SIBLING = re.compile(rf"(?![小大表堂师空帅靓老学姐哥阿])[{_HAN}](?:姐|哥)(?![姐哥们夫])")

_CN_NOT_NAMES = frozenset(
    "大家 各位 您 你 你们 早上 上午 中午 下午 晚上 老师 领导 同事 同事们 亲 亲们 朋友 朋友们 老板 客户 用户 "
    "先生 女士 会员 顾客 供应商 合作伙伴 各位同事 各位领导 家人 亲爱的 尊敬的 您好 你好 谢谢 感谢 此致 敬礼".split()
)
_LATIN_NOT_NAMES = frozenset(
    "All Team Sir Sirs Madam Madame Customer Customers Friend Friends Colleague Colleagues Partner Partners "
    "Everyone Everybody There Valued Supplier Suppliers Buyer Buyers Purchasing Sales Manager Managers "
    "Gentlemen Ladies Folks Guys Both Again Thanks Thank Regards Best Hello Hi Dear Yes No Please Client "
    "Clients Mr Mrs Ms Miss Dr Prof Good Morning Afternoon Evening The This That We Our Your You I It "
    "Finance Accounts Account Accounting Support Service Admin Office Info Director Boss Sender Recipient "
    "Team Department Dept Company Co Ltd Inc Group Trading Global International Purchase Procurement "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July "
    "August September October November December Christmas Easter".split()
)

_CAPWORD = r"[A-Z][a-zA-Z'’\-]+"
_CAPNAME = rf"{_CAPWORD}(?:[ \t]+{_CAPWORD}){{0,2}}"
# "Jonas Becker 说": two or three capitalised Latin words right next to Chinese text are a name (or a
# company, masked just the same): Chinese writers leave foreign names in Latin letters.
# A single word is taken only between Chinese on both sides ("客户 Okafor 要").
_NAMEWORD = r"[A-ZÀ-Þ][a-zß-ÿ][a-zA-Zß-ÿÀ-Þ'’\-]*"  # a capital and small letters: not FOB, ETD, DHL
_LATIN_IN_CHINESE = re.compile(
    rf"(?:(?<=[{_HAN}])|(?<=[{_HAN}][ \t]))(?P<a>{_NAMEWORD}(?:[ \t]{_NAMEWORD}){{1,2}})"
    rf"|(?P<b>{_NAMEWORD}(?:[ \t]{_NAMEWORD}){{1,2}})(?=[ \t]?[{_HAN}])"
    rf"|(?:^|(?<=\n)|(?<=\n>)|(?<=\n> )|(?<=[{_HAN}。，！？；：、“”])|(?<=[{_HAN}][ \t]))(?P<c>{_NAMEWORD})(?=[ \t]?[{_HAN}“「『]|[ \t][0-9]+[ \t]?[{_HAN}])"
)
# "my boss Karen Whitfield wants": two or three capitalised words inside a sentence (after a small
# word, before a small word or a comma) are a person's or a company's name.
_LATIN_FULL_NAME = re.compile(
    rf"(?<=[a-z,][ \t])(?P<n>{_NAMEWORD}[ \t]{_NAMEWORD}(?:[ \t]{_NAMEWORD})?)(?=[ \t]+[a-z]|[ \t]*[(（]|[,.;:!?)]|[ \t]*$)",
    re.M,
)
# A first name told apart by the words around it: "my colleague Anna", "tell Karen", "Vikram will".
_ROLE_BEFORE = (
    r"(?i:colleague|boss|agent|manager|driver|forwarder|assistant|partner|wife|husband|son|daughter|brother|"
    r"sister|friend|director|accountant|contact|engineer|cousin|father|mother|tell|ask|told|asked|cc)"
)
_ROLE_AFTER = (
    r"(?:says|said|will|would|can|could|told|asked|wants|wanted|called|thinks|agreed|confirmed|is\s+(?:in|on|out|away|back)|"
    r"from\s+(?:our|your|the)|in\s+(?:finance|accounting|accounts|purchasing|sales|logistics))"
)
_FIRST_NAME = re.compile(
    rf"(?<![A-Za-z])(?:{_ROLE_BEFORE}[ \t]+(?P<a>{_NAMEWORD})(?![A-Za-z])(?![ \t]+{_NAMEWORD})"
    rf"|(?<=[a-z,][ \t])(?P<b>{_NAMEWORD})[ \t]+{_ROLE_AFTER}(?![A-Za-z])"  # not "As agreed" at a sentence's start
    rf"|(?<![A-Za-z])(?P<c>{_NAMEWORD}[ \t]{_NAMEWORD})[ \t]+{_ROLE_AFTER}(?![A-Za-z]))"  # "Anh Nguyen said"
)
# The last line of a mail or of a reply, alone between blank lines: a name signing off ("Chinedu").
_LONE_SIGNATURE = re.compile(
    rf"(?:^|(?<=\n))[ \t]*\n[ \t>]*(?P<n>{_NAMEWORD}(?:[ \t]{_NAMEWORD})?|[{_HAN}]{{2,3}})[ \t]*"
    rf"(?=\n[ \t>]*(?:\n|--|__|$)|$)"
    # or a full name alone on its line after a blank one, whatever follows (the signature block).
    rf"|(?:^|(?<=\n))[ \t]*\n[ \t>]*(?P<full>{_NAMEWORD}[ \t]{_NAMEWORD}|{_SURNAME}[{_HAN}]{{1,2}})[ \t]*(?=\n)"
)
_HONORIFIC = re.compile(
    rf"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Mme|Herr|Frau|Madam)\.?[ \t]+(?P<n>{_CAPNAME})"
)
_LATIN_GREETING = re.compile(
    rf"(?<![A-Za-z])(?i:dear|hi|hello|hey|attn\.?:?|attention:?|good\s+(?:morning|afternoon|evening))"
    rf"[ \t,]+(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?[ \t]+)?(?P<n>{_CAPNAME}|[{_HAN}]{{2,4}})"
)
_CN_GREETING_BEFORE = re.compile(rf"(?:亲爱的|尊敬的|致)[ \t]*(?P<n>[{_HAN}]{{2,4}})")
_CN_GREETING_AFTER = re.compile(rf"(?:^|(?<=[\s，,。！!：:；;、]))(?P<n>[{_HAN}]{{1,4}}?)[ \t]*(?:您好|你好)")
# A line that is only a name and a comma or colon (the salutation): "李娜：", "Tom,".
_SALUTATION_LINE = re.compile(
    rf"^[ \t>]*(?:(?P<cn>[{_HAN}]{{2,4}}?)(?:您好|你好)?[ \t]*[，,：:!！]|(?P<en>{_CAPNAME})[ \t]*,)[ \t]*$",
    re.M,
)
CLOSING = (
    r"(?:此致|此致敬礼|敬礼|祝好|祝商祺|顺祝商祺|顺颂商祺|顺颂时祺|商祺|谢谢|多谢|感谢|祝工作顺利|"
    r"(?i:best\s+regards|kind\s+regards|warm\s+regards|warmest\s+regards|regards|best\s+wishes|best|thanks|"
    r"thank\s+you|many\s+thanks|thanks\s+and\s+regards|thanks\s*&\s*regards|br|cheers|sincerely|"
    r"yours\s+sincerely|yours\s+faithfully|yours\s+truly|yours|respectfully|mit\s+freundlichen\s+grüßen|"
    r"freundliche\s+grüße|viele\s+grüße|cordialement|saludos|atentamente|cordiali\s+saluti|met\s+vriendelijke\s+groet))"
)
# The sign-off: the first non-blank line after a closing line; or "Best regards, John" on one line.
_SIGNED_LINE = re.compile(
    rf"^(?:[ \t>]*{CLOSING}(?:[ \t]*/[ \t]*{CLOSING})?[ \t]*[,，!！。.]*[ \t]*\n(?:[ \t>]*\n){{0,2}})+[ \t>]*(?:[-—–_~]+[ \t]*)?"
    rf"(?P<n>[{_HAN}]{{2,4}}(?![{_HAN}])|{_CAPNAME})",
    re.M,
)
_SIGNED_INLINE = re.compile(rf"{CLOSING}[ \t]*[,，!！][ \t]*(?P<n>[{_HAN}]{{2,4}}|{_CAPNAME})[ \t]*$", re.M)
_SIGNED_CN = re.compile(rf"(?P<n>[{_HAN}]{{2,4}})[ \t]*(?:敬上|谨上|拜上|敬启|手书)")
_DASH_SIGNATURE = re.compile(rf"^[ \t]*(?:--|——|—|-)[ \t]*(?P<n>[{_HAN}]{{2,4}}|{_CAPNAME})[ \t]*$", re.M)

# Labels whose value is a person: the rest of the line holds one name or a list (From:, 收件人:).
_LIST_LABEL = re.compile(
    r"^[ \t>*]*(?:发件人|收件人|抄送人?|密送|寄件者|收件者|副本|(?i:from|to|cc|bcc|sender|recipients?))"
    r"[ \t*]*[:：][ \t]*(?P<v>[^\n]+)",
    re.M,
)
# What may follow a Chinese name whose end the text does not mark (Chinese has no spaces).
_AFTER_CN_NAME = (
    r"[ \t，,。.;；:：（(、]|$|说|讲|会|要|在|已|的|也|和|跟|来|去|负责|确认|查|先生|女士|小姐|经理|总|"
    r"手机|电话|今天|明天|昨天|那边|这边|吗|呢|吧|了|收|签"
)
_NAME_LABEL = re.compile(
    rf"(?:联系人|姓名|收货人|收件人|寄件人|收款人|户名|开户名|账户名称?|经办人|负责人|签收人|申请人|业务员|对接人|法人|"
    rf"(?:^|(?<=\n))[ \t>*]*(?i:contact(?:\s+person)?|name|attn|attention|beneficiary(?:\s+name)?|"
    rf"account\s+(?:name|holder)|consignee|signed\s+by|prepared\s+by|approved\s+by|sales\s*rep)"
    rf"|(?i:geschäftsführer|managing\s+director|general\s+manager|director|ceo|owner|inhaber|gérant))"
    rf"(?:[ \t]*[:：][ \t]*(?P<n>[{_HAN}]{{2,4}}(?![{_HAN}])|{_CAPNAME})"
    rf"|[ \t]*(?:写|是|为|叫|填)?[ \t]*(?P<bare>{_SURNAME}[{_HAN}]{{1,2}}?)(?={_AFTER_CN_NAME}))"
)
# "…的林晓东说": a surname and one or two characters between a particle and a verb of speech.
_CN_SPEAKER = re.compile(
    rf"(?<=[的和跟与给让叫请找问向把被是])(?P<n>{_SURNAME}[{_HAN}]{{1,2}}?)"
    rf"(?=说|讲|表示|认为|告诉|问|回复|同意|确认|要求|负责|打电话|答应|已经|刚才)"
)
# A person named by their role ("拖车司机 王建军", "我们客户吴宗翰先生"): role, surname, one or two more.
_CN_ROLE_NAME = re.compile(
    rf"(?:司机|师傅|客户|同事|老板|助理|会计|出纳|财务|业务员|跟单|采购|老公|老婆|太太|先生|朋友|联系人|收件人|"
    rf"寄件人|经理|主管|员工|代理|货代|报关员)[ \t]*(?P<n>{_SURNAME}[{_HAN}]{{1,2}}?)(?={_AFTER_CN_NAME})"
)


_TO_PLACE = set("到至往从经发运抵离在飞")


def _is_place(norm: str, start: int, end: int) -> bool:
    """A Latin word after 到/至/从 … or before 港 is a port or a town ("到 Felixstowe", "Hamburg 港")."""
    before = norm[:start].rstrip(" \t")[-1:]
    after = norm[end:].lstrip(" \t")[:1]
    return before in _TO_PLACE or after == "港"


def _name(m: re.Match[str], text: str, group: str | int = "n") -> PiiMatch | None:
    value = m.group(group)
    if not value:
        return None
    if value in _CN_NOT_NAMES or value.split()[0].rstrip(".") in _LATIN_NOT_NAMES:
        return None
    start, end = m.start(group), m.end(group)
    return PiiMatch("name", start, end, text[start:end])


def _structural(norm: str, text: str) -> Iterator[PiiMatch | None]:
    for m in _CN_TITLED.finditer(norm):
        yield PiiMatch.of("name", m, text)
    for regex in (_CN_OLD_YOUNG, _CN_SIBLING):
        for m in regex.finditer(norm):
            yield PiiMatch.of("name", m, text)
    for m in _LATIN_IN_CHINESE.finditer(norm):
        if not _is_place(norm, m.start(), m.end()):
            yield _name(m, text, next(g for g in "abc" if m.group(g)))
    for m in _FIRST_NAME.finditer(norm):
        yield _name(m, text, next(g for g in "abc" if m.group(g)))
    for regex in (_LATIN_FULL_NAME, _CN_ROLE_NAME, _CN_FULL_THEN_TITLED, _CN_SPEAKER):
        for m in regex.finditer(norm):
            yield _name(m, text, "n" if "n" in regex.groupindex else 0)
    for m in _LONE_SIGNATURE.finditer(norm):
        yield _name(m, text, "n" if m.group("n") else "full")
    for m in _HONORIFIC.finditer(norm):
        if m.group("n").split()[0] not in _LATIN_NOT_NAMES:
            yield PiiMatch.of("name", m, text)
    for m in _NAME_LABEL.finditer(norm):
        yield _name(m, text, "n" if m.group("n") else "bare")
    for regex in (
        _LATIN_GREETING,
        _CN_GREETING_BEFORE,
        _SIGNED_LINE,
        _SIGNED_INLINE,
        _SIGNED_CN,
        _DASH_SIGNATURE,
    ):
        for m in regex.finditer(norm):
            yield _name(m, text)
    for m in _CN_GREETING_AFTER.finditer(norm):
        if len(m.group("n")) >= 2 or re.fullmatch(_SURNAME, m.group("n")):
            yield _name(m, text)
    for m in _SALUTATION_LINE.finditer(norm):
        yield _name(m, text, "cn" if m.group("cn") else "en")
    for m in _LIST_LABEL.finditer(norm):
        yield from _list_names(m, text)


# The subject line of a quoted or attached mail's header block: it names the deal and often a person.
_SUBJECT_LINE = re.compile(
    r"^[ \t>*]*(?:主题|主旨|标题|(?i:subject|betreff|objet|asunto))[ \t*]*[:：][ \t]*(?P<v>[^\n]*[^\s])", re.M
)


def find_subjects(norm: str, text: str) -> Iterator[PiiMatch]:
    for m in _SUBJECT_LINE.finditer(norm):
        yield PiiMatch.of("subject", m, text, "v")


_LIST_ITEM = re.compile(r"[^;,，；<>]+?(?=[ \t]*(?:<|[;,，；]|$))")


def _list_names(m: re.Match[str], text: str) -> Iterator[PiiMatch]:
    """Each display name in a header line's value ("李娜 <lina@…>; John Smith <js@…>")."""
    value, base = m.group("v"), m.start("v")
    inside = False
    for item in _LIST_ITEM.finditer(value):
        before = value[: item.start()]
        inside = before.count("<") > before.count(">")
        piece = item.group().strip().strip("\"'")
        if inside or not piece or "@" in piece:
            continue
        start = base + item.start() + item.group().index(piece[0])
        yield PiiMatch("name", start, start + len(piece), text[start : start + len(piece)])


# --- the people of the mail -----------------------------------------------------------------------------

_LOCAL_PART_WORDS_NOT_NAMES = frozenset(
    "info sales admin service support noreply reply mail office contact finance account accounts billing "
    "purchase purchasing order orders export import trade marketing team customer help hello enquiry inquiry "
    "quote quotes rfq webmaster postmaster manager boss hr cs ceo cfo the and".split()
)


def _name_forms(name: str) -> set[str]:
    """The written forms of one display name: its Chinese names (and the forms colleagues make of
    them), its Latin words."""
    forms: set[str] = set()
    for han in re.findall(rf"[{_HAN}]{{2,4}}", name):
        if han in _CN_NOT_NAMES:
            continue
        forms.add(han)
        surname_len = 2 if re.match(_COMPOUND_SURNAMES, han) else 1
        given = han[surname_len:]
        if len(given) == 2:
            forms.add(given)  # 陈建国 → 建国
        elif len(given) == 1 and len(han) > 1:
            forms.update({given * 2, "阿" + given, "小" + given, given + "姐", given + "哥"})  # 李芳 → 芳芳 …
    latin = [w for w in re.findall(r"[A-Za-z][A-Za-z'’\-]+", name) if w.capitalize() not in _LATIN_NOT_NAMES]
    if len(latin) >= 2:
        forms.add(" ".join(latin))
    forms.update(w for w in latin if len(w) >= 3)
    return forms


def _local_part_forms(address: str) -> set[str]:
    local = address.partition("@")[0]
    forms = {local} if len(local) >= 4 and local.lower() not in _LOCAL_PART_WORDS_NOT_NAMES else set()
    for word in re.split(r"[._\-+0-9]+", local):
        if len(word) >= 3 and word.lower() not in _LOCAL_PART_WORDS_NOT_NAMES:
            forms.add(word)
    return forms


@lru_cache(maxsize=64)
def people_pattern(people: People) -> re.Pattern[str] | None:
    """One regex for every written form of the mail's people, longest first."""
    latin: set[str] = set()
    han: set[str] = set()
    for name in people.names:
        for form in _name_forms(name):
            (han if re.match(rf"[{_HAN}]", form) else latin).add(form)
    for address in people.addresses:
        latin.update(_local_part_forms(address))
    if not latin and not han:
        return None
    parts = [re.escape(f) for f in sorted(han, key=len, reverse=True)]
    # Latin forms: whole words, any case for multi-word or separator-bearing forms, otherwise as
    # written or capitalised ("Smith", "SMITH", not "smith" inside a sentence about a smith).
    for form in sorted(latin, key=len, reverse=True):
        body = r"[ \t]+".join(map(re.escape, form.split()))
        if " " in form or not form.isalpha():
            parts.append(rf"(?<![A-Za-z0-9_.])(?i:{body})(?![A-Za-z0-9_])")
        else:
            variants = {form, form.capitalize(), form.upper()}
            parts.append(
                rf"(?<![A-Za-z0-9_])(?:{'|'.join(map(re.escape, sorted(variants)))})(?![A-Za-z0-9_])"
            )
    return re.compile("|".join(parts))


def find_names(norm: str, text: str, people: tuple[People, ...]) -> Iterator[PiiMatch]:
    yield from (m for m in _structural(norm, text) if m is not None)
    yield from find_subjects(norm, text)
    for group in people:
        pattern = people_pattern(group)
        if pattern is not None:
            for m in pattern.finditer(norm):
                yield PiiMatch.of("name", m, text)


_TITLE_AT_END = re.compile(rf"{_TITLE}$")
_HONORIFIC_WORDS = frozenset("Mr Mrs Ms Miss Mx Dr Prof Mme Herr Frau Madam".split())


def echo_pattern(found: set[str]) -> re.Pattern[str] | None:
    """The names found by their structure once ("Dear Tom", "陈建国经理"), to mask where they come
    back without it ("Tom will call", "陈建国说"): as written, without a title or an honorific."""
    forms: set[str] = set()
    for name in found:
        if re.match(rf"[{_HAN}]", name):
            bare = _TITLE_AT_END.sub("", name)
            forms.update(f for f in (name, bare) if len(f) >= 2 and f not in _CN_NOT_NAMES)
        else:
            words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’\-]+", name) if w not in _HONORIFIC_WORDS]
            forms.update(w for w in words if len(w) >= 3 and w not in _LATIN_NOT_NAMES)
    if not forms:
        return None
    parts = [
        re.escape(f) if re.match(rf"[{_HAN}]", f) else rf"(?<![A-Za-z0-9_]){re.escape(f)}(?![A-Za-z0-9_])"
        for f in sorted(forms, key=len, reverse=True)
    ]
    return re.compile("|".join(parts))
