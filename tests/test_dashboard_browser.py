"""The dashboard in a real browser: Debian's headless Chromium (Playwright) against uvicorn on
127.0.0.1. Log in, see the trend chart drawn, decide an appeal, find that in the access log."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from scripts.dashboard_screenshots import VIEWPORTS, VIEWS, launch, log_in, prepare, shoot, visit
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
        and f"appeal={data['east_appeal']} · decision=upheld" in decide[0]
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
        f"dashboard-{name}-{lang}{suffix}.png"
        for name in ("trends", "appeals")
        for lang in ("en", "zh")
        for suffix in ("", "-800")
    }
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in written)


# Every view of every role, in Chinese (what shoot() shows, plus the admin pages and a bad policy).
ZH_VIEWS = (
    ("carol", "/dashboard/trends?period=week&dimension=category", None),
    ("carol", "/dashboard/trends?period=month&dimension=rule", None),
    ("carol", "/dashboard/trends?period=month&dimension=department", None),
    ("carol", "/dashboard/trends?period=week&dimension=rule&stream=fraud", None),
    ("carol", "/dashboard/trends?period=week&dimension=category&stream=received", None),
    ("carol", "/dashboard/report", None),
    ("carol", "/dashboard/report?report_lang=zh", None),
    ("mia", "/dashboard/report", None),
    ("carol", "/dashboard/events", None),
    ("carol", "/dashboard/appeals", None),
    ("carol", "/dashboard/policy", None),
    ("carol", "/dashboard/appeals", "form.learn button[type=submit]"),  # a draft with its diff
    ("mia", "/dashboard/events", None),
    ("admin", "/dashboard/admin/users", None),
    ("admin", "/dashboard/admin/tokens", None),
    ("admin", "/dashboard/admin/devices", None),
    ("otto", "/dashboard/access-log", None),
    ("otto", "/dashboard/access-log/verify", None),
)


def _page_texts(page) -> str:
    """What a reader sees: the body's text, the title, and the words inside form controls."""
    # The policy's own lines in a diff are the author's text, not the dashboard's: only its headers count.
    return page.evaluate(
        """() => {
            const body = document.body.cloneNode(true);
            body.querySelectorAll('#policy-diff span:not(.d-file)').forEach(e => e.remove());
            document.body.appendChild(body); body.hidden = false;
            const text = body.innerText; body.remove();
            return [document.title, text,
                    ...[...document.querySelectorAll('[placeholder]')].map(e => e.placeholder),
                    ...[...document.querySelectorAll('input[type=submit]')].map(e => e.value)].join('\\n');
        }"""
    )


def test_every_page_of_the_dashboard_is_chinese(served, browser):
    from tests.i18n_checks import assert_chinese

    server, data = served
    # The users' own data, shown as it is: snippets and appeal texts from the workstations, names.
    events = data["east_events"] + data["west_events"]
    user_data = [e["snippet"].replace("<", "").replace(">", "") for e in events] + [
        e["snippet"] for e in events
    ]
    user_data += ["I wrote that we cannot promise it", "a <i>quote</i> from a novel", "alert('x')", "now"]
    # the phrase learned from the appeal, and the matched phrase a manager sees
    user_data += [
        "guarantee the lowest price for the whole",
        "the lowest price for the whole",
        "lowest price",
    ]
    user_data += ["admin", "carol", "mia", "otto", "purchasing"]
    user_data += ["…we offer a »full refund« any time…", "we offer a full refund any time"]
    contexts: dict[str, object] = {}
    shown = {}
    carol = browser.new_context(locale="zh-CN")
    contexts["carol"] = carol
    log_in(carol.new_page(), server.url, "carol")
    page = carol.pages[0]
    page.goto(server.url + "/dashboard/appeals")
    row = page.locator(f"#appeal-{data['east_appeal']}")
    row.locator("textarea[name=comment]").fill("同意")
    row.locator("button[value=upheld]").click()  # an upheld appeal: its phrase can go into a draft
    page.wait_for_load_state()
    shown["carol decided an appeal"] = _page_texts(page)
    for user, path, click in ZH_VIEWS:
        page = visit(browser, server.url, contexts, user, path, click, locale="zh-CN")
        assert page.locator("html").get_attribute("lang") == "zh-CN", path
        shown[f"{user} {path}" + (f" → {click}" if click else "")] = _page_texts(page)
    # A policy that is not valid: its errors, in Chinese.
    page = contexts["carol"].pages[0]
    page.goto(server.url + "/dashboard/policy")
    page.fill("textarea[name=text]", '[policy]\nversion = "2099.1"\n\n[[rule]]\nid = "x"\ntier = "nope"\n')
    page.click('form[action$="/policy/validate"] button[type=submit]')
    page.wait_for_load_state()
    shown["carol invalid policy"] = _page_texts(page)
    assert "未知的级别" in shown["carol invalid policy"]
    for context in contexts.values():
        context.close()
    assert (
        "当前生效" in shown["carol /dashboard/appeals → form.learn button[type=submit]"]
    )  # the diff's header
    assert_chinese(shown, data=user_data)


# -- layout -----------------------------------------------------------------------------------------

# Every element inside its container (a table may be wider: it scrolls inside its .scroll box),
# the page never wider than the window, the header bar as wide as the window, and no Chinese
# word broken across lines in a cell, a button or a link of the navigation.
LAYOUT_PROBLEMS = """() => {
    const bad = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) bad.push(`page ${root.scrollWidth}px > window ${root.clientWidth}px`);
    const header = document.querySelector('header.top').getBoundingClientRect();
    if (Math.abs(header.width - root.clientWidth) > 1) bad.push(`header ${header.width}px, window ${root.clientWidth}px`);
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '');
    for (const el of document.querySelectorAll('body *')) {
        if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
        if (el.parentElement.closest('.scroll')) continue;  // may be wider: it scrolls inside its box
        const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
        if (!r.width || getComputedStyle(el).position === 'absolute') continue;
        if (r.right > p.right + 1 || r.left < p.left - 1)
            bad.push(`${name(el)} (${Math.round(r.left)}–${Math.round(r.right)}) outside ${name(el.parentElement)} (${Math.round(p.left)}–${Math.round(p.right)})`);
    }
    for (const el of document.querySelectorAll('th, td, button, nav a, label')) {
        const text = el.innerText.trim();
        if (!/[\u4e00-\u9fff]/.test(text) || /[\\s，。、；：（）·]/.test(text) || el.querySelector('*')) continue;
        const range = document.createRange();
        range.selectNodeContents(el);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) bad.push(`"${text}" broken over ${lines.size} lines in ${name(el)}`);
    }
    return bad;
}"""


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_every_page_fits_its_window_at_1366_and_800_pixels(served, browser, size):
    server, data = served
    server.collector.decide_appeal(data["east_appeal"], "upheld", "fair", "carol")  # a draft to show
    problems: dict[str, list[str]] = {}
    for locale in ("zh-CN", "en-US"):
        contexts: dict[str, object] = {}
        for user, name, path, click in VIEWS:
            page = visit(
                browser, server.url, contexts, user, path, click, locale=locale, viewport=VIEWPORTS[size]
            )
            found = page.evaluate(LAYOUT_PROBLEMS)
            if found:
                problems[f"{locale} {name}"] = found[:8]
        for context in contexts.values():
            context.close()
    assert problems == {}
