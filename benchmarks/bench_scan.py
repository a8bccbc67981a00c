"""Scanning speed and memory: prints figures, asserts nothing.

- first scan of a generated 100,000-message mbox (messages per second, peak RSS of the process);
- rescans: nothing changed, only the mtime changed, one message appended;
- the sample Outlook PSTs in ../shared/samples (messages per second);
- the agent's RSS idle after start.
With --big GB it also streams a generated mbox of that many gigabytes through `mailwarden scan`
to show memory stays flat (slow: minutes per GB).

Run: make bench-scan   (or .venv/bin/python benchmarks/bench_scan.py [--messages N] [--big GB])
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("MAILWARDEN_SAMPLES", REPO.parent / "shared" / "samples")) / "outlook"

TEMPLATE = (
    "From: {sender}\nTo: buyer{n}@client.example\nSubject: Order {n} 订单\n"
    "Date: Mon, 02 Nov 2026 10:00:00 +0800\nMessage-ID: <bench-{n}@corp.example>\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Dear customer, please confirm the shipment of PO {n}. 我们已收到您的订单，预计七天内发货。\n"
    "{extra}The container leaves Ningbo on Friday. Best regards\n"
)


def write_mbox(path: Path, count: int, start: int = 0, padding: int = 0) -> int:
    """Writes `count` messages (1 in 50 risky), each with `padding` more bytes of body; returns the
    bytes written."""
    written = 0
    filler = ("Packing list line: carton 1-200, net weight 12.5 kg, HS 8481.80.\n" * (padding // 64 + 1))[
        :padding
    ]
    with path.open("ab") as f:
        for n in range(start, start + count):
            extra = "We can offer the lowest price and a lifetime warranty.\n" if n % 50 == 1 else ""
            extra += filler
            sender = "sales@corp.example" if n % 2 else "partner@supplier.example"
            chunk = (
                "From - Mon Nov  2 10:00:00 2026\n" + TEMPLATE.format(n=n, sender=sender, extra=extra) + "\n"
            )
            data = chunk.encode("utf-8")
            f.write(data)
            written += len(data)
    old = time.time() - 60  # as if written a minute ago: the scanner waits for quiet files
    os.utime(path, (old, old))
    return written


_LAUNCHER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout
print(json.dumps({"seconds": time.perf_counter() - t0, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "out": out}))
"""


def run_scan(home: Path, *paths: Path) -> dict:
    """`mailwarden scan --json` in a fresh process, timed, with its peak RSS (from a small launcher)."""
    exe = Path(sys.executable).parent / "mailwarden"
    env = {**os.environ, "MAILWARDEN_HOME": str(home)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _LAUNCHER,
            str(exe),
            "scan",
            "--json",
            "--identity",
            "sales@corp.example",
            *map(str, paths),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = json.loads(out.stdout)
    result["totals"] = json.loads(result.pop("out"))
    return result


def bench_mbox(tmp: Path, count: int) -> None:
    box = tmp / "Inbox"
    size = write_mbox(box, count)
    home = tmp / "home"
    first = run_scan(home, box)
    n = first["totals"]["messages"]
    print(
        f"first scan of a {count:,}-message mbox ({size / 1e6:.0f} MB): {first['seconds']:.1f} s, "
        f"{n / first['seconds']:,.0f} messages/s, peak RSS {first['rss_kb'] / 1024:.0f} MB, "
        f"{first['totals']['flagged']:,} flagged"
    )
    again = run_scan(home, box)
    print(f"rescan, nothing changed: {again['seconds']:.2f} s (process start included)")
    os.utime(box)
    touched = run_scan(home, box)
    print(f"rescan, mtime changed only: {touched['seconds']:.2f} s")
    write_mbox(box, 1, start=count)
    grown = run_scan(home, box)
    print(
        f"rescan after one message appended: {grown['seconds']:.2f} s, read {grown['totals']['messages']} new"
    )


def bench_psts(tmp: Path) -> None:
    psts = sorted(SAMPLES.rglob("*.pst"))
    if not psts:
        print(f"sample PSTs: none found under {SAMPLES}")
        return
    result = run_scan(tmp / "pst-home", *psts)
    n = result["totals"]["messages"]
    print(
        f"sample PSTs ({len(psts)} files, {n} mails): {result['seconds']:.2f} s including process start, "
        f"peak RSS {result['rss_kb'] / 1024:.0f} MB"
    )


def agent_idle_rss(tmp: Path) -> None:
    home = tmp / "agent-home"
    home.mkdir()
    (home / "config.toml").write_text("discover = false\n", encoding="utf-8")
    env = {**os.environ, "MAILWARDEN_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion.agent"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (home / "agent.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        print(f"agent RSS idle after start: {int(rss) / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_big(tmp: Path, gigabytes: float) -> None:
    box = tmp / "Big"
    target = int(gigabytes * 1e9)
    written, n = 0, 0
    while written < target:  # 100 KB messages, like mail with a long history or inline text
        written += write_mbox(box, 1_000, start=n, padding=100_000)
        n += 1_000
    result = run_scan(tmp / "big-home", box)
    print(
        f"streamed a {written / 1e9:.1f} GB mbox ({n:,} messages): {result['seconds']:.0f} s, "
        f"peak RSS {result['rss_kb'] / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--big", type=float, default=0, help="also stream a generated mbox of this many GB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_mbox(tmp, args.messages)
        bench_psts(tmp)
        agent_idle_rss(tmp)
        if args.big:
            bench_big(tmp, args.big)


if __name__ == "__main__":
    main()
