"""The proof bundle: everything needed to show, offline and years later, that a mail file is the
message a device recorded, unchanged, and no later than when.

A bundle (JSON, format "mailwarden-proof/1") holds links, each checkable on its own:

  file --sha256--> record --hash--> chain link --Merkle--> period root --signed by--> device
       period root --in--> collector log entry --Merkle--> signed checkpoint <--RFC 3161-- time-stamp

Any link may be absent (a message not yet in a closed period, a device not enrolled, no TSA):
`verify_bundle` checks what is there and says in plain words what that proves and what it does not.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from companion.clock import now_iso
from companion.evidence.chain import ChainLink, EvidenceChain, Period
from companion.evidence.dkim import DkimResult, SnapshotLookup, verify_dkim
from companion.evidence.errors import EvidenceError, TimestampError
from companion.evidence.merkle import verify_checkpoint, verify_inclusion
from companion.evidence.record import EvidenceRecord
from companion.i18n import Msg, msg
from companion.signing import canonical, verify

BUNDLE_FORMAT = "mailwarden-proof/1"
STATEMENT_FORMAT = "mailwarden-device-commitment/1"
CheckStatus = Literal["ok", "failed", "absent"]


# -- building --------------------------------------------------------------------------------------


def device_statement(device_id: str, commitment: Mapping[str, Any], at: str | None = None) -> dict[str, Any]:
    """What a device signs about its chain (a summary carries the same commitment)."""
    return {
        "format": STATEMENT_FORMAT,
        "device_id": device_id,
        "commitment": dict(commitment),
        "at": at or now_iso(),
    }


def timestamp_entry(of: str, token: bytes, certificates: Iterable[bytes] = ()) -> dict[str, Any]:
    """A time-stamp in a bundle: what it covers ("record" or "checkpoint"), the DER token, and the
    TSA's chain (PEM) as configured, so the bundle verifies offline."""
    return {
        "of": of,
        "token": base64.b64encode(token).decode("ascii"),
        "certificates": [c.decode("ascii") for c in certificates],
    }


def build_bundle(
    record: EvidenceRecord,
    *,
    chain: EvidenceChain | None = None,
    seq: int | None = None,
    device: Mapping[str, Any] | None = None,
    log: Mapping[str, Any] | None = None,
    timestamps: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A bundle for `record`; with `chain` and `seq`, its link and (once its period is closed) the
    proof up to the period root. `device`: a signed device statement ({device_id, public_key,
    statement, signature}); `log`: the collector's entry, inclusion proof and signed checkpoint."""
    bundle: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "created_at": now_iso(),
        "record": record.to_dict(),
        "chain": None,
        "period": None,
        "device": dict(device) if device else None,
        "log": dict(log) if log else None,
        "timestamps": [dict(t) for t in timestamps],
    }
    if chain is not None and seq is not None:
        entry = chain.entry(seq)
        if entry is None:
            raise EvidenceError(key="evidence.err.no_chain_record", values={"seq": seq})
        link, stored = entry
        if stored.hash != record.hash:
            raise EvidenceError(key="evidence.err.other_record", values={"seq": seq})
        bundle["chain"] = {"link": link.to_dict()}
        proof = chain.period_proof(seq)
        if proof is not None:
            bundle["period"] = {"period": proof[0].to_dict(), "inclusion": proof[1]}
    return bundle


# -- verifying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One link of the bundle: `key` names it (i18n "evidence.check.<key>"), `detail` says why."""

    key: str
    status: CheckStatus
    detail: str | Msg = ""  # a catalogue Msg for a failure, said in the reader's language


@dataclass(frozen=True)
class Verification:
    """The outcome: every check, and what they prove together."""

    checks: tuple[Check, ...]
    content: str | None  # "stored" | "normalised" | None (the file is not the recorded message)
    record: EvidenceRecord
    seq: int | None = None
    device_id: str | None = None
    device_key: str | None = None
    proven_time: str | None = None  # the earliest trusted time the content is proven to exist by
    time_source: str | None = None  # who says so (the TSA's name)
    tsa_root: str | None = None  # the root that time-stamp chains to ...
    tsa_root_sha256: str | None = None
    tsa_root_pinned: bool = False  # ... and whether the verifier gave it (not the bundle)
    collector_key_pinned: bool = False
    dkim: DkimResult | None = None  # re-verified offline against the key snapshot
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """The file is the recorded message and nothing present in the bundle failed."""
        return self.content is not None and not any(c.status == "failed" for c in self.checks)

    def status(self, key: str) -> CheckStatus:
        return next((c.status for c in self.checks if c.key == key), "absent")


