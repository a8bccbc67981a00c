"""What masking costs, and what it catches: run as `python benchmarks/bench_pii.py`.

Masking runs on the summary path (scan → summary, in the background every few minutes), never on
the pre-send path. Prints:
- the time to build one event's snippet (companion.snippets, masking included) over the findings of
  the labelled dev mailbox (tests/data/pii_dev), and the whole build_next_summary for that mailbox;
- `mask_text` over synthetic trade mail with personal data sprinkled in, per 100 KB;
- the planted personal data found in the summary and left by `mailwarden mask`, per kind, and the
  ordinary trade words masking took away (model numbers, trade terms, units).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from corpus import trade_text  # noqa: E402
from timing import pct, timed  # noqa: E402

PERSONAL = [
    "请联系张经理，手机 13812345678。",
    "Dear Mr. Wang, call me on +44 20 7946 0958.",
    "收货地址：上海市浦东新区张江路1388号5号楼1203室。",
    "账号：6222 0212 3456 7890 123，户名：李娜。",
    "Ship to 14 Harbour Road, London E14 9QR.",
    "加我微信 lina_huadong 聊。",
]


def _snippet_timings(home: Path) -> tuple[list[float], int, float]:
    """Per-snippet milliseconds over every finding of the scanned dev mailbox, and the summary's build time."""
    from datetime import UTC, datetime

    from companion.config import Paths
    from companion.pii import People
    from companion.policy.model import SnippetRules
    from companion.records import Database
    from companion.snippets import snippet
    from companion.summary import build_next_summary
    from tests.pii_mailbox import load_mailbox, summary_of

    box = load_mailbox()
    summary_of(box, home)  # scans the mailbox into home's database
    db = Database(Paths(home).database)
    rows = list(
        db.db.query(
            "SELECT f.field, f.start, f.[end], f.text, ff.text AS field_text, m.people FROM findings f"
            " JOIN messages m ON m.key = f.message_key"
            " LEFT JOIN flagged_fields ff ON ff.message_key = f.message_key AND ff.field = f.field"
        )
    )
    rules = SnippetRules()
    people = [People.of(tuple(p) for p in json.loads(r["people"] or "[]")) for r in rows]

    def all_snippets() -> None:
        for r, p in zip(rows, people, strict=True):
            snippet(r["field_text"], r["field"], r["start"], r["end"], r["text"], people=p, rules=rules)

    all_snippets()  # warm: lazy imports, compiled patterns
    per_run = timed(all_snippets, 5)
    per_snippet = [ms / len(rows) for ms in per_run]
    t0 = time.perf_counter()
    build_next_summary(db, Paths(home), now=datetime(2026, 12, 1, tzinfo=UTC))
    summary_ms = (time.perf_counter() - t0) * 1000
    db.close()
    return per_snippet, len(rows), summary_ms


def _mask_throughput() -> tuple[float, int, int]:
    from companion.pii import find_pii, mask_text

    text = trade_text(100_000, seed=7, risky=PERSONAL, rate=0.15)
    mask_text(text[:2000])  # warm
    runs = timed(lambda: mask_text(text), 3)
    return pct(runs, 50), len(text.encode("utf-8")), len(find_pii(text))


def main() -> None:
    from tests.pii_mailbox import keep_lost, load_mailbox, mask_leaks, masked_texts, summary_leaks, summary_of

    with tempfile.TemporaryDirectory() as tmp:
        per_snippet, findings, summary_ms = _snippet_timings(Path(tmp) / "a")
        box = load_mailbox()
        summary = summary_of(box, Path(tmp) / "b")
    print(f"snippet (masking included), {findings} findings of the dev mailbox:")
    print(
        f"  {pct(per_snippet, 50):.2f} ms per snippet (median of 5 runs), {max(per_snippet):.2f} ms worst run"
    )
    print(f"  build_next_summary, {len(summary['events'])} events: {summary_ms:.0f} ms")
    ms, size, found = _mask_throughput()
    print(f"mask_text: {ms:.0f} ms per {size // 1000} KB of trade mail ({found} pieces of personal data)")
    texts = masked_texts(box)
    s_leaks, m_leaks = summary_leaks(box, summary), mask_leaks(box, texts)
    print(
        f"planted items in the summary (found/planted): {len(s_leaks.found)}/{sum(s_leaks.planted.values())}"
    )
    for kind, share in s_leaks.by_kind().items():
        print(f"  {kind:14} {share}")
    print(
        f"planted items left by mask (left/present in bodies): {len(m_leaks.found)}/{sum(m_leaks.planted.values())}"
    )
    for kind, share in m_leaks.by_kind().items():
        print(f"  {kind:14} {share}")
    lost = keep_lost(box, texts)
    print(f"ordinary trade words masked away: {len(lost)}/{len(box.keep)}")


if __name__ == "__main__":
    main()
