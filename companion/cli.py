"""The `mailwarden` command line. Heavy modules are imported inside commands, so `--help` and the
pre-send `check` start fast. Every help text and message comes from the catalogue in the user's
language (companion.cli_catalogue: a command's help is the entry "cli.<command>", an option's
"cli.<command>.<option>")."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from companion import __version__
from companion.cli_catalogue import CatalogueCommand, CatalogueGroup, name_entries, use_catalogue_for_click
from companion.errors import MailwardenError
from companion.machine_config import FAIL_MODES  # (a light module: the CLI starts fast)

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

COMMANDS_GROUP = "mailwarden.commands"  # commands other packages add (pyproject.toml entry points)


def _lang() -> str:
    from companion.i18n import system_language

    return system_language()


def _engine(policy_path: str | None):
    """The engine for --policy, else for the policy in force (installed in the data dir), else the default."""
    from companion.config import paths
    from companion.errors import PolicyError
    from companion.policy import PolicyEngine, load_policy

    if policy_path is None and paths().policy.is_file():
        policy_path = str(paths().policy)
    try:
        return PolicyEngine(load_policy(policy_path))
    except PolicyError as exc:
        raise click.ClickException(exc.text()) from None


def _check_role(engine, role: str | None) -> None:
    from companion.i18n import t

    if role is not None and role not in engine.policy.roles:
        known = ", ".join(f"'{r}'" for r in sorted(engine.policy.roles)) or t("cli_out.no_roles")
        raise click.ClickException(t("cli_out.unknown_role", role=role, known=known))


def _open_db():
    from companion.config import paths
    from companion.database import Database

    return Database(paths().ensure().database)


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


class MailwardenGroup(CatalogueGroup):
    """The CLI's own commands, and those other parts of the product add through the entry point
    group `mailwarden.commands` (outlook_bridge's install-outlook): listed and loaded from the
    installed metadata, so the companion never imports those packages (docs/architecture.md).
    Help texts come from the catalogue (CatalogueGroup); subgroups (policy) are plain catalogue
    groups, which list no added commands."""

    group_class = CatalogueGroup

    def _added(self) -> dict[str, EntryPoint]:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._added()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command  # the companion's own: no metadata scan on the pre-send path
        from companion.i18n import t

        entry = self._added().get(name)
        if entry is None:
            return None
        try:
            loaded = entry.load()
        except ImportError as exc:
            raise click.ClickException(t("cli_out.not_installed", name=name, detail=str(exc))) from None
        return loaded if isinstance(loaded, click.Command) else None


@click.group(cls=MailwardenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailwarden")
def cli() -> None:
    pass


# `mailwarden check --exit-code`: the verdict as the exit status, for scripts.
EXIT_PASS, EXIT_WARN, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2, 3
EXIT_NOT_MAIL = 4  # a file that is not an e-mail message (with or without --exit-code)
VERDICT_EXIT = {"pass": EXIT_PASS, "warn": EXIT_WARN, "block": EXIT_BLOCK}


class _CheckCommand(CatalogueCommand):
    """With --exit-code, 2 means "block": a usage error must not say it too, so it exits 3."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        asked = "--exit-code" in args  # asked now: the parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if asked:
                exc.exit_code = EXIT_ERROR
            raise


@cli.command(cls=_CheckCommand)
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False))
@click.option("--role")
@click.option("--json", "as_json", is_flag=True)
@click.option("--text", "as_text", is_flag=True)
@click.option("--exit-code", "exit_code", is_flag=True)
@click.argument("files", nargs=-1, required=True)
def check(
    policy_path: str | None,
    role: str | None,
    as_json: bool,
    as_text: bool,
    exit_code: bool,
    files: tuple[str, ...],
) -> None:
    from companion.errors import NotAMailError, unexpected
    from companion.i18n import say
    from companion.report import verdict_report

    try:
        engine = _engine(policy_path)
        _check_role(engine, role)
    except click.ClickException as exc:
        exc.exit_code = EXIT_ERROR if exit_code else exc.exit_code
        raise
    lang = _lang()
    color = sys.stdout.isatty()
    worst, failed, not_mail = EXIT_PASS, False, False
    for name in files:
        try:
            message = _read_outgoing(name, as_text)
        except NotAMailError as exc:
            not_mail = True
            _report_error(name, exc.text(lang), as_json, lang, "not_mail")
            continue
        except MailwardenError as exc:
            failed = True
            _report_error(name, exc.text(lang), as_json, lang, "unreadable")
            continue
        except Exception as exc:  # never crash on one bad file: report it and check the rest
            failed = True
            _report_error(name, say(unexpected(exc), lang), as_json, lang, "unreadable")
            continue
        verdict = engine.check(message, role=role)
        worst = max(worst, VERDICT_EXIT[verdict.verdict])
        if as_json:
            click.echo(_dump({"file": name, **verdict.to_dict(lang)}))
        else:
            click.echo(verdict_report(name, verdict, message.field_texts(), lang, color), color=color)
    if failed:
        sys.exit(EXIT_ERROR if exit_code else 1)
    if not_mail:
        sys.exit(EXIT_NOT_MAIL)
    sys.exit(worst if exit_code else 0)


