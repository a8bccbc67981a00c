"""The access log's day heads, signed with the audit key (issue #12): written where the auditor
can keep them, and a whole rewritten chain is detected against a head the auditor kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from collector.dashboard import access_log
from collector.dashboard.tables import access_log as access_log_table
from collector.keys import Signer
from tests.dashboard_fixtures import *  # noqa: F403 (fixtures)
from tests.dashboard_fixtures import Dash

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(collector, when: datetime) -> None:
    collector.clock = lambda: when


def three_days_of_entries(dash: Dash) -> None:
    for day in range(3):
        at(dash.collector, DAY1 + timedelta(days=day))
        for n in range(2):
            access_log.append(dash.collector, "carol", "compliance", "events.view", f"day={day} n={n}")


def rewrite_whole_chain(collector) -> None:
    """What someone with write access to the database can do: change an entry and rebuild every
    hash after it, so the chain verifies again."""
    engine = collector.storage.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER access_log_no_update ON access_log"))
        else:
            conn.execute(sa.text("DROP TRIGGER access_log_no_update"))
        rows = conn.execute(sa.select(access_log_table).order_by(access_log_table.c.seq)).all()
        # Two passes: prev_hash is unique, so first move every row out of the way.
        for r in rows:
            conn.execute(
                sa.update(access_log_table)
                .where(access_log_table.c.seq == r.seq)
                .values(prev_hash=f"tmp{r.seq}")
            )
        prev = access_log.GENESIS
        for r in rows:
            target = "day=0 n=0 (nothing to see)" if r.seq == 1 else r.target
            digest = access_log.row_hash(r.seq, r.at, r.username, r.role, r.action, target, prev)
            conn.execute(
                sa.update(access_log_table)
                .where(access_log_table.c.seq == r.seq)
                .values(target=target, prev_hash=prev, hash=digest)
            )
            prev = digest


def test_each_day_is_sealed_by_the_next_days_first_entry(dash: Dash):
    three_days_of_entries(dash)
    heads = access_log.signed_heads(dash.collector)
    # Days 23 and 24 are finished (the next day has entries); day 25 is not yet.
    assert [h["day"] for h in heads] == ["2026-11-23", "2026-11-24"]
    key = dash.collector.audit_signer.public_key_b64
    assert key != dash.collector.signer.public_key_b64  # its own key, not the policy key
    assert access_log.verify_heads(dash.collector, heads, key) == []
    head = next(h for h in heads if h["day"] == "2026-11-24")
    with dash.collector.storage.read() as tx:
        last_of_day = tx.conn.execute(
            sa.select(access_log_table.c.seq, access_log_table.c.hash).where(
                access_log_table.c.target == "day=1 n=1"
            )
        ).one()
    assert (head["seq"], head["hash"]) == tuple(last_of_day)


def test_a_whole_rewritten_chain_is_detected_by_a_kept_signed_head(dash: Dash, db_url, tmp_path):
    from collector.dashboard.cli_commands import seal_access_log, verify_access_log

    three_days_of_entries(dash)
    at(dash.collector, DAY1 + timedelta(days=3))
    kept = tmp_path / "auditor"
    # The auditor's daily job: sign what is finished, keep a copy elsewhere.
    sealed = CliRunner().invoke(seal_access_log, ["--db", db_url, "--out", str(kept)])
    assert sealed.exit_code == 0, sealed.output
    files = sorted(p.name for p in kept.iterdir())
    assert "access-log-head-2026-11-25.json" in files
    public_key = sealed.output.split("--audit-public-key): ")[1].strip()
    assert public_key == dash.collector.audit_signer.public_key_b64
    again = CliRunner().invoke(seal_access_log, ["--db", db_url, "--out", str(kept)])
    assert "0 files written" in again.output  # idempotent; kept files are never rewritten

    args = ["--db", db_url, "--heads", str(kept), "--audit-public-key", public_key]
    ok = CliRunner().invoke(verify_access_log, args)
    assert ok.exit_code == 0 and "access log intact" in ok.output, ok.output

    rewrite_whole_chain(dash.collector)
    assert access_log.verify(dash.collector).ok  # the chain alone cannot tell
    caught = CliRunner().invoke(verify_access_log, args)
    assert caught.exit_code == 1
    assert "signed head of 2026-11-23: rewritten" in caught.output
    assert "the access log was changed after those heads were signed" in caught.output


def test_a_head_signed_by_another_key_or_for_another_collector_is_refused(dash: Dash):
    three_days_of_entries(dash)
    real = access_log.signed_heads(dash.collector)[0]
    forger = Signer.generate()
    fields = {k: real[k] for k in ("collector", "day", "seq", "hash")}
    forged = {**real, "signature": forger.sign(access_log.statement(**_args(fields)))}
    other = {**real, "collector": "col_other"}
    other["signature"] = dash.collector.audit_signer.sign(
        access_log.statement(**_args({**fields, "collector": "col_other"}))
    )
    problems = access_log.verify_heads(dash.collector, [forged, other])
    assert [p.reason for p in problems] == ["bad_signature", "other_collector"]
    # Pinned to the real key, the real head verifies and the forged one does not.
    pinned = dash.collector.audit_signer.public_key_b64
    assert [p.reason for p in access_log.verify_heads(dash.collector, [real, forged], pinned)] == [
        "bad_signature"
    ]


def _args(fields: dict) -> dict:
    return {
        "collector_id": fields["collector"],
        "day": fields["day"],
        "seq": fields["seq"],
        "digest": fields["hash"],
    }


def test_heads_are_append_only_in_the_database(dash: Dash):
    import pytest

    three_days_of_entries(dash)
    engine = dash.collector.storage.engine
    from collector.dashboard.tables import access_log_heads

    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.execute(sa.update(access_log_heads).values(hash="0" * 64))
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
        conn.execute(sa.delete(access_log_heads))


def test_the_auditor_downloads_signed_heads_and_others_may_not(dash: Dash):
    three_days_of_entries(dash)
    at(dash.collector, DAY1 + timedelta(days=3))
    otto = dash.client("otto")
    page = otto.get("/dashboard/access-log").text
    assert "Signed day heads" in page and dash.collector.audit_signer.public_key_b64 in page
    assert 'href="/dashboard/access-log/heads/2026-11-24.json"' in page
    one = otto.get("/dashboard/access-log/heads/2026-11-24.json")
    assert one.status_code == 200 and "attachment" in one.headers["content-disposition"]
    assert access_log.verify_heads(dash.collector, [one.json()]) == []
    everything = otto.get("/dashboard/access-log/heads.json").json()
    assert [h["day"] for h in everything] == sorted(h["day"] for h in everything)
    assert otto.get("/dashboard/access-log/heads/2030-01-01.json").status_code == 404
    verified = otto.get("/dashboard/access-log/verify").text
    assert f"{len(everything)} signed day heads verify against the chain" in verified
    assert dash.client("carol").get("/dashboard/access-log/heads.json").status_code == 403
    zh = dash.client("otto", lang="zh").get("/dashboard/access-log").text
    assert "已签名的每日链头" in zh and "Signed day heads" not in zh
    assert any(e["action"] == "access_log.heads" for e in access_log.entries(dash.collector, 50))
    rewrite_whole_chain(dash.collector)
    broken = otto.get("/dashboard/access-log/verify").text
    assert "does not match: the entry it signed was rewritten" in broken
