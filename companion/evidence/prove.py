"""`mailwarden prove`: the bundle (and its page) for a mail file or a recorded Message-ID.

A file already in the device's evidence chain is proven by its earliest record (the proof that
reaches furthest back); a file the chain does not hold gets a fresh record, fixed now, and its
bundle says so. Every bundle is verified before it is written: a bundle that would not verify is
never handed out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from companion.evidence.bundle import Verification, build_bundle, timestamp_entry, verify_bundle
from companion.evidence.chain import EvidenceChain
from companion.evidence.dkim import TxtLookup
from companion.evidence.errors import EvidenceError
from companion.evidence.record import EvidenceRecord, normalised_mime, record_for_outlook, record_for_rfc822
from companion.signing import canonical

if TYPE_CHECKING:
    import sqlite_utils

    from companion.message import Message


@dataclass(frozen=True)
class TsaConfig:
    """The company's time-stamping authority: its URL and its certificate chain (PEM)."""

    url: str
    certificates: bytes


@dataclass(frozen=True)
class ProofFiles:
    bundle: Path
    pdf: Path | None
    normalised: Path | None  # Outlook items: the normalised .eml the bundle verifies against
    verification: Verification


def chain_in(db: sqlite_utils.Database) -> EvidenceChain | None:
    """The device's chain, when this database has one (its migration created the tables)."""
    return EvidenceChain(db) if db["evidence_chain"].exists() else None


def record_mail_file(
    path: Path, direction: str, lookup: TxtLookup | None = None
) -> tuple[EvidenceRecord, bytes, Message]:
    """A fresh record of the mail file at `path`, the bytes that match it, and the message."""
    from companion.parsing import parse_eml_bytes, parse_file
    from companion.parsing.msg import OLE_MAGIC

    data = _read(path)
    store = str(path.resolve())
    if data.startswith(OLE_MAGIC):
        message = parse_file(path, direction=direction)
        return record_for_outlook(message, store, file_bytes=data), data, message
    message = parse_eml_bytes(data, source=str(path), direction=direction)
    if message.defects and not message.sender and not message.subject:
        raise EvidenceError(key="evidence.err.not_mail", values={"path": str(path)})
    # DKIM whatever the direction: a bundle is made once, and a signature is worth keeping.
    return record_for_rfc822(data, message, store, lookup=lookup, dkim="verify"), data, message


def make_proof(
    target: str,
    out_dir: Path,
    *,
    db: sqlite_utils.Database | None,
    lang: str,
    direction: str = "received",
    tsa: TsaConfig | None = None,
    pdf: bool = True,
    lookup: TxtLookup | None = None,
) -> ProofFiles:
    """Prove `target` (a mail file, or the Message-ID of a recorded message) into `out_dir`."""
    chain = chain_in(db) if db is not None else None
    path = Path(target)
    if path.is_file():
        record, content, message = record_mail_file(path, direction, lookup)
        stem = path.name
        seq = _earliest(chain, record)
        if seq is not None:
            record = chain.entry(seq)[1]  # type: ignore[union-attr]
    else:
        record, content, message, seq = _recorded(chain, target)
        stem = _safe_name(target)
    normalised = normalised_mime(message) if record.form != "rfc822" else None
    timestamps = []
    if tsa is not None:
        from companion.evidence.timestamp import load_certificates, request_timestamp

        load_certificates(tsa.certificates)  # a bad file is an error now, not in a bundle later
        token = request_timestamp(canonical(record.to_dict()), tsa.url)
        timestamps.append(timestamp_entry("record", token, _pem_blocks(tsa.certificates)))
    bundle = build_bundle(record, chain=chain if seq else None, seq=seq, timestamps=timestamps)
    # What the bundle is checked against: the file as it is, else (an Outlook item, a .msg that
    # Outlook saved again since it was recorded) its normalised content, written next to it.
    check = content if record.matches(content) or normalised is None else normalised
    verification = verify_bundle(bundle, check)
    if not verification.ok:
        failed = [c.key for c in verification.checks if c.status == "failed"]
        raise EvidenceError(
            key="evidence.err.not_verified", values={"target": target, "checks": ", ".join(failed)}
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    bundle_path = out_dir / f"{stem}.proof.json"
    _write(bundle_path, json.dumps(bundle, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))
    eml_path = None
    if normalised is not None:
        eml_path = out_dir / f"{stem}.normalised.eml"
        _write(eml_path, normalised)
    pdf_path = None
    if pdf:
        from companion.evidence.pdf import write_pdf
        from companion.evidence.report import describe

        pdf_path = write_pdf(
            describe(verification, lang), out_dir / f"{stem}.proof.pdf", lang, bundle_path.name
        )
    return ProofFiles(bundle_path, pdf_path, eml_path, verification)


def checkable_bytes(path: Path, record: EvidenceRecord) -> bytes:
    """What `verify-proof` checks a file against `record` with: its bytes, or, for an Outlook .msg
    that no longer matches byte for byte (Outlook saves items again), its normalised content."""
    from companion.parsing import parse_file
    from companion.parsing.msg import OLE_MAGIC

    data = _read(path)
    if record.matches(data) or record.normalised_sha256 is None or not data.startswith(OLE_MAGIC):
        return data
    return normalised_mime(parse_file(path, direction=record.direction))


def _earliest(chain: EvidenceChain | None, record: EvidenceRecord) -> int | None:
    if chain is None:
        return None
    seqs = chain.find(sha256=record.sha256) or (
        chain.find(sha256=record.normalised_sha256) if record.normalised_sha256 else []
    )
    return seqs[0] if seqs else None


def _recorded(chain: EvidenceChain | None, message_id: str) -> tuple[EvidenceRecord, bytes, Message, int]:
    """The earliest record of `message_id` and the message read back from where it was."""
    seqs = chain.find(message_id=message_id) if chain is not None else []
    if not seqs:
        raise EvidenceError(key="evidence.err.no_record", values={"id": message_id})
    record = chain.entry(seqs[0])[1]  # type: ignore[union-attr]
    store = Path(record.store)
    if record.form == "rfc822" and record.position and store.is_file():
        from companion.parsing import parse_eml_bytes
        from companion.stores.mbox import split_mbox

        for _, _, raw in split_mbox(store, int(record.position)):
            return record, raw, parse_eml_bytes(raw, direction=record.direction), seqs[0]
    if store.is_file() and not record.position:
        _, data, message = record_mail_file(store, record.direction)
        return record, data, message, seqs[0]
    raise EvidenceError(
        key="evidence.err.not_readable_back",
        values={"id": message_id, "store": record.store, "position": record.position},
    )


def _pem_blocks(data: bytes) -> Iterable[bytes]:
    marker = b"-----END CERTIFICATE-----"
    return [block.strip() + b"\n" + marker + b"\n" for block in data.split(marker) if b"-----BEGIN" in block]


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text.strip("<>"))[:80] or "message"


def _read(path: Path) -> bytes:
    from companion.errors import os_reason

    try:
        return path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            key="evidence.err.unreadable", values={"path": str(path), "reason": os_reason(exc)}
        ) from None


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a half-written bundle is worse than none."""
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