def _read_outgoing(name: str, as_text: bool):
    """The message in file `name` (- for stdin); with `as_text`, text that is not mail is its body."""
    from companion.errors import NotAMailError, ParseError, os_reason
    from companion.parsing import parse_eml_bytes, parse_file, parse_text_bytes

    if name == "-":
        data = sys.stdin.buffer.read()
        try:
            return parse_eml_bytes(data, source="-", direction="sent", strict=True)
        except NotAMailError:
            if not as_text:
                raise
            return parse_text_bytes(data, source="-")
    try:
        return parse_file(Path(name), direction="sent", strict=True)
    except NotAMailError as exc:
        if not as_text or exc.key != "error.not_mail":  # an Outlook contact is not text either
            raise
        try:
            data = Path(name).read_bytes()
        except OSError as os_exc:
            raise ParseError(
                key="error.cannot_read", values={"source": name, "reason": os_reason(os_exc)}
            ) from None
        return parse_text_bytes(data, source=name)


def _report_error(name: str, reason: str, as_json: bool, lang: str, code: str = "unreadable") -> None:
    from companion.i18n import t

    if as_json:
        click.echo(_dump({"file": name, "error": reason, "error_code": code}))
    else:
        click.echo(t("cli_out.file_error", lang, file=name, reason=reason), err=True)


@cli.command()
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False))
@click.option("--role")
@click.option("--identity", "identities", multiple=True)
@click.option("--json", "as_json", is_flag=True)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def scan(
    policy_path: str | None,
    role: str | None,
    identities: tuple[str, ...],
    as_json: bool,
    paths: tuple[Path, ...],
) -> None:
    from companion.i18n import say, t
    from companion.scan import scan_paths

    settings = _settings()
    engine = _engine(policy_path)
    role = role or settings.role
    _check_role(engine, role)
    _setup_logging()
    known = set(settings.identities) | {i.lower() for i in identities}
    if not paths:
        stores = _discovered(settings)
        paths = tuple(s.path for s in stores if s.readable)
        known |= {i for s in stores for i in s.identities}
    db = _open_db()
    try:
        totals = scan_paths(db, engine, list(paths), frozenset(known), role)
    finally:
        db.close()
    if as_json:
        click.echo(_dump(totals.to_dict()))
        return
    lang = _lang()
    for source, error in totals.error_list[:20]:
        click.echo("  " + t("cli_out.scan_error", lang, source=source, reason=say(error, lang)), err=True)
    click.echo(t("scan.totals", lang, **totals.to_dict()))
    for rule, count in sorted(totals.by_rule.items()):
        click.echo(f"  {rule}: {count}")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def stores(as_json: bool) -> None:
    from companion.i18n import t

    found = _discovered(_settings())
    if as_json:
        for store in found:
            click.echo(_dump(store.to_dict()))
        return
    lang = _lang()
    if not found:
        click.echo(t("stores.none", lang))
    for store in found:
        state = t("stores.readable" if store.readable else "stores.unreadable", lang)
        kind = _store_kind(store.kind, lang)
        click.echo(f"{kind:20} {state:10} {store.path}" + (f"  ({store.account})" if store.account else ""))


def _store_kind(kind: str, lang: str) -> str:
    from companion.i18n import has, t

    return t(f"store.kind.{kind}", lang) if has(f"store.kind.{kind}") else kind


def _settings():
    from companion.config import paths
    from companion.settings import load_settings

    try:
        return load_settings(paths())
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None


