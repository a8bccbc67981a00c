"""Regenerate the demo mailbox and outgoing samples shipped in companion/demo/data/.

Run: .venv/bin/python scripts/make_demo_data.py  (the output is committed; the demo never writes there)
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "companion" / "demo" / "data"
ME = "Li Wei <li.wei@demo-trading.example>"
TZ = timezone(timedelta(hours=8))
START = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)


def mail(
    n: int,
    sender: str,
    to: str,
    subject: str,
    body: str,
    cc: str = "",
    attach: tuple[str, bytes] | None = None,
) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    if cc:
        m["Cc"] = cc
    m["Date"] = format_datetime(START + timedelta(hours=7 * n))
    m["Message-ID"] = f"<demo-{n}@demo-trading.example>"  # fixed, so regenerating changes nothing
    m.set_content(body)
    if attach:
        m.add_attachment(attach[1], maintype="application", subtype="octet-stream", filename=attach[0])
    return m


INBOX = [
    mail(
        1,
        "Accounts <accounts@hk-supplier.example>",
        ME,
        "Important: our bank details have changed",
        "Dear Li Wei,\n\nPlease note our bank details have changed. Kindly remit the balance for PO 4471 "
        "to our new bank account below from today.\n\nBeneficiary: HK Supplier Ltd\nIBAN: GB82 WEST 1234 5698 7654 32\n\nRegards,\nAccounts",
    ),
    mail(
        2,
        "王经理 <wang@client-sz.example>",
        ME,
        "询价：不锈钢阀门 500 件",
        "李先生您好：\n\n请报 500 件 DN50 不锈钢阀门的价格和交期。\n\n谢谢！\n王",
    ),
    mail(
        3,
        "财务部 <finance@fake-partner.example>",
        ME,
        "关于我司收款账户变更的通知",
        "尊敬的客户：\n\n因银行系统升级，我司收款账户变更，请将本期货款汇至新的收款账户。联系电话 13812345678。\n\n财务部",
    ),
    mail(
        4,
        "Trade Fair <news@fair.example>",
        ME,
        "Canton Fair hall plan",
        "The hall plan for the autumn session is attached on our website.",
    ),
]
SENT = [
    mail(
        5,
        ME,
        "王经理 <wang@client-sz.example>",
        "回复：询价：不锈钢阀门 500 件",
        "王经理您好：\n\n这是我们的全网最低价，另外可以提供终身保修。\n\n李伟",
    ),
    mail(
        6,
        ME,
        "Tom <tom@buyer.example>",
        "Re: order 4471",
        "Hi Tom,\n\nI can give you a private 15% discount, but keep this between us.\n"
        "Please send the payment to my personal account.\n\nLi Wei",
    ),
    mail(
        7,
        ME,
        "Accounts <accounts@hk-supplier.example>",
        "Re: Important: our bank details have changed",
        "Hello,\n\nWe will confirm by phone before any payment.\n\nLi Wei\n\n"
        "-----Original Message-----\nFrom: Accounts\nSent: Monday\n\nPlease note our bank details have changed.",
    ),
]
OUTGOING = {
    "01-lowest-price.eml": mail(
        8,
        ME,
        "Anna <anna@buyer.example>",
        "Offer for 2,000 units",
        "Dear Anna,\n\nWe guarantee the lowest price on the market and a lifetime warranty.\n\nLi Wei",
    ),
    "02-off-book.eml": mail(
        9,
        ME,
        "张总 <zhang@client.example>",
        "合作细节",
        "张总：\n\n这单我们私下交易，货款打到我个人账户，别让公司知道。\n\n李伟",
    ),
    "03-evasion.eml": mail(
        10,
        ME,
        "Bob <bob@buyer.example>",
        "warranty",
        "Bob, we can do a l i f e t i m e   w a r r a n t y, and 終身保修 for the pumps.\n",
    ),
    "04-clean-reply.eml": mail(
        11,
        ME,
        "Accounts <accounts@hk-supplier.example>",
        "Re: bank details",
        "Thank you, we will call you to confirm.\n\n> Our bank details have changed.\n> Please use the new bank account.",
    ),
    "05-quotation.eml": mail(
        12,
        ME,
        "Anna <anna@buyer.example>",
        "Quotation 2026-118",
        "Dear Anna,\n\nPlease find our quotation attached. We cannot guarantee the lowest price, "
        "but we can offer 8% below list price for 5,000 units.\n\nLi Wei",
        attach=("PI-2026-118.pdf", b"%PDF-1.4\n%demo\n"),
    ),
}


def write_mbox(path: Path, messages: list[EmailMessage]) -> None:
    with path.open("wb") as f:
        for m in messages:
            f.write(b"From - Mon Nov  2 09:00:00 2026\n")
            f.write(bytes(m).replace(b"\nFrom ", b"\n>From ").replace(b"\r\n", b"\n"))
            f.write(b"\n")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "mailbox").mkdir(parents=True)
    (OUT / "outgoing").mkdir()
    write_mbox(OUT / "mailbox" / "Inbox", INBOX)
    write_mbox(OUT / "mailbox" / "Sent", SENT)
    for name, m in OUTGOING.items():
        (OUT / "outgoing" / name).write_bytes(bytes(m))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
