"""The dashboard over HTTP (FastAPI TestClient), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from click.testing import CliRunner

from collector.dashboard import access_log, reports
from collector.dashboard.i18n import from_accept_language
from collector.dashboard.tables import access_log as access_log_table
from collector.keys import verify as verify_signature
from tests.dashboard_fixtures import *  # noqa: F403 (fixtures)
from tests.dashboard_fixtures import PASSWORD, SCRIPT_SNIPPET, csrf_of, login


def log_rows(collector) -> list[dict]:
    with collector.storage.read() as tx:
        return [
            dict(r._mapping)
            for r in tx.conn.execute(sa.select(access_log_table).order_by(access_log_table.c.seq))
        ]


# -- login, sessions, cookies ---------------------------------------------------------------------------


def test_login_sets_secure_session_cookie_and_logout_ends_it(dash):
    client = dash.client()
    assert (
        client.get("/dashboard/trends", follow_redirects=False)
        .headers["location"]
        .startswith("/dashboard/login")
    )
    bad = login(client, "carol", "wrong password")
    assert bad.status_code == 401 and "Wrong user name or password." in bad.text
    ok = login(client, "carol")
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard/trends"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("mw_session="))
    assert (
        "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=lax" in cookie
        and "Path=/dashboard" in cookie
    )
    page = client.get("/dashboard/trends")
    assert page.status_code == 200 and "carol" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    out = client.post("/dashboard/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert (
        client.get("/dashboard/trends", follow_redirects=False).status_code == 303
    )  # back to the login page
    assert [r["action"] for r in log_rows(dash.collector)][-3:] == ["login", "trends.view", "logout"]


def test_cookie_is_not_secure_on_plain_http_loopback_only(dash):
    from collector.dashboard.auth import secure_cookie

    assert not secure_cookie("http", "127.0.0.1") and not secure_cookie("http", "localhost")
    assert secure_cookie("http", "collector.example") and secure_cookie("https", "127.0.0.1")


def test_disabled_user_cannot_log_in_and_loses_sessions(dash):
    client = dash.client("admin")
    users = client.get("/dashboard/admin/users").text
    carol = dash.client("carol")
    with dash.collector.storage.read() as tx:
        carol_id = tx.get("users", {"username": "carol"})["id"]
    r = client.post(
        f"/dashboard/admin/users/{carol_id}",
        data={"csrf": csrf_of(users), "role": "compliance", "department": "", "disabled": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert carol.get("/dashboard/trends", follow_redirects=False).status_code == 303
    assert login(dash.client(), "carol").status_code == 401


# -- roles and departments -------------------------------------------------------------------------------


def test_roles_see_only_their_pages(dash):
    for user, allowed, refused in (
        (
            "admin",
            ["/dashboard/admin/users", "/dashboard/admin/tokens", "/dashboard/admin/devices"],
            ["/dashboard/events", "/dashboard/access-log", "/dashboard/policy"],
        ),
        (
            "carol",
            ["/dashboard/trends", "/dashboard/events", "/dashboard/appeals", "/dashboard/policy"],
            ["/dashboard/admin/users", "/dashboard/access-log"],
        ),
        (
            "mia",
            ["/dashboard/trends", "/dashboard/events", "/dashboard/appeals"],
            ["/dashboard/policy", "/dashboard/admin/tokens", "/dashboard/access-log"],
        ),
        (
            "otto",
            ["/dashboard/access-log", "/dashboard/access-log/verify"],
            ["/dashboard/events", "/dashboard/trends", "/dashboard/admin/devices"],
        ),
    ):
        client = dash.client(user)
        for path in allowed:
            assert client.get(path).status_code == 200, (user, path)
        for path in refused:
            r = client.get(path)
            assert r.status_code == 403 and "Forbidden" in r.text, (user, path)


def test_manager_is_limited_to_their_department_with_snippets_masked_further(dash):
    mia = dash.client("mia")
    for path in ("/dashboard/events", "/dashboard/trends", "/dashboard/appeals"):
        assert mia.get(f"{path}?department=sales-west").status_code == 403
        assert mia.get(f"{path}?department=sales-east").status_code == 200
    events = mia.get("/dashboard/events").text
    assert "sales-west" not in events and "between us" not in events
    assert "…»lowest price«…" in events and "for the whole year" not in events
    trends = mia.get("/dashboard/trends?dimension=department").text
    assert "sales-east" in trends and "sales-west" not in trends
    # Deciding another department's appeal is refused, and the refusal is in the access log.
    appeals = mia.get("/dashboard/appeals").text
    r = mia.post(
        f"/dashboard/appeals/{dash.data['west_appeal']}/decide",
        data={"csrf": csrf_of(appeals), "status": "upheld", "comment": "ok"},
    )
    assert r.status_code == 403
    assert dash.collector.appeals("pending")[-1]["id"] == dash.data["west_appeal"]
    assert log_rows(dash.collector)[-1]["action"] == "denied"
    # The compliance role sees every department with the snippet as uploaded.
    carol = dash.client("carol").get("/dashboard/events").text
    assert "sales-west" in carol and "for the whole year" in carol


# -- CSRF and escaping --------------------------------------------------------------------------------------


def test_every_post_route_refuses_a_form_without_the_csrf_token(dash):
    from collector.dashboard.routes import router

    posts = sorted({r.path for r in router.routes if "POST" in r.methods and r.path != "/dashboard/login"})
    assert len(posts) >= 11
    for user in ("admin", "carol", "mia", "otto"):
        client = dash.client(user)
        for path in posts:
            concrete = path.replace("{appeal_pk}", str(dash.data["east_appeal"])).replace("{user_id}", "1")
            concrete = concrete.replace("{token_id}", "1").replace("{device_id}", dash.data["east"].device_id)
            for data in ({}, {"csrf": "forged"}):
                r = client.post(
                    concrete, data={**data, "status": "upheld", "comment": "x"}, follow_redirects=False
                )
                assert r.status_code == 403, (user, concrete, r.status_code)
    assert all(a["status"] == "pending" for a in dash.collector.appeals())
    assert dash.collector.device_status(dash.data["east"].device_id)["revoked_at"] is None


def test_login_form_needs_its_csrf_token(dash):
    client = dash.client()
    client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"username": "carol", "password": PASSWORD, "csrf": "guess"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "mw_session" not in r.headers.get("set-cookie", "")


def test_script_in_a_snippet_is_shown_escaped(dash):
    for user in ("carol", "mia"):
        page = dash.client(user).get("/dashboard/events").text
        assert "<script>" not in page and "<b>" not in page
    page = dash.client("carol").get("/dashboard/events").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;i&gt;quote&lt;/i&gt;" in dash.client("carol").get("/dashboard/appeals").text
    assert SCRIPT_SNIPPET  # the seeded snippet really holds the tags


# -- access log -------------------------------------------------------------------------------------------


def test_each_view_of_events_or_snippets_is_logged_and_the_chain_verifies(dash):
    carol = dash.client("carol")
    carol.get("/dashboard/events?rule=commit.lowest-price")
    carol.get("/dashboard/appeals")
    dash.client("mia").get("/dashboard/events")
    rows = log_rows(dash.collector)
    views = [(r["username"], r["action"]) for r in rows if r["action"].endswith(".view")]
    assert views == [("carol", "events.view"), ("carol", "appeals.view"), ("mia", "events.view")]
    carol_events = next(r for r in rows if r["action"] == "events.view" and r["username"] == "carol")
    assert "rule=commit.lowest-price" in carol_events["target"] and "events=" in carol_events["target"]
    assert (
        next(r for r in rows if r["username"] == "mia" and r["action"] == "events.view")["role"] == "manager"
    )
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["prev_hash"] == p["hash"] for p, r in zip(rows, rows[1:], strict=False))
    result = access_log.verify(dash.collector)
    assert result.ok and result.checked == len(rows) and result.head == rows[-1]["hash"]
    otto = dash.client("otto")
    page = otto.get("/dashboard/access-log/verify").text
    assert "Chain intact" in page and "viewed flag events and snippets" in page


def test_the_database_refuses_changes_and_verification_detects_tampering(dash):
    dash.client("carol").get("/dashboard/events")
    engine = dash.collector.storage.engine
    target = log_rows(dash.collector)[1]["seq"]
    import pytest

    with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:  # append-only in the database
        conn.execute(
            sa.update(access_log_table).where(access_log_table.c.seq == target).values(username="mallory")
        )
    assert access_log.verify(dash.collector).ok
    # Someone with DDL rights removes the guard and rewrites who looked: the chain shows it.
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER access_log_no_update ON access_log"))
        else:
            conn.execute(sa.text("DROP TRIGGER access_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER access_log_no_delete"))
        conn.execute(
            sa.update(access_log_table).where(access_log_table.c.seq == target).values(username="mallory")
        )
    result = access_log.verify(dash.collector)
    assert not result.ok and result.broken_at == target and result.reason == "hash"
    page = dash.client("otto").get("/dashboard/access-log/verify").text
    assert f"Chain BROKEN at entry {target}" in page
    # Deleting a row from the middle is caught too.
    with engine.begin() as conn:
        conn.execute(sa.delete(access_log_table).where(access_log_table.c.seq == target))
    assert access_log.verify(dash.collector).reason == "missing"


def test_verify_access_log_command(dash, db_url):
    from collector.dashboard.cli_commands import verify_access_log

    dash.client("carol").get("/dashboard/events")
    head = access_log.verify(dash.collector).head
    ok = CliRunner().invoke(verify_access_log, ["--db", db_url, "--expect-head", head])
    assert ok.exit_code == 0 and "access log intact" in ok.output
    missing = CliRunner().invoke(verify_access_log, ["--db", db_url, "--expect-head", "f" * 64])
    assert missing.exit_code == 1


# -- appeals, false-flag rate, learning ---------------------------------------------------------------------


def test_deciding_an_appeal_reaches_the_workstation_and_feeds_the_false_flag_rate(dash):
    carol = dash.client("carol")
    page = carol.get("/dashboard/appeals").text
    pk = dash.data["east_appeal"]
    r = carol.post(
        f"/dashboard/appeals/{pk}/decide",
        data={"csrf": csrf_of(page), "status": "upheld", "comment": "fair: it said we cannot promise"},
    )
    assert r.status_code == 200 and "Appeal" in r.text and "decided: upheld" in r.text
    decided = next(a for a in dash.collector.appeals() if a["id"] == pk)
    assert decided["status"] == "upheld" and decided["reviewer"] == "carol"
    pulled = dash.collector.decisions_since(dash.data["east"].device_id)["decisions"]
    assert [(d["status"], d["comment"]) for d in pulled] == [("upheld", "fair: it said we cannot promise")]
    assert log_rows(dash.collector)[-2]["action"] == "appeal.decide"
    # The manager of sales-east rejects nothing of sales-west, but may decide their own (none left).
    week_trend = reports.trend(dash.collector, "week", "rule")
    rates = {r.rule: r for r in reports.false_flag_rates(dash.collector, week_trend)}
    assert (rates["commit.lowest-price"].flags, rates["commit.lowest-price"].upheld) == (7, 1)
    assert rates["offbook.private-deal"].rate == 0.0 and rates["offbook.private-deal"].appeals == 1
    trends = carol.get("/dashboard/trends").text
    row = re.search(
        r"<td title=\"commit\.lowest-price\">commit\.lowest-price</td><td class=\"num\">7</td>"
        r"<td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">0</td>"
        r"<td class=\"num rate\">([\d.]+) %",
        trends,
    )
    assert row and row.group(1) == "14.3"


def test_manager_decides_an_appeal_of_their_department(dash):
    mia = dash.client("mia")
    page = mia.get("/dashboard/appeals").text
    r = mia.post(
        f"/dashboard/appeals/{dash.data['east_appeal']}/decide",
        data={"csrf": csrf_of(page), "status": "rejected", "comment": "the flag stands"},
    )
    assert r.status_code == 200
    assert (
        next(a for a in dash.collector.appeals() if a["id"] == dash.data["east_appeal"])["status"]
        == "rejected"
    )


def test_upheld_appeals_become_allow_phrases_in_the_next_signed_policy(dash):
    import html

    from collector.dashboard import learning
    from companion.policy.loader import default_policy_text, parse_policy

    dash.collector.publish_policy(default_policy_text(), "setup")
    carol = dash.client("carol")
    east, west = dash.data["east_appeal"], dash.data["west_appeal"]
    page = carol.get("/dashboard/appeals").text
    learn = carol.post(
        f"/dashboard/appeals/{east}/learn", data={"csrf": csrf_of(page), "phrase": "lowest price"}
    )
    assert learn.status_code == 400 and learning.pending(dash.collector) == []  # only upheld appeals teach
    for pk in (east, west):
        carol.post(
            f"/dashboard/appeals/{pk}/decide", data={"csrf": csrf_of(page), "status": "upheld", "comment": ""}
        )
    page = carol.get("/dashboard/appeals").text
    # Offered: the clause around the match (never the bare match: that would switch the rule off).
    assert 'name="phrase" value="guarantee the lowest price for the whole"' in page
    carol.post(
        f"/dashboard/appeals/{east}/learn",
        data={"csrf": csrf_of(page), "phrase": "guarantee the lowest price for the whole"},
    )
    # One click on the second: the editor opens with a draft holding both, one version up.
    r = carol.post(
        f"/dashboard/appeals/{west}/learn", data={"csrf": csrf_of(page), "phrase": "keep this between us"}
    )
    assert r.status_code == 200 and "next policy version" in r.text and 'id="policy-valid"' in r.text
    added = re.findall(r'<span class="d-add">(.*?)</span>', r.text)
    assert "+version = &#34;2026.11.2&#34;" in added
    assert "+phrases = [&#34;guarantee the lowest price for the whole&#34;]" in added
    assert "+phrases = [&#34;keep this between us&#34;]" in added
    assert "keep this between us" in carol.get("/dashboard/policy").text  # listed as waiting
    text = html.unescape(re.search(r'<textarea name="text" hidden>\n(.*?)</textarea>', r.text, re.S).group(1))
    published = carol.post("/dashboard/policy/publish", data={"csrf": csrf_of(page), "text": text})
    assert published.status_code == 200 and "Policy 2026.11.2 was signed and published." in published.text
    current = dash.collector.current_policy()
    phrases = {p for a in parse_policy(current["policy"]).allow for p in a.phrases}
    assert {"guarantee the lowest price for the whole", "keep this between us"} <= phrases
    assert verify_signature(
        dash.collector.signer.public_key_b64,
        {"version": current["version"], "policy": current["policy"]},
        current["signature"],
    )
    assert learning.pending(dash.collector) == []  # done: the editor no longer lists them
    assert "waiting for the next version" not in carol.get("/dashboard/policy").text
    assert [r["action"] for r in log_rows(dash.collector)].count("appeal.learn") == 2


# -- policy editor -------------------------------------------------------------------------------------------


def test_policy_upload_validates_with_line_numbers_diffs_and_publishes_signed(dash):
    from companion.policy.loader import default_policy_text

    carol = dash.client("carol")
    page = carol.get("/dashboard/policy").text
    assert "No policy has been published yet." in page
    broken = 'version = "1"\n[policy]\nversion = "2026.12.1"\n[[rule]]\nid = "x"\ntier = "sometimes"\n'
    r = carol.post(
        "/dashboard/policy/validate",
        data={"csrf": csrf_of(page)},
        files={"file": ("policy.toml", broken.encode(), "application/toml")},
    )
    assert r.status_code == 400 and "The policy is not valid:" in r.text and "line" in r.text
    bad_toml = "[policy\nversion = 1\n"
    r = carol.post("/dashboard/policy/validate", data={"csrf": csrf_of(page), "text": bad_toml})
    assert r.status_code == 400 and "line 1" in r.text
    text = default_policy_text()
    r = carol.post(
        "/dashboard/policy/validate",
        data={"csrf": csrf_of(page)},
        files={"file": ("policy.toml", text.encode(), "application/toml")},
    )
    assert r.status_code == 200 and 'id="policy-valid"' in r.text and "Valid policy 2026.11.1" in r.text
    r = carol.post("/dashboard/policy/publish", data={"csrf": csrf_of(page), "text": text})
    assert "Policy 2026.11.1 was signed and published." in r.text
    current = dash.collector.current_policy()
    assert current["policy"] == text and current["published_at"]
    assert verify_signature(
        dash.collector.signer.public_key_b64,
        {"version": current["version"], "policy": current["policy"]},
        current["signature"],
    )
    # The next version: only the changed lines show in the diff; an old version is refused.
    newer = text.replace('version = "2026.11.1"', 'version = "2026.12.1"').replace(
        '"最低价", ', '"最低价", "史低价", ', 1
    )
    r = carol.post("/dashboard/policy/validate", data={"csrf": csrf_of(page), "text": newer})
    diff = re.search(r'<pre class="diff" id="policy-diff">(.*?)</pre>', r.text, re.S).group(1)
    added = re.findall(r'<span class="d-add">(.*?)</span>', diff)
    assert added == [
        "+version = &#34;2026.12.1&#34;",
        "+  &#34;最低价&#34;, &#34;史低价&#34;, &#34;最低价格&#34;, &#34;全网最低&#34;, &#34;保证最低&#34;, &#34;价格最低&#34;,",
    ]
    r = carol.post("/dashboard/policy/validate", data={"csrf": csrf_of(page), "text": text})
    assert r.status_code == 400 and "not newer than 2026.11.1" in r.text
    r = carol.post("/dashboard/policy/publish", data={"csrf": csrf_of(page), "text": text})
    assert r.status_code == 400 and dash.collector.current_policy()["version"] == "2026.11.1"


# -- reports --------------------------------------------------------------------------------------------------


def test_trend_buckets_match_calendar_weeks_and_months_in_the_company_zone(dash):
    events = dash.data["east_events"] + dash.data["west_events"]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from collector.dashboard import periods

    for zone in ("Asia/Shanghai", "America/New_York"):
        periods.set_company_zone(dash.collector.storage, zone)
        for kind in ("week", "month"):
            trend = reports.trend(dash.collector, kind, "rule")
            expected: dict[str, list[int]] = {}
            for e in events:
                local_day = datetime.fromisoformat(e["at"]).astimezone(ZoneInfo(zone)).date()
                found = periods.period_of(local_day, kind)
                if found in trend.periods:
                    expected.setdefault(e["rule"], [0] * len(trend.periods))[trend.periods.index(found)] += 1
            assert trend.series == dict(sorted(expected.items(), key=lambda kv: (-sum(kv[1]), kv[0])))
            assert trend.total == len(events)
            assert all(p.start.weekday() == 0 if kind == "week" else p.start.day == 1 for p in trend.periods)
    east = reports.trend(dash.collector, "month", "department", "sales-east")
    assert list(east.series) == ["sales-east"]


def test_trend_page_draws_an_svg_chart(dash):
    page = dash.client("carol").get("/dashboard/trends?period=month&dimension=category").text
    svg = re.search(r'<svg id="trend-chart".*?</svg>', page, re.S).group(0)
    assert len(re.findall(r'<rect class="bar"', svg)) >= 2 and "<title>commitment" in svg
    assert "No flags in these periods." not in svg


# -- administration -------------------------------------------------------------------------------------------


def test_admin_manages_users_tokens_and_devices(dash):
    admin = dash.client("admin")
    page = admin.get("/dashboard/admin/users").text
    r = admin.post(
        "/dashboard/admin/users",
        data={
            "csrf": csrf_of(page),
            "username": "max",
            "password": "short",
            "role": "auditor",
            "department": "",
        },
    )
    assert r.status_code == 400 and "at least 8 characters" in r.text
    r = admin.post(
        "/dashboard/admin/users",
        data={
            "csrf": csrf_of(page),
            "username": "max",
            "password": PASSWORD,
            "role": "manager",
            "department": "",
        },
    )
    assert r.status_code == 400 and "needs a department" in r.text
    r = admin.post(
        "/dashboard/admin/users",
        data={
            "csrf": csrf_of(page),
            "username": "max",
            "password": PASSWORD,
            "role": "manager",
            "department": "sales-west",
        },
    )
    assert r.status_code == 200 and "User max created." in r.text
    max_client = dash.client("max")
    assert "between us" in max_client.get("/dashboard/events").text  # sales-west's masked match
    tokens = admin.get("/dashboard/admin/tokens").text
    r = admin.post(
        "/dashboard/admin/tokens",
        data={"csrf": csrf_of(tokens), "department": "finance", "expires_days": "7"},
    )
    token = re.search(r'<pre class="token" id="new-token">(mwt_[^<]+)</pre>', r.text).group(1)
    with dash.collector.storage.read() as tx:
        token_id = max(t["id"] for t in tx.select("tokens"))
    assert "finance" in r.text and "shown only once" in r.text
    assert token not in admin.get("/dashboard/admin/tokens").text  # stored hashed, never shown again
    admin.post(f"/dashboard/admin/tokens/{token_id}/revoke", data={"csrf": csrf_of(tokens)})
    assert "revoked" in admin.get("/dashboard/admin/tokens").text
    devices = admin.get("/dashboard/admin/devices").text
    assert dash.data["east"].device_id in devices and "intact" in devices
    device = dash.data["west"].device_id
    admin.post(f"/dashboard/admin/devices/{device}/revoke", data={"csrf": csrf_of(devices)})
    assert dash.collector.device_status(device)["revoked_at"] is not None
    actions = [r["action"] for r in log_rows(dash.collector)]
    assert {"user.create", "token.create", "token.revoke", "device.revoke"} <= set(actions)


def test_admin_cannot_lock_themselves_out(dash):
    admin = dash.client("admin")
    page = admin.get("/dashboard/admin/users").text
    with dash.collector.storage.read() as tx:
        own = tx.get("users", {"username": "admin"})["id"]
    r = admin.post(
        f"/dashboard/admin/users/{own}", data={"csrf": csrf_of(page), "role": "auditor", "department": ""}
    )
    assert r.status_code == 400 and admin.get("/dashboard/admin/users").status_code == 200


# -- language ---------------------------------------------------------------------------------------------------


def test_language_follows_the_browser_and_the_switch(dash):
    zh = dash.client("carol", lang="zh-CN,zh;q=0.9,en;q=0.8")
    page = zh.get("/dashboard/trends").text
    assert "敏感词趋势报表" in page and "各规则误报率" in page and 'lang="zh-CN"' in page
    switched = zh.get("/dashboard/trends?lang=en")
    assert "Flag trends" in switched.text and "mw_lang=en" in switched.headers["set-cookie"]
    assert "Flag events" in zh.get("/dashboard/events").text  # the cookie now wins over the header
    en = dash.client("otto", lang="en-US,en;q=0.9")
    assert "Access log" in en.get("/dashboard/access-log").text
    assert "访问日志" in en.get("/dashboard/access-log?lang=zh").text
    assert login(dash.client(lang="zh"), "carol", "nope").text.count("用户名或密码错误") == 1


def test_accept_language_parsing():
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert from_accept_language("en-US,en;q=0.9,zh;q=0.5") == "en"
    assert from_accept_language("de;q=0.5,zh-TW;q=0.8") == "zh"
    assert from_accept_language("zh;q=0, en") == "en"
    assert from_accept_language(None) == "en" and from_accept_language("") == "en"


def test_manager_without_a_department_sees_nothing(dash):
    dash.collector.create_user("nemo", PASSWORD, "manager", None)
    nemo = dash.client("nemo")
    for path in ("/dashboard/events", "/dashboard/trends", "/dashboard/appeals"):
        assert nemo.get(path).status_code == 403


def test_dashboard_migration_goes_down_and_up_again(dash):
    from alembic import command

    from collector.migrations.runner import alembic_config, current

    engine = dash.collector.storage.engine
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        conn.commit()
        assert not {"access_log", "access_log_heads"} & set(sa.inspect(conn).get_table_names())
        assert "outcome" not in {c["name"] for c in sa.inspect(conn).get_columns("events")}
    dash.collector.storage.migrate()
    assert current(engine) == "0102"
    access_log.append(dash.collector, "otto", "auditor", "access_log.view")
    assert access_log.verify(dash.collector).ok


def test_concurrent_appends_keep_one_linear_chain(dash):
    from concurrent.futures import ThreadPoolExecutor

    def write(n: int) -> None:
        for i in range(15):
            access_log.append(dash.collector, f"user{n}", "compliance", "events.view", f"page={i}")

    before = len(log_rows(dash.collector))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    result = access_log.verify(dash.collector)
    assert result.ok and result.checked == before + 60


def test_an_appeal_shows_the_snippet_of_its_own_device_only(dash):
    """The same mail flagged in two departments has one message hash; the reviewer of one
    department's appeal must see that department's snippet, never the other's."""
    from tests.dashboard_fixtures import Device, event

    now = datetime.now(UTC)
    elsewhere = Device(dash.collector, "finance").enroll()
    shared = event(
        "commit.lowest-price", "commitment", now, "…FINANCE ONLY: the »lowest price« for Acme…", 500
    )
    elsewhere.upload([shared])  # stored first
    mine = Device(dash.collector, "sales-north").enroll()
    mine.upload([{**shared, "snippet": "…north: we cannot promise the »lowest price«…"}])
    pk = mine.appeal(shared["message_hash"], "commit.lowest-price")
    [row] = [r for r in reports.appeal_list(dash.collector, department="sales-north") if r["id"] == pk]
    assert row["snippet"] == "…north: we cannot promise the »lowest price«…"