def _discovered(settings):
    from companion.stores.discovery import discover_stores

    return discover_stores(settings.stores, discover=settings.discover)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", type=click.IntRange(min=1))
def flags(as_json: bool, limit: int | None) -> None:
    from companion.i18n import t

    db = _open_db()
    try:
        rows = [{"kind": "message", **f.to_dict()} for f in db.flags(limit)]
        rows += [_presend_row(r) for r in db.presend_decisions(limit)]
    finally:
        db.close()
    rows.sort(key=lambda r: r["date"] or "", reverse=True)
    rows = rows[:limit] if limit else rows
    lang = _lang()
    if as_json:
        for row in rows:
            click.echo(_dump(row))
        return
    if not rows:
        click.echo(t("flags.none", lang))
    for row in rows:
        date = (row["date"] or "")[:16].replace("T", " ")
        verdict = t("verdict." + row["verdict"], lang)
        decided = f"  → {t('choice.' + row['choice'], lang)}" if row["kind"] == "presend" else ""
        click.echo(
            f"{date:16}  {t('direction.' + row['direction'], lang)}  {row['counterpart']}  "
            f"{row['subject']!r}  {verdict}{decided}"
        )
        if row.get("justification"):
            click.echo(f"    {t('justification', lang)}: {row['justification']}")
        for f in row["findings"]:
            quoted = f"  ({t('quoted', lang)})" if f["quoted"] else ""
            click.echo(f"    [{t('tier.' + f['tier'], lang)}] {f['rule']}: {f['text']}{quoted}")


def _presend_row(r: dict) -> dict:
    return {
        "kind": "presend",
        "id": f"presend-{r['id']}",
        "date": r["at"],
        "direction": "sent",
        "counterpart": r["counterpart"],
        "subject": r["subject"],
        "verdict": r["verdict"],
        "policy_version": r["policy_version"],
        "source": r["channel"],
        "findings": r["findings"],
        "choice": r["choice"],
        "justification": r["justification"],
        "error": r["error"],
    }


@cli.command()
def serve() -> None:
    from companion.agent.service import run_agent
    from companion.config import paths

    sys.exit(run_agent(paths()))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    from companion.agent.client import AgentClient

    lang = _lang()
    try:
        info = AgentClient.connect().status()
    except MailwardenError as exc:
        if as_json:
            click.echo(_dump({"running": False, "error": exc.text(lang)}))
        else:
            click.echo(exc.text(lang))
        sys.exit(1)
    if as_json:
        click.echo(_dump({"running": True, **info}))
        return
    click.echo(_status_text(info, lang))


def _status_text(info: dict, lang: str) -> str:
    from companion.i18n import has, t

    totals, scan = info.get("totals", {}), info.get("scan", {})
    lines = [
        t(
            "agent.running",
            lang,
            version=info.get("agent", {}).get("version", "?"),
            policy=info.get("policy", {}).get("version", "?"),
        )
    ]
    lines.append(
        t(
            "agent.totals",
            lang,
            messages=totals.get("messages", 0),
            flagged=totals.get("flagged", 0),
            errors=totals.get("errors", 0),
            queued=totals.get("outbox_queued", 0),
        )
    )
    state = scan.get("state") or "-"
    state = t(f"agent.state.{state}", lang) if has(f"agent.state.{state}") else state
    lines.append(t("agent.scan", lang, state=state, last=scan.get("last_end") or "-"))
    for store in info.get("stores", []):
        error = f"  ! {store['last_error']}" if store.get("last_error") else ""
        lines.append(f"  {_store_kind(store.get('kind', ''), lang):20} {store.get('path', '')}{error}")
    return "\n".join(lines)


@cli.command()
def stop() -> None:
    from companion.agent.client import AgentClient

    try:
        AgentClient.connect().shutdown()
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None


@cli.command()
@click.option("--collector", "collector_url", required=True)
@click.option("--token", required=True)
@click.option("--department")
@click.option("--force", is_flag=True)
def enroll(collector_url: str, token: str, department: str | None, force: bool) -> None:
    from companion.config import paths
    from companion.enroll import enroll as do_enroll

    db = _open_db()
    try:
        device = do_enroll(paths(), collector_url, token, department, db=db, force=force)
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None
    finally:
        db.close()
    click.echo(
        _dump(
            {
                "device_id": device["device_id"],
                "collector": device["collector_url"],
                "key_store": device["key_store"],
            }
        )
    )
    if device["key_store"] == "file":
        from companion.i18n import t

        click.echo(t("cli_out.enroll.key_in_file"), err=True)


