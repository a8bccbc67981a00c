"""Ed25519 verification for the collector side of docs/protocol.md, plus the collector's own two
signing keys: the policy key (workstations pin it at enrolment) and the audit key (it signs each
day's head of the dashboard's access log; auditors pin it). Two keys, so that what the audit key
signs can never be taken for a policy, and either can be kept or replaced on its own. The byte forms (canonical JSON, base64url, the signed request) are those of
companion.signing, so both ends of the protocol share one definition.

Each key is generated on first use and kept in the database (table `meta`), so that several
stateless web processes share it; `--policy-key-file` / `--audit-key-file` keep it in a file of
mode 0600 instead (created atomically, never overwritten).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from companion.signing import b64url_decode, b64url_encode, canonical, request_message

__all__ = [
    "PolicySigner",
    "Signer",
    "b64url_decode",
    "b64url_encode",
    "canonical",
    "load_audit_signer",
    "load_policy_signer",
    "request_message",
    "verify",
    "verify_bytes",
]

POLICY_KEY_META = "policy_private_key"
AUDIT_KEY_META = "audit_private_key"


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(public_key_b64: str, obj: Any, signature_b64: str) -> bool:
    """True when `signature_b64` is a valid Ed25519 signature of canonical(obj)."""
    return verify_bytes(public_key_b64, canonical(obj), signature_b64)


@functools.lru_cache(maxsize=4096)
def _cached_public_key(public_key_b64: str) -> Ed25519PublicKey:
    return public_key_from_b64(public_key_b64)


def verify_bytes(public_key_b64: str, data: bytes, signature_b64: str) -> bool:
    """True when `signature_b64` is a valid Ed25519 signature of `data` (already canonical)."""
    try:
        key = _cached_public_key(public_key_b64)  # parsing a key costs as much as a third of a verify
        sig = b64url_decode(signature_b64)
        if len(sig) != 64:
            return False
        key.verify(sig, data)
        return True
    except (ValueError, InvalidSignature):
        return False


class Signer:
    """One of the collector's Ed25519 signing keys (policy, audit)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> Signer:
        if len(raw) != 32:
            raise ValueError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def raw(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def public_key_b64(self) -> str:
        raw = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b64url_encode(raw)

    def sign(self, obj: Any) -> str:
        return b64url_encode(self._key.sign(canonical(obj)))


PolicySigner = Signer  # the name the service and its tests know


def load_or_create_file_key(path: str | Path) -> Signer:
    """The key in a file of mode 0600: created with O_EXCL on first use, read afterwards."""
    path = Path(path)
    if not path.exists():
        fresh = Signer.generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race: read theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(b64url_encode(fresh.raw()) + "\n")
                f.flush()
                os.fsync(f.fileno())
            return fresh
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    return Signer.from_raw(b64url_decode(path.read_text().strip()))


def load_or_create_db_key(storage: Any, meta_key: str = POLICY_KEY_META) -> Signer:
    """The key in the database's `meta` table: the first process to start inserts it, the others
    (and every later start) read the same one."""
    fresh = Signer.generate()
    stored = storage.meta_setdefault(meta_key, b64url_encode(fresh.raw()))
    return Signer.from_raw(b64url_decode(stored))


def load_policy_signer(storage: Any, key_file: str | Path | None = None) -> Signer:
    return load_or_create_file_key(key_file) if key_file else load_or_create_db_key(storage)


def load_audit_signer(storage: Any, key_file: str | Path | None = None) -> Signer:
    return load_or_create_file_key(key_file) if key_file else load_or_create_db_key(storage, AUDIT_KEY_META)
