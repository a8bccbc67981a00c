"""The Outlook pre-send path in process: prints figures, asserts nothing (machines are noisy).

What ItemSend costs before any window shows, for 2 KB, 20 KB and 200 KB mixed Chinese/English
bodies: mapping a MailItem (here small fakes of the Outlook object model: an Exchange sender, To/Cc/
Bcc recipients resolved through PR_SMTP_ADDRESS, two attachments saved to a temporary file and read:
a one-page PDF named PI-2027-001.pdf and a 6 KB CSV-like .txt) + the policy check + the view the
dialog would show; then the whole handler, including writing the decision to the local database.
On Windows each property read is a COM call into Outlook (microseconds each, a few dozen per mail),
which these fakes do not model.

Run: .venv/bin/python benchmarks/bench_outlook_check.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import trade_text  # noqa: E402  (benchmarks/corpus.py)
from timing import pct, timed  # noqa: E402  (benchmarks/timing.py)

PR_SMTP = "http://schemas.microsoft.com/mapi/proptag/0x39FE001E"
RISKY = ["lowest price", "终身保修", "最低价"]


class Accessor:
    def __init__(self, props: dict) -> None:
        self.props = props

    def GetProperty(self, schema: str):  # noqa: N802
        if schema not in self.props:
            raise LookupError("The property cannot be found.")
        return self.props[schema]

    def SetProperty(self, schema: str, value) -> None:  # noqa: N802 - the X-Mailwarden header
        self.props[schema] = value


class Items:
    def __init__(self, items: list) -> None:
        self.items = items
        self.Count = len(items)

    def Item(self, i: int):  # noqa: N802
        return self.items[i - 1]


def body_of(size: int, seed: int) -> str:
    return trade_text(size, seed, RISKY, 0.02, "\r\n")


def _pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = _pdf()
PACKING_LIST = ("carton,pcs,kg\r\n" + "".join(f"{i},{i * 12},{i * 3.5}\r\n" for i in range(300))).encode()


def attachment(name: str, data: bytes):
    return SimpleNamespace(
        FileName=name,
        DisplayName=name,
        Size=len(data) + 300,
        Type=1,
        SaveAsFile=lambda path: Path(path).write_bytes(data),
    )


def mail_item(body: str):
    def recipient(name: str, smtp: str, kind: int):
        dn = f"/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN={name.upper()}"
        return SimpleNamespace(
            Name=name, Address=dn, Type=kind, AddressEntry=None, PropertyAccessor=Accessor({PR_SMTP: smtp})
        )

    exchange_user = SimpleNamespace(PrimarySmtpAddress="li.wei@corp.example")
    sender = SimpleNamespace(
        Address="/O=EXCHANGELABS/CN=LI.WEI",
        Type="EX",
        AddressEntryUserType=0,
        GetExchangeUser=lambda: exchange_user,
        PropertyAccessor=Accessor({}),
    )
    recipients = [
        recipient("anna", "anna@buyer.example", 1),
        recipient("tom", "tom@buyer.example", 1),
        recipient("wang", "wang@corp.example", 2),
        recipient("zhao", "zhao@corp.example", 3),
    ]
    attachments = [attachment("PI-2027-001.pdf", PDF), attachment("packing-list.txt", PACKING_LIST)]
    return SimpleNamespace(
        Subject="报价单 2027 / order 1234",
        Body=body,
        HTMLBody="",
        SenderEmailType="EX",
        SenderEmailAddress="/O=EXCHANGELABS/CN=LI.WEI",
        Sender=sender,
        SendUsingAccount=None,
        Recipients=Items(recipients),
        Attachments=Items(attachments),
        PropertyAccessor=Accessor({}),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 50 if args.quick else 300

    with tempfile.TemporaryDirectory() as home:
        os.environ["MAILWARDEN_HOME"] = home
        from companion.config import paths
        from companion.policy.loader import default_policy_text

        text = default_policy_text().replace(
            "finance_addresses = []", 'finance_addresses = ["finance@corp.example"]'
        )
        paths().ensure().policy.write_text(text, encoding="utf-8")

        from outlook_bridge.addin import SendGuard
        from outlook_bridge.decision import WarnAnswer
        from outlook_bridge.mapping import compose_details

        t0 = time.perf_counter()

        class Dialog:
            def ask_warn(self, view):
                return WarnAnswer.justify("benchmark")

            def show_block(self, view):
                pass

        guard = SendGuard.create(dialog=Dialog())
        print(
            f"Python {sys.version.split()[0]}; guard built (policy read, engine compiled) in "
            f"{(time.perf_counter() - t0) * 1000:.0f} ms; {runs} runs per size (200 KB: {max(20, runs // 5)})"
        )
        session = guard.session

        def check(item) -> None:
            details = compose_details(item)
            session.view(session.check(details))

        print(
            f"  {'size':>6} {'map p50':>8} {'p50 ms':>8} {'p99 ms':>8}   (map = compose_details alone; p50/p99 = map + check + view)"
        )
        for size in (2_000, 20_000, 200_000):
            item = mail_item(body_of(size, seed=size))
            n = runs if size < 200_000 else max(20, runs // 5)
            mapping = timed(lambda item=item: compose_details(item), n)
            total = timed(lambda item=item: check(item), n)
            print(
                f"  {size // 1000:>4}KB {pct(mapping, 50):>8.3f} {pct(total, 50):>8.2f} {pct(total, 99):>8.2f}"
            )

        item = mail_item(body_of(20_000, seed=1))
        n = max(20, runs // 5)
        guard.on_item_send(item, False)  # warm-up: the first decision creates the database
        whole = timed(lambda: guard.on_item_send(item, False), n)
        from companion.presend import Choice, new_key

        checked = session.check(compose_details(item))
        record = timed(  # a new key each time: each is a new row, as each send is
            lambda: guard._record(Choice.JUSTIFIED, check=checked, justification="benchmark", key=new_key()),
            n,
        )
        print(
            f"  whole ItemSend handler, 20 KB (warn answered at once, decision written): "
            f"p50 {pct(whole, 50):.2f} ms, p99 {pct(whole, 99):.2f} ms"
        )
        print(
            f"    of which writing the decision (open the database, one transaction, close): "
            f"p50 {pct(record, 50):.2f} ms, p99 {pct(record, 99):.2f} ms"
        )


if __name__ == "__main__":
    main()
