"""Test isolation: every test gets its own data directory, so no test touches real user data."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures"]  # the shared fixtures and helpers, written once

REPO = Path(__file__).resolve().parents[1]
# The real Outlook files live in ../shared/samples (read there, never copied: they cannot be
# published with the repository); MAILWARDEN_SAMPLES overrides. Under CI (CI=true) they are
# required: a test marked outlook_samples fails. Elsewhere (a fresh clone) it is skipped, and
# pytest's summary (-ra) folds the skips into one line: how many, and where the samples go.
SAMPLES = Path(os.environ.get("MAILWARDEN_SAMPLES", REPO.parent / "shared" / "samples"))
SAMPLES_MISSING = "the shared Outlook samples are missing"


def i18n_tool():
    """scripts/i18n.py, the catalogue's build and checks (docs/i18n.md)."""
    import importlib.util
    import sys

    module = sys.modules.get("mailwarden_i18n_tool")
    if module is None:
        spec = importlib.util.spec_from_file_location("mailwarden_i18n_tool", REPO / "scripts" / "i18n.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


# `make test` builds the catalogue first; a bare pytest after editing a .po must not read stale .mo.
if i18n_tool().stale():
    i18n_tool().compile_all()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def outlook_samples() -> Path:
    """The samples' outlook/ folder, for a test marked outlook_samples (its setup checks it is there)."""
    path = SAMPLES / "outlook"
    if not path.is_dir():
        pytest.fail(f"{SAMPLES_MISSING}, and this test is not marked @pytest.mark.outlook_samples")
    return path


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "outlook_samples: needs the shared Outlook samples (../shared/samples or MAILWARDEN_SAMPLES)",
    )


def pytest_runtest_setup(item) -> None:
    # Skipped (or failed) at setup, here: pytest's summary folds them into one line naming this place.
    if item.get_closest_marker("outlook_samples") is not None and not (SAMPLES / "outlook").is_dir():
        hint = f"put them in {SAMPLES / 'outlook'} or set MAILWARDEN_SAMPLES to a folder holding outlook/"
        if in_ci():
            pytest.fail(f"{SAMPLES_MISSING} (required under CI=true): {hint}", pytrace=False)
        pytest.skip(f"{SAMPLES_MISSING}, so this test is skipped outside CI: {hint}")


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
    from companion.records import Database

    database = Database(isolated_home / "mailwarden.db")
    yield database
    database.close()


@pytest.fixture(scope="session")
def engine():
    """The engine for the default policy."""
    from companion.policy import PolicyEngine, load_policy

    return PolicyEngine(load_policy())
