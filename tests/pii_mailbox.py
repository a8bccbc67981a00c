"""The labelled PII mailbox (tests/data/pii_dev): loading it, and running it through the two paths
personal data could leave by — `mailwarden mask` and scan → summary. Shared by tests/test_pii_mailbox.py
and benchmarks/bench_pii.py."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAILBOX = Path(__file__).resolve().parent / "data" / "pii_dev"


@dataclass(frozen=True)
class Mailbox:
    folder: Path
    identity: dict[str, Any]
    planted: tuple[dict[str, str], ...]  # {"file", "kind", "text"}
    flags: tuple[dict[str, Any], ...]  # {"file", "category", "text", "quoted"}
    keep: tuple[dict[str, str], ...]  # {"file", "text"}

    @property
    def mails(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))


def _jsonl(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def load_mailbox(folder: Path = MAILBOX) -> Mailbox:
    return Mailbox(
        folder,
        json.loads((folder / "identity.json").read_text(encoding="utf-8")),
        _jsonl(folder / "planted.jsonl"),
        _jsonl(folder / "flags.jsonl"),
        _jsonl(folder / "keep.jsonl"),
    )


def summary_of(box: Mailbox, home: Path) -> dict[str, Any]:
    """Scan the mailbox as its owner (identities from identity.json) and build the next summary."""
    from companion.config import Paths
    from companion.policy import PolicyEngine, load_policy
    from companion.records import Database
    from companion.scan import scan_paths
    from companion.summary import build_next_summary

    paths = Paths(home).ensure()
    db = Database(paths.database)
    try:
        identities = frozenset(a.lower() for a in box.identity["emails"])
        scan_paths(db, PolicyEngine(load_policy()), [box.folder], identities=identities)
        return build_next_summary(db, paths, now=datetime(2026, 12, 1, tzinfo=UTC))
    finally:
        db.close()


def masked_texts(box: Mailbox) -> dict[str, tuple[str, str]]:
    """For each mail file: (its body and attachment texts, the same through `mailwarden mask FILE`'s masking)."""
    from companion.parsing import parse_file
    from companion.pii import mask_text
    from companion.snippets import people_of

    out = {}
    for path in box.mails:
        message = parse_file(path, direction="received")
        texts = [message.body] + [a.text for a in message.attachments if a.text]
        people = people_of(message, tuple(box.identity["names"]))
        out[path.name] = ("\n".join(texts), "\n".join(mask_text(t, people=people) for t in texts))
    return out


@dataclass(frozen=True)
class Leaks:
    """Planted items found where they must not be, per kind, out of how many were planted."""

    found: tuple[dict[str, str], ...]
    planted: Counter

    def by_kind(self) -> dict[str, str]:
        hit = Counter(p["kind"] for p in self.found)
        return {kind: f"{hit[kind]}/{n}" for kind, n in sorted(self.planted.items())}


def summary_leaks(box: Mailbox, summary: dict[str, Any]) -> Leaks:
    """Planted items anywhere in the summary's JSON (not only in snippets)."""
    text = json.dumps(summary, ensure_ascii=False)
    return Leaks(tuple(p for p in box.planted if p["text"] in text), Counter(p["kind"] for p in box.planted))


def mask_leaks(box: Mailbox, texts: dict[str, tuple[str, str]]) -> Leaks:
    """Planted items that stand in a mail's texts and are still there after masking."""
    present = [p for p in box.planted if p["text"] in texts[p["file"]][0]]
    return Leaks(
        tuple(p for p in present if p["text"] in texts[p["file"]][1]), Counter(p["kind"] for p in present)
    )


def keep_lost(box: Mailbox, texts: dict[str, tuple[str, str]]) -> list[dict[str, str]]:
    """Ordinary words (model numbers, trade terms, units) that masking took away."""
    return [k for k in box.keep if k["text"] in texts[k["file"]][0] and k["text"] not in texts[k["file"]][1]]
