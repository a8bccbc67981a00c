"""RFC 9162 (Certificate Transparency 2.0) Merkle trees over any storage, with inclusion and
consistency proofs and signed checkpoints: the device's period roots and the collector's log.

The tree and its proofs are pymerkle's (GPL-3.0-or-later), with RFC 9162's hashing: SHA-256,
leaf = H(0x00 || entry), node = H(0x01 || left || right), empty tree = H(""). A proof is kept as
pymerkle serialises it; its `path` is the leaf hash followed by RFC 9162's audit path, so any
RFC 9162 verifier can check it too (docs/evidence.md; tests check that with the RFC's algorithm).

Checkpoints ("the log had `size` entries with root `root` at `time`") are signed with Ed25519
over canonical JSON, by companion.signing, like everything else in the protocol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from companion.evidence.errors import EvidenceError
from companion.signing import public_key_b64, sign, verify

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from pymerkle import BaseMerkleTree

CHECKPOINT_FORMAT = "mailwarden-checkpoint/1"


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class LeafStore(Protocol):
    """Where a log keeps its leaf hashes (indices count from 1, as pymerkle's do)."""

    def size(self) -> int: ...

    def leaf(self, index: int) -> bytes: ...

    def leaves(self, offset: int, width: int) -> Iterable[bytes]:
        """The hashes of leaves offset+1 .. offset+width, in order."""

    def append(self, entry: bytes, digest: bytes) -> int:
        """Store a leaf; return its index."""


class MemoryLeaves:
    """Leaf hashes in a list: period roots, proofs made on the spot, tests."""

    def __init__(self) -> None:
        self._hashes: list[bytes] = []

    def size(self) -> int:
        return len(self._hashes)

    def leaf(self, index: int) -> bytes:
        return self._hashes[index - 1]

    def leaves(self, offset: int, width: int) -> Iterable[bytes]:
        return self._hashes[offset : offset + width]

    def append(self, entry: bytes, digest: bytes) -> int:
        self._hashes.append(digest)
        return len(self._hashes)


def merkle_log(store: LeafStore | None = None) -> BaseMerkleTree:
    """A pymerkle tree whose leaves live in `store` (in memory by default). Entries are bytes."""
    from pymerkle import BaseMerkleTree

    class _Log(BaseMerkleTree):
        def __init__(self, leaves: LeafStore) -> None:
            self.store = leaves
            super().__init__("sha256")

        def _encode_entry(self, data: bytes) -> bytes:
            return data

        def _store_leaf(self, data: bytes, digest: bytes) -> int:
            return self.store.append(data, digest)

        def _get_leaf(self, index: int) -> bytes:
            return self.store.leaf(index)

        def _get_leaves(self, offset: int, width: int) -> Iterable[bytes]:
            return self.store.leaves(offset, width)

        def _get_size(self) -> int:
            return self.store.size()

    return _Log(store if store is not None else MemoryLeaves())


def tree_of(entries: Iterable[bytes]) -> BaseMerkleTree:
    log = merkle_log()
    for entry in entries:
        log.append_entry(entry)
    return log


def root_hex(log: BaseMerkleTree, size: int | None = None) -> str:
    return log.get_root(size).hex()


def prove_inclusion(log: BaseMerkleTree, index: int, size: int | None = None) -> dict[str, Any]:
    """The proof that leaf `index` (from 1) is in the tree of `size` leaves, as plain data."""
    return log.prove_inclusion(index, size).serialize()


def prove_consistency(log: BaseMerkleTree, old_size: int, new_size: int | None = None) -> dict[str, Any]:
    """The proof that the tree of `old_size` leaves is a prefix of the tree of `new_size`."""
    return log.prove_consistency(old_size, new_size).serialize()


def verify_inclusion(entry: bytes, root: str, proof: Mapping[str, Any], *, index: int, size: int) -> None:
    """Raise EvidenceError unless `proof` shows `entry` at `index` in the tree of `size` with `root`."""
    from pymerkle import InclusionProof, InvalidProof

    try:
        parsed = InclusionProof.deserialize(dict(proof))
        parsed.verify(leaf_hash(entry), bytes.fromhex(root), index=index, size=size, algorithm="sha256")
    except (InvalidProof, ValueError, TypeError):
        raise EvidenceError(key="evidence.err.inclusion") from None


def verify_consistency(
    old_root: str, new_root: str, proof: Mapping[str, Any], *, old_size: int, new_size: int
) -> None:
    """Raise EvidenceError unless the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    from pymerkle import ConsistencyProof, InvalidProof

    if old_size == new_size:
        if old_root != new_root:
            raise EvidenceError(key="evidence.err.same_size")
        return
    try:
        parsed = ConsistencyProof.deserialize(dict(proof))
        parsed.verify(
            bytes.fromhex(old_root),
            bytes.fromhex(new_root),
            prior_size=old_size,
            later_size=new_size,
            algorithm="sha256",
        )
    except (InvalidProof, ValueError, TypeError):
        raise EvidenceError(key="evidence.err.consistency") from None


def audit_path(proof: Mapping[str, Any]) -> list[str]:
    """RFC 9162's inclusion proof (audit path, hex, from the leaf up) inside a pymerkle proof."""
    return list(proof["path"][1:])


# -- signed checkpoints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A log's state as its operator states it: `size` entries, root `root`, at `time` (UTC)."""

    origin: str  # which log (e.g. "mailwarden-collector https://collector.example")
    size: int
    root: str
    time: str

    def body(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "origin": self.origin,
            "size": self.size,
            "root": self.root,
            "time": self.time,
        }


def sign_checkpoint(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> dict[str, Any]:
    body = checkpoint.body()
    return {"checkpoint": body, "key": public_key_b64(key), "signature": sign(key, body)}


def verify_checkpoint(signed: Mapping[str, Any], trusted_keys: Iterable[str] | None = None) -> Checkpoint:
    """The checkpoint, once its signature verifies (by one of `trusted_keys`, when given)."""
    try:
        body = dict(signed["checkpoint"])
        key, signature = str(signed["key"]), str(signed["signature"])
        checkpoint = Checkpoint(str(body["origin"]), int(body["size"]), str(body["root"]), str(body["time"]))
    except (KeyError, TypeError, ValueError):
        raise EvidenceError(key="evidence.err.not_checkpoint") from None
    if body.get("format") != CHECKPOINT_FORMAT or checkpoint.body() != body:  # unknown format, extra fields
        raise EvidenceError(key="evidence.err.not_checkpoint")
    if trusted_keys is not None and key not in set(trusted_keys):
        raise EvidenceError(key="evidence.err.checkpoint_key")
    if not verify(key, body, signature):
        raise EvidenceError(key="evidence.err.checkpoint_signature")
    return checkpoint