@cli.command()
def summary() -> None:
    from companion.config import paths
    from companion.summary import build_next_summary

    db = _open_db()
    try:
        payload = build_next_summary(db, paths().ensure(), stores=_store_health())
    finally:
        db.close()
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True))


@cli.command()
def upload() -> None:
    from companion.config import paths
    from companion.sync import sync_round

    p = paths().ensure()
    db = _open_db()
    try:
        report = sync_round(db, p, stores=_store_health())
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None
    finally:
        db.close()
    click.echo(_dump(report))


def _store_health() -> tuple[int, int]:
    stores = _discovered(_settings())
    return len(stores), sum(1 for s in stores if not s.readable)


@cli.command("native-host", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def native_host(args: tuple[str, ...]) -> None:
    from companion.native_host import main as host_main

    sys.exit(host_main(list(args)))


@cli.command("install-thunderbird")
@click.option(
    "--xpi",
    "xpi_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--policies",
    "policies_url",
    metavar="URL",
)
@click.option(
    "--fail-mode",
    type=click.Choice(FAIL_MODES),
)
@click.option("--json", "as_json", is_flag=True)
def install_thunderbird(
    xpi_path: Path | None,
    profiles: tuple[Path, ...],
    policies_url: str | None,
    fail_mode: str | None,
    as_json: bool,
) -> None:
    from companion.i18n import t
    from companion.thunderbird_install import enterprise_policies
    from companion.thunderbird_install import install_thunderbird as install

    if policies_url:
        click.echo(json.dumps(enterprise_policies(policies_url, fail_mode=fail_mode), indent=2))
        return
    if fail_mode:
        raise click.UsageError(t("cli_out.install-thunderbird.fail_mode_alone"))
    try:
        result = install(profiles or None, xpi_path=xpi_path)
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None
    if as_json:
        click.echo(_dump(result))
        return
    host = result["host"]
    lang = _lang()
    click.echo(
        t("cli_out.install-thunderbird.host", lang, manifest=host["manifest"], launcher=host["launcher"])
    )
    if host["registry"]:
        registry = host["registry"]
        click.echo(
            t("cli_out.install-thunderbird.registry", lang, key=registry["key"], value=registry["value"])
        )
    for entry in result["profiles"]:
        click.echo(t("cli_out.install-thunderbird.extension", lang, path=entry["extension"]))
    for note in result["notes"]:
        click.echo(t(f"install_thunderbird.{note}", lang))


@cli.command()
@click.option("--snippets", is_flag=True)
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False))
@click.argument("file", required=False)
def mask(snippets: bool, policy_path: str | None, file: str | None) -> None:
    from companion.pii import mask_text
    from companion.snippets import message_snippets, people_of

    if file is None or file == "-":
        if snippets:
            from companion.i18n import t

            raise click.UsageError(t("cli_out.mask.snippets_needs_file", _lang()))
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        sys.stdout.write(mask_text(text))
        sys.stdout.flush()
        return
    from companion.errors import MailwardenError
    from companion.parsing import parse_file

    try:
        message = parse_file(Path(file), direction="sent")
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None
    if snippets:
        engine = _engine(policy_path)
        for row in message_snippets(message, engine.check(message), engine.policy.snippets):
            click.echo(f"{row['rule']}\t{row['snippet']}")
        return
    people = people_of(message)
    texts = [message.body] + [a.text for a in message.attachments if a.text]
    click.echo("\n\n".join(mask_text(t, people=people) for t in texts if t))


