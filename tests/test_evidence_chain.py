"""The device's evidence chain in a real SQLite database: appends, periods, proofs, audits."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from companion.evidence.chain import GENESIS, EvidenceChain, commitment
from companion.evidence.merkle import verify_inclusion
from companion.evidence.record import record_for_rfc822
from companion.parsing import parse_eml_bytes
from tests.conftest import build_eml
from tests.evidence_fixtures import new_chain


@pytest.fixture
def chain(tmp_path):
    chain = new_chain(tmp_path / "device.db")
    yield chain
    chain.db.conn.close()


def record(n: int, direction: str = "sent"):
    raw = build_eml(f"Offer number {n}: USD {n}.00", message_id=f"<offer-{n}@corp.example>")
    return record_for_rfc822(raw, parse_eml_bytes(raw, direction=direction), "/mail/Sent", str(n * 100))


def fill(chain, count: int) -> list:
    links = [chain.append(record(n)) for n in range(1, count + 1)]
    chain.db.conn.commit()
    return links


def test_links_follow_each_other(chain):
    links = fill(chain, 3)
    assert [x.seq for x in links] == [1, 2, 3]
    assert links[0].prev == GENESIS and links[1].prev == links[0].hash and links[2].prev == links[1].hash
    assert chain.head() == (3, links[2].hash)
    link, rec = chain.entry(2)
    assert link == links[1] and rec.hash == link.record and rec.message_id == "offer-2@corp.example"
    assert chain.audit() == []


def test_find_by_fingerprint_or_message_id(chain):
    fill(chain, 3)
    _, rec = chain.entry(2)
    assert chain.find(sha256=rec.sha256) == [2]
    assert chain.find(message_id="<offer-3@corp.example>") == [3]
    assert chain.find(message_id="nothing@here") == []


def test_periods_and_the_proof_of_one_record(chain):
    fill(chain, 5)
    first = chain.close_period()
    assert (first.first_seq, first.last_seq, first.head) == (1, 5, chain.head()[1])
    assert chain.close_period() is None  # nothing new
    chain.append(record(6))
    chain.append(record(7))
    second = chain.close_period()
    assert (second.first_seq, second.last_seq) == (6, 7)
    for seq in range(1, 8):
        period, proof = chain.period_proof(seq)
        link, _ = chain.entry(seq)
        verify_inclusion(link.leaf, period.root, proof, index=seq - period.first_seq + 1, size=period.size)
    assert chain.period_proof(8) is None
    assert commitment(chain.head(), second) == {
        "chain": {"seq": 7, "head": chain.head()[1]},
        "period": {"first_seq": 6, "last_seq": 7, "root": second.root},
    }
    assert commitment(None, None) is None


def test_a_stale_cached_head_does_not_fork_the_chain(chain, tmp_path):
    """Two writers on one database (the agent's scan and a CLI command): the second's append is
    after the first's, never beside it."""
    fill(chain, 2)
    other = EvidenceChain(sqlite_utils.Database(sqlite3.connect(str(tmp_path / "device.db"))))
    other.append(record(3))
    other.db.conn.commit()
    link = chain.append(record(4))  # its cached head says 2
    chain.db.conn.commit()
    assert link.seq == 4 and chain.audit() == []
    other.db.conn.close()


def test_a_removed_record_is_a_gap(chain):
    fill(chain, 6)
    chain.close_period()
    chain.db.execute("DELETE FROM evidence_chain WHERE seq = 3")
    problems = chain.audit()
    assert "records 3..3 are missing (gap before record 4)" in problems
    assert any("record 4 does not follow" in p for p in problems)


def test_a_changed_record_is_named(chain):
    fill(chain, 4)
    chain.close_period()
    row = chain.db.execute("SELECT record FROM evidence_chain WHERE seq = 2").fetchone()[0]
    chain.db.execute(
        "UPDATE evidence_chain SET record = ? WHERE seq = 2", (row.replace("/mail/Sent", "/mail/Inbox"),)
    )
    assert chain.audit() == ["record 2 was changed after it was chained"]


def test_a_rewritten_chain_loses_its_committed_root(chain):
    """Someone rebuilds links 2..4 consistently after changing record 2: the chain looks whole,
    but the period root committed earlier (and sent in a summary) no longer matches."""
    fill(chain, 4)
    period = chain.close_period()
    chain.db.execute("DELETE FROM evidence_chain WHERE seq >= 2")
    forger = EvidenceChain(chain.db)  # another program, working on the file
    for n in (20, 3, 4):
        forger.append(record(n))
    problems = chain.audit()
    assert problems == ["period 1..4 no longer has its committed root"]
    assert chain.period_of(1).root == period.root
