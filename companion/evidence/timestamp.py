"""RFC 3161 trusted time-stamps: ask a time-stamping authority (TSA) to sign "this hash existed at
time T", and verify such a token later, offline, against the TSA's root certificate.

rfc3161-client (Apache-2.0) builds the request and verifies the token (CMS signature, the
certificate chain valid at T, the timeStamping key usage, the message imprint, the nonce); this
module adds the HTTP exchange (RFC 3161 section 3.4) and plain-worded errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from companion.clock import now_iso
from companion.evidence.errors import TimestampError

CONTENT_TYPE_QUERY = "application/timestamp-query"
CONTENT_TYPE_REPLY = "application/timestamp-reply"


@dataclass(frozen=True)
class TimestampInfo:
    """What a verified token says."""

    time: str  # genTime, ISO 8601 UTC
    tsa: str  # the signing certificate's subject
    serial: int
    policy: str
    root: str  # subject of the root certificate the chain ends in
    root_sha256: str  # its fingerprint, to compare with the one the TSA publishes


def request_timestamp(data: bytes, url: str, *, timeout: float = 15.0, session: Any = None) -> bytes:
    """Ask the TSA at `url` to time-stamp SHA-256(data); the DER TimeStampResp, once it is granted
    and answers this very request (imprint and nonce). Its signature is checked by verify_timestamp."""
    import requests
    from rfc3161_client import HashAlgorithm, PKIStatus, TimestampRequestBuilder, decode_timestamp_response

    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=True)
    query = request.cert_request(cert_request=True).build()
    http = session or requests
    try:
        answer = http.post(
            url, data=query.as_bytes(), headers={"Content-Type": CONTENT_TYPE_QUERY}, timeout=timeout
        )
    except requests.RequestException as exc:
        raise TimestampError(key="evidence.err.tsa_unreachable", values={"url": url}) from exc
    if answer.status_code != 200:
        raise TimestampError(key="evidence.err.tsa_http", values={"url": url, "status": answer.status_code})
    try:
        response = decode_timestamp_response(answer.content)
    except ValueError:
        raise TimestampError(key="evidence.err.tsa_garbage", values={"url": url}) from None
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        said = "; ".join(response.status_string) or f"status {response.status}"
        raise TimestampError(key="evidence.err.tsa_refused", values={"url": url, "reason": said})
    info = response.tst_info
    if info.message_imprint.message != hashlib.sha256(data).digest() or info.nonce != query.nonce:
        raise TimestampError(key="evidence.err.tsa_other_request", values={"url": url})
    return answer.content


def load_certificates(data: bytes) -> list[Any]:
    """Certificates from PEM (one or more) or DER bytes."""
    from cryptography import x509

    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise TimestampError(key="evidence.err.not_certificate") from None


def verify_timestamp(
    token: bytes, data: bytes, roots: Iterable[Any], intermediates: Iterable[Any] = ()
) -> TimestampInfo:
    """Check that `token` time-stamps SHA-256(data) and is signed by a TSA whose chain ends in one of
    `roots` (cryptography certificates); raise TimestampError saying what does not hold."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    roots = list(roots)
    if not roots:
        raise TimestampError(key="evidence.err.no_root")
    try:
        response = decode_timestamp_response(token)
    except ValueError:
        raise TimestampError(key="evidence.err.not_token") from None
    last_error = "no root certificate matches"
    for root in roots:  # the library checks against its whole root list; we want to name the one
        builder = VerifierBuilder(roots=[root], intermediates=list(intermediates))
        try:
            builder.build().verify_message(response, data)
        except VerificationError as exc:
            last_error = str(exc)
            continue
        info = response.tst_info
        signer = _signer_certificate(response, x509)
        return TimestampInfo(
            time=now_iso(info.gen_time),
            tsa=signer.subject.rfc4514_string() if signer else "",
            serial=info.serial_number,
            policy=info.policy.dotted_string,
            root=root.subject.rfc4514_string(),
            root_sha256=root.fingerprint(hashes.SHA256()).hex(),
        )
    raise TimestampError(key="evidence.err.token_invalid", values={"detail": last_error})


def _signer_certificate(response: Any, x509: Any) -> Any:
    infos = list(response.signed_data.signer_infos)
    for der in response.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        if infos and cert.issuer == infos[0].issuer and cert.serial_number == infos[0].serial_number:
            return cert
    return None
