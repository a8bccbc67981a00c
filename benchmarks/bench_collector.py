"""Collector throughput: verified summary uploads per second and p50/p99 latency with N simulated
devices uploading concurrently over loopback HTTP, on SQLite and on PostgreSQL. Prints figures,
asserts nothing (goal: >= 500 uploads/s, p99 < 200 ms on 2 cores).

The collector runs as `mailwarden-collector serve --workers W` in a subprocess; the devices are
threads of this process with keep-alive connections, each uploading its own signed chain. Envelopes
are signed before the clock starts, so the figures measure the collector (which verifies every
signature), not the clients' signing. Client and server share the machine's cores.

Durability is alike on both: SQLite in WAL with synchronous=NORMAL, PostgreSQL with fsync on and
synchronous_commit off (a killed process loses nothing; a power cut may lose the last commits,
which then show as a gap at the collector, but never corrupts the database).

Run: .venv/bin/python benchmarks/bench_collector.py [--devices 200] [--uploads 10] [--workers N]
     [--backend sqlite|postgresql|both]   (PostgreSQL: a throwaway server, needs `postgresql`)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from timing import pct  # noqa: E402

from tests.collector_fixtures import Workstation, obj_hash, running_postgres, summary_payload  # noqa: E402
from tests.fixtures import free_port  # noqa: E402


def spawn(db: str, port: int, workers: int) -> subprocess.Popen:
    import requests

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode())
    raise RuntimeError("the collector did not start")


def _tree_cpu(pids: list[int]) -> float | None:
    """CPU seconds (user + system) used so far by these processes and all their descendants
    (Linux /proc; None elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, todo, seen = 0, list(pids), set()
    try:
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    except OSError:
        return None if not seen else total / tick
    return total / tick


def _postmaster(pg) -> list[int]:
    """The PostgreSQL server's pid (its backends are its children), to count the database's CPU too."""
    try:
        with open(os.path.join(os.path.dirname(pg.socket_dir), "data", "postmaster.pid")) as f:
            return [int(f.readline())]
    except (OSError, ValueError):
        return []


def run(
    db: str,
    devices: int,
    uploads: int,
    workers: int,
    events: int,
    rate: float = 0,
    db_pids: list[int] | None = None,
) -> dict[str, float]:
    """Closed loop (rate 0: every device sends its next summary as soon as the previous is answered,
    saturating the collector) or open loop (the devices together offer `rate` uploads per second)."""
    from collector.app import build_collector

    setup = build_collector(db)
    tokens = [setup.create_token("bench")["token"] for _ in range(devices)]
    setup.storage.dispose()
    port = free_port()
    proc = spawn(db, port, workers)
    try:
        url = f"http://127.0.0.1:{port}"
        bodies: list[list[bytes]] = []
        for token in tokens:
            ws = Workstation(url)
            assert ws.enroll(token).status_code == 201
            chain, prev = [], ""
            for seq in range(1, uploads + 1):
                payload = summary_payload(ws.device_id, seq, prev, events)
                prev = obj_hash(payload)
                chain.append(json.dumps(ws.envelope(payload)).encode())
            bodies.append(chain)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(devices + 1)

        interval = devices / rate if rate else 0.0  # seconds between one device's uploads

        def device(index: int, chain: list[bytes]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine = []
            barrier.wait()
            begin = time.perf_counter() + (index / rate if rate else 0.0)  # staggered starts
            for n, body in enumerate(chain):
                if rate:
                    delay = begin + n * interval - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                t0 = time.perf_counter()
                conn.request("POST", "/api/v1/summaries", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                answer = resp.read()
                mine.append((time.perf_counter() - t0) * 1000)
                if resp.status != 200 or json.loads(answer)["status"] != "accepted":
                    with lock:
                        failures.append(answer.decode())
            conn.close()
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=device, args=(i, chain)) for i, chain in enumerate(bodies)]
        for t in threads:
            t.start()
        server_pids = [proc.pid, *(db_pids or [])]
        barrier.wait()
        t0, cpu0, server0 = time.perf_counter(), time.process_time(), _tree_cpu(server_pids)
        for t in threads:
            t.join()
        elapsed, client_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server1 = _tree_cpu(server_pids)
        server_cpu = (server1 - server0) if server0 is not None and server1 is not None else float("nan")
    finally:
        proc.terminate()
        proc.wait(20)
    check = build_collector(db)
    with check.storage.transaction() as tx:
        stored = tx.count("summaries")
    check.storage.dispose()
    total = devices * uploads
    return {
        "uploads": total,
        "stored": stored,
        "failures": len(failures),
        "seconds": elapsed,
        "per_second": total / elapsed,
        "client_cpu": client_cpu / elapsed,
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "server_cpu_ms": server_cpu * 1000 / total,
    }


def _verify_us(n: int = 2000) -> float:
    """Microseconds per Ed25519 verify of a summary-sized message: a yardstick for how fast (and
    how busy) this machine is when the figures are taken."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    data = b"x" * 1500
    sig, public = key.sign(data), key.public_key()
    t0 = time.perf_counter()
    for _ in range(n):
        public.verify(sig, data)
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--uploads", type=int, default=10, help="summaries per device")
    ap.add_argument("--events", type=int, default=3, help="events per summary")
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="collector worker processes (default: 1 on SQLite, whose one writer makes more processes"
        " wait on its lock, 2 on PostgreSQL)",
    )
    ap.add_argument(
        "--rate", type=float, default=250, help="offered uploads/s of the open-loop (latency) run; 0 skips it"
    )
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    workers = {"sqlite": args.workers or 1, "postgresql": args.workers or 2}
    print(
        f"{args.devices} devices x {args.uploads} summaries ({args.events} events each), "
        f"collector workers: SQLite {workers['sqlite']}, PostgreSQL {workers['postgresql']}; {os.cpu_count()} CPUs"
    )
    print(
        f"machine speed now: one Ed25519 verify takes {_verify_us():.0f} µs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    rates = [0.0] + ([args.rate] if args.rate else [])
    results = {}
    for rate in rates:
        label = "saturated" if not rate else f"{rate:.0f}/s offered"
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                results[("sqlite", label)] = run(
                    f"sqlite:///{tmp}/collector.db",
                    args.devices,
                    args.uploads,
                    workers["sqlite"],
                    args.events,
                    rate,
                )
        if args.backend in ("postgresql", "both"):
            with running_postgres(crash_safe=True) as pg:
                pg.admin("CREATE DATABASE bench")
                results[("postgresql", label)] = run(
                    pg.url("bench"),
                    args.devices,
                    args.uploads,
                    workers["postgresql"],
                    args.events,
                    rate,
                    _postmaster(pg),
                )
    for (name, label), r in results.items():
        print(
            f"{name:10s} {label:15s} {r['per_second']:5.0f} uploads/s  p50 {r['p50_ms']:6.1f} ms  "
            f"p99 {r['p99_ms']:6.1f} ms  ({r['uploads']} in {r['seconds']:.1f} s, {r['stored']} stored, "
            f"{r['failures']} failures; the clients used {r['client_cpu']:.2f} CPU)"
        )
        print(
            f"{'':26s} collector{' + PostgreSQL' if name == 'postgresql' else ''} CPU per verified upload: "
            f"{r['server_cpu_ms']:.2f} ms (= {1000 / r['server_cpu_ms']:.0f} uploads/s per core fully used)"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"load average at the end: {load:.1f} on {os.cpu_count()} CPUs (other work on the machine slows every figure)"
    )


if __name__ == "__main__":
    main()
