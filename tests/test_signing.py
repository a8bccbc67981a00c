"""companion.signing: canonical JSON, base64url, Ed25519 sign/verify, and the device-key store."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys

import pytest

from companion.config import Paths
from companion.signing import (
    b64url_decode,
    b64url_encode,
    canonical,
    generate_private_key,
    load_private_key,
    obj_hash,
    private_key_bytes,
    public_key_b64,
    request_message,
    sign,
    verify,
)
from tests.fixtures import MemoryKeyring


def test_canonical_json_is_sorted_compact_utf8():
    obj = {"b": 1, "a": {"z": [1, 2], "y": "价格 »x«"}, "c": None}
    assert canonical(obj) == '{"a":{"y":"价格 »x«","z":[1,2]},"b":1,"c":null}'.encode()
    # The same object built in another key order gives the same bytes and hash.
    again = {"c": None, "a": {"y": "价格 »x«", "z": [1, 2]}, "b": 1}
    assert canonical(again) == canonical(obj) and obj_hash(again) == obj_hash(obj)
    assert obj_hash(obj) == hashlib.sha256(canonical(obj)).hexdigest()
    assert obj_hash({"b": 2}) != obj_hash({"b": 1})


def test_b64url_has_no_padding_and_round_trips():
    for data in (b"", b"\xff", b"\xfb\xff", bytes(range(32))):
        text = b64url_encode(data)
        assert "=" not in text and "+" not in text and "/" not in text
        assert b64url_decode(text) == data
    for bad in ("a+b", "ab==", "a/b", "a b"):
        with pytest.raises(ValueError):
            b64url_decode(bad)


def test_signatures_verify_and_fail_on_any_change():
    key = generate_private_key()
    pub = public_key_b64(key)
    assert len(b64url_decode(pub)) == 32
    payload = {"seq": 1, "snippet": "»最低价«", "events": [{"rule": "r"}]}
    sig = sign(key, payload)
    assert len(b64url_decode(sig)) == 64
    assert verify(pub, payload, sig)
    assert verify(
        pub, {"events": [{"rule": "r"}], "snippet": "»最低价«", "seq": 1}, sig
    )  # key order is irrelevant
    assert not verify(pub, {**payload, "seq": 2}, sig)
    assert not verify(pub, {**payload, "snippet": "»最低价« "}, sig)
    assert not verify(public_key_b64(generate_private_key()), payload, sig)
    raw = bytearray(b64url_decode(sig))
    for i in (0, 31, 63):  # any flipped byte of the signature
        tampered = bytearray(raw)
        tampered[i] ^= 1
        assert not verify(pub, payload, b64url_encode(bytes(tampered)))
    assert not verify(pub, payload, "not a signature")
    assert not verify("garbage", payload, sig)


def test_private_key_round_trips_through_raw_bytes():
    key = generate_private_key()
    again = load_private_key(private_key_bytes(key))
    assert public_key_b64(again) == public_key_b64(key)
    with pytest.raises(ValueError):
        load_private_key(b"short")


def test_request_message_is_what_the_protocol_signs():
    assert request_message("get", "/api/v1/policy", "", 1700000000) == {
        "method": "GET",
        "path": "/api/v1/policy",
        "query": "",
        "time": 1700000000,
    }


# -- the device key store (companion.keystore) --------------------------------------------------------


def test_key_goes_to_the_os_credential_store_when_one_works(tmp_path, restore_keyring, caplog):
    from companion.keystore import KEYRING, load_device_key, store_device_key

    store = MemoryKeyring()
    restore_keyring.set_keyring(store)
    paths = Paths(tmp_path / "home")
    raw = private_key_bytes(generate_private_key())
    with caplog.at_level(logging.DEBUG):
        stored = store_device_key(paths, raw)
    assert stored.where == KEYRING
    assert list(store.items.values()) == [b64url_encode(raw)]
    assert not (paths.home / "device.key").exists()
    assert load_device_key(paths, KEYRING) == raw
    assert b64url_encode(raw) not in caplog.text


@pytest.mark.parametrize("backend", ["fail", "plaintext"])
def test_without_a_real_credential_store_the_key_goes_to_a_private_file_with_a_warning(
    tmp_path, restore_keyring, caplog, backend
):
    from companion.keystore import FILE, load_device_key, store_device_key

    if backend == "fail":
        from keyring.backends.fail import Keyring

        restore_keyring.set_keyring(Keyring())
    else:  # keyrings.alt's plaintext file: refused, never used silently
        from keyrings.alt.file import PlaintextKeyring

        plain = PlaintextKeyring()
        plain.file_path = str(tmp_path / "plain.cfg")
        restore_keyring.set_keyring(plain)
    paths = Paths(tmp_path / "home")
    raw = private_key_bytes(generate_private_key())
    with caplog.at_level(logging.WARNING):
        stored = store_device_key(paths, raw)
    assert stored.where == FILE
    path = paths.home / "device.key"
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "no usable OS credential store" in caplog.text and str(path) in caplog.text
    assert b64url_encode(raw) not in caplog.text
    assert not (tmp_path / "plain.cfg").exists()
    assert load_device_key(paths, FILE) == raw


def test_a_keyring_that_raises_falls_back_to_the_file(tmp_path, restore_keyring, caplog):
    from companion.keystore import FILE, store_device_key

    store = MemoryKeyring()

    def broken(*args):
        raise RuntimeError("keychain locked")

    store.set_password = broken
    restore_keyring.set_keyring(store)
    with caplog.at_level(logging.WARNING):
        stored = store_device_key(Paths(tmp_path / "home"), b"k" * 32)
    assert stored.where == FILE and "refused the device key" in caplog.text