def test_an_unknown_user_costs_one_password_verification_like_a_known_one(dash, monkeypatch):
    """Timing must not tell which usernames exist."""
    from argon2 import PasswordHasher

    PasswordHasher = getattr(
        PasswordHasher, "func", PasswordHasher
    )  # the fixture makes hashing cheap with a partial
    verified = []
    real = PasswordHasher.verify

    def counting(self, hashed, password):
        verified.append(hashed)
        return real(self, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    assert dash.collector.check_password("nobody", PASSWORD) is None
    assert dash.collector.check_password("carol", "wrong password") is None
    assert dash.collector.check_password("carol", PASSWORD)["username"] == "carol"
    assert len(verified) == 3 and verified[0] not in verified[1:]


def test_guessing_passwords_is_stopped_after_five_failures(dash):
    client = dash.client(lang="zh")
    for _ in range(5):
        assert login(client, "carol", "guess").status_code == 401
    stopped = login(client, "carol")  # even the right password, until the window has passed
    assert stopped.status_code == 429 and "登录失败次数过多，请 15 分钟后再试。" in stopped.text
    assert dash.client("mia").get("/dashboard/events").status_code == 200  # another user is not locked out


def test_login_throttle_counts_per_user_and_per_address_within_the_window():
    from collector.dashboard.throttle import ADDRESS_FAILURES, USER_FAILURES, WINDOW_SECONDS, LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(USER_FAILURES - 1):
        throttle.failed("Carol", "10.0.0.1")
    assert throttle.wait_seconds("carol", "10.0.0.1") == 0
    throttle.failed("carol", "10.0.0.1")
    assert throttle.wait_seconds("CAROL", "10.0.0.9") == WINDOW_SECONDS + 1  # the user name, from anywhere
    now[0] += WINDOW_SECONDS
    assert throttle.wait_seconds("carol", "10.0.0.1") == 0  # the window has passed
    for i in range(ADDRESS_FAILURES):
        throttle.failed(f"user{i}", "10.0.0.2")  # many names from one address
    assert throttle.wait_seconds("someone-else", "10.0.0.2") > 0
    assert throttle.wait_seconds("someone-else", "10.0.0.3") == 0
    for _ in range(USER_FAILURES):
        throttle.failed("dave", "10.0.0.4")
    assert throttle.wait_seconds("dave", "10.0.0.5") > 0
    throttle.succeeded("Dave")  # (an administrator reset the password and dave logged in elsewhere)
    assert throttle.wait_seconds("dave", "10.0.0.5") == 0


def test_login_throttle_forgets_names_tried_long_ago(monkeypatch):
    from collector.dashboard import throttle as throttle_module

    monkeypatch.setattr(throttle_module, "MAX_KEYS", 10)
    now = [0.0]
    throttle = throttle_module.LoginThrottle(clock=lambda: now[0])
    for i in range(20):
        throttle.failed(f"spray{i}", "10.0.0.1")
    now[0] += throttle_module.WINDOW_SECONDS
    throttle.failed("late", "10.0.0.2")
    assert sorted(throttle._failures) == ["addr:10.0.0.2", "user:late"]
