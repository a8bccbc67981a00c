"""What the sender decided at send time (the `presend` table), with the findings of its check.

A decision carries a key (the client's, or one the pre-send session made): the same key sent again
(an answer lost on the way) is recorded once, and the key stamped in the mail's X-Mailwarden header
ties the scanned copy of the sent mail to this row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from companion.records import findings as findings_

if TYPE_CHECKING:
    from companion.policy.engine import Finding
    from companion.records.database import Database

# Something to show: a verdict other than pass (or "unchecked"), or findings kept for the record.
_NOTEWORTHY = "verdict != 'pass' OR EXISTS (SELECT 1 FROM findings f WHERE f.decision_id = presend.id)"
KEYS = (
    "id",
    "at",
    "channel",
    "verdict",
    "policy_version",
    "choice",
    "justification",
    "error",
    "subject",
    "recipients",
    "counterpart",
)


def add(db: Database, row: dict[str, Any], findings: Iterable[Finding]) -> int:
    """Record a decision with its findings; a decision whose key is already recorded is not
    recorded again: the id of the row it has is returned."""
    key = row.get("decision_key") or ""
    with db.transaction():
        if key:
            known = db.value("SELECT id FROM presend WHERE decision_key = ?", (key,))
            if known is not None:
                return known
        cur = db.conn.execute(
            f"INSERT INTO presend ({','.join(row)}) VALUES ({','.join('?' * len(row))})", tuple(row.values())
        )
        findings_.add(db, findings, decision_id=cur.lastrowid)
    return cur.lastrowid


def _data(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = findings_.of_decisions(db, [r["id"] for r in rows])
    out = []
    for r in rows:
        try:
            recipients = json.loads(r["recipients"] or "[]")
        except ValueError:
            recipients = []
        out.append(
            {
                **{k: r.get(k) for k in KEYS},
                "recipients": recipients,
                "key": r["decision_key"],
                "findings": found[r["id"]],
            }
        )
    return out


def newest(
    db: Database, limit: int | None, offset: int = 0, noteworthy_only: bool = True
) -> list[dict[str, Any]]:
    """Decisions, newest first: by default those where something was found or the check could not run."""
    where = f"WHERE {_NOTEWORTHY}" if noteworthy_only else ""
    rows = db.query(
        f"SELECT * FROM presend {where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
        [-1 if limit is None else limit, offset],
    )
    return _data(db, rows)


def by_key(db: Database, key: str) -> list[dict[str, Any]]:
    """The decision recorded under `key` (the X-Mailwarden key of a sent mail): a list of 0 or 1."""
    if not key:
        return []
    return _data(db, db.query("SELECT * FROM presend WHERE decision_key = ?", [key]))


def top(db: Database) -> int:
    return db.value("SELECT coalesce(max(id), 0) FROM presend")


def in_range(db: Database, after: int, top: int) -> list[dict[str, Any]]:
    """Decisions with id in (after, top], oldest first, each with its findings and body hash."""
    rows = db.query("SELECT * FROM presend WHERE id > ? AND id <= ? ORDER BY id", [after, top])
    return [{**d, "body_hash": r["body_hash"]} for d, r in zip(_data(db, rows), rows, strict=True)]
