"""`mailwarden-collector verify-access-log` and `seal-access-log`: the dashboard's access log, checked
and its day heads signed for the auditor (collector/dashboard/access_log.py).

Hooked into collector/cli.py by `_add_dashboard_commands`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

db_option = click.option(
    "--db",
    "db_url",
    envvar="MAILWARDEN_COLLECTOR_DB",
    required=True,
    help="database URL: sqlite:///path/collector.db or postgresql://user@host/db",
)
audit_key_option = click.option(
    "--audit-key-file",
    envvar="MAILWARDEN_COLLECTOR_AUDIT_KEY_FILE",
    default=None,
    help="the audit key in this file (mode 0600) instead of the database",
)


@click.command("verify-access-log")
@db_option
@audit_key_option
@click.option(
    "--expect-head", default=None, help="the head hash noted at an earlier check (detects truncation)"
)
@click.option(
    "--heads",
    "head_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="signed day heads the auditor kept (files or folders; repeatable): detects a rewritten chain",
)
@click.option(
    "--audit-public-key",
    default=None,
    help="the audit key the auditor pinned (default: the collector's own, which trusts the database)",
)
def verify_access_log(
    db_url: str,
    audit_key_file: str | None,
    expect_head: str | None,
    head_paths: tuple[Path, ...],
    audit_public_key: str | None,
) -> None:
    """Verify the access log's hash chain, and the signed day heads (those in the database, and
    those given with --heads); exit 1 when anything fails."""
    from collector.app import build_collector
    from collector.dashboard.access_log import has_entry, read_head_files, signed_heads, verify, verify_heads

    collector = build_collector(db_url, audit_key_file=audit_key_file)
    try:
        result = verify(collector)
        head_found = expect_head is None or has_entry(collector, expect_head)
        stored = signed_heads(collector)
        try:
            kept = read_head_files(head_paths)
        except (OSError, ValueError) as exc:
            click.echo(f"error: cannot read the kept heads: {exc}", err=True)
            sys.exit(2)
        problems = verify_heads(collector, [*stored, *kept], audit_public_key)
    finally:
        collector.storage.dispose()
    failed = False
    if not result.ok:
        click.echo(
            f"BROKEN at entry {result.broken_at} ({result.reason}); {result.checked} entries before it verify",
            err=True,
        )
        failed = True
    if not head_found:
        # The chain only proves what is there; a cut-off tail shows as a head noted earlier gone missing.
        click.echo(
            f"the chain verifies but holds no entry {expect_head}: entries were removed at the end", err=True
        )
        failed = True
    for problem in problems:
        click.echo(f"signed head of {problem.day}: {problem.reason}: {problem.detail}", err=True)
    if problems:
        click.echo("the access log was changed after those heads were signed", err=True)
        failed = True
    if failed:
        sys.exit(1)
    click.echo(
        f"access log intact: {result.checked} entries, head {result.head}; "
        f"{len(stored)} signed day heads in the database and {len(kept)} kept heads verify"
    )


@click.command("seal-access-log")
@db_option
@audit_key_option
@click.option(
    "--out",
    "out_dir",
    envvar="MAILWARDEN_COLLECTOR_AUDIT_DIR",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder for the auditor's copies, one file per day (existing files are never rewritten)",
)
def seal_access_log(db_url: str, audit_key_file: str | None, out_dir: Path) -> None:
    """Sign the head of every finished day (UTC) and write each signed head into --out. Run it
    daily (cron) into a folder the database's users cannot write (another host, WORM storage)."""
    from collector.app import build_collector
    from collector.dashboard.access_log import export_heads, seal_complete_days

    collector = build_collector(db_url, audit_key_file=audit_key_file)
    try:
        sealed = seal_complete_days(collector)
        written = export_heads(collector, out_dir)
        public_key = collector.audit_signer.public_key_b64
    finally:
        collector.storage.dispose()
    click.echo(f"{sealed} day heads signed, {len(written)} files written to {out_dir}")
    click.echo(f"audit public key (pin it: verify-access-log --audit-public-key): {public_key}")
