"""`mailwarden-collector verify-access-log` and `seal-access-log`: the dashboard's access log, checked
and its day heads signed for the auditor (collector/dashboard/access_log.py).

Hooked into collector/cli.py by `_add_dashboard_commands`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from companion.cli_catalogue import CatalogueCommand
from companion.i18n import t

db_option = click.option("--db", "db_url", envvar="MAILWARDEN_COLLECTOR_DB", required=True)
audit_key_option = click.option(
    "--audit-key-file", envvar="MAILWARDEN_COLLECTOR_AUDIT_KEY_FILE", default=None
)


# Help: "collector.cli.verify-access-log[.<option>]" in the catalogue.
@click.command("verify-access-log", cls=CatalogueCommand)
@db_option
@audit_key_option
@click.option("--expect-head", default=None)
@click.option("--heads", "head_paths", multiple=True, type=click.Path(exists=True, path_type=Path))
@click.option("--audit-public-key", default=None)
def verify_access_log(
    db_url: str,
    audit_key_file: str | None,
    expect_head: str | None,
    head_paths: tuple[Path, ...],
    audit_public_key: str | None,
) -> None:
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
            click.echo(t("collector.cli_out.heads_unreadable", reason=exc), err=True)
            sys.exit(2)
        problems = verify_heads(collector, [*stored, *kept], audit_public_key)
    finally:
        collector.storage.dispose()
    failed = False
    if not result.ok:
        reason = t(f"dash.log.reason.{result.reason}")
        click.echo(
            t("collector.cli_out.log_broken", seq=result.broken_at, reason=reason, n=result.checked), err=True
        )
        failed = True
    if not head_found:
        # The chain only proves what is there; a cut-off tail shows as a head noted earlier gone missing.
        click.echo(t("collector.cli_out.log_cut", head=expect_head), err=True)
        failed = True
    for problem in problems:
        reason = t(f"collector.cli_out.head_reason.{problem.reason}")
        click.echo(t("collector.cli_out.head_problem", day=problem.day, reason=reason), err=True)
    if problems:
        click.echo(t("collector.cli_out.heads_changed"), err=True)
        failed = True
    if failed:
        sys.exit(1)
    click.echo(
        t("collector.cli_out.log_ok", n=result.checked, head=result.head, stored=len(stored), kept=len(kept))
    )


@click.command("seal-access-log", cls=CatalogueCommand)
@db_option
@audit_key_option
@click.option(
    "--out",
    "out_dir",
    envvar="MAILWARDEN_COLLECTOR_AUDIT_DIR",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
)
def seal_access_log(db_url: str, audit_key_file: str | None, out_dir: Path) -> None:
    from collector.app import build_collector
    from collector.dashboard.access_log import export_heads, seal_complete_days

    collector = build_collector(db_url, audit_key_file=audit_key_file)
    try:
        sealed = seal_complete_days(collector)
        written = export_heads(collector, out_dir)
        public_key = collector.audit_signer.public_key_b64
    finally:
        collector.storage.dispose()
    click.echo(t("collector.cli_out.sealed", n=sealed, files=len(written), folder=out_dir))
    click.echo(t("collector.cli_out.audit_public_key", key=public_key))


# Help: "collector.cli.report[.<option>]" in the catalogue.
@click.command("report", cls=CatalogueCommand)
@db_option
@click.option("--month", required=True)
@click.option("--department", default=None)
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "html"]), default="pdf")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def report(db_url: str, month: str, department: str | None, fmt: str, lang: str | None, out: Path) -> None:
    from collector.app import build_collector
    from collector.dashboard import monthly, periods, report_files
    from collector.errors import CollectorError
    from companion.i18n import system_language

    lang = lang or system_language()
    try:
        chosen = periods.month(month)
    except CollectorError:
        click.echo(t("collector.cli_out.error", message=t("dash.error.month")), err=True)
        sys.exit(2)
    collector = build_collector(db_url)
    try:
        data = report_files.render(monthly.build(collector, chosen, department or None, lang), fmt)
    finally:
        collector.storage.dispose()
    # Written whole or not at all: a half-written report must not be forwarded.
    partial = out.with_name(out.name + ".part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        click.echo(t("collector.cli_out.error", message=f"{out}: {exc.strerror or exc}"), err=True)
        sys.exit(1)
    click.echo(t("collector.cli_out.report_written", file=out, month=chosen.key))


# Help: "collector.cli.timezone[.<option>]" in the catalogue.
@click.command("timezone", cls=CatalogueCommand)
@db_option
@click.argument("name", required=False)
def timezone(db_url: str, name: str | None) -> None:
    from collector.dashboard import periods
    from collector.errors import CollectorError
    from collector.storage import SqlStorage

    storage = SqlStorage(db_url)
    try:
        storage.migrate()
        try:
            tz = periods.set_company_zone(storage, name) if name else periods.company_zone(storage)
        except CollectorError:
            click.echo(
                t("collector.cli_out.error", message=t("collector.cli_out.bad_timezone", zone=name)), err=True
            )
            sys.exit(2)
    finally:
        storage.dispose()
    from datetime import UTC, datetime

    offset = periods.offset_text(datetime.now(UTC).astimezone(tz))
    click.echo(t("collector.cli_out.timezone", zone=tz.key, offset=offset))
