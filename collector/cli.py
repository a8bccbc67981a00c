"""`mailwarden-collector`: serve, migrate and administer the collector. Help texts and messages come
from the catalogue in the reader's language (companion.cli_catalogue: "collector.cli.<command>",
"collector.cli.<command>.<option>")."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from collector.admin import ROLES
from collector.errors import CollectorError
from companion.cli_catalogue import CatalogueGroup, name_entries, use_catalogue_for_click
from companion.i18n import t

db_option = click.option("--db", "db_url", envvar="MAILWARDEN_COLLECTOR_DB", required=True)
key_option = click.option("--policy-key-file", envvar="MAILWARDEN_COLLECTOR_POLICY_KEY_FILE", default=None)


def _collector(db_url: str, key_file: str | None = None):
    from collector.app import build_collector

    return build_collector(db_url, key_file)


def _fail(exc: CollectorError) -> None:
    click.echo(t("collector.cli_out.error", message=exc.message), err=True)
    sys.exit(1)


@click.group(cls=CatalogueGroup)
def main() -> None:
    pass


@main.command()
@db_option
@key_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8470, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--forwarded-allow-ips", default=None)
def serve(
    db_url: str,
    policy_key_file: str | None,
    host: str,
    port: int,
    workers: int,
    forwarded_allow_ips: str | None,
    audit_key_file: str | None = None,
) -> None:
    import uvicorn

    from collector.app import ENV_AUDIT_KEY_FILE, ENV_DB, ENV_KEY_FILE, build_collector, create_app

    collector = build_collector(
        db_url, policy_key_file, audit_key_file=audit_key_file
    )  # keys made once, here
    kwargs = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "forwarded_allow_ips": forwarded_allow_ips,
    }
    if workers > 1:
        collector.storage.dispose()
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # /metrics must add up every worker's counters: prometheus_client's multiprocess mode,
            # in a fresh folder (stale files of an earlier run would be counted again).
            import tempfile

            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mailwarden-metrics-")
        os.environ[ENV_DB] = db_url
        if policy_key_file:
            os.environ[ENV_KEY_FILE] = policy_key_file
        if audit_key_file:
            os.environ[ENV_AUDIT_KEY_FILE] = audit_key_file
        uvicorn.run("collector.app:app_from_env", factory=True, workers=workers, **kwargs)
    else:
        uvicorn.run(create_app(collector), **kwargs)


@main.command()
@db_option
def migrate(db_url: str) -> None:
    from collector.migrations.runner import current
    from collector.storage import SqlStorage

    storage = SqlStorage(db_url)
    storage.migrate()
    click.echo(t("collector.cli_out.migrated", revision=current(storage.engine)))


@main.command("create-token")
@db_option
@click.option("--department", required=True)
@click.option("--expires", "expires_days", type=float, default=None)
def create_token(db_url: str, department: str, expires_days: float | None) -> None:
    try:
        made = _collector(db_url).create_token(department, expires_days)
    except CollectorError as exc:
        _fail(exc)
    click.echo(made["token"])
    expires = made["expires_at"] or t("collector.cli_out.never")
    click.echo(t("collector.cli_out.token", id=made["id"], department=department, expires=expires), err=True)


@main.command("revoke-token")
@db_option
@click.argument("token_or_id")
def revoke_token(db_url: str, token_or_id: str) -> None:
    if not _collector(db_url).revoke_token(token_or_id):
        click.echo(t("collector.cli_out.no_token"), err=True)
        sys.exit(1)
    click.echo(t("collector.cli_out.revoked"))


@main.command("revoke-device")
@db_option
@click.argument("device_id")
def revoke_device(db_url: str, device_id: str) -> None:
    if not _collector(db_url).revoke_device(device_id):
        click.echo(t("collector.cli_out.no_device"), err=True)
        sys.exit(1)
    click.echo(t("collector.cli_out.revoked"))


@main.command("create-admin")
@db_option
@click.option("--user", "username", required=True)
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--department", default=None)
@click.option("--password-stdin", is_flag=True)
def create_admin(db_url: str, username: str, role: str, department: str | None, password_stdin: bool) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(t("collector.cli_out.password"), hide_input=True, confirmation_prompt=True)
    try:
        _collector(db_url).create_user(username, password, role, department)
    except CollectorError as exc:
        _fail(exc)
    click.echo(t("collector.cli_out.user_created", user=username, role=role))


@main.command()
@db_option
@click.option("--older-than", "days", type=float, required=True)
def purge(db_url: str, days: float) -> None:
    try:
        counts = _collector(db_url).purge(days)
    except CollectorError as exc:
        _fail(exc)
    click.echo(t("collector.cli_out.purged", counts=", ".join(f"{what} {n}" for what, n in counts.items())))


@main.command("publish-policy")
@db_option
@key_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def publish_policy(db_url: str, policy_key_file: str | None, file: Path) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        click.echo(t("collector.cli_out.error", message=t("policy.e.not_utf8")), err=True)
        sys.exit(1)
    try:
        published = _collector(db_url, policy_key_file).publish_policy(text, published_by="cli")
    except CollectorError as exc:
        _fail(exc)
    click.echo(t("collector.cli_out.published", version=published["version"]))


def _add_dashboard_commands() -> None:
    # The dashboard owns its access log, so its command lives beside it.
    from collector.dashboard.cli_commands import (
        audit_key_option,
        report,
        seal_access_log,
        timezone,
        verify_access_log,
    )

    main.add_command(verify_access_log)
    main.add_command(seal_access_log)
    main.add_command(report)
    main.add_command(timezone)
    audit_key_option(serve)


def _add_demo_command() -> None:
    # `make demo`: the collector's side of the demo, which runs the workstation's (`mailwarden demo`).
    from collector.demo import demo

    main.add_command(demo)


_add_dashboard_commands()
_add_demo_command()
name_entries(main, "collector.cli")
use_catalogue_for_click()

if __name__ == "__main__":
    main()
