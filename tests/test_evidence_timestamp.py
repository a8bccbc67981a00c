"""RFC 3161 time-stamps from a real TSA: OpenSSL's `ts` command behind HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from companion.evidence.errors import TimestampError
from companion.evidence.timestamp import load_certificates, request_timestamp, verify_timestamp
from tests.evidence_fixtures import local_tsa, make_tsa_pki


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with local_tsa(make_tsa_pki(tmp_path_factory.mktemp("tsa"))) as running:
        yield running


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    return make_tsa_pki(tmp_path_factory.mktemp("other-tsa"), name="Another TSA")


def test_token_from_a_real_tsa_verifies(tsa):
    data = b'{"root":"abc","size":3}'
    token = request_timestamp(data, tsa.url)
    info = verify_timestamp(token, data, load_certificates(tsa.root_pem))
    assert info.tsa == "CN=Mailwarden Test TSA"
    assert info.root == "CN=Mailwarden Test TSA Root CA"
    assert info.policy == "1.3.6.1.4.1.55555.1.1"
    stamped = datetime.fromisoformat(info.time)
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=5)
    assert len(info.root_sha256) == 64


def test_token_does_not_verify_other_data(tsa):
    token = request_timestamp(b"the checkpoint", tsa.url)
    with pytest.raises(TimestampError, match="does not verify: Mismatch between messages"):
        verify_timestamp(token, b"another checkpoint", load_certificates(tsa.root_pem))


def test_token_does_not_verify_against_another_root(tsa, other_pki):
    token = request_timestamp(b"data", tsa.url)
    roots = load_certificates((other_pki / "root.pem").read_bytes())
    with pytest.raises(TimestampError, match="does not verify"):
        verify_timestamp(token, b"data", roots)


def test_a_tampered_token_does_not_verify(tsa):
    token = bytearray(request_timestamp(b"data", tsa.url))
    token[-10] ^= 0x01  # inside the signature
    with pytest.raises(TimestampError):
        verify_timestamp(bytes(token), b"data", load_certificates(tsa.root_pem))


def test_garbage_is_not_a_token(tsa):
    with pytest.raises(TimestampError, match="not an RFC 3161 time-stamp"):
        verify_timestamp(b"hello", b"data", load_certificates(tsa.root_pem))
    with pytest.raises(TimestampError, match="no root certificate"):
        verify_timestamp(b"hello", b"data", [])
    with pytest.raises(TimestampError, match="not a certificate"):
        load_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_unreachable_or_wrong_tsa_is_a_clear_error(tsa):
    with pytest.raises(TimestampError, match="cannot be reached"):
        request_timestamp(b"data", "http://127.0.0.1:9/tsa", timeout=2)
    with pytest.raises(TimestampError, match="answered HTTP 404"):
        request_timestamp(b"data", tsa.url.replace("/tsa", "/nothing"))
