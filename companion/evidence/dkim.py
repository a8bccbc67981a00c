"""DKIM verification of received mail, keeping the signing key's DNS record as it was fetched.

The key snapshot is what later shows who signed a message after the sender rotates or removes
the key: `verify-proof` re-runs the verification offline against the snapshot (`SnapshotLookup`).

DNS goes through a `TxtLookup`, so tests and offline checks inject theirs (named in the snapshot's
`source`); `DnsLookup` asks the network with dnspython. With no network the result says so
(status "temperror", the key not fetched) rather than pretending the signature failed.

Verifying a signature is deterministic: the same bytes and the same key record always give the
same answer. The one input that changes with time is the key in the DNS, so a scan only takes
the key snapshots (`snapshot_keys`, status "unverified": a header scan and a cached look-up),
and the signatures are verified against them when a proof is made and whenever it is checked:
the answer is the one the scan would have had, at a fraction of the scan's cost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from companion.clock import now_iso

Status = Literal["pass", "fail", "none", "temperror", "permerror", "unverified"]


class DnsUnavailable(Exception):
    """The DNS could not be asked (no network, no resolver, time-out): nothing is known."""


class TxtLookup(Protocol):
    #: Says where records come from, kept in each key snapshot ("dns", "injected: test lookup"...).
    source: str

    def txt(self, name: str) -> str | None:
        """The TXT record of `name` (strings joined), None when there is none; raises
        DnsUnavailable when the question could not be asked."""

    def snapshot(self, name: str) -> KeySnapshot:
        """The record of `name` with when and where it was fetched (DnsUnavailable as txt)."""


@dataclass(frozen=True)
class KeySnapshot:
    """The signing key's DNS record exactly as it was fetched (None: the name had no record)."""

    name: str
    record: str | None
    fetched_at: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "record": self.record,
            "fetched_at": self.fetched_at,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeySnapshot:
        return cls(str(data["name"]), data.get("record"), str(data["fetched_at"]), str(data["source"]))


@dataclass(frozen=True)
class SignatureCheck:
    """One DKIM-Signature header: who claims to have signed (d=, s=) and what verification said."""

    domain: str
    selector: str
    status: Status
    reason: str = ""
    key: KeySnapshot | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "selector": self.selector,
            "status": self.status,
            "reason": self.reason,
            "key": self.key.to_dict() if self.key else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignatureCheck:
        key = data.get("key")
        return cls(
            str(data["domain"]),
            str(data["selector"]),
            data["status"],
            str(data.get("reason", "")),
            KeySnapshot.from_dict(key) if key else None,
        )


