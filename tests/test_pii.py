"""Tests for companion.pii: detection, validation and masking with typed placeholders, on labelled
bilingual cases: what must be masked, and the ordinary words of trade mail that must stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from companion.pii import PII_KINDS, People, PiiMatch, find_pii, mask_text, mask_with_matches

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
        # Phones: Chinese mobiles, landlines, international numbers, glued to a label, any dash.
        ("电话13812345678谢谢", "cn_mobile", "电话[电话]谢谢"),
        ("Mobile: 138 1234 5678.", "cn_mobile", "Mobile: [phone]."),
        ("tel +86 139-1234-5678", "cn_mobile", "tel [phone]"),
        ("(+86) 177 1234 5678", "cn_mobile", "[phone]"),
        ("Tel +44 20 7946 0958.", "phone", "Tel [phone]."),
        ("call +1 415-555-2671 today", "phone", "call [phone] today"),
        ("Office 021-6123 4567", "phone", "Office [phone]"),
        ("Tel13812345678", "phone", "Tel[phone]"),
        ("手机：139—1234—5678", "cn_mobile", "手机：[电话]"),
        ("电话：021–6123 4567", "phone", "电话：[电话]"),
        ("Mob.+44 7700 900123", "phone", "Mob.[phone]"),
        # Resident IDs by checksum alone, whatever the region code (990101 exists nowhere).
        (f"身份证号：{VALID_ID}", "cn_id", "身份证号：[证件号]"),
        (f"ID {VALID_ID_X.lower()} ok", "cn_id", "ID [ID number] ok"),
        ("ID 110101 19900307 4514", "cn_id", "ID [ID number]"),
        (f"证件 {cn_id('99010119900307451')}", "cn_id", "证件 [证件号]"),
        # E-mail: gone whole; a free-mail provider's domain stays (a personal mailbox is a risk signal).
        ("j.smith@acme.com", "email", "[email]"),
        ("写信到 zhangwei1985@163.com", "email", "写信到 [邮箱]@163.com"),
        # Accounts: IBANs, cards, and any number after an account label whatever its checksum.
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "iban", "IBAN [account] thanks"),
        ("Visa 4111 1111 1111 1111", "card", "Visa [card number]"),
        ("Amex 3782 822463 10005", "card", "Amex [card number]"),
        ("账号：6222 0212 3456 7890 123", "account", "账号：[账号]"),
        (
            "开户行：中国工商银行上海张江支行 账号 1001 2345 6789 0123 456",
            "account",
            "开户行：中国工商银行上海张江支行 账号 [账号]",
        ),
        ("A/C No. 0123-4567-8901", "account", "A/C No. [account]"),
        ("our account number is 12345678901", "account", "our account number is [account]"),
        ("卡号6217002710000684874", "card", "卡号[卡号]"),
        ("卡号6217002710000684875", "account", "卡号[账号]"),  # fails Luhn: still an account
        # Passports: after their label, and the Chinese formats alone.
        ("护照号码：E12345678", "passport", "护照号码：[护照号]"),
        ("Passport No. 533380006", "passport", "Passport No. [passport]"),
        ("passport EA1234567 valid", "passport", "passport [passport] valid"),
        # Messaging handles after their label; wxid_ anywhere.
        ("加我微信 lina_huadong 聊", "handle", "加我微信 [社交账号] 聊"),
        ("我的微信号是：Zhang-Wei88", "handle", "我的微信号是：[社交账号]"),
        ("QQ 876543210", "handle", "QQ [messaging ID]"),
        ("add me on WeChat: tony_sh2020", "handle", "add me on WeChat: [messaging ID]"),
        ("wxid_k2j3h4g5f6", "handle", "[messaging ID]"),
        # Order numbers.
        ("Price check PO-2026-0412", "order", "Price check [order no.]"),
        ("HSNB-2026-031 and KS/IMP/2026/09, BW-10492", "order", "[order no.] and [order no.], [order no.]"),
        ("运单号 4418 2290 36", "order", "运单号 [单号]"),
        # Subjects of quoted and attached mails; dates of birth; number plates; Taiwan IDs.
        ("> Subject: Price check for Mr Wang", "subject", "> Subject: [subject]"),
        ("主旨: HS-K2308 報價與獨家價格", "subject", "主旨: [主题]"),
        ("DOB 12/07/1979", "birth_date", "DOB [date of birth]"),
        ("车牌 浙B·7K21X", "vehicle", "车牌 [车牌]"),
        ("身分證 A123456789", "id_number", "身分證 [证件号]"),
        ("CPF 111.444.777-35", "id_number", "CPF [ID number]"),
        ("IC 770305-02-1234", "id_number", "IC [ID number]"),
        ("Telegram: @andre_souza", "handle", "Telegram: [messaging ID]"),
        ("订单号：SO20241124001", "order", "订单号：[单号]"),
        ("invoice no. 2024-INV-0093", "order", "invoice no. [order no.]"),
        ("合同号 HT-2024-0815", "order", "合同号 [单号]"),
    ],
)
def test_each_kind_detected_and_masked(text: str, kind: str, masked: str) -> None:
    assert kind in kinds_of(text)
    assert mask_text(text) == masked


# --- names, addresses, companies: structure, not dictionaries ---------------------------------------------

NAMES = [
    # (text, masked) — greetings, forms of address, signatures, labels, header lines.
    ("Dear John Smith,\nplease see below.", "Dear [name],\nplease see below."),
    ("Hi Tom, thanks", "Hi [name], thanks"),
    ("Dear Mr. Wang, thanks", "Dear [name], thanks"),
    ("As Ms Fiona Li said", "As [name] said"),
    ("张经理您好：", "[姓名]您好："),
    ("陈建国先生，您好", "[姓名]，您好"),
    ("王总好，关于报价", "[姓名]好，关于报价"),
    ("芳姐，\n下周发货。", "[姓名]，\n下周发货。"),
    ("老王说可以", "[姓名]说可以"),
    ("尊敬的李娜女士：", "尊敬的[姓名]："),
    ("李娜您好，", "[姓名]您好，"),
    ("此致\n敬礼\n陈建国\n销售部", "此致\n敬礼\n[姓名]\n销售部"),
    ("Best regards,\nMary Jones\nSales Manager", "Best regards,\n[name]\nSales Manager"),
    ("Thanks, Peter", "Thanks, [name]"),
    ("联系人：张伟，电话见下", "联系人：[姓名]，电话见下"),
    ("收货人陈建国，", "收货人[姓名]，"),
    ("Attn: Robert Brown", "Attn: [name]"),
    ("发件人: 李娜 <lina@huadong.com>", "发件人: [姓名] <[邮箱]>"),
    ("To: John Smith <js@acme.co.uk>; Wang Fang <wf@acme.co.uk>", "To: [name] <[email]>; [name] <[email]>"),
    ("户名：王小明", "户名：[姓名]"),
    # A name given away once is masked where it comes back alone.
    ("Dear Tom,\nTom will call you.", "Dear [name],\n[name] will call you."),
]


def test_the_mails_own_people_are_masked_wherever_they_occur() -> None:
    people = People.of(
        [
            ("lina.zhou@huadong-trading.com", "周丽娜"),
            ("fang.li@acme.co.uk", "李芳"),
            ("js@acme.co.uk", "John Smith"),
        ],
        own_names=("陈建国",),
    )
    text = "丽娜说芳姐同意了，Smith and lina.zhou agree; 建国会跟进。Huadong will ship."
    assert (
        mask_text(text, people=people)
        == "[姓名]说[姓名]同意了，[姓名] and [姓名] agree; [姓名]会跟进。[公司] will ship."
    )
    # Without the people, none of these is a name by its structure.
    assert "丽娜" in mask_text(text)


ADDRESSES = [
    ("寄到上海市浦东新区张江路1388号5号楼1203室，谢谢", "寄到[地址]，谢谢"),
    ("地址：深圳市南山区科技园南区高新南七道20号", "地址：[地址]"),
    ("广东省东莞市长安镇振安中路368号", "[地址]"),
    ("Ship to 14 Harbour Road, London E14 9QR please", "Ship to [address] please"),
    ("Address: Flat 3, 27 Oak Street, Manchester M1 2AB", "Address: [address]"),
    ("Our office: 350 Fifth Avenue, New York, NY 10118.", "Our office: [address]."),
    ("Room 1203, Building 5, No. 1388 Zhangjiang Road, Shanghai", "[address]"),
]


@pytest.mark.parametrize(("text", "masked"), NAMES + ADDRESSES)
def test_names_and_addresses_by_their_structure(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_companies_by_legal_form_and_by_domain() -> None:
    assert mask_text("我们和上海华东贸易有限公司签了合同") == "我们和[公司]签了合同"
    assert mask_text("Huadong Trading Co., Ltd. agreed") == "[company] agreed"
    people = People.of([("sales@nordwind-gmbh.de", "")])
    assert (
        mask_text("Nordwind will pay; NORDWIND is late", people=people)
        == "[company] will pay; [company] is late"
    )
    # Free-mail domains name no company.
    assert mask_text("qq is fine", people=People.of([("876543210@qq.com", "")])) == "qq is fine"


# --- what must stay ----------------------------------------------------------------------------------------

BUSINESS = [
    "USD 12,345.00",
    "2024-11-24",
    "8471.30.0100",
    "Order 200 pcs shipped",
    "2024-11-24 2024-11-25",
    "Qty 1,200 pcs @ USD 3.45 = USD 4,140.00",
    "FOB Shanghai, CIF Hamburg, EXW Ningbo; 40HQ x 2, 20GP",
    "HS code 8471.30.0100, dated 2024-11-24, total USD 12,345.00.",
    "金额 RMB 1,234,567.89 元，交货期 2024/12/31。",
    "Container MSCU1234567, 40HQ x 2",
    "Version 1.2.3, build 20241124.1",
    "比官网价低15%，我们保证最低价。",
    "model XJ-200 pump, 220V 50Hz, 3.5 kW, 1500 rpm, IP55",
    "我们的总价是 USD 45,000，对于总价我们再谈，本周汇总一下。",
    "向经理汇报后再定，和总部确认。",
    "Dear customer, dear all, hi team,",
    "大家好，各位同事：",
    "The iPhone 15 Pro and Galaxy S24 samples left Shenzhen on Monday.",
    "Payment terms: 30% T/T deposit, 70% against B/L copy.",
    "上海港到汉堡港，海运约30天。",
    "我知道3号发货，5号到港。",
    "Best price for 5000 units, MOQ 1000.",
    "请在本周五前确认订单数量。",
]


@pytest.mark.parametrize("text", BUSINESS)
def test_ordinary_trade_words_stay(text: str) -> None:
    assert find_pii(text) == []
    assert mask_text(text) == text


# --- mixed text, merging, filters ---------------------------------------------------------------------------

MIXED = (
    "您好 Mr. Smith，请联系张经理：手机 +86 138-1234-5678，邮箱 zhang.wei@example.cn；"
    f"身份证 {VALID_ID}。付款 IBAN DE89 3704 0044 0532 0130 00，Visa 4111-1111-1111-1111。"
    "Office 021-6123 4567. PO-2024-00123 合计 USD 12,345.00，2024-11-24。"
)
MIXED_MASKED = (
    "您好 [姓名]，请联系[姓名]：手机 [电话]，邮箱 [邮箱]；"
    "身份证 [证件号]。付款 IBAN [账号]，Visa [卡号]。"
    "Office [电话]. [单号] 合计 USD 12,345.00，2024-11-24。"
)


def test_mixed_chinese_english_text() -> None:
    masked, matches = mask_with_matches(MIXED)
    assert [m.kind for m in matches] == [
        "name",
        "name",
        "cn_mobile",
        "email",
        "cn_id",
        "iban",
        "card",
        "phone",
        "order",
    ]
    assert masked == MIXED_MASKED
    assert mask_text(MIXED) == MIXED_MASKED


def test_match_fields_index_the_original() -> None:
    text = "Contact j.smith@acme.com or 13812345678."
    assert find_pii(text) == [
        PiiMatch("email", 8, 24, "j.smith@acme.com"),
        PiiMatch("cn_mobile", 28, 39, "13812345678"),
    ]


def test_full_width_digits() -> None:
    text = "手机：１３８１２３４５６７８，座机：０２１－６１２３ ４５６７"
    masked, matches = mask_with_matches(text)
    assert [m.kind for m in matches] == ["cn_mobile", "phone"]
    assert matches[0].text == "１３８１２３４５６７８"
    assert masked == "手机：[电话]，座机：[电话]"


def test_overlapping_matches_merge_into_the_higher_priority_kind() -> None:
    # The mobile inside an e-mail address, a name inside an address: one placeholder each.
    assert mask_with_matches("13812345678@163.com") == (
        "[email]@163.com",
        [PiiMatch("email", 0, 19, "13812345678@163.com")],
    )
    assert mask_text("送到张江路1388号王经理收") == "送到[地址][姓名]收"


def test_protected_phrase_keeps_its_words_but_not_its_numbers() -> None:
    text = "王总说打到我个人账户6222 0212 3456 7890 123"
    assert [m.kind for m in find_pii(text)] == ["name", "account"]
    # The flagged phrase covers the name: the name gives way, the account number does not.
    assert [m.kind for m in find_pii(text, protect=(0, len(text)))] == ["account"]


def test_cn_id_with_wrong_check_digit_is_not_an_id() -> None:
    wrong = VALID_ID[:-1] + str((int(VALID_ID[-1]) + 1) % 10)
    assert "cn_id" not in kinds_of(f"号码 {wrong}")


def test_cn_id_with_impossible_birth_date_is_not_an_id() -> None:
    assert kinds_of(cn_id("11010119901337451")) == []  # month 13, valid check character


def test_iban_and_card_with_wrong_check_digits_are_not_masked() -> None:
    for text in ("GB83 WEST 1234 5698 7654 32", "4111 1111 1111 1112", "3782 822463 10006"):
        assert find_pii(text) == []


def test_numbers_inside_longer_runs_are_not_matched() -> None:
    assert kinds_of("ref 213812345678900 x") == ["order"]  # a reference, not a mobile
    assert kinds_of("x 41111111111111111111 x") == []  # 20 digits: not a card


def test_kinds_filter() -> None:
    only_email = mask_text(MIXED, frozenset({"email"}))
    assert "[邮箱]" in only_email and "+86 138-1234-5678" in only_email
    assert mask_text(MIXED, frozenset()) == MIXED
    assert mask_text(MIXED, frozenset(PII_KINDS)) == MIXED_MASKED
    # Asking for phones only must not half-mask the mobile inside an e-mail address.
    assert mask_text("13812345678@163.com", frozenset({"cn_mobile", "phone"})) == "13812345678@163.com"


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        mask_text("x", frozenset({"fingerprint"}))


def test_placeholder_language_follows_the_line() -> None:
    text = "Tel 13812345678\n电话 13812345678\n13812345678"
    assert mask_text(text) == "Tel [phone]\n电话 [电话]\n[电话]"
    assert mask_text("Tel 13812345678", lang="zh") == "Tel [电话]"


# --- properties ---------------------------------------------------------------------------------------------

SAMPLES = [MIXED, *(t for t, _ in NAMES), *(t for t, _ in ADDRESSES), *BUSINESS]


@pytest.mark.parametrize("text", SAMPLES)
def test_masking_masked_text_is_stable(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@pytest.mark.parametrize("text", SAMPLES)
def test_matches_sorted_disjoint_and_index_the_text(text: str) -> None:
    matches = find_pii(text)
    for a, b in zip(matches, matches[1:], strict=False):
        assert a.end <= b.start
    assert all(text[m.start : m.end] == m.text for m in matches)


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
