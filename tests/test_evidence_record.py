"""Evidence records and DKIM: fingerprints of real mail bytes, Outlook items normalised to MIME,
DKIM checked against a key served by a DNS server on 127.0.0.1 or an injected lookup."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from companion.evidence.dkim import (
    DkimResult,
    DnsLookup,
    OfflineLookup,
    SnapshotLookup,
    StaticLookup,
    snapshot_keys,
    verify_dkim,
)
from companion.evidence.errors import EvidenceError
from companion.evidence.record import (
    EvidenceRecord,
    normalised_mime,
    record_for_outlook,
    record_for_rfc822,
)
from companion.parsing import parse_eml_bytes, parse_file
from tests.conftest import build_eml, outlook_samples
from tests.evidence_fixtures import closed_udp_port, local_dns, make_dkim_key


@pytest.fixture(scope="module")
def key():
    return make_dkim_key()


def signed_mail(key, body: str = "Our bank account changed to 6222 0000 1111.") -> bytes:
    raw = build_eml(
        body,
        subject="New bank details",
        sender=f"finance@{key.domain}",
        to="buyer@corp.example",
        message_id="<bank-1@supplier.example>",
    )
    return key.sign(raw)


def test_rfc822_record_hashes_the_bytes_as_stored(key):
    raw = signed_mail(key)
    message = parse_eml_bytes(raw, direction="received")
    record = record_for_rfc822(
        raw, message, "/mail/Inbox", "1024", lookup=StaticLookup({key.name: key.record})
    )
    assert record.form == "rfc822"
    assert record.sha256 == hashlib.sha256(raw).hexdigest() and record.size == len(raw)
    assert record.message_id == "bank-1@supplier.example"  # as the parser gives it, without <>
    assert record.date == "2026-11-02T10:00:00+08:00"
    assert (record.direction, record.store, record.position) == ("received", "/mail/Inbox", "1024")
    assert record.matches(raw) == "stored"
    assert record.matches(raw.replace(b"6222", b"6223")) is None


def test_record_round_trips_through_canonical_json(key):
    raw = signed_mail(key)
    record = record_for_rfc822(
        raw, parse_eml_bytes(raw, direction="received"), "s", lookup=StaticLookup({key.name: key.record})
    )
    again = EvidenceRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record and again.hash == record.hash
    changed = dataclasses.replace(record, position="2048")
    assert changed.hash != record.hash


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"form": "pdf"},
        {"sha256": "ABC"},
        {"size": "many"},
        {"version": 99},
    ],
)
def test_bad_record_is_a_clear_error(key, broken):
    raw = signed_mail(key)
    record = record_for_rfc822(raw, parse_eml_bytes(raw), "s", dkim="off").to_dict()
    data = {} if not broken else {**record, **broken}
    with pytest.raises(EvidenceError, match="not an evidence record"):
        EvidenceRecord.from_dict(data)


def test_dkim_modes(key):
    raw = signed_mail(key)
    message = parse_eml_bytes(raw, direction="received")
    lookup = StaticLookup({key.name: key.record})
    assert record_for_rfc822(raw, message, "s", lookup=OfflineLookup(), dkim="off").dkim is None
    assert record_for_rfc822(raw, message, "s", lookup=lookup, dkim="verify").dkim.status == "pass"
    snapshot = record_for_rfc822(raw, message, "s", lookup=lookup).dkim  # the scan's default
    assert snapshot.status == "unverified" and snapshot.signatures[0].key.record == key.record


def test_a_snapshot_verifies_later_exactly_as_at_the_time(key):
    """What the scan keeps (bytes' fingerprint + key snapshot) decides the DKIM answer for good."""
    raw = signed_mail(key)
    snapshot = snapshot_keys(raw, StaticLookup({key.name: key.record}))
    (sig,) = snapshot.signatures
    assert (sig.domain, sig.selector, sig.status) == ("supplier.example", "mw2026", "unverified")
    keys = SnapshotLookup((sig.key,))
    assert verify_dkim(raw, keys).status == "pass"
    assert verify_dkim(raw.replace(b"6222", b"6223"), keys).status == "fail"


def test_snapshot_without_network_or_key(key):
    raw = signed_mail(key)
    offline = snapshot_keys(raw, OfflineLookup())
    assert offline.status == "temperror" and offline.signatures[0].key is None
    missing = snapshot_keys(raw, StaticLookup({}))
    assert missing.signatures[0].key.record is None
    assert snapshot_keys(build_eml("unsigned"), OfflineLookup()).status == "none"
    broken = b"DKIM-Signature: v=1; d=x.example; d=twice\r\n" + build_eml("x")
    assert snapshot_keys(broken, OfflineLookup()).signatures[0].status == "permerror"


def test_dkim_pass_with_the_key_from_a_local_dns_server(key):
    raw = signed_mail(key)
    with local_dns({key.name: key.record}) as port:
        result = verify_dkim(raw, DnsLookup(("127.0.0.1",), port=port, source="dns (local test resolver)"))
    assert result.status == "pass" and result.passed_domains == ("supplier.example",)
    (sig,) = result.signatures
    assert (sig.domain, sig.selector) == ("supplier.example", "mw2026")
    assert sig.key.record == key.record  # the 2048-bit key spans two TXT strings: joined back
    assert sig.key.name == "mw2026._domainkey.supplier.example"
    assert sig.key.source == "dns (local test resolver)"


def test_dkim_fails_on_an_altered_body(key):
    raw = signed_mail(key).replace(b"6222 0000 1111", b"9999 0000 1111")
    result = verify_dkim(raw, StaticLookup({key.name: key.record}, source="injected test lookup"))
    assert result.status == "fail"
    assert result.signatures[0].key.source == "injected test lookup"


def test_dkim_with_a_rotated_key_fails_but_the_snapshot_still_verifies(key):
    raw = signed_mail(key)
    first = verify_dkim(raw, StaticLookup({key.name: key.record}))
    assert first.status == "pass"
    rotated = make_dkim_key()
    assert verify_dkim(raw, StaticLookup({key.name: rotated.record})).status == "fail"
    snapshots = tuple(s.key for s in first.signatures)
    assert verify_dkim(raw, SnapshotLookup(snapshots)).status == "pass"


def test_dkim_without_network_says_so(key):
    raw = signed_mail(key)
    result = verify_dkim(raw, OfflineLookup())
    assert result.status == "temperror"
    assert "no network" in result.signatures[0].reason and result.signatures[0].key is None


def test_dkim_with_a_dns_server_that_never_answers(key):
    raw = signed_mail(key)
    result = verify_dkim(raw, DnsLookup(("127.0.0.1",), port=closed_udp_port(), timeout=0.5))
    assert result.status == "temperror" and "DNS did not answer" in result.signatures[0].reason


def test_dkim_key_not_published(key):
    raw = signed_mail(key)
    with local_dns({}) as port:
        result = verify_dkim(raw, DnsLookup(("127.0.0.1",), port=port))
    assert result.status == "permerror" and result.signatures[0].reason == "no key published"
    assert result.signatures[0].key.record is None


def test_unsigned_mail_has_status_none():
    result = verify_dkim(build_eml("hello"), OfflineLookup())
    assert result == DkimResult("none", result.checked_at, ())


def test_dns_lookup_caches_answers(key):
    with local_dns({key.name: key.record}) as port:
        lookup = DnsLookup(("127.0.0.1",), port=port)
        first = lookup.snapshot(key.name)
        assert first.record == key.record
    # the server is gone: the cached answer is still there, with the time it was really fetched
    assert lookup.txt(key.name) == key.record and lookup.snapshot(key.name) is first
    kept = SnapshotLookup((dataclasses.replace(first, fetched_at="2020-01-01T00:00:00+00:00"),))
    assert kept.snapshot(key.name).fetched_at == "2020-01-01T00:00:00+00:00"


def test_outlook_msg_file_records_file_and_normalised_content(tmp_path):
    path = outlook_samples() / "tika" / "testMSG_chinese.msg"
    message = parse_file(path, direction="received")
    data = path.read_bytes()
    record = record_for_outlook(message, str(path.parent), path.name, file_bytes=data)
    assert record.form == "outlook-msg" and record.sha256 == hashlib.sha256(data).hexdigest()
    normalised = normalised_mime(message)
    assert record.normalised_sha256 == hashlib.sha256(normalised).hexdigest()
    assert record.matches(data) == "stored" and record.matches(normalised) == "normalised"
    # reading the same file again gives the same normalised bytes
    assert normalised_mime(parse_file(path, direction="received")) == normalised


def test_normalised_mime_is_real_mail_with_the_content():
    raw = build_eml(
        "价格 USD 12.50 / 件，含运费。", subject="报价 Quotation", sender="王经理 <wang@corp.example>"
    )
    message = parse_eml_bytes(raw)
    normalised = normalised_mime(message)
    again = parse_eml_bytes(normalised)
    assert again.subject == "报价 Quotation" and again.body.strip() == "价格 USD 12.50 / 件，含运费。"
    assert again.sender.address == "wang@corp.example" and again.sender.name == "王经理"
    assert b"X-Mailwarden-Normalised: outlook-mime/1" in normalised
    changed = dataclasses.replace(message, body=message.body.replace("12.50", "11.50"))
    assert normalised_mime(changed) != normalised


def test_pst_item_record_is_the_normalised_form():
    raw = build_eml("Offer attached")
    message = parse_eml_bytes(raw)
    record = record_for_outlook(message, "archive.pst", "/Inbox/2097188")
    assert record.form == "outlook-item" and record.sha256 == record.normalised_sha256
    assert record.matches(normalised_mime(message)) == "normalised"
