"""The device's append-only evidence chain, and the Merkle root of each period's records.

Each record gets the next sequence number and a link {seq, prev, record}: `prev` is the hash of
the previous link, `record` the hash of the record; the link's own hash is the chain's head. A
changed, inserted or removed record breaks every later link, and a removed one leaves a gap in
the sequence numbers, which `audit` names.

A period closes when a summary is built: the Merkle root of the links added since the last
period goes into the summary with the head (`Commitment`), so the collector holds a commitment to
every message without seeing any, and a single record can later be proven to be in it.

Storage: two tables in the companion's SQLite database (`create_tables`, called by its migration).
Appends join the caller's transaction: the scan commits a message and its record together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from companion.clock import now_iso
from companion.evidence.errors import EvidenceError
from companion.evidence.merkle import prove_inclusion, root_hex, tree_of
from companion.evidence.record import EvidenceRecord
from companion.signing import canonical, obj_hash

if TYPE_CHECKING:
    import sqlite_utils

GENESIS = "0" * 64
_INSERT = (
    "INSERT INTO evidence_chain (seq, prev, record_hash, link_hash, record, sha256, normalised_sha256,"
    " message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class ChainLink:
    seq: int
    prev: str
    record: str  # the record's hash

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "prev": self.prev, "record": self.record}

    @property
    def hash(self) -> str:
        return obj_hash(self.to_dict())

    @property
    def leaf(self) -> bytes:
        """The entry this link is in its period's Merkle tree: the link hash's 32 bytes."""
        return bytes.fromhex(self.hash)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainLink:
        try:
            return cls(int(data["seq"]), str(data["prev"]), str(data["record"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise EvidenceError(key="evidence.err.not_link", values={"detail": str(exc)}) from None


@dataclass(frozen=True)
class Period:
    """The links first_seq..last_seq (inclusive), closed at `closed_at` with Merkle root `root`."""

    first_seq: int
    last_seq: int
    root: str
    head: str  # the hash of link last_seq
    closed_at: str

    @property
    def size(self) -> int:
        return self.last_seq - self.first_seq + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "root": self.root,
            "head": self.head,
            "closed_at": self.closed_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Period:
        try:
            return cls(
                int(data["first_seq"]),
                int(data["last_seq"]),
                str(data["root"]),
                str(data["head"]),
                str(data["closed_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EvidenceError(key="evidence.err.not_period", values={"detail": str(exc)}) from None


def create_tables(db: sqlite_utils.Database) -> None:
    """The chain's tables (the companion database's migration calls this)."""
    db["evidence_chain"].create(
        {
            "seq": int,
            "prev": str,
            "record_hash": str,
            "link_hash": str,
            "record": str,  # the EvidenceRecord's canonical JSON, exactly as hashed
            "sha256": str,
            "normalised_sha256": str,
            "message_id": str,
        },
        pk="seq",
    )
    db["evidence_chain"].create_index(["sha256"])
    db["evidence_chain"].create_index(["normalised_sha256"])
    db["evidence_chain"].create_index(["message_id"])
    db["evidence_periods"].create(
        {"last_seq": int, "first_seq": int, "root": str, "head": str, "closed_at": str}, pk="last_seq"
    )


class EvidenceChain:
    """The chain in a companion database (sqlite_utils). Not thread-safe: one writer, as the
    database itself."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        # (seq, link hash) of the last append: a scan appends thousands in a row. The sequence
        # number is the table's key, so a stale cache fails the insert instead of forking the chain.
        self._head: tuple[int, str] | None = None

    # -- writing -----------------------------------------------------------------------------------

    def append(self, record: EvidenceRecord) -> ChainLink:
        """Add `record` after the head, in the caller's transaction (nothing is committed here)."""
        import sqlite3

        head = self._head if self._head is not None else self.head()
        body = canonical(record.to_dict())  # serialised once: hashed, and stored as it was hashed
        link = ChainLink(
            head[0] + 1 if head else 1, head[1] if head else GENESIS, hashlib.sha256(body).hexdigest()
        )
        link_hash = link.hash
        row = (
            link.seq,
            link.prev,
            link.record,
            link_hash,
            body.decode("utf-8"),
            record.sha256,
            record.normalised_sha256 or "",
            record.message_id,
        )
        try:
            # The plain connection: sqlite-utils would commit a write made outside a transaction.
            self.db.conn.execute(_INSERT, row)
        except sqlite3.IntegrityError:
            if self._head is None:
                raise
            self._head = None  # another writer appended since we cached the head: start again
            return self.append(record)
        self._head = (link.seq, link_hash)
        return link

    def close_period(self) -> Period | None:
        """Close the period of every link after the last closed one; None when there is none. In
        the caller's transaction: the summary that carries the period commits with it."""
        last = self._last_period()
        first = last.last_seq + 1 if last else 1
        # The stored link hashes (audit() recomputes them): a period can hold a first scan's
        # hundred thousand records.
        rows = self.db.execute(
            "SELECT seq, link_hash FROM evidence_chain WHERE seq >= ? ORDER BY seq", (first,)
        ).fetchall()
        if not rows:
            return None
        root = root_hex(tree_of(bytes.fromhex(h) for _, h in rows))
        period = Period(first, rows[-1][0], root, rows[-1][1], now_iso())
        self.db.conn.execute(
            "INSERT INTO evidence_periods (first_seq, last_seq, root, head, closed_at) VALUES (?, ?, ?, ?, ?)",
            (period.first_seq, period.last_seq, period.root, period.head, period.closed_at),
        )
        return period

    # -- reading -----------------------------------------------------------------------------------

    def head(self) -> tuple[int, str] | None:
        """(seq, link hash) of the last record, None before the first."""
        row = self.db.execute(
            "SELECT seq, link_hash FROM evidence_chain ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else None

    def entry(self, seq: int) -> tuple[ChainLink, EvidenceRecord] | None:
        row = self.db.execute(
            "SELECT seq, prev, record_hash, record FROM evidence_chain WHERE seq = ?", (seq,)
        ).fetchone()
        if row is None:
            return None
        return ChainLink(*row[:3]), EvidenceRecord.from_dict(json.loads(row[3]))

    def find(self, *, sha256: str | None = None, message_id: str | None = None) -> list[int]:
        """Sequence numbers of the records with this fingerprint (stored or normalised) or Message-ID."""
        if sha256 is not None:
            sql, args = "sha256 = ? OR normalised_sha256 = ?", (sha256, sha256)
        elif message_id is not None:
            sql, args = "message_id = ?", (message_id.strip().strip("<>"),)
        else:
            raise ValueError("find needs sha256 or message_id")
        return [
            r[0] for r in self.db.execute(f"SELECT seq FROM evidence_chain WHERE {sql} ORDER BY seq", args)
        ]

    def period_of(self, seq: int) -> Period | None:
        row = self.db.execute(
            "SELECT first_seq, last_seq, root, head, closed_at FROM evidence_periods"
            " WHERE first_seq <= ? AND ? <= last_seq",
            (seq, seq),
        ).fetchone()
        return Period(*row) if row else None

    def period_proof(self, seq: int) -> tuple[Period, dict[str, Any]] | None:
        """The closed period holding `seq` and the proof that its link is under the period's root."""
        period = self.period_of(seq)
        if period is None:
            return None
        tree = tree_of(x.leaf for x in self._links(period.first_seq, period.last_seq))
        return period, prove_inclusion(tree, seq - period.first_seq + 1, period.size)

    def periods(self) -> list[Period]:
        rows = self.db.execute(
            "SELECT first_seq, last_seq, root, head, closed_at FROM evidence_periods ORDER BY last_seq"
        )
        return [Period(*r) for r in rows]

    def audit(self) -> list[str]:
        """Every break in the chain and its periods, in plain words (empty when intact)."""
        problems: list[str] = []
        expected_seq, prev = 1, GENESIS
        for seq, link_prev, record_hash, link_hash, record in self.db.execute(
            "SELECT seq, prev, record_hash, link_hash, record FROM evidence_chain ORDER BY seq"
        ):
            if seq != expected_seq:
                problems.append(f"records {expected_seq}..{seq - 1} are missing (gap before record {seq})")
            link = ChainLink(seq, link_prev, record_hash)
            if link_prev != prev:
                problems.append(f"record {seq} does not follow the record before it (prev hash differs)")
            if link.hash != link_hash:
                problems.append(f"record {seq}: its link was changed")
            try:
                if EvidenceRecord.from_dict(json.loads(record)).hash != record_hash:
                    problems.append(f"record {seq} was changed after it was chained")
            except (ValueError, EvidenceError):
                problems.append(f"record {seq} is unreadable")
            expected_seq, prev = seq + 1, link.hash
        for period in self.periods():
            links = list(self._links(period.first_seq, period.last_seq))
            if [x.seq for x in links] != list(range(period.first_seq, period.last_seq + 1)):
                continue  # the gap is named above
            if root_hex(tree_of(x.leaf for x in links)) != period.root:
                problems.append(
                    f"period {period.first_seq}..{period.last_seq} no longer has its committed root"
                )
        return problems

    def _links(self, first: int, last: int | None = None) -> Iterator[ChainLink]:
        rows = self.db.execute(
            "SELECT seq, prev, record_hash FROM evidence_chain WHERE seq >= ? AND seq <= ? ORDER BY seq",
            (first, last if last is not None else 2**62),
        )
        for row in rows:
            yield ChainLink(*row)

    def _last_period(self) -> Period | None:
        periods = self.db.execute(
            "SELECT first_seq, last_seq, root, head, closed_at FROM evidence_periods ORDER BY last_seq DESC LIMIT 1"
        ).fetchone()
        return Period(*periods) if periods else None


def commitment(head: tuple[int, str] | None, period: Period | None) -> dict[str, Any] | None:
    """What a summary carries (docs/protocol.md): the chain's head (seq, link hash) and the period's
    Merkle root, never the records. None before the first record."""
    if head is None:
        return None
    return {
        "chain": {"seq": head[0], "head": head[1]},
        "period": None
        if period is None
        else {"first_seq": period.first_seq, "last_seq": period.last_seq, "root": period.root},
    }
