"""Tamper-evident proof of business mail without uploading it (docs/evidence.md).

- `record`: the evidence record of one message (its fingerprint, where it is, what DKIM said);
- `dkim`: DKIM verification with a snapshot of the signing key's DNS record;
- `chain`: the device's append-only hash chain of records and the Merkle root of each period;
- `merkle`: RFC 9162 Merkle trees, proofs and signed checkpoints (shared with the collector);
- `timestamp`: RFC 3161 time-stamps (request and verification);
- `bundle`: the proof bundle and its offline verification; `pdf`: its human-readable page.

Each module imports its libraries lazily: the pre-send check never pays for them.
"""
