"""A fresh clone has no ../shared/samples: outside CI the tests that need them are skipped with one
line saying where they go; under CI=true their absence is a failure."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, SAMPLES_MISSING

# One module whose tests all need the samples, one with a single such test among others.
MODULES = ["tests/test_discovery.py", "tests/test_parse_msg.py"]


def _pytest(tmp_path, **env: str) -> subprocess.CompletedProcess:
    empty = tmp_path / "no-samples"
    empty.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *MODULES],
        cwd=REPO,
        env={**environ, "MAILWARDEN_SAMPLES": str(empty), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_outside_ci_missing_samples_skip_with_one_line(tmp_path):
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    lines = [line for line in run.stdout.splitlines() if SAMPLES_MISSING in line]
    assert len(lines) == 1, run.stdout[-3000:]
    assert lines[0].startswith("SKIPPED [") and str(tmp_path / "no-samples" / "outlook") in lines[0]
    assert "MAILWARDEN_SAMPLES" in lines[0]
    skipped = int(lines[0].split("[", 1)[1].split("]", 1)[0])
    assert skipped > 10 and f"{skipped} skipped" in run.stdout
    assert " passed" in run.stdout  # the tests that need no samples still ran


def test_under_ci_missing_samples_fail(tmp_path):
    run = _pytest(tmp_path, CI="true")
    assert run.returncode == 1
    assert "required under CI=true" in run.stdout and " skipped" not in run.stdout
