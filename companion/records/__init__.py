"""The companion's database (SQLite, WAL) and every read and write against it, by what is recorded:

    database   the connection (migrations applied on open) and the stores' reading state
    schema     the tables, as sqlite-utils Migrations (an applied migration is never edited)
    scans      scanned messages and scan errors; the flags the tray and `mailwarden flags` list
    findings   the findings of scans and of pre-send checks: one stored shape for both
    decisions  what the sender decided at send time, tied to the sent mail by its decision key
    appeals    appeals against flags
    outbox     what waits to leave this computer: one queue(kind, envelope)
    state      enrolment (the device), the summary chain and its cursors, the tray's marker

SQL against the companion's database lives only in this package: the local API, the CLI, the
pre-send paths, the summary and the outbox call these functions, so they read the same rows the
same way. Reads return plain data (dicts of str, int, bool, lists).
"""

from companion.records.database import Database

__all__ = ["Database"]
