"""Test isolation: every test gets its own data directory, so no test touches real user data."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures"]  # the shared fixtures and helpers, written once

REPO = Path(__file__).resolve().parents[1]
# The real Outlook files live in ../shared/samples (read there, never copied); MAILWARDEN_SAMPLES
# overrides. Tests that need them fail, not skip, when they are missing: CI always has them.
SAMPLES = Path(os.environ.get("MAILWARDEN_SAMPLES", REPO.parent / "shared" / "samples"))


def outlook_samples() -> Path:
    path = SAMPLES / "outlook"
    if not path.is_dir():
        pytest.fail(f"the shared Outlook samples are missing: {path} (set MAILWARDEN_SAMPLES)")
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "mailwarden-home"
    monkeypatch.setenv("MAILWARDEN_HOME", str(home))
    monkeypatch.setenv("MAILWARDEN_LANG", "en")
    # Files written by a test are read at once; tests of half-written files set this back.
    monkeypatch.setattr("companion.stores.base.QUIET_SECONDS", 0.0)
    return home


def age(path: Path, seconds: float = 60) -> Path:
    """Make `path` look written `seconds` ago (for code in another process that waits for quiet files)."""
    import time

    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def build_eml(
    body: str,
    subject: str = "Offer",
    sender: str = "sales@corp.example",
    to: str = "buyer@client.example",
    message_id: str | None = None,
    date: str = "Mon, 02 Nov 2026 10:00:00 +0800",
    **headers: str,
) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Date"] = date
    if message_id:
        m["Message-ID"] = message_id
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body)
    return bytes(m)


def write_mbox(path: Path, bodies: list[bytes]) -> Path:
    with path.open("wb") as f:
        for raw in bodies:
            f.write(b"From - Mon Nov  2 10:00:00 2026\n" + raw.replace(b"\r\n", b"\n") + b"\n")
    return path


@pytest.fixture
def db(isolated_home):
    """A real database in the test's data directory."""
    from companion.database import Database

    database = Database(isolated_home / "mailwarden.db")
    yield database
    database.close()


@pytest.fixture(scope="session")
def engine():
    """The engine for the default policy."""
    from companion.policy import PolicyEngine, load_policy

    return PolicyEngine(load_policy())
