"""`mailwarden demo`: the workstation's part of the main job on embedded defaults, in a data
directory of its own.

It scans a small demo mailbox (an Inbox and a Sent mbox) and checks sample outgoing mails with the
default policy, completed with the demo company's domain and finance address so the structural
rules are active too. Given a collector and an enrolment token, it then enrols this demo
workstation, files an appeal and uploads its signed summary (companion/demo/upload.py). The
collector's part lives on the collector's side: `mailwarden-collector demo` (collector/demo.py)
starts a demo collector and runs this command against it; `make demo` runs that.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

import click

DEMO_IDENTITY = "li.wei@demo-trading.example"
DEMO_FINANCE = "finance@demo-trading.example"


def data_dir() -> Path:
    return Path(str(resources.files("companion.demo").joinpath("data")))


def demo_policy_text() -> str:
    from companion.policy.loader import default_policy_text

    text = default_policy_text()
    text = text.replace("company_domains = []", 'company_domains = ["demo-trading.example"]', 1)
    text = text.replace("finance_addresses = []", f'finance_addresses = ["{DEMO_FINANCE}"]', 1)
    return text.replace('version = "', 'version = "demo-', 1)


def run_demo(
    home: Path | None, lang: str, color: bool, collector_url: str | None = None, token: str | None = None
) -> dict | None:
    from companion.config import HOME_ENV, Paths
    from companion.i18n import t
    from companion.parsing import parse_file
    from companion.policy import PolicyEngine, parse_policy
    from companion.records import Database, scans
    from companion.report import verdict_report
    from companion.scan import scan_paths

    home = home or Path(tempfile.mkdtemp(prefix="mailwarden-demo-"))
    os.environ[HOME_ENV] = str(home)  # anything below that asks for the data dir gets the demo's
    paths = Paths(home).ensure()
    paths.policy.write_text(demo_policy_text(), encoding="utf-8")
    engine = PolicyEngine(parse_policy(paths.policy.read_text(encoding="utf-8"), str(paths.policy)))
    click.echo(t("demo.home", lang, home=home))

    click.echo(click.style(t("demo.scan", lang), bold=True))
    db = Database(paths.database)
    try:
        totals = scan_paths(db, engine, [data_dir() / "mailbox"], frozenset({DEMO_IDENTITY}))
        click.echo("  " + t("scan.totals", lang, **totals.to_dict()))
        click.echo()
        click.echo(click.style(t("demo.flags", lang), bold=True))
        for item in scans.flags(db, limit=-1, offset=0)["flags"]:
            direction = t(f"direction.{item['direction']}", lang)
            click.echo(
                f"  {item['date'][:10]}  {direction}  {item['counterpart']}  «{item['subject']}»  "
                f"{t('verdict.' + item['verdict'], lang)}"
            )
            for f in item["findings"]:
                quoted = f"  ({t('quoted', lang)})" if f["quoted"] else ""
                click.echo(f"      [{t('tier.' + f['tier'], lang)}] {f['rule']}: {f['text']}{quoted}")
    finally:
        db.close()
    click.echo()
    click.echo(click.style(t("demo.check", lang), bold=True))
    for path in sorted((data_dir() / "outgoing").glob("*.eml")):
        message = parse_file(path, direction="sent")
        verdict = engine.check(message)
        click.echo(verdict_report(path.name, verdict, message.field_texts(), lang, color), color=color)
        click.echo()
    if collector_url is None or token is None:
        click.echo(click.style(t("demo.no_collector", lang), bold=True))
        return None
    from companion.demo.upload import enrol_and_upload

    return enrol_and_upload(home, collector_url, token, lang)
