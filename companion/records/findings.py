"""Findings, as stored and as every client reads them: one shape for scans and pre-send checks.

A finding row belongs to a scanned message (message_key) or to a pre-send decision (decision_id).
As plain data it is the same dict wherever it comes from (`finding_data` for a fresh one,
`stored_finding` for a row), so the tray, `mailwarden flags`, the local API and the pre-send windows
read one shape:

    {"rule", "tier", "category", "field": {"kind", "name"}, "start", "end", "text", "quoted",
     "approver", "explanation": {"en", "zh"}}          (+ "id" once stored)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from companion.message import Field

if TYPE_CHECKING:
    from companion.policy.engine import Finding
    from companion.records.database import Database

_COLUMNS = (
    "rule, tier, category, field, field_name, start, [end], text, quoted, explanation_en,"
    " explanation_zh, approver"
)
# Findings are listed in the order a reader goes through a mail: by field, then by place.
_ORDER = "field, field_name, start, id"


def finding_data(f: Finding) -> dict[str, Any]:
    """A finding of the engine as plain data (the shape rows are read back in, without "id")."""
    return {
        "rule": f.rule,
        "tier": f.tier,
        "category": f.category,
        "field": f.field.to_dict(),
        "start": f.start,
        "end": f.end,
        "text": f.text,
        "quoted": f.quoted,
        "approver": f.approver,
        "explanation": {"en": f.explanation.en, "zh": f.explanation.zh},
    }


def stored_finding(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "rule": row["rule"],
        "tier": row["tier"],
        "category": row["category"],
        "field": Field(row["field"], row["field_name"] or "").to_dict(),
        "start": row["start"],
        "end": row["end"],
        "text": row["text"],
        "quoted": bool(row["quoted"]),
        "approver": row["approver"],
        "explanation": {"en": row["explanation_en"], "zh": row["explanation_zh"]},
    }


def add(
    db: Database,
    findings: Iterable[Finding],
    *,
    message_key: str | None = None,
    decision_id: int | None = None,
) -> None:
    """Store `findings` for one message or one decision. Call inside a transaction."""
    if (message_key is None) == (decision_id is None):
        raise ValueError("a finding belongs to exactly one message or one decision")
    db.conn.executemany(
        f"INSERT INTO findings (message_key, decision_id, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                message_key,
                decision_id,
                f.rule,
                f.tier,
                f.category,
                f.field.kind,
                f.field.name,
                f.start,
                f.end,
                f.text,
                int(f.quoted),
                f.explanation.en,
                f.explanation.zh,
                f.approver,
            )
            for f in findings
        ],
    )


def of_message(db: Database, message_key: str) -> list[dict[str, Any]]:
    rows = db.query(f"SELECT * FROM findings WHERE message_key = ? ORDER BY {_ORDER}", [message_key])
    return [stored_finding(r) for r in rows]


def _grouped(db: Database, owner: str, ids: list[Any], order: str) -> dict[Any, list[dict[str, Any]]]:
    """The findings of several messages or decisions in one query, by owner."""
    out: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        marks = ",".join("?" * len(ids))
        for row in db.query(f"SELECT * FROM findings WHERE {owner} IN ({marks}) ORDER BY {order}", ids):
            out[row[owner]].append(stored_finding(row))
    return out


def of_messages(db: Database, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The findings of a page of messages, in reading order."""
    return _grouped(db, "message_key", keys, _ORDER)


def of_decisions(db: Database, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The findings of several pre-send decisions, in the order the check found them."""
    return _grouped(db, "decision_id", ids, "id")


def rules_of_message(db: Database, message_key: str) -> set[str]:
    return {
        r[0]
        for r in db.conn.execute("SELECT DISTINCT rule FROM findings WHERE message_key = ?", (message_key,))
    }
