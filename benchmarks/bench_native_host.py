"""The Thunderbird native-messaging host, timed as Thunderbird uses it: prints figures, asserts
nothing (machines are noisy).

A real host process (`python -m companion.native_host`, what the launcher written by `mailwarden
install-thunderbird` runs) on pipes with native messaging's framing, one long-lived connection like
the extension's port. Measured from the client side (what a send waits for):
- start: process launch until the first answer (Python start, imports, policy engine built);
- check round trip for 1,000 checks of ~20 KB mixed Chinese/English compose details (plain body,
  recipients, one small text attachment), a few with risky phrases (warn/block answers carry
  findings): frame + write + the host's JSON decode, check and answer + read;
- the same for 2 KB and 200 KB (fewer runs), for scale;
- decision messages (recorded by the host's writer thread in the local database).
Goal: 20 KB round trip p99 under 30 ms on a 2-core machine.

Run: .venv/bin/python benchmarks/bench_native_host.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from corpus import trade_text  # noqa: E402  (benchmarks/corpus.py)
from timing import pct, timed  # noqa: E402  (benchmarks/timing.py)

HEADER = struct.Struct("=I")
RISKY = ["lowest price", "终身保修", "最低价", "keep this between us"]


def body_of(size: int, seed: int) -> str:
    return trade_text(size, seed, RISKY, 0.01, "\n")


def details_of(size: int, seed: int) -> dict:
    return {
        "subject": f"PO {seed} shipment / 订单 {seed} 发货",
        "body": body_of(size, seed),
        "html": "",
        "from": "Li Wei <li.wei@corp.example>",
        "to": ["Anna <anna@buyer.example>"],
        "cc": ["logistics@corp.example"],
        "bcc": [],
        "attachments": [
            {
                "name": "packing-list.txt",
                "content_type": "text/plain",
                "size": 600,
                "text": "Item;Qty;Weight\n" + "valve DN50;500;1200 kg\n" * 25,
            }
        ],
    }


class Host:
    """The real host on pipes, spoken to as Thunderbird does."""

    def __init__(self, home: str) -> None:
        env = {**os.environ, "MAILWARDEN_HOME": home}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "companion.native_host", "bench.json", "bench@bench"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        self.counter = 0

    def request(self, message: dict) -> dict:
        self.counter += 1
        data = json.dumps({**message, "id": self.counter}, ensure_ascii=False).encode("utf-8")
        self.proc.stdin.write(HEADER.pack(len(data)) + data)
        self.proc.stdin.flush()
        (length,) = HEADER.unpack(self.proc.stdout.read(HEADER.size))
        answer = json.loads(self.proc.stdout.read(length))
        if answer.get("id") != self.counter:
            raise RuntimeError(f"unexpected answer {answer}")
        return answer

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 200 if args.quick else 1000

    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        host = Host(home)
        pong = host.request({"type": "ping"})
        start_ms = (time.perf_counter() - started) * 1000
        print(
            f"native host {pong['version']}, policy {pong['policy_version']}: "
            f"start to first answer {start_ms:.0f} ms"
        )

        print("    size   runs   p50 ms   p99 ms   max ms  verdicts")
        for size, n in ((2_000, runs // 4), (20_000, runs), (200_000, max(20, runs // 10))):
            mails = [{"type": "check", "details": details_of(size, seed)} for seed in range(50)]
            verdicts: dict[str, int] = {}
            for mail in mails[:10]:  # warm-up: first-call costs are not the steady state
                host.request(mail)
            i = iter(range(n))

            def one(mails=mails, verdicts=verdicts, i=i) -> None:
                answer = host.request(mails[next(i) % len(mails)])
                verdicts[answer["verdict"]] = verdicts.get(answer["verdict"], 0) + 1

            times = timed(one, n)
            summary = ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
            print(
                f"  {size // 1000:4d}KB  {n:5d}  {pct(times, 50):7.2f}  {pct(times, 99):7.2f}  "
                f"{max(times):7.2f}  {summary}"
            )

        check = host.request({"type": "check", "details": details_of(20_000, 7)})
        decisions = timed(
            lambda: host.request({"type": "decision", "check_id": check["id"], "choice": "sent"}),
            max(50, runs // 5),
        )
        print(
            f"  decision (recorded by the writer thread): p50 {pct(decisions, 50):.2f} ms, "
            f"p99 {pct(decisions, 99):.2f} ms"
        )
        host.close()
        print("goal: 20 KB round trip p99 < 30 ms")


if __name__ == "__main__":
    main()
