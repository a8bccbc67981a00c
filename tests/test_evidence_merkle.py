"""RFC 9162 Merkle trees, proofs and signed checkpoints (companion.evidence.merkle)."""

from __future__ import annotations

import hashlib

import pytest

from companion.evidence.errors import EvidenceError
from companion.evidence.merkle import (
    Checkpoint,
    audit_path,
    leaf_hash,
    merkle_log,
    node_hash,
    prove_consistency,
    prove_inclusion,
    root_hex,
    sign_checkpoint,
    tree_of,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from companion.signing import generate_private_key, public_key_b64

# RFC 6962's reference test tree (certificate-transparency's merkle tree tests): eight leaves and
# the root of each prefix.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.1's definition of the Merkle Tree Hash, written out independently."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return node_hash(mth(entries[:k]), mth(entries[k:]))


def rfc9162_verify_inclusion(
    leaf_index: int, tree_size: int, path: list[bytes], leaf: bytes, root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2, step by step (leaf_index from 0)."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_roots_match_rfc6962_reference_vectors():
    for size in range(1, 9):
        assert root_hex(tree_of(CT_LEAVES[:size])) == CT_ROOTS[size - 1]
    assert root_hex(merkle_log()) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 64, 100])
def test_roots_match_the_rfc_definition(size):
    entries = [f"entry {i}".encode() for i in range(size)]
    assert tree_of(entries).get_root() == mth(entries)


@pytest.mark.parametrize("size", [1, 2, 3, 6, 7, 17])
def test_every_inclusion_proof_verifies_here_and_with_rfc9162s_algorithm(size):
    entries = [f"summary {i}".encode() for i in range(size)]
    log = tree_of(entries)
    root = root_hex(log)
    for index in range(1, size + 1):
        proof = prove_inclusion(log, index)
        verify_inclusion(entries[index - 1], root, proof, index=index, size=size)
        path = [bytes.fromhex(h) for h in audit_path(proof)]
        assert rfc9162_verify_inclusion(
            index - 1, size, path, leaf_hash(entries[index - 1]), bytes.fromhex(root)
        )


def test_inclusion_proof_fails_for_another_entry_position_or_root():
    entries = [f"e{i}".encode() for i in range(10)]
    log = tree_of(entries)
    root = root_hex(log)
    proof = prove_inclusion(log, 4)
    with pytest.raises(EvidenceError, match="inclusion proof does not hold"):
        verify_inclusion(b"e4-changed", root, proof, index=4, size=10)
    with pytest.raises(EvidenceError):
        verify_inclusion(entries[3], root, proof, index=5, size=10)
    with pytest.raises(EvidenceError):
        verify_inclusion(entries[3], "00" * 32, proof, index=4, size=10)
    with pytest.raises(EvidenceError):
        verify_inclusion(entries[3], root, {"garbage": True}, index=4, size=10)
    tampered = {**proof, "path": [proof["path"][0], "ff" * 32, *proof["path"][2:]]}
    with pytest.raises(EvidenceError):
        verify_inclusion(entries[3], root, tampered, index=4, size=10)


def test_consistency_between_every_pair_of_sizes():
    entries = [f"x{i}".encode() for i in range(12)]
    log = tree_of(entries)
    for old in range(1, 13):
        for new in range(old, 13):
            proof = prove_consistency(log, old, new)
            verify_consistency(root_hex(log, old), root_hex(log, new), proof, old_size=old, new_size=new)


def test_a_rewritten_log_is_caught_by_a_kept_checkpoint():
    entries = [f"summary {i}".encode() for i in range(6)]
    honest = tree_of(entries)
    kept_root, kept_size = root_hex(honest), 6  # what a device or an auditor kept
    entries[2] = b"summary 2, rewritten"
    rewritten = tree_of(entries + [b"summary 6"])
    proof = prove_consistency(rewritten, kept_size, 7)
    with pytest.raises(EvidenceError, match="log was rewritten"):
        verify_consistency(kept_root, root_hex(rewritten), proof, old_size=kept_size, new_size=7)
    with pytest.raises(EvidenceError, match="rewritten"):
        verify_consistency(kept_root, root_hex(rewritten, 6), {}, old_size=6, new_size=6)


def test_checkpoint_signature():
    key = generate_private_key()
    checkpoint = Checkpoint("mailwarden-collector test", 8, CT_ROOTS[7], "2026-11-02T10:00:00Z")
    signed = sign_checkpoint(key, checkpoint)
    assert verify_checkpoint(signed, [public_key_b64(key)]) == checkpoint
    assert verify_checkpoint(signed) == checkpoint
    other = generate_private_key()
    with pytest.raises(EvidenceError, match="not the collector's"):
        verify_checkpoint(signed, [public_key_b64(other)])
    forged = {**signed, "checkpoint": {**signed["checkpoint"], "size": 9}}
    with pytest.raises(EvidenceError, match="signature does not verify"):
        verify_checkpoint(forged)
    with pytest.raises(EvidenceError, match="not a signed checkpoint"):
        verify_checkpoint({"checkpoint": {}})
    with pytest.raises(EvidenceError, match="not a signed checkpoint"):  # an unknown field
        verify_checkpoint({**signed, "checkpoint": {**signed["checkpoint"], "note": "x"}})
