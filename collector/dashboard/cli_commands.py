"""`mailwarden-collector verify-access-log`: check the dashboard's access-log hash chain.

Hook into collector/cli.py with:
    from collector.dashboard.cli_commands import verify_access_log
    main.add_command(verify_access_log)
"""

from __future__ import annotations

import sys

import click

from companion.cli_catalogue import CatalogueCommand
from companion.i18n import t


# Help: "collector.cli.verify-access-log[.<option>]" in the catalogue.
@click.command("verify-access-log", cls=CatalogueCommand)
@click.option("--db", "db_url", envvar="MAILWARDEN_COLLECTOR_DB", required=True)
@click.option("--expect-head", default=None)
def verify_access_log(db_url: str, expect_head: str | None) -> None:
    from collector.app import build_collector
    from collector.dashboard.access_log import has_entry, verify

    collector = build_collector(db_url)
    try:
        result = verify(collector)
        head_found = expect_head is None or has_entry(collector, expect_head)
    finally:
        collector.storage.dispose()
    if not result.ok:
        reason = t(f"dash.log.reason.{result.reason}")
        click.echo(
            t("collector.cli_out.log_broken", seq=result.broken_at, reason=reason, n=result.checked), err=True
        )
        sys.exit(1)
    if not head_found:
        # The chain only proves what is there; a cut-off tail shows as a head noted earlier gone missing.
        click.echo(t("collector.cli_out.log_cut", head=expect_head), err=True)
        sys.exit(1)
    click.echo(t("collector.cli_out.log_ok", n=result.checked, head=result.head))
