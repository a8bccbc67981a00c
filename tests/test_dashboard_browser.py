"""The dashboard in a real browser: Debian's headless Chromium (Playwright) against uvicorn on
127.0.0.1. Log in, see the trend chart drawn, decide an appeal, find that in the access log."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from scripts.dashboard_screenshots import launch, log_in, prepare, shoot
from tests.collector_fixtures import start_server
from tests.dashboard_fixtures import db_url, pg_server  # noqa: F401 (fixtures)


@pytest.fixture
def served(db_url, monkeypatch):  # noqa: F811
    import functools

    import argon2

    # Light Argon2id parameters (as in tests/dashboard_fixtures.py): the shared CPUs are slow.
    monkeypatch.setattr(
        argon2,
        "PasswordHasher",
        functools.partial(argon2.PasswordHasher, time_cost=1, memory_cost=8192, parallelism=1),
    )
    server = start_server(db_url)
    data = prepare(server.collector)
    yield server, data
    server.stop()
    server.collector.storage.dispose()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def test_log_in_see_the_chart_decide_an_appeal_and_find_it_in_the_access_log(served, browser, tmp_path):
    server, data = served
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    log_in(page, server.url, "carol")
    assert page.url.endswith("/dashboard/trends")
    cookie = next(c for c in context.cookies() if c["name"] == "mw_session")
    assert (
        cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    )  # plain HTTP on loopback
    assert page.locator("#trend-chart rect.bar").count() >= 2
    assert page.locator("#trend-chart text.tick").count() >= 12
    assert "0.0 %" in page.locator("#false-flag-rates tr", has_text="commit.lowest-price").inner_text()

    page.click("nav >> text=Appeals")
    row = page.locator(f"#appeal-{data['east_appeal']}")
    row.locator("textarea[name=comment]").fill("fair: the mail said we cannot promise it")
    row.locator("button[value=upheld]").click()
    page.wait_for_load_state()
    assert "decided: upheld" in page.locator("p.ok").inner_text()
    assert "upheld" in page.locator(f"#appeal-{data['east_appeal']}").inner_text()
    decided = next(a for a in server.collector.appeals() if a["id"] == data["east_appeal"])
    assert (decided["status"], decided["reviewer"]) == ("upheld", "carol")
    page.click("nav >> text=Trends")
    rates = page.locator("#false-flag-rates").inner_text()
    assert "14.3 %" in rates  # 1 upheld appeal of 7 flags
    context.close()

    auditor = browser.new_context(locale="en-US").new_page()
    log_in(auditor, server.url, "otto")
    log_rows = auditor.locator("#access-log tbody tr")
    texts = [log_rows.nth(i).inner_text() for i in range(log_rows.count())]
    decide = [t for t in texts if "decided an appeal" in t]
    assert (
        len(decide) == 1
        and "carol" in decide[0]
        and f"appeal={data['east_appeal']} status=upheld" in decide[0]
    )
    assert any("viewed the appeal queue" in t and "carol" in t for t in texts)
    auditor.click("text=Verify the hash chain")
    assert "Chain intact" in auditor.locator("#verify-result").inner_text()
    auditor.context.close()


def test_chinese_pages_and_screenshots(served, browser, tmp_path):
    server, _ = served
    page = browser.new_context(locale="zh-CN").new_page()
    log_in(page, server.url, "carol")
    assert page.locator("h1").inner_text() == "敏感词趋势报表"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("text=English")
    assert page.locator("h1").inner_text() == "Flag trends"
    page.context.close()
    written = shoot(browser, server.url, tmp_path, only={"trends", "appeals"})
    assert {p.name for p in written} == {
        "dashboard-trends-en.png",
        "dashboard-trends-zh.png",
        "dashboard-appeals-en.png",
        "dashboard-appeals-zh.png",
    }
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in written)
