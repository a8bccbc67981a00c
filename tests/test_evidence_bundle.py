"""Proof bundles end to end: a device's chain and period, its signed statement, a collector-style
Merkle log with a signed checkpoint, a real RFC 3161 time-stamp of that checkpoint, DKIM with the
key snapshot; then every way the proof can be broken, each caught by the right check."""

from __future__ import annotations

import copy

import pytest

from companion.evidence.bundle import (
    build_bundle,
    device_statement,
    load_bundle,
    timestamp_entry,
    verify_bundle,
)
from companion.evidence.chain import EvidenceChain, commitment
from companion.evidence.dkim import StaticLookup
from companion.evidence.errors import EvidenceError
from companion.evidence.merkle import Checkpoint, prove_inclusion, root_hex, sign_checkpoint, tree_of
from companion.evidence.record import record_for_rfc822
from companion.evidence.report import as_text, describe
from companion.evidence.timestamp import load_certificates, request_timestamp
from companion.parsing import parse_eml_bytes
from companion.signing import canonical, generate_private_key, public_key_b64, sign
from tests.conftest import build_eml
from tests.evidence_fixtures import local_tsa, make_dkim_key, make_tsa_pki, new_chain


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with local_tsa(make_tsa_pki(tmp_path_factory.mktemp("tsa"))) as running:
        yield running


@pytest.fixture(scope="module")
def dkim_key():
    return make_dkim_key()


@pytest.fixture
def chain(tmp_path):
    chain = new_chain(tmp_path / "device.db")
    yield chain
    chain.db.conn.close()


class World:
    """One device and one collector, as the protocol will have them."""

    def __init__(self, chain: EvidenceChain, tsa, dkim_key) -> None:
        self.chain, self.tsa = chain, tsa
        self.device_key, self.collector_key = generate_private_key(), generate_private_key()
        self.mails = []
        for n in range(5):
            raw = dkim_key.sign(
                build_eml(
                    f"Price for order {n}: USD {10 + n}.50 per piece, delivery in 30 days.",
                    subject=f"Quotation {n}",
                    sender=f"sales@{dkim_key.domain}",
                    message_id=f"<quote-{n}@{dkim_key.domain}>",
                )
            )
            message = parse_eml_bytes(raw, direction="received")
            record = record_for_rfc822(
                raw,
                message,
                "/mail/Inbox",
                str(n * 4096),
                lookup=StaticLookup({dkim_key.name: dkim_key.record}),
            )
            chain.append(record)
            self.mails.append((raw, record))
        chain.db.conn.commit()
        self.period = chain.close_period()
        statement = device_statement("dev-42", commitment(chain.head(), self.period))
        self.device = {
            "device_id": "dev-42",
            "public_key": public_key_b64(self.device_key),
            "statement": statement,
            "signature": sign(self.device_key, statement),
        }
        # The collector's log: other devices' entries around this one.
        self.entry = {
            "kind": "summary",
            "device_id": "dev-42",
            "device_key": public_key_b64(self.device_key),
            "commitment": statement["commitment"],
        }
        entries = [canonical({"kind": "summary", "device_id": f"other-{i}"}) for i in range(6)]
        entries.insert(3, canonical(self.entry))
        log = tree_of(entries)
        checkpoint = Checkpoint(
            "mailwarden-collector test", len(entries), root_hex(log), "2026-11-02T12:00:00Z"
        )
        signed = sign_checkpoint(self.collector_key, checkpoint)
        self.log = {
            "entry": self.entry,
            "index": 4,
            "inclusion": prove_inclusion(log, 4),
            "checkpoint": signed,
        }
        token = request_timestamp(canonical(signed["checkpoint"]), tsa.url)
        self.timestamps = [timestamp_entry("checkpoint", token, [tsa.root_pem])]

    def bundle(self, n: int = 2) -> dict:
        raw, record = self.mails[n]
        seq = self.chain.find(sha256=record.sha256)[0]
        return build_bundle(
            record, chain=self.chain, seq=seq, device=self.device, log=self.log, timestamps=self.timestamps
        )


@pytest.fixture
def world(chain, tsa, dkim_key):
    return World(chain, tsa, dkim_key)


def test_a_complete_bundle_proves_content_device_and_time(world):
    raw, _ = world.mails[2]
    v = verify_bundle(world.bundle(), raw)
    assert v.ok and v.content == "stored" and v.seq == 3 and v.device_id == "dev-42"
    assert {c.key: c.status for c in v.checks} == {
        "content": "ok",
        "chain": "ok",
        "period": "ok",
        "device": "ok",
        "log": "ok",
        "timestamp": "ok",
        "dkim": "ok",
    }
    assert v.time_source == "CN=Mailwarden Test TSA" and v.proven_time.endswith("+00:00")
    text = as_text(describe(v, "en"))
    assert "VERIFIED" in text and "existed no later than" in text and "Device dev-42 signed" in text
    assert "the domain supplier.example" in text
    # trust anchors came with the bundle: the text says so
    assert "came with the bundle" in text and "--tsa-root" in text and "--collector-key" in text
    zh = as_text(describe(v, "zh"))
    assert "核验通过" in zh and "最迟于" in zh and "设备 dev-42" in zh


