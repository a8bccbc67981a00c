"""Render the collector's dashboard in English and Simplified Chinese to
docs/screenshots/dashboard-*.png.

A real collector (SQLite in a temporary folder) is filled with signed demo summaries and appeals
(tests/dashboard_fixtures.py), served by uvicorn on 127.0.0.1 and photographed by Debian's
headless Chromium through Playwright. Nothing is fetched from the internet.

    .venv/bin/python scripts/dashboard_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
USERS = (
    ("admin", "admin", None),
    ("carol", "compliance", None),
    ("mia", "manager", "sales-east"),
    ("otto", "auditor", None),
)
LOCALES = {"en": "en-US", "zh": "zh-CN"}
# The widths the dashboard must work at: a common laptop (1366×768) and a narrow window.
VIEWPORTS = {"": {"width": 1366, "height": 768}, "-800": {"width": 800, "height": 900}}
# (user, name, page, button to click there first or None)
VIEWS = (
    ("carol", "trends", "/dashboard/trends?period=week&dimension=category", None),
    ("carol", "rates", "/dashboard/trends?period=month&dimension=rule", None),
    ("carol", "fraud", "/dashboard/trends?period=month&dimension=rule&stream=fraud", None),
    ("carol", "report", "/dashboard/report", None),
    ("carol", "events", "/dashboard/events", None),
    ("carol", "appeals", "/dashboard/appeals", None),
    ("carol", "policy", "/dashboard/policy", None),
    # One click on an upheld appeal: the next version's draft, validated, with its diff.
    ("carol", "policy-draft", "/dashboard/appeals", "form.learn button[type=submit]"),
    ("mia", "manager-events", "/dashboard/events", None),
    ("admin", "users", "/dashboard/admin/users", None),
    ("admin", "tokens", "/dashboard/admin/tokens", None),
    ("admin", "devices", "/dashboard/admin/devices", None),
    ("otto", "access-log", "/dashboard/access-log/verify", None),
)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def prepare(collector: Any) -> dict[str, Any]:
    """Users for every role, the default policy in force, and demo flags and appeals."""
    from companion.policy.loader import default_policy_text
    from tests.dashboard_fixtures import seed

    for name, role, department in USERS:
        collector.create_user(name, PASSWORD, role, department)
    collector.publish_policy(default_policy_text(), "setup")
    data = seed(collector)
    more_flags(collector)
    return data


def more_flags(collector: Any) -> None:
    """What the seed lacks: pre-send outcomes, a mail with several hits and a quoted one, fraud
    attempts in received mail (purchasing, this week)."""
    import hashlib
    from datetime import UTC, datetime, timedelta

    from tests.dashboard_fixtures import Device, event

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def hit(rule: str, category: str, mail: str, **extra: Any) -> dict[str, Any]:
        snippet = (
            "…请把货款»打到我个人账户«[账号]…"
            if rule.startswith("offbook")
            else "…we offer a »full refund« any time…"
        )
        found = {**event(rule, category, now, snippet, 0), **extra}
        found["message_hash"] = hashlib.sha256(mail.encode()).hexdigest()
        return found

    device = Device(collector, "purchasing").enroll()
    device.upload(
        [
            hit("commit.money-back", "commitment", "m1", source="presend", outcome="edited"),
            hit("commit.money-back", "commitment", "m2", source="presend", outcome="justified"),
            hit("commit.money-back", "commitment", "m3", source="presend", outcome="added_approver"),
            hit(
                "offbook.private-deal",
                "off-book",
                "m4",
                source="presend",
                outcome="blocked",
                tier="forbidden",
            ),
            hit("offbook.private-deal", "off-book", "m5", tier="forbidden"),
            hit("offbook.private-deal", "off-book", "m5", tier="forbidden"),
            hit("offbook.private-deal", "off-book", "m5", tier="forbidden", quoted=True, snippet=""),
            hit("payment.bank-change", "payment-change", "m6", direction="received", tier="info"),
            hit("payment.bank-change", "payment-change", "m7", direction="received", tier="info"),
        ]
    )


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/dashboard/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/dashboard/login'] button[type=submit]")
    page.wait_for_load_state()


def visit(
    browser: Any, base: str, contexts: dict[str, Any], user: str, path: str, click: str | None, **options: Any
) -> Any:
    """`path` as `user` (logged in once per browser context, kept in `contexts`), after a click on
    `click` there when given; `options` make the context (locale, viewport)."""
    if user not in contexts:
        contexts[user] = browser.new_context(**options)
        log_in(contexts[user].new_page(), base, user)
    page = contexts[user].pages[0]
    page.goto(base + path)
    if click is not None:
        page.click(click)
        page.wait_for_load_state()
    return page


def shoot(browser: Any, base: str, out: Path, only: set[str] | None = None) -> list[Path]:
    """Screenshots of each view (or of the views named in `only`) in both languages, at 1366 px
    (dashboard-NAME-LANG.png) and at 800 px (dashboard-NAME-LANG-800.png)."""
    written = []
    for lang, locale in LOCALES.items():
        for suffix, viewport in VIEWPORTS.items():
            contexts: dict[str, Any] = {}
            for user, name, path, click in VIEWS:
                if only is not None and name not in only:
                    continue
                page = visit(browser, base, contexts, user, path, click, locale=locale, viewport=viewport)
                target = out / f"dashboard-{name}-{lang}{suffix}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            for context in contexts.values():
                context.close()
    return written


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from tests.collector_fixtures import start_server

    out = Path(argv[1]) if len(argv) > 1 else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mw-dash-") as tmp:
        server = start_server(f"sqlite:///{tmp}/collector.db")
        try:
            data = prepare(server.collector)
            # One decided appeal, so the queue shows both states and the report a false-flag rate.
            server.collector.decide_appeal(
                data["east_appeal"], "upheld", "it said we cannot promise", "carol"
            )
            # Two earlier days in the access log, so its page shows signed day heads.
            from datetime import timedelta

            from collector.dashboard import access_log

            for days_ago in (2, 1):
                server.clock.offset = -timedelta(days=days_ago)
                access_log.append(server.collector, "carol", "compliance", "events.view", "page=0")
            server.clock.offset = timedelta(0)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    for path in shoot(browser, server.url, out):
                        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
                finally:
                    browser.close()
        finally:
            server.stop()
            server.collector.storage.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
