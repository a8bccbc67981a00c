"""How long the monthly compliance report takes on a year of data from 500 workstations.

    .venv/bin/python benchmarks/bench_reports.py [--devices 500] [--backend sqlite|postgresql|both]

The data: 500 devices in 10 departments, a year (2026) of flags — on each working day about three
flagged mails per device, 1.5 hits a mail, a tenth of the hits quoted, a share pre-send with
outcomes, 2 % received fraud attempts — and an appeal for 2 % of the flags, most decided. Rows go
straight into the tables (signing 500 × 365 summaries would measure ingest, which
bench_collector.py does). Then the December report is built (the report store's six queries
over twelve months) and written as PDF, Excel and HTML; the dashboard's trend page queries
(12 weeks by category) are timed too. PostgreSQL: a throwaway server (needs `postgresql`).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.collector_fixtures import running_postgres  # noqa: E402

RULES = (  # (rule, category, tier, share of flags)
    ("commit.lowest-price", "commitment", "approval", 0.35),
    ("commit.money-back", "commitment", "approval", 0.15),
    ("commit.flexible-terms", "commitment", "approval", 0.15),
    ("offbook.private-deal", "off-book", "forbidden", 0.1),
    ("docs.original-invoice", "documents", "allowed", 0.1),
    ("structure.mass-mailing", "mass-mailing", "approval", 0.15),
)
OUTCOMES = ("edited", "justified", "added_approver", "blocked", "sent")


def fill(url: str, devices: int, seed: int = 7) -> int:
    """A year of flags and appeals; returns the number of event rows."""
    import sqlalchemy as sa

    from collector.storage import SqlStorage, appeals, events, summaries
    from collector.storage import devices as devices_table

    rng = random.Random(seed)
    storage = SqlStorage(url)
    storage.migrate()
    start = datetime(2026, 1, 1)
    total = 0
    with storage.engine.begin() as conn:
        for d in range(devices):
            device_id, department = f"dev_{d:04d}", f"dept-{d % 10:02d}"
            conn.execute(
                sa.insert(devices_table).values(
                    id=device_id,
                    public_key="k" * 43,
                    hostname=f"PC-{d}",
                    department=department,
                    agent_version="0.1.0",
                    enrolled_at=start,
                )
            )
            summary_id = conn.execute(
                sa.insert(summaries)
                .values(
                    device_id=device_id,
                    seq=1,
                    hash="h",
                    prev_hash="",
                    payload="{}",
                    signature="s",
                    received_at=start,
                )
                .returning(summaries.c.id)
            ).scalar_one()
            rows, appeal_rows = [], []
            for day in range(365):
                when = start + timedelta(days=day)
                if when.weekday() >= 5:
                    continue
                for m in range(rng.choice((1, 2, 3, 3, 4, 5))):
                    rule, category, tier, _ = rng.choices(RULES, weights=[r[3] for r in RULES])[0]
                    mail = hashlib.sha256(f"{d}/{day}/{m}".encode()).hexdigest()
                    received = rng.random() < 0.02
                    if received:
                        rule, category, tier = "payment.bank-change", "payment-change", "info"
                    presend = not received and rng.random() < 0.3
                    at = when + timedelta(hours=rng.randrange(0, 24))
                    for _hit in range(rng.choice((1, 1, 2))):
                        rows.append(
                            {
                                "summary_id": summary_id,
                                "device_id": device_id,
                                "department": department,
                                "rule": rule,
                                "tier": tier,
                                "category": category,
                                "at": at,
                                "direction": "received" if received else "sent",
                                "source": "presend" if presend else "scan",
                                "counterpart_domain": "buyer.example",
                                "snippet": "…we guarantee the »lowest price«…",
                                "quoted": rng.random() < 0.1,
                                "message_hash": mail,
                                "outcome": rng.choice(OUTCOMES) if presend else "",
                            }
                        )
                    if rng.random() < 0.02:
                        decided = rng.random() < 0.8
                        appeal_rows.append(
                            {
                                "device_id": device_id,
                                "appeal_id": len(appeal_rows) + 1,
                                "department": department,
                                "message_hash": mail,
                                "rule": rule,
                                "reason": "r",
                                "comment": "",
                                "filed_at": at.isoformat(),
                                "received_at": at + timedelta(hours=1),
                                "status": rng.choice(("upheld", "rejected")) if decided else "pending",
                                "decided_at": at + timedelta(hours=rng.randrange(2, 72)) if decided else None,
                            }
                        )
            conn.execute(sa.insert(events), rows)
            if appeal_rows:
                conn.execute(sa.insert(appeals), appeal_rows)
            total += len(rows)
    storage.dispose()
    return total


def measure(url: str) -> dict[str, float]:
    from collector.dashboard import monthly, periods, reports
    from collector.dashboard.report_files import render
    from collector.keys import load_policy_signer
    from collector.service import Collector
    from collector.storage import SqlStorage
    from companion.policy.loader import default_policy_text

    storage = SqlStorage(url)
    collector = Collector(storage, load_policy_signer(storage), clock=lambda: datetime(2026, 12, 31, 12))
    if collector.current_policy() is None:
        collector.publish_policy(default_policy_text(), "bench")
    out: dict[str, float] = {}
    december = periods.month("2026-12")
    for lang in ("zh", "en"):
        t0 = time.perf_counter()
        report = monthly.build(collector, december, None, lang)
        out[f"build ({lang})"] = time.perf_counter() - t0
        for fmt in ("pdf", "xlsx", "html"):
            t0 = time.perf_counter()
            render(report, fmt)
            out[f"{fmt} ({lang})"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    monthly.build(collector, december, "dept-03", "zh")
    out["build, one department"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reports.trend(collector, "week", "category")
    out["trend page: 12 weeks by category"] = time.perf_counter() - t0
    out["departments"] = len(report.departments)
    out["flags in the year"] = report.company.year_flags
    storage.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="mw-bench-reports-") as tmp:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{tmp}/collector.db"
            t0 = time.perf_counter()
            n = fill(url, args.devices)
            print(
                f"SQLite: {n:,} event rows from {args.devices} devices over 2026, loaded in {time.perf_counter() - t0:.0f} s"
            )
            results["SQLite"] = measure(url)
        if args.backend in ("postgresql", "both"):
            with running_postgres() as pg:
                url = pg.url("bench_reports")
                pg.admin("CREATE DATABASE bench_reports")
                t0 = time.perf_counter()
                n = fill(url, args.devices)
                print(f"PostgreSQL: {n:,} event rows, loaded in {time.perf_counter() - t0:.0f} s")
                results["PostgreSQL"] = measure(url)
    keys = list(next(iter(results.values())))
    print(f"\n{'monthly report, December 2026':42s}" + "".join(f"{b:>14s}" for b in results))
    for key in keys:
        cells = []
        for b in results:
            v = results[b][key]
            cells.append(f"{v:>14,.0f}" if key in ("departments", "flags in the year") else f"{v:>12.2f} s")
        print(f"{key:42s}" + "".join(cells))


if __name__ == "__main__":
    main()
