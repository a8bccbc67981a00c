"""The summary chain's decision (collector/chain.py), table-driven: no database, every case."""

from __future__ import annotations

import pytest

from collector.chain import Head, Neighbours, Outcome, decide, lookups

H = "h" * 64  # the head's hash
D = "d" * 64  # the upload's hash
P = "p" * 64  # a stored predecessor's hash

CASES = [
    # (name, head, seq, prev_hash, stored, expected kind, detail contains)
    ("first summary", Head(0, ""), 1, "", Neighbours(), "accept", ""),
    ("first summary claiming a predecessor", Head(0, ""), 1, P, Neighbours(), "conflict", "chain break"),
    ("the next number", Head(4, H), 5, H, Neighbours(), "accept", ""),
    ("the next number, broken link", Head(4, H), 5, P, Neighbours(), "conflict", "chain break"),
    ("a jump ahead records a gap", Head(4, H), 8, "x" * 64, Neighbours(), "gap", ""),
    ("a re-send", Head(4, H), 3, P, Neighbours(existing_hash=D), "duplicate", ""),
    ("another summary under a used number", Head(4, H), 3, P, Neighbours(existing_hash="e" * 64), "conflict", "already accepted"),
    ("a purged number replayed", Head(4, H), 2, P, Neighbours(), "conflict", "a replay"),
    ("a missing number filled in", Head(8, H), 6, P, Neighbours(in_gap=True, previous_hash=P, next_prev_hash=D), "accept", ""),
    ("a missing number, wrong predecessor", Head(8, H), 6, H, Neighbours(in_gap=True, previous_hash=P), "conflict", "chain break"),
    ("a missing number the next does not chain to", Head(8, H), 6, P, Neighbours(in_gap=True, previous_hash=P, next_prev_hash=H), "conflict", "does not chain"),
    ("a missing number whose predecessor is missing too", Head(8, H), 6, "z" * 64, Neighbours(in_gap=True), "accept", ""),
    ("the next number after a purge (head hash kept)", Head(4, H), 5, H, Neighbours(previous_hash=None), "accept", ""),
    ("a jump whose predecessor was stored", Head(4, H), 6, P, Neighbours(previous_hash=P), "gap", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "head", "seq", "prev", "stored", "kind", "says"), CASES, ids=[c[0] for c in CASES]
)
def test_decision(name, head, seq, prev, stored, kind, says):
    decision = decide(head, seq, prev, D, stored)
    assert decision.kind == kind
    assert says in decision.detail
    assert (decision.outcome is Outcome.CONFLICT) == bool(decision.detail)


def test_a_gap_names_the_skipped_numbers():
    assert decide(Head(4, H), 8, "x", D, Neighbours()).gap == (5, 7)
    assert decide(Head(4, H), 5, H, D, Neighbours()).gap is None


@pytest.mark.parametrize(
    ("head", "seq", "needed"),
    [
        (Head(4, H), 5, set()),  # the common case costs no look-up
        (Head(0, ""), 1, set()),
        (Head(4, H), 8, {"previous_hash"}),
        (Head(4, H), 4, {"existing_hash", "in_gap", "previous_hash"}),
        (Head(8, H), 6, {"existing_hash", "in_gap", "previous_hash", "next_prev_hash"}),
        (Head(4, ""), 5, {"previous_hash"}),  # no head hash (an old database): look it up
    ],
)
def test_only_the_needed_neighbours_are_looked_up(head, seq, needed):
    assert lookups(head, seq) == needed
