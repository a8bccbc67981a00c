"""Pre-send check speed and size: prints figures, asserts nothing (machines are noisy).

For the default policy and a generated 10,000-phrase bilingual policy: build time, p50/p99 latency
of parse + normalise + match + verdict for 2 KB, 20 KB and 200 KB messages, matching throughput,
and the peak RSS of a `mailwarden check` process holding the policy.

Run: make bench   (or .venv/bin/python benchmarks/bench_check.py [--quick])
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from corpus import trade_text  # benchmarks/corpus.py
from timing import pct, timed  # benchmarks/timing.py

from companion.parsing import parse_eml_bytes
from companion.policy import PolicyEngine, parse_policy
from companion.policy.loader import default_policy_text

HAN = "的一是不了人我在有他这为之大来以个中上们到说国和地要就出也时道而经年用发成部民可下能过"
WORDS = (
    "order shipment invoice container pallet valve pump steel freight quote sample batch "
    "delivery customs payment balance deposit carton warranty contract supplier buyer"
).split()
RISKY = ["lowest price", "终身保修", "keep this between us", "新的收款账户"]


def make_policy(n_phrases: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    phrases = set()
    while len(phrases) < n_phrases:
        if rng.random() < 0.5:
            phrases.add("".join(rng.choice(HAN) for _ in range(rng.randint(3, 6))))
        else:
            phrases.add(
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))) + f" {rng.randint(1, 99)}x"
            )
    phrases = sorted(phrases)
    rules = []
    per_rule = 500
    for i in range(0, len(phrases), per_rule):
        chunk = ", ".join(f'"{p}"' for p in phrases[i : i + per_rule])
        tier = ("approval", "forbidden", "info")[(i // per_rule) % 3]
        rules.append(
            f'[[rule]]\nid = "gen.{i // per_rule}"\ntier = "{tier}"\ncategory = "generated"\n'
            f'explanation = {{ en = "generated", zh = "生成" }}\nphrases = [{chunk}]\n'
        )
    return default_policy_text() + "\n" + "\n".join(rules)


def make_eml(size: int, seed: int) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "sales@corp.example", "buyer@client.example", "Re: order 1234"
    m.set_content(trade_text(size, seed, RISKY, 0.02))
    return bytes(m)


_LAUNCHER = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(policy: Path, eml: Path) -> float:
    """Peak RSS of a fresh `mailwarden check` process, started from a small launcher process so the
    figure is not inflated by this (large) benchmark process (Linux: ru_maxrss is in KiB)."""
    exe = Path(sys.executable).parent / "mailwarden"
    out = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(exe), "check", "--json", "--policy", str(policy), str(eml)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip()) / 1024


def bench(label: str, policy_text: str, runs: int, tmp: Path) -> None:
    t0 = time.perf_counter()
    engine = PolicyEngine(parse_policy(policy_text))
    build_ms = (time.perf_counter() - t0) * 1000
    phrases = sum(len(r.phrases) for r in engine.policy.rules)
    print(f"\n{label}: {phrases:,} phrases, {len(engine.policy.rules)} rules; build {build_ms:.0f} ms")
    print(f"  {'size':>6} {'p50 ms':>8} {'p99 ms':>8} {'match MB/s':>11}")
    for size in (2_000, 20_000, 200_000):
        raw = make_eml(size, seed=size)
        n = runs if size < 200_000 else max(20, runs // 5)
        lat = timed(lambda raw=raw: engine.check(parse_eml_bytes(raw)), n)
        body = parse_eml_bytes(raw).body
        match = timed(lambda body=body: engine.match_text(body), n)
        mbps = len(body.encode("utf-8")) / (statistics.median(match) / 1000) / 1e6
        print(f"  {size // 1000:>4}KB {pct(lat, 50):>8.2f} {pct(lat, 99):>8.2f} {mbps:>11.1f}")
    policy_path = tmp / f"{label.split()[0]}.toml"
    policy_path.write_text(policy_text, encoding="utf-8")
    eml = tmp / "m.eml"
    eml.write_bytes(make_eml(20_000, 1))
    print(f"  peak RSS of `mailwarden check` with this policy: {peak_rss_mb(policy_path, eml):.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 50 if args.quick else 300
    print(f"Python {sys.version.split()[0]}; {runs} runs per size (200 KB: {max(20, runs // 5)})")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench("default policy", default_policy_text(), runs, tmp)
        bench("generated 10000-phrase policy", make_policy(10_000), runs, tmp)


if __name__ == "__main__":
    main()
