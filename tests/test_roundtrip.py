"""The whole loop for real, on both backends: the collector served over HTTP on 127.0.0.1, a
workstation enrolled with the real `mailwarden enroll`, mail scanned, the summary signed, uploaded
and verified, an appeal filed through the agent's API and upheld at the collector, the upheld
appeal turned into an allow-phrase in a new signed policy, and the decision and that policy back
on the workstation, where the same mail is no longer flagged."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from companion.cli import cli
from companion.policy.loader import default_policy_text
from tests.collector_fixtures import *  # noqa: F403
from tests.collector_fixtures import obj_hash
from tests.conftest import build_eml

BODY = (
    "Dear buyer,\nAs agreed we guarantee the lowest price for this order. Call me on +44 20 7946 0958.\n"
    "Best regards"
)


pytestmark = pytest.mark.usefixtures("memory_keyring")  # tests/fixtures.py


def _run(*args: str) -> dict:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if result.output.lstrip().startswith("{") else {}


def _company_policy(version: str) -> str:
    from companion.policy import load_policy

    return default_policy_text().replace(f'version = "{load_policy().version}"', f'version = "{version}"', 1)


def test_the_whole_loop(server, tmp_path, isolated_home):
    from companion.agent.api import MailwardenAPI
    from companion.config import Paths
    from companion.keystore import load_device_key
    from companion.parsing import parse_file
    from companion.policy import PolicyEngine, load_policy
    from companion.records import Database
    from companion.signing import load_private_key, public_key_b64, verify

    coll = server.collector
    coll.publish_policy(_company_policy("2026.12.1"))  # the company's policy, published before roll-out
    token = coll.create_token("sales-east")["token"]
    sent = tmp_path / "Sent"
    sent.mkdir()
    mail = sent / "offer.eml"
    mail.write_bytes(build_eml(BODY, subject="Offer Osprey", message_id="<offer-1@corp.example>"))

    # The workstation: scan, enrol (the real command), upload.
    _run("scan", str(sent))
    result = CliRunner().invoke(cli, ["enroll", "--collector", server.url, "--token", token])
    assert result.exit_code == 0, result.output
    device_id = json.loads(result.output.splitlines()[0])["device_id"]
    paths = Paths(isolated_home)
    report = _run("upload")
    assert report["upload"]["accepted"] == 1 and report["upload"]["failed"] == 0
    assert report["policy"]["status"] == "applied" and report["policy"]["version"] == "2026.12.1"

    # The collector verified and stored it: the signature is the device's, nothing personal came.
    status = coll.device_status(device_id)
    assert status["department"] == "sales-east" and status["last_seq"] == 1 and status["summaries"] == 1
    assert status["gaps"] == [] and status["alerts"] == []
    with coll.storage.read() as tx:
        [summary] = tx.select("summaries", {"device_id": device_id})
        events = tx.select("events", {"device_id": device_id})
    payload = json.loads(summary["payload"])
    device_key = load_private_key(load_device_key(paths, "keyring"))
    assert status["public_key"] == public_key_b64(device_key)
    assert verify(status["public_key"], payload, summary["signature"]) and summary["hash"] == obj_hash(
        payload
    )
    assert [e["rule"] for e in events] == ["commit.lowest-price"]
    assert "7946" not in summary["payload"] and "Osprey" not in summary["payload"]
    assert "»lowest price«" in events[0]["snippet"]

    # An appeal through the agent's API, uploaded with the next `mailwarden upload`.
    api = MailwardenAPI(paths)
    [flag] = api.flags()["flags"]
    appeal = api.file_appeal(
        flag["id"], "false_positive", "the price is the buyer's own quote", rule="commit.lowest-price"
    )["appeal"]
    report = _run("upload")
    assert report["upload"]["appeals_queued"] == 1 and report["upload"]["accepted"] >= 1
    [received] = coll.appeals("pending")
    assert (received["device_id"], received["appeal_id"], received["rule"]) == (
        device_id,
        appeal["id"],
        "commit.lowest-price",
    )
    assert received["message_hash"] == events[0]["message_hash"]

    # Upheld at the collector; the learning side drafts an allow-phrase, the admin publishes it.
    coll.decide_appeal(received["id"], "upheld", "agreed: a quoted price", "alice")
    assert coll.false_flag_rates()[0] == {
        "rule": "commit.lowest-price",
        "flags": 1,
        "appeals": 1,
        "upheld": 1,
        "rejected": 0,
        "pending": 0,
        "false_flag_rate": 1.0,
        "upheld_share": 1.0,
    }
    draft = coll.draft_exception(received["id"])
    assert draft["phrase"] == "we guarantee the lowest price for this"
    assert coll.publish_policy(draft["policy"], published_by="alice")["version"] == "2026.12.2"

    # Back on the workstation: the decision in the local appeals table, the new policy in force.
    report = _run("upload")
    assert report["decisions"]["updated"] == 1
    assert report["policy"]["status"] == "applied" and report["policy"]["version"] == "2026.12.2"
    [mine] = api.appeals()["appeals"]
    assert mine["status"] == "upheld" and mine["reviewer_comment"] == "agreed: a quoted price"
    db = Database(paths.database)
    try:
        row = next(db.db.query("SELECT status FROM appeals WHERE id = ?", [appeal["id"]]))
    finally:
        db.close()
    assert row["status"] == "upheld"
    policy = load_policy(paths.policy)
    assert policy.version == "2026.12.2" and draft["phrase"] in policy.allow[-1].phrases
    # The learning closes the loop: the same mail passes now; other wording is still flagged.
    engine = PolicyEngine(policy)
    assert [f.rule for f in engine.check(parse_file(mail, direction="sent")).findings] == []
    other = tmp_path / "other.eml"
    other.write_bytes(build_eml("We guarantee the lowest price, always."))
    assert [f.rule for f in engine.check(parse_file(other, direction="sent")).findings] == [
        "commit.lowest-price"
    ]
    assert _run("upload")["policy"]["status"] == "current"
