"""`mailwarden serve`, `status` and `stop` against a real agent process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import build_eml
from tests.fixtures import wait_until


def cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "companion.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_serve_status_stop(tmp_path, isolated_home):
    isolated_home.mkdir(parents=True)
    box = tmp_path / "box"
    box.mkdir()
    (box / "a.eml").write_bytes(build_eml("Our bank details have changed"))
    (isolated_home / "config.toml").write_text(f"discover = false\nstores = ['{box}']\n", encoding="utf-8")
    env = {**os.environ, "MAILWARDEN_HOME": str(isolated_home), "MAILWARDEN_QUIET_SECONDS": "0"}
    down = cli("status", "--json", env=env)
    assert down.returncode == 1 and json.loads(down.stdout)["running"] is False
    agent = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def scanned() -> dict | None:
            result = cli("status", "--json", env=env)
            info = json.loads(result.stdout) if result.returncode == 0 else {}
            return info if info and info["totals"]["messages"] == 1 else None

        info = wait_until("the agent's first scan", scanned, 30)
        assert info.get("running") is True and info["totals"]["flagged"] == 1
        assert [s["path"] for s in info["stores"]] == [str(box)]
        text = cli("status", env={**env, "MAILWARDEN_LANG": "zh"}).stdout
        assert "后台服务" in text and "标记 1 封" in text and "空闲" in text and "idle" not in text
        assert cli("stop", env=env).returncode == 0
        assert agent.wait(timeout=20) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert not (isolated_home / "agent.json").exists()
