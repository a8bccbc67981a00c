"""`mailwarden-collector verify-access-log`: check the dashboard's access-log hash chain.

Hook into collector/cli.py with:
    from collector.dashboard.cli_commands import verify_access_log
    main.add_command(verify_access_log)
"""

from __future__ import annotations

import sys

import click


@click.command("verify-access-log")
@click.option(
    "--db",
    "db_url",
    envvar="MAILWARDEN_COLLECTOR_DB",
    required=True,
    help="database URL: sqlite:///path/collector.db or postgresql://user@host/db",
)
@click.option(
    "--expect-head", default=None, help="the head hash noted at an earlier check (detects truncation)"
)
def verify_access_log(db_url: str, expect_head: str | None) -> None:
    """Verify the access log's hash chain; exit 1 when it is broken."""
    from collector.app import build_collector
    from collector.dashboard.access_log import has_entry, verify

    collector = build_collector(db_url)
    try:
        result = verify(collector)
        head_found = expect_head is None or has_entry(collector, expect_head)
    finally:
        collector.storage.dispose()
    if not result.ok:
        click.echo(
            f"BROKEN at entry {result.broken_at} ({result.reason}); {result.checked} entries before it verify",
            err=True,
        )
        sys.exit(1)
    if not head_found:
        # The chain only proves what is there; a cut-off tail shows as a head noted earlier gone missing.
        click.echo(
            f"the chain verifies but holds no entry {expect_head}: entries were removed at the end", err=True
        )
        sys.exit(1)
    click.echo(f"access log intact: {result.checked} entries, head {result.head}")
