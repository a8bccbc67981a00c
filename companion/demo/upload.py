"""The workstation's half of the demo's collector loop: this demo computer enrolled with a collector
(`mailwarden demo --collector URL --token TOKEN`; `mailwarden-collector demo` starts a demo
collector and runs that), one appeal filed, and one round of what the agent does on its schedule:
the summary signed and uploaded, the policy and the appeal decisions pulled.

Nothing here touches the user's own credential store: the demo's device key stays in a private file
in the demo's data directory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click


@contextlib.contextmanager
def _demo_keystore() -> Iterator[None]:
    """Keep the demo's device key out of the user's OS credential store (a private file instead),
    without the warnings that choice logs in real use."""
    import logging

    quiet = logging.getLogger("companion.keystore")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        import keyring
        from keyring.backends.fail import Keyring as NoKeyring
    except ImportError:
        keyring = None
    before = keyring.get_keyring() if keyring else None
    if keyring:
        keyring.set_keyring(NoKeyring())
    try:
        yield
    finally:
        if keyring:
            keyring.set_keyring(before)
        quiet.setLevel(level)


def enrol_and_upload(home: Path, collector_url: str, token: str, lang: str) -> dict[str, Any]:
    """Enrol, file one appeal, run one sync round; print and return what happened."""
    from companion.agent.api import MailwardenAPI
    from companion.config import Paths
    from companion.enroll import enroll
    from companion.errors import MailwardenError
    from companion.i18n import t
    from companion.records import Database
    from companion.sync import sync_round

    paths = Paths(home).ensure()
    click.echo(click.style(t("demo.collector", lang), bold=True))
    with _demo_keystore():
        db = Database(paths.database)
        try:
            try:
                device = enroll(paths, collector_url, token, db=db, hostname="demo-workstation", force=True)
            except MailwardenError as exc:
                raise click.ClickException(f"{exc.title}: {exc.message}") from None
            click.echo("  " + t("demo.enrolled", lang, device=device["device_id"], url=collector_url))
            api = MailwardenAPI(paths)
            flags = api.flags()["flags"]
            if flags:  # one appeal, so that the dashboard has something to review
                first = flags[0]
                rule = first["findings"][0]["rule"] if first.get("findings") else None
                api.file_appeal(
                    first["id"], "false_positive", "demo: a quoted price, not a promise", rule=rule
                )
                click.echo("  " + t("demo.appeal", lang, subject=first.get("subject") or ""))
            report = sync_round(db, paths)  # what the agent's schedule does, at once
        finally:
            db.close()
    sent = report["upload"]
    click.echo(
        "  "
        + t(
            "demo.uploaded",
            lang,
            summaries=report["summaries_queued"],
            appeals=sent["appeals_queued"],
            accepted=sent["accepted"],
            failed=sent["failed"],
        )
    )
    return {
        "device_id": device["device_id"],
        "summaries": report["summaries_queued"],
        "upload": sent,
        "policy": report["policy"],
        "decisions": report["decisions"],
    }
