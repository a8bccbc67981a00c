"""Quoted-text detection: its cost on an ordinary 20 KB mail, and that it stays linear on lines that
start like reply markers but never finish one (20x the text must cost about 20x, not 400x).

    .venv/bin/python benchmarks/bench_quoted.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import pct, timed  # noqa: E402
from companion.parsing.quoted import find_quoted_spans  # noqa: E402
from tests.test_quoted import ADVERSARIAL  # noqa: E402

PLAIN = ("An ordinary line of a business mail, with numbers 12345 and no quotes at all.\n" * 300)[:20000]


def main() -> None:
    plain = timed(lambda: find_quoted_spans(PLAIN), 200)
    print(f"20 KB without markers: p50 {pct(plain, 50):.3f} ms, p99 {pct(plain, 99):.3f} ms")
    small = min(timed(lambda: find_quoted_spans(ADVERSARIAL), 20))
    big = min(timed(lambda: find_quoted_spans(ADVERSARIAL * 20), 5))
    print(
        f"adversarial lines: {len(ADVERSARIAL) // 1024} KB {small:.2f} ms, 20x the text {big:.2f} ms "
        f"({big / small:.1f}x the time; linear would be about 20x)"
    )


if __name__ == "__main__":
    main()
