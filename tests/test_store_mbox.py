"""Incremental mbox and maildir reading: appends, compaction, expunged and half-written messages."""

from __future__ import annotations

import os

from companion.scan import scan_paths
from companion.stores.mbox import MboxFile, split_mbox
from tests.conftest import build_eml, write_mbox


def mails(start: int, n: int, body: str = "hello") -> list[bytes]:
    return [build_eml(f"{body} {i}", message_id=f"<m{i}@x>") for i in range(start, start + n)]


def append(path, raws: list[bytes]) -> None:
    with path.open("ab") as f:
        for raw in raws:
            f.write(b"From - Mon Nov  2 10:00:00 2026\n" + raw + b"\n")


def test_appended_messages_are_the_only_ones_read(tmp_path, db, engine):
    box = write_mbox(tmp_path / "Inbox", mails(0, 5))
    first = scan_paths(db, engine, [box])
    assert (first.messages, first.skipped) == (5, 0)
    again = scan_paths(db, engine, [box])
    assert (again.messages, again.skipped) == (0, 5)
    append(box, mails(5, 2, "our bank details have changed"))
    grown = scan_paths(db, engine, [box])
    assert (grown.messages, grown.skipped, grown.flagged) == (2, 5, 2)
    assert db.count("messages") == 7


def test_only_the_new_tail_is_parsed(tmp_path, db, engine, monkeypatch):
    box = write_mbox(tmp_path / "Inbox", mails(0, 50))
    scan_paths(db, engine, [box])
    append(box, mails(50, 1))
    parsed = []
    import companion.parsing as parsing

    real = parsing.parse_eml_bytes
    monkeypatch.setattr(
        parsing, "parse_eml_bytes", lambda raw, **kw: parsed.append(kw["source"]) or real(raw, **kw)
    )
    assert scan_paths(db, engine, [box]).messages == 1
    assert len(parsed) == 1


def test_compaction_is_noticed_and_nothing_is_duplicated(tmp_path, db, engine):
    box = write_mbox(tmp_path / "Inbox", mails(0, 6))
    scan_paths(db, engine, [box])
    # Thunderbird compacts: a new file without messages 1 and 2, renamed over the old one,
    # then a new message arrives, so the file is no longer than before but different.
    kept = mails(0, 1) + mails(3, 3) + mails(6, 1, "lowest price")
    compacted = tmp_path / "Inbox.tmp"
    write_mbox(compacted, kept)
    os.replace(compacted, box)
    totals = scan_paths(db, engine, [box])
    assert totals.messages == 1 and totals.skipped == 4
    assert db.count("messages") == 7


def test_rewritten_bytes_before_the_offset_force_a_full_read(tmp_path, db, engine):
    box = write_mbox(tmp_path / "Inbox", mails(0, 3))
    scan_paths(db, engine, [box])
    data = box.read_bytes().replace(b"hello 2", b"HELLO 2")  # same size, other bytes
    box.write_bytes(data + b"From - x\n" + build_eml("new one", message_id="<n@x>") + b"\n")
    totals = scan_paths(db, engine, [box])
    assert totals.messages == 2  # the edited message is new content, plus the appended one


def test_expunged_messages_are_skipped(tmp_path, db, engine):
    raws = [
        build_eml("kept", message_id="<a@x>", X_Mozilla_Status="0001"),
        build_eml("deleted lowest price", message_id="<b@x>", X_Mozilla_Status="0009"),
        build_eml("imap deleted", message_id="<c@x>", X_Mozilla_Status="0001", X_Mozilla_Status2="00200000"),
    ]
    box = write_mbox(tmp_path / "Inbox", raws)
    totals = scan_paths(db, engine, [box])
    assert (totals.messages, totals.flagged) == (1, 0)
    assert [r["message_id"] for r in db.db.query("select message_id from messages")] == ["a@x"]


def test_a_half_written_last_message_waits(tmp_path, db, engine, monkeypatch):
    box = write_mbox(tmp_path / "Inbox", mails(0, 2))
    with box.open("ab") as f:  # Thunderbird in the middle of appending: no final line break yet
        f.write(b"From - Mon Nov  2 10:00:00 2026\nFrom: a@b.example\nSubject: half\n\nnew bank det")
    totals = scan_paths(db, engine, [box])
    assert totals.messages == 2 and db.count("messages") == 2
    with box.open("ab") as f:
        f.write(b"ails\n")
    monkeypatch.setattr("companion.stores.base.QUIET_SECONDS", 3600.0)  # just written: not quiet yet
    assert scan_paths(db, engine, [box]).messages == 0
    monkeypatch.setattr("companion.stores.base.QUIET_SECONDS", 0.0)
    totals = scan_paths(db, engine, [box])
    assert (totals.messages, totals.flagged) == (1, 1)


def test_split_mbox_streams_offsets(tmp_path):
    box = write_mbox(tmp_path / "Inbox", mails(0, 3))
    parts = list(split_mbox(box))
    data = box.read_bytes()
    assert [data[b : b + 5] for b, _, _ in parts] == [b"From "] * 3
    assert parts[-1][1] == len(data)
    assert MboxFile.claims(box) and not MboxFile.claims(tmp_path)


def test_maildir_flag_renames_are_not_read_again(tmp_path, db, engine):
    md = tmp_path / "Sent"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "111.host").write_bytes(build_eml("lowest price", message_id="<md1@x>"))
    assert scan_paths(db, engine, [md]).messages == 1
    os.replace(md / "new" / "111.host", md / "cur" / "111.host:2,S")  # read by the mail client
    totals = scan_paths(db, engine, [md])
    assert (totals.messages, totals.skipped) == (0, 1)