def load_bundle(data: bytes) -> dict[str, Any]:
    import json

    try:
        bundle = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EvidenceError(key="evidence.err.not_bundle_json") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise EvidenceError(key="evidence.err.not_bundle_format", values={"format": BUNDLE_FORMAT})
    return bundle


def verify_bundle(
    bundle: Mapping[str, Any],
    content: bytes,
    *,
    tsa_roots: Iterable[Any] | None = None,
    collector_keys: Iterable[str] | None = None,
) -> Verification:
    """Check `content` (the mail file's bytes) against `bundle`, offline. `tsa_roots`
    (cryptography certificates) and `collector_keys` pin the trust anchors; without them the
    bundle's own are used and the result says so."""
    record = EvidenceRecord.from_dict(_section(bundle, "record"))
    checks: list[Check] = []
    matched = record.matches(content)
    checks.append(Check("content", "ok" if matched else "failed", matched or "differs"))

    link, link_check = _check_link(bundle, record)
    checks.append(link_check)
    period, period_check = _check_period(bundle, link)
    checks.append(period_check)
    device, device_check = _check_device(bundle, link, period)
    checks.append(device_check)
    log_check, checkpoint = _check_log(bundle, period, device, collector_keys)
    checks.append(log_check)

    times, time_checks = _check_timestamps(bundle, record, checkpoint, tsa_roots)
    checks.extend(time_checks)
    dkim, dkim_check = _check_dkim(record, content, matched)
    checks.append(dkim_check)

    best = min(times, key=lambda t: t[0].time) if times else None
    return Verification(
        checks=tuple(checks),
        content=matched,
        record=record,
        seq=link.seq if link else None,
        device_id=device.get("device_id") if device else None,
        device_key=device.get("public_key") if device else None,
        proven_time=best[0].time if best else None,
        time_source=best[0].tsa if best else None,
        tsa_root=best[0].root if best else None,
        tsa_root_sha256=best[0].root_sha256 if best else None,
        tsa_root_pinned=tsa_roots is not None,
        collector_key_pinned=collector_keys is not None,
        dkim=dkim,
    )


def _section(bundle: Mapping[str, Any], name: str) -> Any:
    value = bundle.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise EvidenceError(key="evidence.err.section", values={"name": name})
    return value


def _check_link(bundle: Mapping[str, Any], record: EvidenceRecord) -> tuple[ChainLink | None, Check]:
    chain = _section(bundle, "chain")
    if chain is None:
        return None, Check("chain", "absent")
    link = ChainLink.from_dict(chain.get("link") or {})
    if link.record != record.hash:
        return None, Check("chain", "failed", msg("evidence.err.link_other_record"))
    return link, Check("chain", "ok", f"#{link.seq}")


def _check_period(bundle: Mapping[str, Any], link: ChainLink | None) -> tuple[Period | None, Check]:
    section = _section(bundle, "period")
    if section is None or link is None:
        return None, Check("period", "absent")
    period = Period.from_dict(section.get("period") or {})
    if not period.first_seq <= link.seq <= period.last_seq:
        return None, Check("period", "failed", msg("evidence.err.outside_period"))
    try:
        verify_inclusion(
            link.leaf,
            period.root,
            section.get("inclusion") or {},
            index=link.seq - period.first_seq + 1,
            size=period.size,
        )
    except EvidenceError as exc:
        return None, Check("period", "failed", exc.msg)
    return period, Check("period", "ok", f"{period.first_seq}..{period.last_seq}")


def _check_device(
    bundle: Mapping[str, Any], link: ChainLink | None, period: Period | None
) -> tuple[Mapping[str, Any] | None, Check]:
    section = _section(bundle, "device")
    if section is None or period is None or link is None:
        return None, Check("device", "absent")
    statement = section.get("statement") or {}
    committed = (statement.get("commitment") or {}).get("period") or {}
    if statement.get("format") != STATEMENT_FORMAT or committed.get("root") != period.root:
        return None, Check("device", "failed", msg("evidence.err.statement"))
    if not verify(str(section.get("public_key", "")), statement, str(section.get("signature", ""))):
        return None, Check("device", "failed", msg("evidence.err.device_signature"))
    return {**statement, "public_key": section.get("public_key")}, Check(
        "device", "ok", str(statement.get("device_id"))
    )


