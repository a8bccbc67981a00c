"""The commands outlook_bridge adds to `mailwarden`, through the `mailwarden.commands` entry point
group (pyproject.toml): companion.cli lists and loads them without importing outlook_bridge."""

from __future__ import annotations

import sys

import click


@click.command("install-outlook")
@click.option("--uninstall", is_flag=True, help="Remove the registration instead.")
def install_outlook(uninstall: bool) -> None:
    """Register the Outlook add-in for you (classic Outlook for Windows): the COM server and the
    Addins key with LoadBehavior 3, under HKEY_CURRENT_USER. The MSI does it for all users."""
    if sys.platform != "win32":
        raise click.ClickException("the Outlook add-in needs classic Outlook on Windows; nothing to do here")
    from outlook_bridge.install import install_outlook as install
    from outlook_bridge.install import uninstall_outlook

    rows = uninstall_outlook(scope="user") if uninstall else install(scope="user")
    for row in rows:
        click.echo(f"{row.get('hive', '')}\\{row.get('key', '')}  {row.get('name') or '(default)'}")
