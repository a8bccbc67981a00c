"""Command-line help and click's own words from the message catalogue, in the user's language.

A command's help is the catalogue entry named after its path ("cli.check", "cli.policy.validate"),
an option's the entry of the command plus the option's name ("cli.check.as_json"): decorators
carry no help text, and tests/test_i18n.py checks every command and option has its entry in both
languages. Texts are looked up when the help is shown, not when the module is imported, so the
language is the one in force then.

click itself words its usage lines, headings and errors through gettext ("Usage:", "Error: …",
"No such option …"); `use_catalogue_for_click()` answers those from the "click." entries of the
catalogue (the key is "click." + click's English), so a Chinese user reads none of them in
English. Metavars (FILE, PATH, [OPTIONS]) are syntax and stay as they are.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

CLICK_PREFIX = "click."
# click's modules that word messages through gettext (`from gettext import gettext as _`).
CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.types",
    "click.termui",
    "click.utils",
)


def _text(key: str | None) -> str | None:
    from companion.i18n import lookup

    return lookup(key) if key else None


def _click_gettext(message: str) -> str:
    return _text(CLICK_PREFIX + message) or message


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return _click_gettext(singular if n == 1 else plural)


def use_catalogue_for_click() -> None:
    """Make click word its messages from the catalogue (idempotent)."""
    for name in CLICK_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        if hasattr(module, "_"):
            module._ = _click_gettext
        if hasattr(module, "ngettext"):
            module.ngettext = _click_ngettext


class CatalogueCommand(click.Command):
    """A command whose help and whose options' help come from the catalogue (see the module)."""

    catalogue_key: str | None = None

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = _text(self.catalogue_key)
        if not text:
            super().format_help_text(ctx, formatter)
        else:
            formatter.write_paragraph()
            with formatter.indentation():
                for i, paragraph in enumerate(inspect.cleandoc(text).split("\n\n")):
                    if i:
                        formatter.write_paragraph()
                    formatter.write_text(paragraph)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The first sentence of the help ("。" ends a Chinese one)."""
        text = _text(self.catalogue_key)
        if not text:
            return super().get_short_help_str(limit)
        first = text.split("\n\n", 1)[0]
        for end in ("。", ". "):
            if end in first:
                return first.split(end, 1)[0] + end.strip()
        return first

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click words the help option's help once and keeps the option: give it an entry instead.
        option = super().get_help_option(ctx)
        if option is not None:
            option.catalogue_key = CLICK_PREFIX + "Show this message and exit."  # type: ignore[attr-defined]
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _option_help(self.get_params(ctx)):
            super().format_options(ctx, formatter)


class CatalogueGroup(CatalogueCommand, click.Group):
    command_class = CatalogueCommand
    group_class = type  # subgroups are CatalogueGroups too


@contextmanager
def _option_help(params: list[click.Parameter]) -> Iterator[None]:
    """Each option's help, from its catalogue entry, while the help is written."""
    saved = [(p, getattr(p, "help", None)) for p in params]
    try:
        for p, _ in saved:
            key = getattr(p, "catalogue_key", None)
            if key and isinstance(p, click.Option):
                p.help = _text(key) or p.help
        yield
    finally:
        for p, help_text in saved:
            if isinstance(p, click.Option):
                p.help = help_text


def name_entries(command: click.Command, key: str) -> None:
    """Give `command`, its options and its subcommands their catalogue keys: `key` for the command
    ("cli"), `key.<option name>`, `key.<subcommand>`… (call once the tree is built)."""
    command.catalogue_key = key  # type: ignore[attr-defined]
    for param in command.params:
        if isinstance(param, click.Option):
            param.catalogue_key = f"{key}.{param.name}"  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            name_entries(sub, f"{key}.{name}")


def entry_keys(command: click.Command) -> Iterator[str]:
    """Every catalogue key a command tree asks for (for the tests)."""
    key = getattr(command, "catalogue_key", None)
    if key:
        yield key
    for param in command.params:
        if getattr(param, "catalogue_key", None):
            yield param.catalogue_key  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from entry_keys(sub)
