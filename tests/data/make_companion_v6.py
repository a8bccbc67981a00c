"""How tests/data/companion-v6.db was made: by the code of commit 57f59cb (schema m001..m006,
before companion.records), so that tests/test_records.py upgrades a database an existing user has.

    git archive 57f59cb | tar -x -C /tmp/mw-old
    cd /tmp/mw-old && MAILWARDEN_LANG=en PYTHONPATH=. python -m companion.cli demo --home /tmp/mw-old-home
    PYTHONPATH=/tmp/mw-old python tests/data/make_companion_v6.py
    cp /tmp/mw-old-home/mailwarden.db tests/data/companion-v6.db

The demo scanned its mailbox, enrolled with its collector, filed an appeal and queued a summary; this
script adds pre-send decisions the way that version's hooks recorded them (findings as JSON, fields as
"attachment:NAME" strings, one with a colon in the file name) and the tray's marker and language.
It is not run by the tests (it needs the old code).
"""

import sqlite3
from pathlib import Path

from companion.database import Database  # the old module

from companion.policy import PolicyEngine, load_policy
from companion.presend import check_outgoing, record_decision

home = Path("/tmp/mw-old-home")
engine = PolicyEngine(load_policy(home / "policy.toml"))
db = Database(home / "mailwarden.db")
warn = check_outgoing(
    engine,
    {
        "subject": "Offer 4711",
        "from": "li.wei@corp.example",
        "to": ["Anna <anna@buyer.example>"],
        "body": "Dear Anna,\nwe guarantee the lowest price.\n\n> keep this between us",
        "attachments": [
            {"name": "terms: final.txt", "text": "Lifetime warranty on every pump."},
            {"name": "PI-2026-7.pdf", "size": 10},
        ],
    },
)
record_decision(db, "thunderbird", warn, "justified", justification="张经理电话批准", key="3f1c-old-key")
block = check_outgoing(
    engine, {"subject": "私下", "to": ["x@buyer.example"], "body": "这单我们私下交易，请打到我个人账户。"}
)
record_decision(db, "outlook", block, "blocked")
record_decision(
    db,
    "thunderbird",
    None,
    "unchecked_sent",
    error="check did not run: timeout",
    details={"subject": "Late", "to": ["y@z.example"]},
)
clean = check_outgoing(engine, {"subject": "hello", "to": ["a@b.example"], "body": "See you."})
record_decision(db, "thunderbird", clean, "sent", key="clean-key")
with db.transaction():
    db.conn.execute("UPDATE tray_state SET flags_seen = 3, language = 'zh' WHERE id = 1")
db.close()
conn = sqlite3.connect(home / "mailwarden.db")
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
conn.close()
