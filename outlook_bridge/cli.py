"""The commands outlook_bridge adds to `mailwarden`, through the `mailwarden.commands` entry point
group (pyproject.toml): companion.cli lists and loads them without importing outlook_bridge."""

from __future__ import annotations

import sys

import click

from companion.cli_catalogue import CatalogueCommand, name_entries
from companion.i18n import t


# Help: "cli.install-outlook[.uninstall]" in the catalogue, as for the companion's own commands.
@click.command("install-outlook", cls=CatalogueCommand)
@click.option("--uninstall", is_flag=True)
def install_outlook(uninstall: bool) -> None:
    if sys.platform != "win32":
        raise click.ClickException(t("cli_out.install-outlook.not_windows"))
    from outlook_bridge.install import install_outlook as install
    from outlook_bridge.install import uninstall_outlook

    rows = uninstall_outlook(scope="user") if uninstall else install(scope="user")
    for row in rows:
        name = row.get("name") or t("cli_out.install-outlook.default_value")
        click.echo(f"{row.get('hive', '')}\\{row.get('key', '')}  {name}")


name_entries(install_outlook, "cli.install-outlook")
