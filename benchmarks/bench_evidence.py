"""Evidence costs: prints figures, asserts nothing.

- the first scan of a generated mbox (half of it received mail, DKIM-signed), timed in process,
  and the evidence work for the same messages: fingerprint, record, DKIM against the key (served
  by an injected lookup: no network here; a real scan asks the DNS once per selector and caches
  it), chain append in the same SQLite database, period root. The goal: under 5 % of the scan;
- the Merkle log's append rate (in memory: the collector's storage-backed log is measured when it
  lands), root and proof times at 100,000 entries;
- making a proof bundle (with and without its PDF) and verifying one offline (full bundle: chain,
  period, device signature, log checkpoint, RFC 3161 token from a local OpenSSL TSA, DKIM).

Run: .venv/bin/python benchmarks/bench_evidence.py [--messages N]
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.corpus import trade_text  # noqa: E402
from benchmarks.timing import pct, timed  # noqa: E402


def build_mbox(path: Path, count: int, key) -> list[bytes]:
    """`count` messages, every other one received from a DKIM-signing supplier; returns them."""
    from email.message import EmailMessage

    raws = []
    with path.open("wb") as f:
        for n in range(count):
            m = EmailMessage()
            received = n % 2 == 0
            m["From"] = f"sales@{key.domain}" if received else "me@corp.example"
            m["To"] = "me@corp.example" if received else f"buyer{n}@client.example"
            m["Subject"] = f"Order {n} 订单"
            m["Date"] = "Mon, 02 Nov 2026 10:00:00 +0800"
            m["Message-ID"] = f"<bench-{n}@corp.example>"
            m.set_content(trade_text(1500, n, ["We can offer the lowest price."], 0.02))
            raw = bytes(m)
            raw = key.sign(raw) if received else raw
            raws.append(raw)
            f.write(b"From - Mon Nov  2 10:00:00 2026\n" + raw.replace(b"\r\n", b"\n") + b"\n")
    return raws


def scan_figures(count: int, rounds: int) -> None:
    """Scan and evidence pass in turn, `rounds` times, each on fresh databases; the best round of
    each is printed (the machine is shared: the best is the least disturbed)."""
    import os

    from companion.database import Database
    from companion.evidence.dkim import StaticLookup, verify_dkim
    from companion.evidence.record import record_for_rfc822
    from companion.parsing import parse_eml_bytes
    from companion.policy import PolicyEngine, load_policy
    from companion.scan import scan_paths
    from companion.stores.mbox import split_mbox
    from tests.evidence_fixtures import make_dkim_key

    key = make_dkim_key()
    engine = PolicyEngine(load_policy())
    lookup = StaticLookup({key.name: key.record}, source="injected (benchmark)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        mbox = tmp_path / "Inbox"
        build_mbox(mbox, count, key)
        old = time.time() - 60
        os.utime(mbox, (old, old))
        # The messages as the scan reads them (parsing is the scan's cost, not the evidence's).
        messages = []
        for offset, _, raw in split_mbox(mbox):
            message = parse_eml_bytes(raw)
            received = message.sender is not None and message.sender.address.endswith(key.domain)
            messages.append(
                (offset, raw, dataclasses.replace(message, direction="received" if received else "sent"))
            )
        scans, passes, problems, scanned = [], [], [], 0
        for n in range(rounds):
            db = Database(tmp_path / f"scan-{n}.db")
            t0, c0 = time.perf_counter(), time.process_time()
            scanned = scan_paths(db, engine, [mbox], frozenset({"me@corp.example"})).messages
            scans.append((time.perf_counter() - t0, time.process_time() - c0))
            db.close()
            evidence_db = Database(tmp_path / f"evidence-{n}.db")  # WAL, as the scan's
            t0, c0 = time.perf_counter(), time.process_time()
            chain = _evidence_pass(evidence_db, messages, str(mbox), lookup, record_for_rfc822)
            passes.append((time.perf_counter() - t0, time.process_time() - c0))
            problems = chain.audit()  # not timed: an audit is not part of a scan
            evidence_db.close()
        record_t0 = time.perf_counter()
        for offset, raw, message in messages:
            mode = "snapshot" if message.direction == "received" else "off"
            record_for_rfc822(raw, message, str(mbox), str(offset), lookup=lookup, dkim=mode)
        record_s = time.perf_counter() - record_t0
    scan_s, evidence_s = min(w for w, _ in scans), min(w for w, _ in passes)
    scan_cpu, evidence_cpu = min(c for _, c in scans), min(c for _, c in passes)
    print(
        f"first scan: {scanned} messages, best of {rounds}: {scan_s:.2f} s ({scan_s / scanned * 1e6:.0f} µs/message)"
    )
    print(
        f"evidence for the same messages, best of {rounds}: {evidence_s:.2f} s "
        f"({evidence_s / count * 1e6:.0f} µs/message, of which fingerprint, record and DKIM key snapshot "
        f"{record_s / count * 1e6:.0f} µs; half the messages signed) = {100 * evidence_s / scan_s:.1f} % "
        f"of the scan's time (goal: under 5 %)"
    )
    print(
        f"  in CPU time (what other programs on the machine disturb least): scan {scan_cpu / scanned * 1e6:.0f} "
        f"µs/message, evidence {evidence_cpu / count * 1e6:.0f} µs/message = {100 * evidence_cpu / scan_cpu:.1f} %"
    )
    received = [raw for _, raw, m in messages if m.direction == "received"][:500]
    v0 = time.perf_counter()
    for raw in received:
        verify_dkim(raw, lookup)
    verify_us = (time.perf_counter() - v0) / max(len(received), 1) * 1e6
    print(
        f"  full DKIM verification, were the scan to do it: {verify_us:.0f} µs per signed message "
        f"(dkimpy's RSA is pure Python); done at proof time instead, from the snapshot"
    )
    print(f"  chain audit after the run: {'intact' if not problems else problems[:3]}")


def _evidence_pass(db, messages, store: str, lookup, record_for_rfc822):
    """What the scan will add: a record per message, appended to the chain in the scan's batches
    (one commit per 200), then the period closed. Returns the chain."""
    from companion.evidence.chain import EvidenceChain, create_tables

    create_tables(db.db)  # as the companion's migration will
    chain = EvidenceChain(db.db)
    for i, (offset, raw, message) in enumerate(messages):
        mode = "snapshot" if message.direction == "received" else "off"  # as the scan will
        chain.append(record_for_rfc822(raw, message, store, str(offset), lookup=lookup, dkim=mode))
        if i % 200 == 199:
            db.conn.commit()
    chain.close_period()
    db.conn.commit()
    return chain


def log_figures(entries: int) -> None:
    from companion.evidence.merkle import merkle_log, prove_consistency, prove_inclusion, verify_inclusion

    log = merkle_log()
    data = [f'{{"kind":"summary","device":"d{i % 500}","root":"{i:064x}"}}'.encode() for i in range(entries)]
    t0 = time.perf_counter()
    for entry in data:
        log.append_entry(entry)
    append_s = time.perf_counter() - t0
    print(f"log append (in memory): {entries / append_s:,.0f} entries/s")
    root_ms = timed(lambda: log.get_root(), 5)
    print(
        f"root of {entries:,} entries: median {sorted(root_ms)[2]:.1f} ms (subtree roots cached after the first)"
    )
    proofs = timed(lambda: prove_inclusion(log, entries // 3), 20)
    print(f"inclusion proof: median {pct(proofs, 50):.2f} ms; consistency proof: ", end="")
    cons = timed(lambda: prove_consistency(log, entries // 2), 20)
    print(f"median {pct(cons, 50):.2f} ms")
    proof = prove_inclusion(log, entries // 3)
    root = log.get_root().hex()
    checks = timed(
        lambda: verify_inclusion(data[entries // 3 - 1], root, proof, index=entries // 3, size=entries), 50
    )
    print(f"inclusion proof verification: median {pct(checks, 50):.3f} ms")


def proof_figures() -> None:
    import sqlite_utils

    from companion.evidence.bundle import verify_bundle
    from companion.evidence.chain import EvidenceChain, create_tables
    from companion.evidence.prove import make_proof
    from tests.evidence_fixtures import local_tsa, make_dkim_key, make_tsa_pki
    from tests.test_evidence_bundle import World

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        mail = tmp_path / "quote.eml"
        mail.write_bytes(make_dkim_key().sign(b"From: a@b.example\r\nSubject: Offer\r\n\r\nUSD 12.50\r\n"))
        no_pdf = timed(
            lambda: make_proof(str(mail), tmp_path / "o", db=None, lang="en", pdf=False, lookup=_offline()),
            20,
        )
        with_pdf = timed(
            lambda: make_proof(str(mail), tmp_path / "o", db=None, lang="zh", pdf=True, lookup=_offline()), 10
        )
        print(
            f"prove a file: median {pct(no_pdf, 50):.1f} ms without the page, {pct(with_pdf, 50):.0f} ms with the zh PDF"
        )
        db = sqlite_utils.Database(sqlite3.connect(str(tmp_path / "d.db")))
        create_tables(db)
        with local_tsa(make_tsa_pki(tmp_path / "tsa")) as tsa:
            world = World(EvidenceChain(db), tsa, make_dkim_key())
            raw, _ = world.mails[2]
            bundle = world.bundle()
            assert verify_bundle(bundle, raw).ok
            checks = timed(lambda: verify_bundle(bundle, raw), 30)
        print(f"verify a full bundle offline: median {pct(checks, 50):.1f} ms, p95 {pct(checks, 95):.1f} ms")


def _offline():
    from companion.evidence.dkim import OfflineLookup

    return OfflineLookup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--log-entries", type=int, default=100_000)
    args = parser.parse_args()
    scan_figures(args.messages, args.rounds)
    log_figures(args.log_entries)
    proof_figures()


if __name__ == "__main__":
    main()
