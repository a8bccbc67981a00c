"""Footprint of the tray: its idle RSS after start, and the agent's RSS without and with the tray
attached (the agent must not grow because a tray polls it).

A real agent runs in a temporary data directory with the demo mailbox scanned; the tray
(`ui.app:main`, Qt offscreen: with no system tray it opens the My-flags window, so this is the
heavier case) is started against it, waits until it has loaded the flags, then idles.

    .venv/bin/python benchmarks/bench_tray.py [--idle SECONDS]

Linux (reads VmRSS from /proc). Goal: tray < 80 MB with PySide6-Essentials.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


ICON_ONLY = """
from PySide6.QtWidgets import QApplication
from companion.config import paths
from ui.tray import TrayApp
app = QApplication([])
tray = TrayApp(paths(), use_tray=False)
tray.start()
app.exec()
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def flags_seen(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT flags_seen FROM tray_state WHERE id = 1").fetchone()[0]
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--idle", type=float, default=15.0, help="seconds to idle before measuring (default 15)"
    )
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        print("bench_tray: needs Linux /proc", file=sys.stderr)
        return 1
    from tests.ui_fixtures import make_agent

    with tempfile.TemporaryDirectory(prefix="mailwarden-bench-tray-") as tmp:
        agent = make_agent(Path(tmp))
        tray = None
        try:
            agent_pid = agent.procs[0].pid
            time.sleep(args.idle)
            without = rss_mb(agent_pid)
            env = {**agent.env, "QT_QPA_PLATFORM": "offscreen"}
            t0 = time.perf_counter()
            tray = subprocess.Popen(
                [sys.executable, "-c", "from ui.app import main; raise SystemExit(main())"],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            while (
                flags_seen(agent.paths.database) == 0
            ):  # the tray has shown the flags: it is up and attached
                if tray.poll() is not None or time.perf_counter() - t0 > 60:
                    print("bench_tray: the tray did not come up", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            ready = time.perf_counter() - t0
            time.sleep(args.idle)  # the tray polls the agent every 3 s meanwhile
            tray_rss = rss_mb(tray.pid)
            with_tray = rss_mb(agent_pid)
            time.sleep(args.idle)
            tray_rss_later = rss_mb(tray.pid)
            with_tray_later = rss_mb(agent_pid)
            tray.terminate()
            tray.wait(10)
            # The tray as on a desktop with a system tray: no window open, polling the agent.
            tray = subprocess.Popen(
                [sys.executable, "-c", ICON_ONLY],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(args.idle)
            icon_only = rss_mb(tray.pid)
        finally:
            if tray is not None and tray.poll() is None:
                tray.terminate()
                tray.wait(10)
            agent.kill_all()
    print(f"tray up and showing the flags after {ready * 1000:.0f} ms")
    print(
        f"tray idle RSS:                 {tray_rss:6.1f} MB  (after {args.idle:g} s; {tray_rss_later:.1f} MB "
        f"after {2 * args.idle:g} s)  goal < 80 MB"
    )
    print(f"tray idle RSS, no window open: {icon_only:6.1f} MB  (as on a desktop with a system tray)")
    print(f"agent RSS without the tray:    {without:6.1f} MB")
    print(
        f"agent RSS with the tray:       {with_tray:6.1f} MB  ({with_tray_later:.1f} MB {args.idle:g} s later)"
    )
    print(f"agent growth with the tray:    {with_tray_later - without:+6.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