def test_pinned_trust_anchors(world, tsa):
    raw, _ = world.mails[2]
    v = verify_bundle(
        world.bundle(),
        raw,
        tsa_roots=load_certificates(tsa.root_pem),
        collector_keys=[public_key_b64(world.collector_key)],
    )
    assert v.ok and v.tsa_root_pinned and v.collector_key_pinned
    assert "came with the bundle" not in as_text(describe(v, "en"))
    other = verify_bundle(world.bundle(), raw, collector_keys=[public_key_b64(generate_private_key())])
    assert other.status("log") == "failed" and not other.ok
    assert other.status("timestamp") == "failed"  # the checkpoint it covers is not trusted either


def test_a_modified_message_fails(world):
    raw, _ = world.mails[2]
    v = verify_bundle(world.bundle(), raw.replace(b"USD 12.50", b"USD 11.50"))
    assert not v.ok and v.content is None and v.status("content") == "failed"
    text = as_text(describe(v, "en"))
    assert "NOT VERIFIED" in text and "NOT the recorded message" in text and "What this proves" not in text


def test_a_changed_record_breaks_the_chain_link(world):
    raw, _ = world.mails[2]
    bundle = world.bundle()
    bundle["record"]["seen_at"] = "2020-01-01T00:00:00Z"  # claiming it was recorded earlier
    v = verify_bundle(bundle, raw)
    assert not v.ok and v.status("chain") == "failed"


def test_a_forged_period_proof_fails(world):
    raw, _ = world.mails[2]
    bundle = world.bundle()
    bundle["period"]["inclusion"]["path"][1] = "00" * 32
    v = verify_bundle(bundle, raw)
    assert v.status("period") == "failed" and not v.ok


def test_a_forged_device_signature_fails(world):
    raw, _ = world.mails[2]
    bundle = world.bundle()
    bundle["device"]["statement"]["device_id"] = "dev-99"
    v = verify_bundle(bundle, raw)
    assert v.status("device") == "failed" and not v.ok


def test_a_rewritten_collector_log_fails(world):
    raw, _ = world.mails[2]
    bundle = world.bundle()
    bundle["log"]["checkpoint"]["checkpoint"]["root"] = "ab" * 32
    assert verify_bundle(bundle, raw).status("log") == "failed"
    bundle = world.bundle()
    bundle["log"]["index"] = 5
    assert verify_bundle(bundle, raw).status("log") == "failed"


def test_a_time_stamp_of_something_else_fails(world, tsa):
    raw, _ = world.mails[2]
    bundle = world.bundle()
    other = request_timestamp(b"another checkpoint", tsa.url)
    bundle["timestamps"] = [timestamp_entry("checkpoint", other, [tsa.root_pem])]
    v = verify_bundle(bundle, raw)
    assert v.status("timestamp") == "failed" and v.proven_time is None and not v.ok


def test_a_record_time_stamp_alone_gives_the_time(world, tsa):
    raw, record = world.mails[0]
    token = request_timestamp(canonical(record.to_dict()), tsa.url)
    bundle = build_bundle(record, timestamps=[timestamp_entry("record", token, [tsa.root_pem])])
    v = verify_bundle(bundle, raw)
    assert v.ok and v.proven_time and v.seq is None
    text = as_text(describe(v, "en"))
    assert "existed no later than" in text and "not in the device's evidence chain" in text


def test_a_bundle_without_a_closed_period_says_so(chain, tsa):
    raw = build_eml("Offer")
    record = record_for_rfc822(raw, parse_eml_bytes(raw), "s", dkim="off")
    chain.append(record)
    bundle = build_bundle(record, chain=chain, seq=1)
    v = verify_bundle(bundle, raw)
    assert v.ok and v.status("chain") == "ok" and v.status("period") == "absent"
    assert "not yet in a closed period" in as_text(describe(v, "en"))


def test_build_refuses_a_record_that_is_not_in_the_chain(world):
    _, record = world.mails[1]
    with pytest.raises(EvidenceError, match="not the record to prove"):
        build_bundle(record, chain=world.chain, seq=4)
    with pytest.raises(EvidenceError, match="no record 99"):
        build_bundle(record, chain=world.chain, seq=99)


def test_load_bundle_refuses_what_is_not_one(world):
    with pytest.raises(EvidenceError, match="not JSON"):
        load_bundle(b"\xff\xfe")
    with pytest.raises(EvidenceError, match="format is not"):
        load_bundle(b'{"format": "something else"}')
    broken = copy.deepcopy(world.bundle())
    broken["record"] = {"form": "rfc822"}
    with pytest.raises(EvidenceError, match="not an evidence record"):
        verify_bundle(broken, b"x")
