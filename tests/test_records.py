"""The records layer: an existing user's database upgrades in place, and scans and pre-send checks
store their findings in one shape that every reader gets back the same way."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from companion.agent.api import MailwardenAPI
from companion.config import Paths
from companion.records import Database, decisions, findings, scans, state
from companion.records.schema import migrations

V6 = Path(__file__).resolve().parent / "data" / "companion-v6.db"  # made by 57f59cb (make_companion_v6.py)


@pytest.fixture
def upgraded(isolated_home) -> Paths:
    paths = Paths(isolated_home).ensure()
    shutil.copyfile(V6, paths.database)
    Database(paths.database).close()  # opening migrates
    return paths


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def test_the_fixture_is_a_database_of_the_previous_schema():
    with sqlite3.connect(V6) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert applied[-1] == "m006_decision_keys" and "findings" in columns(V6, "presend")


def test_an_existing_database_upgrades_in_place_and_keeps_everything(upgraded):
    db = Database(upgraded.database)
    try:
        applied = [m.name for m in migrations.applied(db.db)]
        assert applied[-3:] == ["m007_people", "m008_one_finding_shape", "m009_decision_key_of_sent_mail"]
        assert "findings" not in columns(upgraded.database, "presend")
        assert {"field_name", "approver", "decision_id"} <= set(columns(upgraded.database, "findings"))
        # what the old version wrote is all there
        assert (db.count("messages"), db.count("presend"), db.count("appeals"), db.count("outbox")) == (
            7,
            4,
            1,
            2,
        )
        assert db.count("findings", "message_key IS NOT NULL") == 13
        assert state.tray(db) == {"flags_seen": 3, "language": "zh"}
        assert state.device(db)["device_id"].startswith("dev_")
        assert state.sync_state(db)["summary_seq"] == 1
        # pre-send findings became rows of the one findings table
        rows = {r["key"] or r["choice"]: r for r in decisions.newest(db, None, noteworthy_only=False)}
        justified = rows["3f1c-old-key"]
        assert (justified["choice"], justified["justification"]) == ("justified", "张经理电话批准")
        assert [(f["rule"], f["field"], f["quoted"]) for f in justified["findings"]] == [
            ("commit.lowest-price", {"kind": "body", "name": ""}, False),
            ("offbook.private-deal", {"kind": "body", "name": ""}, True),
            ("commit.lifetime-warranty", {"kind": "attachment", "name": "terms: final.txt"}, False),
            (
                "structure.quotation-without-finance",
                {"kind": "attachment_name", "name": "PI-2026-7.pdf"},
                False,
            ),
        ]
        assert justified["findings"][0]["explanation"]["zh"].startswith("承诺最低价")
        assert len(rows["blocked"]["findings"]) == 2 and rows["unchecked_sent"]["findings"] == []
        assert rows["clean-key"]["findings"] == []
        # scan findings: the same shape
        flagged = scans.flags(db, 50, 0)["flags"]
        assert len(flagged) == 5
        assert all(set(f) == set(justified["findings"][0]) for flag in flagged for f in flag["findings"])
    finally:
        db.close()
    Database(upgraded.database).close()  # opening again changes nothing
    with sqlite3.connect(upgraded.database) as conn:
        assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(applied)


def test_the_upgraded_database_serves_the_api_the_summary_and_new_writes(upgraded):
    from companion.summary import build_next_summary
    from tests.fixtures import record_presend as record

    api = MailwardenAPI(upgraded)
    key = next(f["id"] for f in api.flags()["flags"] if f["subject"] == "Re: order 4471")
    flag = api.flag(key)["flag"]
    assert flag["excerpts"] and all(e["text"] for e in flag["excerpts"])
    for f in flag["findings"]:
        [text] = [e["text"] for e in flag["excerpts"] if e["field"] == f["field"]]
        assert text[f["start"] : f["end"]] == f["text"]
    assert [d["choice"] for d in api.decisions()["decisions"]] == ["unchecked_sent", "blocked", "justified"]
    payload = build_next_summary(Database(upgraded.database), upgraded)
    assert payload["seq"] == 2 and payload["presend"]["justified"] == 1
    presend_events = [e for e in payload["events"] if e["source"] == "presend"]
    assert len(presend_events) == 6 and "»PI«" in {e["snippet"] for e in presend_events}
    db = Database(upgraded.database)
    try:
        record(db, "outlook", {"subject": "new", "to": ["c@d.example"], "body": "the lowest price"}, "edited")
        assert db.count("presend") == 5 and db.count("findings", "decision_id = 5") == 1
    finally:
        db.close()


def test_a_finding_belongs_to_one_message_or_one_decision(db):
    with pytest.raises(ValueError, match="exactly one"):
        findings.add(db, [], message_key="k", decision_id=1)
    with pytest.raises(ValueError, match="exactly one"):
        findings.add(db, [])
