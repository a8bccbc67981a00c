"""The `mailwarden` command line. Heavy modules are imported inside commands, so `--help` and the
pre-send `check` start fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from companion import __version__
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
        raise click.ClickException(exc.message) from None


def _check_role(engine, role: str | None) -> None:
    if role is not None and role not in engine.policy.roles:
        known = ", ".join(sorted(engine.policy.roles)) or "none"
        raise click.ClickException(f"unknown role '{role}' (roles in this policy: {known})")


def _open_db():
    from companion.config import paths
    from companion.database import Database

    return Database(paths().ensure().database)


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


class MailwardenGroup(click.Group):
    """The CLI's own commands, and those other parts of the product add through the entry point
    group `mailwarden.commands` (outlook_bridge's install-outlook): listed and loaded from the
    installed metadata, so the companion never imports those packages (docs/architecture.md)."""

    def _added(self) -> dict[str, EntryPoint]:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._added()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command  # the companion's own: no metadata scan on the pre-send path
        entry = self._added().get(name)
        if entry is None:
            return None
        try:
            loaded = entry.load()
        except ImportError as exc:
            raise click.ClickException(f"the command '{name}' is not installed here ({exc})") from None
        return loaded if isinstance(loaded, click.Command) else None


@click.group(cls=MailwardenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailwarden")
def cli() -> None:
    """Mailwarden: checks mail against the company's bilingual policy before it leaves, and scans
    mailboxes for risky mail. Mailwarden 邮件风险助手：发送前按公司中英文策略检查邮件，并扫描邮箱。"""


@cli.command()
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), help="Policy file (TOML).")
@click.option("--role", help="Judge as this role (the policy's role overrides apply).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.argument("files", nargs=-1, required=True)
def check(policy_path: str | None, role: str | None, as_json: bool, files: tuple[str, ...]) -> None:
    """Check each FILE (.eml or .msg; - for stdin) as an outgoing mail.

    Exits 0 when every file was checked, whatever the verdicts; 1 when any could not be read."""
    from companion.errors import MailwardenError
    from companion.parsing import parse_eml_bytes, parse_file
    from companion.report import verdict_report

    engine = _engine(policy_path)
    _check_role(engine, role)
    lang = _lang()
    color = sys.stdout.isatty()
    failed = False
    for name in files:
        try:
            if name == "-":
                message = parse_eml_bytes(sys.stdin.buffer.read(), source="-", direction="sent")
            else:
                message = parse_file(Path(name), direction="sent")
        except MailwardenError as exc:
            failed = True
            _report_error(name, exc.message, as_json, lang)
            continue
        except Exception as exc:  # never crash on one bad file: report it and check the rest
            failed = True
            _report_error(name, f"unexpected error: {type(exc).__name__}: {exc}", as_json, lang)
            continue
        verdict = engine.check(message, role=role)
        if as_json:
            click.echo(_dump({"file": name, **verdict.to_dict(lang)}))
        else:
            click.echo(verdict_report(name, verdict, message.field_texts(), lang, color), color=color)
    sys.exit(1 if failed else 0)


def _report_error(name: str, reason: str, as_json: bool, lang: str) -> None:
    from companion.i18n import t

    if as_json:
        click.echo(_dump({"file": name, "error": reason}))
    else:
        click.echo(f"{name}: {t('error', lang)}: {reason}", err=True)


@cli.command()
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), help="Policy file (TOML).")
@click.option("--role", help="Judge sent mail as this role (default: the role in config.toml).")
@click.option(
    "--identity", "identities", multiple=True, help="An address of yours (mail from it counts as sent)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the totals as one JSON object.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def scan(
    policy_path: str | None,
    role: str | None,
    identities: tuple[str, ...],
    as_json: bool,
    paths: tuple[Path, ...],
) -> None:
    """Scan PATHs: mail files, folders of them, mbox files, maildirs, Thunderbird profiles or homes,
    Outlook .pst/.ost files. With no PATH, every store discovery finds for you (`mailwarden stores`).

    Only what is new since the last scan is read; unreadable messages are counted and logged."""
    from companion.i18n import t
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
        click.echo(f"  {t('error', lang)}: {source}: {error}", err=True)
    click.echo(t("scan.totals", lang, **totals.to_dict()))
    for rule, count in sorted(totals.by_rule.items()):
        click.echo(f"  {rule}: {count}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per store, one per line.")
def stores(as_json: bool) -> None:
    """The mail stores found for you: Thunderbird profiles, Outlook data files, configured paths."""
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
        click.echo(
            f"{store.kind:20} {state:10} {store.path}" + (f"  ({store.account})" if store.account else "")
        )


def _settings():
    from companion.config import paths
    from companion.settings import load_settings

    try:
        return load_settings(paths())
    except MailwardenError as exc:
        raise click.ClickException(exc.message) from None


def _discovered(settings):
    from companion.stores.discovery import discover_stores

    return discover_stores(settings.stores, discover=settings.discover)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per flagged message, one per line.")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many.")
def flags(as_json: bool, limit: int | None) -> None:
    """What was flagged on your mail, newest first: messages found by scans, and the warnings you
    saw before sending with what you decided."""
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
    """Run the background agent in the foreground: watch your stores, scan what changes, and answer
    the tray app and the pre-send bridges on the local API. Stops on Ctrl-C or SIGTERM."""
    from companion.agent.service import run_agent
    from companion.config import paths

    sys.exit(run_agent(paths()))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the agent's status as JSON.")
def status(as_json: bool) -> None:
    """What the agent is doing: stores, last scan, counts, errors (or that it is not running)."""
    from companion.agent.client import AgentClient
    from companion.i18n import t

    lang = _lang()
    try:
        info = AgentClient.connect().status()
    except MailwardenError as exc:
        if as_json:
            click.echo(_dump({"running": False, "error": exc.message}))
        else:
            click.echo(f"{t('agent.stopped', lang)}: {exc.message}")
        sys.exit(1)
    if as_json:
        click.echo(_dump({"running": True, **info}))
        return
    click.echo(_status_text(info, lang))


def _status_text(info: dict, lang: str) -> str:
    from companion.i18n import t

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
    state = scan.get("state", "-")
    lines.append(t("agent.scan", lang, state=state, last=scan.get("last_end") or "-"))
    for store in info.get("stores", []):
        error = f"  ! {store['last_error']}" if store.get("last_error") else ""
        lines.append(f"  {store.get('kind', ''):20} {store.get('path', '')}{error}")
    return "\n".join(lines)


@cli.command()
def stop() -> None:
    """Stop the background agent."""
    from companion.agent.client import AgentClient

    try:
        AgentClient.connect().shutdown()
    except MailwardenError as exc:
        raise click.ClickException(exc.message) from None


@cli.command()
@click.option("--collector", "collector_url", required=True, help="The collector's address (https://…).")
@click.option("--token", required=True, help="The enrolment token IT gave you (the MSI carries it).")
@click.option("--department", help="Your department, when the token does not name one.")
@click.option("--force", is_flag=True, help="Enrol again with a new device key (starts a new chain).")
def enroll(collector_url: str, token: str, department: str | None, force: bool) -> None:
    """Register this computer with the company's collector: makes a device key (kept in the OS
    credential store), registers it, and pins the collector's policy-signing key."""
    from companion.config import paths
    from companion.enroll import enroll as do_enroll

    db = _open_db()
    try:
        device = do_enroll(paths(), collector_url, token, department, db=db, force=force)
    except MailwardenError as exc:
        raise click.ClickException(exc.message) from None
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
        click.echo(
            "warning: no OS credential store works here; the device key is in a file only you can read",
            err=True,
        )