@cli.command()
@click.argument("target", metavar="FILE|MESSAGE-ID")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
)
@click.option("--direction", type=click.Choice(["sent", "received"]), default="received")
@click.option("--tsa", "tsa_url", metavar="URL")
@click.option(
    "--tsa-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)
@click.option("--no-pdf", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def prove(
    target: str,
    out_dir: Path,
    direction: str,
    tsa_url: str | None,
    tsa_cert: Path | None,
    no_pdf: bool,
    as_json: bool,
) -> None:
    from companion.evidence.prove import TsaConfig, make_proof
    from companion.i18n import t

    if bool(tsa_url) != bool(tsa_cert):
        raise click.UsageError(t("cli_out.prove.tsa_pair", _lang()))
    tsa = TsaConfig(tsa_url, tsa_cert.read_bytes()) if tsa_url and tsa_cert else None
    lang = _lang()
    db = _open_db()
    try:
        files = make_proof(target, out_dir, db=db.db, lang=lang, direction=direction, tsa=tsa, pdf=not no_pdf)
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None
    finally:
        db.close()
    written = {"bundle": files.bundle, "pdf": files.pdf, "normalised": files.normalised}
    if as_json:
        click.echo(_dump({k: str(v) if v else None for k, v in written.items()}))
        return
    click.echo(t("evidence.written", lang, path=files.bundle))
    if files.pdf:
        click.echo(t("evidence.written_pdf", lang, path=files.pdf))
    if files.normalised:
        click.echo(t("evidence.written_eml", lang, path=files.normalised))


@cli.command("verify-proof")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--tsa-root",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)
@click.option("--collector-key", "collector_keys", multiple=True)
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def verify_proof(
    bundle_path: Path,
    file: Path,
    tsa_root: Path | None,
    collector_keys: tuple[str, ...],
    pdf_path: Path | None,
    as_json: bool,
) -> None:
    from companion.evidence.bundle import load_bundle, verify_bundle
    from companion.evidence.prove import checkable_bytes
    from companion.evidence.record import EvidenceRecord
    from companion.evidence.report import as_text, describe
    from companion.i18n import say

    lang = _lang()
    try:
        bundle = load_bundle(bundle_path.read_bytes())
        roots = None
        if tsa_root is not None:
            from companion.evidence.timestamp import load_certificates

            roots = load_certificates(tsa_root.read_bytes())
        record = EvidenceRecord.from_dict(bundle.get("record") or {})
        verification = verify_bundle(
            bundle, checkable_bytes(file, record), tsa_roots=roots, collector_keys=collector_keys or None
        )
    except MailwardenError as exc:
        raise click.ClickException(exc.text()) from None
    description = describe(verification, lang)
    if pdf_path is not None:
        from companion.evidence.pdf import write_pdf

        write_pdf(description, pdf_path, lang, bundle_path.name)
    if as_json:
        click.echo(
            _dump(
                {
                    "verified": verification.ok,
                    "proven_time": verification.proven_time,
                    "checks": [
                        {"check": c.key, "status": c.status, "detail": say(c.detail, lang)}
                        for c in verification.checks
                    ],
                    "proven": list(description.proven),
                    "not_proven": list(description.not_proven),
                }
            )
        )
    else:
        click.echo(as_text(description))
    sys.exit(0 if verification.ok else 1)


@cli.group()
def policy() -> None:
    pass


@policy.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_validate(file: str) -> None:
    from companion.i18n import t

    engine = _engine(file)
    p = engine.policy
    phrases = sum(len(r.phrases) for r in p.rules) + sum(len(a.phrases) for a in p.allow)
    click.echo(
        t(
            "policy.ok",
            _lang(),
            file=file,
            version=p.version,
            rules=len(p.rules) + len(p.structural),
            phrases=phrases,
        )
    )


@policy.command("show")
def policy_show() -> None:
    from companion.config import paths
    from companion.policy.loader import default_policy_text

    installed = paths().policy
    click.echo(
        installed.read_text(encoding="utf-8") if installed.is_file() else default_policy_text(), nl=False
    )


@cli.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--collector", "collector_url")
@click.option("--token")
@click.option("--color/--no-color", default=None)
@click.pass_context
def demo(
    ctx: click.Context, home: Path | None, collector_url: str | None, token: str | None, color: bool | None
) -> None:
    from companion.demo import run_demo

    if (collector_url is None) != (token is None):
        from companion.i18n import t

        raise click.UsageError(t("cli_out.demo.collector_and_token"))
    if color is not None:
        ctx.color = color  # (when the collector's demo reads this output through a pipe)
    run_demo(home, _lang(), sys.stdout.isatty() if color is None else color, collector_url, token)


def _setup_logging() -> None:
    import logging

    from companion.config import paths

    logs = paths().ensure().logs
    handler = logging.FileHandler(logs / "mailwarden.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("companion")
    if not root.handlers:
        root.addHandler(handler)
        root.setLevel(logging.INFO)


name_entries(cli, "cli")
use_catalogue_for_click()


def main() -> None:
    cli(prog_name="mailwarden")


if __name__ == "__main__":
    main()