def _check_log(
    bundle: Mapping[str, Any],
    period: Period | None,
    device: Mapping[str, Any] | None,
    collector_keys: Iterable[str] | None,
) -> tuple[Check, Mapping[str, Any] | None]:
    section = _section(bundle, "log")
    if section is None or period is None:
        return Check("log", "absent"), None
    entry = section.get("entry") or {}
    committed = ((entry.get("commitment") or {}).get("period") or {}).get("root")
    if committed != period.root:
        return Check("log", "failed", msg("evidence.err.log_other_period")), None
    if device is not None and entry.get("device_key") not in (None, device.get("public_key")):
        return Check("log", "failed", msg("evidence.err.log_other_device")), None
    try:
        checkpoint = verify_checkpoint(section.get("checkpoint") or {}, collector_keys)
        verify_inclusion(
            canonical(entry),
            checkpoint.root,
            section.get("inclusion") or {},
            index=int(section.get("index", 0)),
            size=checkpoint.size,
        )
    except EvidenceError as exc:
        return Check("log", "failed", exc.msg), None
    except (ValueError, TypeError):  # an index that is not a number
        return Check("log", "failed", msg("evidence.err.inclusion")), None
    return Check("log", "ok", checkpoint.origin), section["checkpoint"]["checkpoint"]


def _check_timestamps(
    bundle: Mapping[str, Any],
    record: EvidenceRecord,
    checkpoint: Mapping[str, Any] | None,
    tsa_roots: Iterable[Any] | None,
) -> tuple[list[tuple[Any, str]], list[Check]]:
    from companion.evidence.timestamp import load_certificates, verify_timestamp

    entries = bundle.get("timestamps") or []
    if not isinstance(entries, list) or not entries:
        return [], [Check("timestamp", "absent")]
    pinned = list(tsa_roots) if tsa_roots is not None else None
    times: list[tuple[Any, str]] = []
    checks: list[Check] = []
    for entry in entries:
        of = entry.get("of") if isinstance(entry, Mapping) else None
        covered = {
            "record": canonical(record.to_dict()),
            "checkpoint": canonical(checkpoint) if checkpoint else None,
        }
        if of not in covered:
            checks.append(Check("timestamp", "failed", msg("evidence.err.timestamp_kind", kind=repr(of))))
            continue
        if covered[of] is None:
            checks.append(Check("timestamp", "failed", msg("evidence.err.timestamp_orphan")))
            continue
        try:
            token = base64.b64decode(str(entry.get("token", "")), validate=True)
            certificates = [
                c for pem in entry.get("certificates", []) for c in load_certificates(pem.encode("ascii"))
            ]
            roots = pinned if pinned is not None else [c for c in certificates if c.issuer == c.subject]
            intermediates = [c for c in certificates if c.issuer != c.subject]
            info = verify_timestamp(token, covered[of], roots, intermediates)
        except TimestampError as exc:
            checks.append(Check("timestamp", "failed", exc.msg))
            continue
        except ValueError:  # the token is not base64
            checks.append(Check("timestamp", "failed", msg("evidence.err.not_token")))
            continue
        times.append((info, of))
        checks.append(Check("timestamp", "ok", f"{info.time}, {info.tsa}"))
    return times, checks


def _check_dkim(
    record: EvidenceRecord, content: bytes, matched: str | None
) -> tuple[DkimResult | None, Check]:
    if record.dkim is None or record.form != "rfc822":
        return None, Check("dkim", "absent")
    snapshots = tuple(s.key for s in record.dkim.signatures if s.key is not None)
    if matched != "stored" or not snapshots:
        return None, Check("dkim", "absent", record.dkim.status)
    again = verify_dkim(content, SnapshotLookup(snapshots))
    if again.status == "pass":
        return again, Check("dkim", "ok", ", ".join(again.passed_domains))
    if record.dkim.status == "pass":
        return again, Check("dkim", "failed", msg("evidence.err.dkim_snapshot"))
    return again, Check("dkim", "absent", again.status)
