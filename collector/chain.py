"""The summary chain's decision, as a pure function: given the device's chain head, the stored
neighbours of the uploaded sequence number and the upload itself, accept it (maybe recording a
gap), answer duplicate, or refuse it as a conflict (a tamper alert). No database here: the service
looks up what `lookups(head, seq)` names and passes it in (docs/protocol.md, "Summary chain").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    ACCEPT = "accept"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Head:
    """What the device row says: the highest accepted seq and its hash (kept across purges)."""

    last_seq: int
    last_hash: str


@dataclass(frozen=True)
class Neighbours:
    """The stored facts around the uploaded seq; only those `lookups` named are filled in."""

    existing_hash: str | None = None  # the summary already stored under this seq
    in_gap: bool = False  # the seq lies inside a gap recorded earlier
    previous_hash: str | None = None  # the stored summary seq - 1's hash
    next_prev_hash: str | None = None  # the stored summary seq + 1's prev_hash


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    detail: str = ""  # why, for a conflict (stored with the tamper alert)
    gap: tuple[int, int] | None = None  # seqs skipped by an accepted jump ahead

    @property
    def kind(self) -> str:
        """accept, duplicate, conflict or gap (an accept that skipped numbers)."""
        return "gap" if self.gap else self.outcome.value


def lookups(head: Head, seq: int) -> frozenset[str]:
    """The Neighbours fields `decide` reads for this seq. The common case, the next number,
    needs none: its predecessor is the head."""
    needed = set()
    if seq <= head.last_seq:
        needed |= {"existing_hash", "in_gap"}
    if seq > 1 and not (head.last_seq == seq - 1 and head.last_hash):
        needed.add("previous_hash")
    if seq < head.last_seq:
        needed.add("next_prev_hash")
    return frozenset(needed)


def decide(head: Head, seq: int, prev_hash: str, digest: str, stored: Neighbours) -> Decision:
    """The upload of summary `seq` (hash `digest`, claiming `prev_hash` as its predecessor's)."""
    if stored.existing_hash is not None:
        if stored.existing_hash == digest:
            return Decision(Outcome.DUPLICATE)  # a re-send after a lost answer
        return Decision(Outcome.CONFLICT, f"a different summary was already accepted under seq {seq}")
    if seq <= head.last_seq and not stored.in_gap:
        # Below the head, not stored and never missing: purged by retention. Only a replay of an
        # old upload does that (a workstation sends each seq until acknowledged, then never
        # again); storing it would count it twice.
        return Decision(
            Outcome.CONFLICT,
            f"seq {seq} is below the chain head ({head.last_seq}) and was not missing: a replay",
        )
    if seq == 1:
        expected: str | None = ""
    elif head.last_seq == seq - 1 and head.last_hash:
        expected = head.last_hash  # the chain head (also after a retention purge)
    else:
        expected = stored.previous_hash  # None: the predecessor is missing, nothing to compare
    if expected is not None and prev_hash != expected:
        return Decision(
            Outcome.CONFLICT, f"prev_hash does not match the summary with seq {seq - 1} (chain break)"
        )
    if stored.next_prev_hash is not None and stored.next_prev_hash != digest:
        return Decision(Outcome.CONFLICT, f"the summary with seq {seq + 1} does not chain to this one")
    gap = (head.last_seq + 1, seq - 1) if seq > head.last_seq + 1 else None
    return Decision(Outcome.ACCEPT, gap=gap)