@cli.command()
def summary() -> None:
    """Print the next summary exactly as it will be sent (masked; no body, subject or address)."""
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
    """Queue the next summary and send what waits (summaries, appeals) to the collector now; then
    fetch the policy and appeal decisions. Prints what happened."""
    from companion.config import paths
    from companion.sync import sync_round

    p = paths().ensure()
    db = _open_db()
    try:
        report = sync_round(db, p, stores=_store_health())
    except MailwardenError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()
    click.echo(_dump(report))


def _store_health() -> tuple[int, int]:
    stores = _discovered(_settings())
    return len(stores), sum(1 for s in stores if not s.readable)


@cli.command("native-host", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def native_host(args: tuple[str, ...]) -> None:
    """The Thunderbird native-messaging host: answers the Mailwarden extension's checks on stdin and
    stdout (Thunderbird starts it; ARGS, the manifest path and the extension id, are only logged)."""
    from companion.native_host import main as host_main

    sys.exit(host_main(list(args)))


@cli.command("install-thunderbird")
@click.option(
    "--xpi",
    "xpi_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The extension to install (default: built from the sources into the data directory).",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A Thunderbird profile folder (repeatable; default: every profile of yours).",
)
@click.option(
    "--policies",
    "policies_url",
    metavar="URL",
    help="Install nothing: print a policies.json that force-installs the .xpi at URL for every user.",
)
@click.option(
    "--fail-mode",
    type=click.Choice(FAIL_MODES),
    help="With --policies: fix what happens when the companion cannot answer.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as one JSON object.")
def install_thunderbird(
    xpi_path: Path | None,
    profiles: tuple[Path, ...],
    policies_url: str | None,
    fail_mode: str | None,
    as_json: bool,
) -> None:
    """Set up Thunderbird for you: the native-messaging host manifest where Thunderbird looks (on
    Windows, the HKCU registry value naming it) and the Mailwarden extension in your profiles."""
    from companion.thunderbird_install import NOTES, enterprise_policies
    from companion.thunderbird_install import install_thunderbird as install

    if policies_url:
        click.echo(json.dumps(enterprise_policies(policies_url, fail_mode=fail_mode), indent=2))
        return
    if fail_mode:
        raise click.UsageError("--fail-mode goes with --policies (a user sets it in the add-on's options)")
    try:
        result = install(profiles or None, xpi_path=xpi_path)
    except MailwardenError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(_dump(result))
        return
    host = result["host"]
    click.echo(f"native host: {host['manifest']}  ({host['launcher']})")
    if host["registry"]:
        click.echo(f"registry:    {host['registry']['key']} = {host['registry']['value']}")
    for entry in result["profiles"]:
        click.echo(f"extension:   {entry['extension']}")
    lang = _lang()
    for note in result["notes"]:
        click.echo(NOTES[note][lang])


@cli.command()
def mask() -> None:
    """Read text on stdin and print it with personal data masked (phones, ID numbers, e-mail
    addresses, IBANs, payment cards)."""
    from companion.pii import mask_text

    text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    sys.stdout.write(mask_text(text))
    sys.stdout.flush()


@cli.command()
@click.argument("target", metavar="FILE|MESSAGE-ID")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Folder for the bundle (.proof.json) and its page (.proof.pdf).",
)
@click.option(
    "--direction",
    type=click.Choice(["sent", "received"]),
    default="received",
    show_default=True,
    help="For a file: sent or received mail.",
)
@click.option("--tsa", "tsa_url", metavar="URL", help="Time-stamp the record now at this RFC 3161 authority.")
@click.option(
    "--tsa-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="With --tsa: the authority's certificate chain (PEM), put in the bundle.",
)
@click.option("--no-pdf", is_flag=True, help="Write the bundle only.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as one JSON object.")
def prove(
    target: str,
    out_dir: Path,
    direction: str,
    tsa_url: str | None,
    tsa_cert: Path | None,
    no_pdf: bool,
    as_json: bool,
) -> None:
    """Make a proof bundle for a mail FILE (.eml, .msg) or a recorded MESSAGE-ID: its fingerprint,
    its record in this device's evidence chain, the proofs up to the signed roots, the time-stamps
    and the DKIM result, plus a printable page. Nothing is sent anywhere (docs/evidence.md)."""
    from companion.evidence.prove import TsaConfig, make_proof
    from companion.i18n import t

    if bool(tsa_url) != bool(tsa_cert):
        raise click.UsageError("--tsa and --tsa-cert go together")
    tsa = TsaConfig(tsa_url, tsa_cert.read_bytes()) if tsa_url and tsa_cert else None
    lang = _lang()
    db = _open_db()
    try:
        files = make_proof(target, out_dir, db=db.db, lang=lang, direction=direction, tsa=tsa, pdf=not no_pdf)
    except MailwardenError as exc:
        raise click.ClickException(exc.message) from None
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
    help="Trust only this root certificate (PEM or DER) for the time-stamps.",
)
@click.option("--collector-key", "collector_keys", multiple=True, help="Trust only this collector key.")
@click.option(
    "--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the page here."
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON object.")
def verify_proof(
    bundle_path: Path,
    file: Path,
    tsa_root: Path | None,
    collector_keys: tuple[str, ...],
    pdf_path: Path | None,
    as_json: bool,
) -> None:
    """Check a proof BUNDLE against the mail FILE, offline, and say in plain words what it proves
    and what it does not. Exits 0 when the file is the recorded message and every check present
    holds, 1 otherwise."""
    from companion.evidence.bundle import load_bundle, verify_bundle
    from companion.evidence.prove import checkable_bytes
    from companion.evidence.record import EvidenceRecord
    from companion.evidence.report import as_text, describe

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
        raise click.ClickException(exc.message) from None
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
                        {"check": c.key, "status": c.status, "detail": c.detail} for c in verification.checks
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
    """Work with policy files."""


@policy.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_validate(file: str) -> None:
    """Check a policy FILE and say what is wrong, with the line."""
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
    """Print the policy in force (the installed one, else the default)."""
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
    help="Data directory for the demo (default: a new temporary one).",
)
@click.option("--collector", "collector_url", help="Then enrol with this collector and upload to it.")
@click.option("--token", help="The enrolment token for --collector.")
@click.option("--color/--no-color", default=None, help="Colours (default: when printing to a terminal).")
@click.pass_context
def demo(
    ctx: click.Context, home: Path | None, collector_url: str | None, token: str | None, color: bool | None
) -> None:
    """Scan the demo mailbox and check the sample outgoing mails, on embedded defaults, in a
    separate data directory (your own data is never touched); with --collector and --token, also
    enrol, file an appeal and upload the signed summary. `mailwarden-collector demo` runs a demo
    collector and this command against it (make demo)."""
    from companion.demo import run_demo

    if (collector_url is None) != (token is None):
        raise click.UsageError("--collector and --token go together")
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


def main() -> None:
    cli(prog_name="mailwarden")


if __name__ == "__main__":
    main()
