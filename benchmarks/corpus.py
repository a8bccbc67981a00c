"""The synthetic trade mail the benchmarks check: ordinary shipping sentences in English and
Chinese, with a risky phrase now and then. Seeded, so every run measures the same text."""

from __future__ import annotations

import random

SENTENCES = [
    "Please confirm the shipment date for PO {n}. ",
    "我们已收到您的订单，预计{n}天内发货。",
    "The container will leave Ningbo on Friday, ETA Hamburg in {n} days. ",
    "请确认包装方式和唛头，谢谢！",
    "Attached is the packing list and the commercial invoice for batch {n}. ",
    "关于付款方式，我们接受 30% 预付款，余款见提单副本。",
]


def trade_text(size: int, seed: int, risky: list[str], rate: float, sep: str = "") -> str:
    """About `size` UTF-8 bytes of sentences; after each, with probability `rate`, a phrase of `risky`."""
    rng = random.Random(seed)
    parts, length = [], 0
    while length < size:
        s = rng.choice(SENTENCES).format(n=rng.randint(2, 9999))
        if rng.random() < rate:
            s += rng.choice(risky) + " "
        parts.append(s)
        length += len(s.encode("utf-8"))
    return sep.join(parts)
