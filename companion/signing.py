"""Canonical JSON, Ed25519 keys and signatures, base64url: the cryptographic half of docs/protocol.md.

`cryptography` is imported inside the functions that need it: the CLI and the pre-send check start
often and most of them never sign anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "b64url_decode",
    "b64url_encode",
    "canonical",
    "generate_private_key",
    "load_private_key",
    "obj_hash",
    "private_key_bytes",
    "public_key_b64",
    "request_message",
    "sign",
    "verify",
]


def canonical(obj: Any) -> bytes:
    """The one byte form that is signed and hashed: sorted keys, no spaces, UTF-8 (not \\u escapes)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def obj_hash(obj: Any) -> str:
    """Lowercase hex SHA-256 of canonical(obj): the summary chain's prev_hash."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of b64url_encode; raises ValueError on anything that is not base64url."""
    if not isinstance(text, str) or any(c in text for c in "+/= \n\r\t"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def generate_private_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32 raw private bytes (what the credential store keeps)."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def load_private_key(raw: bytes) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if len(raw) != 32:
        raise ValueError("an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url_encode(raw)


def sign(key: Ed25519PrivateKey, obj: Any) -> str:
    """base64url Ed25519 signature of canonical(obj)."""
    return b64url_encode(key.sign(canonical(obj)))


def signed_envelope(device_id: str, key: Ed25519PrivateKey, payload: dict[str, Any]) -> dict[str, Any]:
    """What a device sends (protocol: "Envelopes"): the payload and the device's signature of it."""
    return {"device_id": device_id, "payload": payload, "signature": sign(key, payload)}


def message_hash(message_key: str) -> str:
    """How the collector knows a message: a hash of its local key, never the key or the mail."""
    return hashlib.sha256(message_key.encode("utf-8")).hexdigest()


def verify(public_key: str, obj: Any, signature: str) -> bool:
    """True only when `signature` is a valid signature of canonical(obj) by `public_key` (both
    base64url). Never raises: a malformed key or signature is simply not a valid signature."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        pub = Ed25519PublicKey.from_public_bytes(b64url_decode(public_key))
        sig = b64url_decode(signature)
        if len(sig) != 64:
            return False
        pub.verify(sig, canonical(obj))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def request_message(method: str, path: str, query: str, time: int) -> dict[str, Any]:
    """What a signed GET signs (protocol: "Pulling")."""
    return {"method": method.upper(), "path": path, "query": query, "time": int(time)}