@dataclass(frozen=True)
class DkimResult:
    """Every signature of a message; `status` sums them up (pass if any signature passed)."""

    status: Status
    checked_at: str
    signatures: tuple[SignatureCheck, ...] = ()

    @property
    def passed_domains(self) -> tuple[str, ...]:
        return tuple(s.domain for s in self.signatures if s.status == "pass")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checked_at": self.checked_at,
            "signatures": [s.to_dict() for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DkimResult:
        return cls(
            data["status"],
            str(data["checked_at"]),
            tuple(SignatureCheck.from_dict(s) for s in data.get("signatures", ())),
        )


# -- lookups ---------------------------------------------------------------------------------------


class _Lookup:
    """A snapshot is the record, fetched now from `source`."""

    source: str

    def txt(self, name: str) -> str | None:
        raise NotImplementedError

    def snapshot(self, name: str) -> KeySnapshot:
        return KeySnapshot(name, self.txt(name), now_iso(), self.source)


@dataclass
class DnsLookup(_Lookup):
    """TXT records from the DNS (dnspython), cached for `ttl` seconds: a first scan meets the same
    few selectors thousands of times. `nameservers`/`port` pick a resolver (default: the system's)."""

    nameservers: tuple[str, ...] = ()
    port: int = 53
    timeout: float = 3.0
    ttl: float = 3600.0
    source: str = "dns"
    # name -> (monotonic time, the snapshot): a cached answer keeps the time it was really fetched.
    _cache: dict[str, tuple[float, KeySnapshot]] = field(default_factory=dict, repr=False)

    def _resolver(self) -> Any:
        import dns.resolver

        try:
            resolver = dns.resolver.Resolver(configure=not self.nameservers)
        except dns.resolver.NoResolverConfiguration as exc:
            raise DnsUnavailable(f"no DNS resolver configured ({exc})") from None
        if self.nameservers:
            resolver.nameservers = list(self.nameservers)
            resolver.port = self.port
        resolver.lifetime = self.timeout
        return resolver

    def txt(self, name: str) -> str | None:
        return self.snapshot(name).record

    def snapshot(self, name: str) -> KeySnapshot:
        cached = self._cache.get(name)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        snap = KeySnapshot(name, self._ask(name), now_iso(), self.source)
        self._cache[name] = (time.monotonic(), snap)
        return snap

    def _ask(self, name: str) -> str | None:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver().resolve(name, "TXT", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return None
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise DnsUnavailable(f"DNS did not answer for {name} ({type(exc).__name__})") from None
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(f"DNS error for {name}: {exc}") from None
        for rrset in answer.response.answer:
            for rdata in rrset:
                if hasattr(rdata, "strings"):
                    return b"".join(rdata.strings).decode("ascii", errors="replace")
        return None


@dataclass(frozen=True)
class StaticLookup(_Lookup):
    """Records given by the caller: a test's injected DNS, named as such in `source`."""

    records: Mapping[str, str]
    source: str = "injected"

    def txt(self, name: str) -> str | None:
        return self.records.get(name.rstrip(".").lower())


class OfflineLookup(_Lookup):
    """No DNS at all: every question is unanswerable (the honest result when offline)."""

    source = "offline"

    def txt(self, name: str) -> str | None:
        raise DnsUnavailable("no network: the signing key was not fetched")


@dataclass(frozen=True)
class SnapshotLookup(_Lookup):
    """The key records a DkimResult kept: re-verifies a message offline, years later."""

    snapshots: tuple[KeySnapshot, ...]
    source: str = "snapshot"

    def txt(self, name: str) -> str | None:
        return self.snapshot(name).record

    def snapshot(self, name: str) -> KeySnapshot:
        wanted = name.rstrip(".").lower()
        for snap in self.snapshots:
            if snap.name.rstrip(".").lower() == wanted:
                return snap  # as it was kept, with its own time and source
        raise DnsUnavailable(f"no key snapshot for {wanted}")


# -- key snapshots only (the scan) -------------------------------------------------------------------

_SIGNATURE_HEADER = re.compile(rb"^dkim-signature[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
# The d= and s= tags of a (possibly folded) DKIM-Signature value.
_SIGNER_TAG = re.compile(rb"(?:^|;)\s*([ds])\s*=\s*([^;\s]+)")


def snapshot_keys(raw: bytes, lookup: TxtLookup | None = None) -> DkimResult:
    """The signers (d=, s=) of every DKIM-Signature and their keys as the DNS has them now; the
    signatures themselves are left for `verify_dkim` (see the module's docstring), which also
    judges their syntax: only the two tags are read here, at a scan's pace."""
    lookup = lookup if lookup is not None else DnsLookup()
    end = raw.find(b"\r\n\r\n")
    end = end if end >= 0 else raw.find(b"\n\n")
    checks = []
    for match in _SIGNATURE_HEADER.finditer(raw[: end if end >= 0 else len(raw)]):
        tags = dict(_SIGNER_TAG.findall(match.group(1)))
        try:
            domain, selector = tags[b"d"].decode("ascii").lower(), tags[b"s"].decode("ascii").lower()
        except (KeyError, UnicodeDecodeError):
            checks.append(SignatureCheck("", "", "permerror", "malformed DKIM-Signature (no d= or s=)"))
            continue
        try:
            snap = lookup.snapshot(f"{selector}._domainkey.{domain}")
        except DnsUnavailable as exc:
            checks.append(SignatureCheck(domain, selector, "temperror", str(exc)))
            continue
        checks.append(SignatureCheck(domain, selector, "unverified", "", snap))
    return DkimResult(_overall(tuple(checks)), now_iso(), tuple(checks))


# -- verification ----------------------------------------------------------------------------------


class _Recorder:
    """dkimpy's `dnsfunc`, keeping what each question got (the snapshot) or why it got nothing."""

    def __init__(self, lookup: TxtLookup) -> None:
        self.lookup = lookup
        self.snapshot: KeySnapshot | None = None
        self.unavailable: str | None = None

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        import dkim

        text = name.decode("ascii", errors="replace").rstrip(".").lower()
        try:
            self.snapshot = self.lookup.snapshot(text)
        except DnsUnavailable as exc:
            self.unavailable = str(exc)
            raise dkim.DnsTimeoutError(str(exc)) from None
        record = self.snapshot.record
        return record.encode("ascii", errors="replace") if record is not None else None


def verify_dkim(raw: bytes, lookup: TxtLookup | None = None) -> DkimResult:
    """Verify every DKIM-Signature of the raw message `raw` (bytes as stored)."""
    import logging

    import dkim

    lookup = lookup if lookup is not None else DnsLookup()
    quiet = logging.getLogger("mailwarden.dkim")  # dkimpy logs every failure at ERROR level
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    try:
        count = sum(
            1 for name, _ in dkim.DKIM(raw, logger=quiet).headers if name.lower() == b"dkim-signature"
        )
    except dkim.DKIMException as exc:
        return DkimResult("permerror", now_iso(), (SignatureCheck("", "", "permerror", str(exc)),))
    checks = tuple(_check_one(raw, index, lookup, quiet) for index in range(count))
    return DkimResult(_overall(checks), now_iso(), checks)


def _check_one(raw: bytes, index: int, lookup: TxtLookup, logger: Any) -> SignatureCheck:
    import dkim

    verifier = dkim.DKIM(raw, logger=logger)
    recorder = _Recorder(lookup)
    try:
        ok = verifier.verify(idx=index, dnsfunc=recorder)
    except dkim.ValidationError as exc:  # e.g. the body hash does not match: the mail was changed
        return SignatureCheck(*_signer(verifier), "fail", str(exc), recorder.snapshot)
    except dkim.DKIMException as exc:  # a malformed signature or key
        return SignatureCheck(
            *_signer(verifier), "permerror", str(exc) or type(exc).__name__, recorder.snapshot
        )
    domain, selector = _signer(verifier)
    if ok:
        return SignatureCheck(domain, selector, "pass", "", recorder.snapshot)
    if recorder.unavailable:
        return SignatureCheck(domain, selector, "temperror", recorder.unavailable, None)
    if recorder.snapshot is not None and recorder.snapshot.record is None:
        return SignatureCheck(domain, selector, "permerror", "no key published", recorder.snapshot)
    return SignatureCheck(domain, selector, "fail", "signature does not verify", recorder.snapshot)


def _signer(verifier: Any) -> tuple[str, str]:
    def text(value: Any) -> str:
        return value.decode("ascii", errors="replace") if isinstance(value, bytes) else str(value or "")

    return text(getattr(verifier, "domain", "")), text(getattr(verifier, "selector", ""))


def _overall(checks: tuple[SignatureCheck, ...]) -> Status:
    statuses = {c.status for c in checks}
    for status in ("pass", "unverified", "temperror", "fail", "permerror"):
        if status in statuses:
            return status  # type: ignore[return-value]
    return "none"
