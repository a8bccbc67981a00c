"""Done means for the agent: on a machine with a Thunderbird profile, `mailwarden serve` finds it
without being told, scans it, picks up a message appended to the Inbox within seconds, and answers
the local API."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from companion.agent.client import AgentClient
from companion.config import Paths
from tests.fixtures import wait_until
from tests.tbfactory import append_mbox, build_profile, tb_message


def test_serve_finds_the_thunderbird_profile_and_follows_the_inbox(tmp_path, isolated_home):
    home = tmp_path / "user"
    built = build_profile(home)  # ~/.thunderbird with profiles.ini and one profile
    env = {
        **os.environ,
        "HOME": str(home),
        "MAILWARDEN_HOME": str(isolated_home),
        "MAILWARDEN_QUIET_SECONDS": "0.5",
    }
    env.pop("APPDATA", None)
    agent = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = wait_until("the agent to answer", lambda: _connect(isolated_home), 30)
        status = wait_until(
            "the profile scanned",
            lambda: (s := client.status())["totals"]["messages"] >= len(built.expected) and s,
            30,
        )
        assert [(s["kind"], s["path"]) for s in status["stores"]] == [
            ("thunderbird-profile", str(built.profile))
        ]
        before = status["totals"]["messages"]
        append_mbox(
            built.local / "Inbox",
            tb_message(
                "Kindly use our new bank details for the next payment.",
                sender="fraud@evil.example",
                message_id="<appended@x>",
            ),
        )
        started = time.monotonic()
        flag = wait_until(
            "the appended message flagged",
            lambda: next(
                (f for f in client.flags()["flags"] if f["counterpart"] == "fraud@evil.example"), None
            ),
            20,
        )
        print(f"appended message flagged after {time.monotonic() - started:.1f} s")
        assert flag["direction"] == "received" and flag["findings"][0]["rule"] == "payment.bank-change"
        assert client.status()["totals"]["messages"] == before + 1
        verdict = client.check({"subject": "x", "to": ["a@b.example"], "body": "私下交易"})
        assert verdict["verdict"] == "block"
    finally:
        agent.terminate()
        assert agent.wait(timeout=20) == 0


def _connect(home):
    try:
        return AgentClient.connect(Paths(home))
    except Exception:
        return None
