"""Every bad input a 4xx, never a 500 (issue #12): one test per defect the black-box probes found,
on SQLite and PostgreSQL. The property-based sweep over every route is tests/test_collector_fuzz.py.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import quote, urlsplit

import pytest
import requests

from tests.collector_fixtures import *  # noqa: F403
from tests.collector_fixtures import Server, summary_payload, table_counts
from tests.dashboard_fixtures import *  # noqa: F403  (fixtures)
from tests.dashboard_fixtures import Dash, csrf_of

API_ROUTES = ("enroll", "summaries", "appeals")


def post_raw(srv: Server, route: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{srv.url}/api/v1/{route}", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )


def assert_refused(r: requests.Response, status: int = 400, code: str = "bad_request") -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == code
    return r.json()["error"]["message"]


# -- the ingest API ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", API_ROUTES)
@pytest.mark.parametrize("escape", [b"\\ud800", b"\\uDFFF", b"x\\udbff"])
def test_a_lone_surrogate_anywhere_is_refused_without_credentials(server, route, escape):
    before = table_counts(server.collector)
    bodies = [
        b'{"token": "' + escape + b'", "public_key": "k", "hostname": "h"}',
        b'{"device_id": "dev_x", "payload": {"reason": "' + escape + b'"}, "signature": "s"}',
        b'{"' + escape + b'": 1}',
    ]
    for body in bodies:
        assert "lone surrogate" in assert_refused(post_raw(server, route, body))
    assert table_counts(server.collector) == before


def test_a_surrogate_pair_is_one_character_and_no_reason_to_refuse(server):
    paired = b'{"device_id": "dev_x", "payload": {"a": "\\ud83d\\ude00"}, "signature": "s"}'
    assert_refused(post_raw(server, "summaries", paired), 401, "unknown_device")


def test_surrogates_in_a_signed_payload_are_refused_before_the_signature(server):
    ws = server.enrolled()
    payload = ws.next_summary()
    payload["events"][0]["snippet"] = "\ud800"
    body = (
        f'{{"device_id": "{ws.device_id}", "payload": {_ascii_json(payload)}, "signature": "x"}}'
    ).encode()
    before = table_counts(server.collector)
    assert "lone surrogate" in assert_refused(post_raw(server, "summaries", body))
    assert table_counts(server.collector) == before


def _ascii_json(obj) -> str:
    import json

    return json.dumps(obj)  # ensure_ascii: a lone surrogate becomes its \\u escape


@pytest.mark.parametrize("route", API_ROUTES)
def test_json_nested_100000_levels_is_refused(server, route):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        assert "nested" in assert_refused(post_raw(server, route, body))
    # Deep but parseable (900 levels) must not reach the encoder either.
    deep = b'{"device_id": "d", "payload": ' + b"[" * 900 + b"]" * 900 + b', "signature": "s"}'
    assert "nested" in assert_refused(post_raw(server, route, deep))


@pytest.mark.parametrize(
    "body, says",
    [
        (b'{"a": ' + b"9" * 5000 + b"}", "not valid JSON"),  # beyond Python's int-parsing limit
        (b'{"a": NaN}', "NaN is not JSON"),
        (b'{"a": -Infinity}', "Infinity is not JSON"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),  # a surrogate as raw bytes
        (b'{"a": "\xff"}', "not UTF-8"),
    ],
)
def test_numbers_and_bytes_json_cannot_hold_are_refused(server, body, says):
    assert says in assert_refused(post_raw(server, "summaries", body))


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\n"])
def test_control_characters_in_one_line_fields_are_refused_on_both_backends(server, char):
    ws = server.workstation()
    r = ws.enroll(server.collector.create_token("sales")["token"], hostname=f"PC{char}0421")
    assert f"'hostname' holds the control character U+{ord(char):04X}" in assert_refused(r)
    ws = server.enrolled()
    before = table_counts(server.collector)
    payload = ws.next_summary()
    payload["events"][1]["snippet"] = f"…we guarantee{char} the »lowest price«…"
    assert "events[1]: 'snippet' holds the control character" in assert_refused(ws.upload(payload))
    payload = ws.next_summary()
    payload["policy_version"] = f"2026{char}"
    assert "'policy_version' holds the control character" in assert_refused(ws.upload(payload))
    appeal = {
        "type": "appeal",
        "schema": 1,
        "device_id": ws.device_id,
        "appeal_id": 1,
        "message_hash": "a" * 64,
    }
    appeal |= {"rule": f"commit{char}", "reason": "r", "filed_at": "2026-11-24T10:00:00+00:00"}
    assert "'rule' holds the control character" in assert_refused(ws.post("appeals", appeal))
    assert table_counts(server.collector) == before


def test_an_appeal_reason_keeps_its_line_breaks_but_not_nul(server):
    ws = server.enrolled()
    appeal = {"type": "appeal", "schema": 1, "device_id": ws.device_id, "message_hash": "a" * 64}
    appeal |= {"rule": "commit.lowest-price", "filed_at": "2026-11-24T10:00:00+00:00"}
    r = ws.post("appeals", {**appeal, "appeal_id": 1, "reason": "line one\r\nline two\twith a tab"})
    assert r.status_code == 200, r.text
    assert server.collector.appeals()[0]["reason"] == "line one\r\nline two\twith a tab"
    r = ws.post("appeals", {**appeal, "appeal_id": 2, "reason": "NUL\x00here"})
    assert "'reason' holds the control character U+0000" in assert_refused(r)
    assert len(server.collector.appeals()) == 1


def test_dates_beyond_the_utc_range_are_refused(server):
    ws = server.enrolled()
    payload = ws.next_summary()
    payload["period"]["start"] = "0001-01-01T00:00:00+01:00"  # before datetime.min once in UTC
    assert "out of the representable range" in assert_refused(ws.upload(payload))
    payload["period"]["start"] = "9999-12-31T23:59:59-01:00"
    assert "out of the representable range" in assert_refused(ws.upload(payload))


def test_integers_beyond_the_columns_are_refused(server):
    ws = server.enrolled()
    for seq in (2**31, 10**30, -1):
        assert "'seq' must be from 1 to" in assert_refused(ws.upload(summary_payload(ws.device_id, seq, "")))
    for after in ("100000000000000000000", "-1", "1e5"):
        r = ws.signed_get("/api/v1/decisions", f"after={after}")
        assert "after must be an integer cursor" in assert_refused(r)
    r = ws.signed_get("/api/v1/decisions", "after=0", when=10**30)
    assert r.status_code in (400, 401) and r.json()["error"]["code"] in ("bad_request", "bad_signature")


# -- bodies are capped before they are read --------------------------------------------------------


def _raw_http(srv: Server, head: str, body_parts: list[bytes] = ()) -> str:
    """Send a request by hand and return the status line of the answer (10 s at most)."""
    where = urlsplit(srv.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(head.encode("ascii"))
        for part in body_parts:
            sock.sendall(part)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode("ascii")


@pytest.mark.parametrize(
    "path, status",
    [
        ("/dashboard/login", "413"),  # anyone may post it: the cap comes first
        ("/dashboard/logout", "303"),  # no session: sent to the login page, the body never read
        ("/api/v1/summaries", "413"),
    ],
)
def test_a_16_mib_body_is_refused_from_its_length_before_a_byte_is_read(server, path, status):
    # Only the headers go out: a server that read the body first would wait for it and time out.
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {16 * 1024 * 1024}\r\n\r\n"
    )
    assert _raw_http(server, head).split(" ")[1] == status


def test_a_chunked_form_is_refused_once_it_passes_the_cap(server):
    from collector.dashboard.web import FORM_LIMIT

    head = (
        "POST /dashboard/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"a" * (FORM_LIMIT // 2 + 1)
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    # Two chunks pass the cap; the third, the end of the body, is never sent.
    assert " 413 " in _raw_http(server, head, [chunk, chunk]) + " "


def test_the_login_form_and_every_form_answer_413_as_a_page(dash: Dash):
    from collector.dashboard.web import FORM_LIMIT, POLICY_FORM_LIMIT

    anonymous = dash.client()
    r = anonymous.post("/dashboard/login", data={"username": "x" * FORM_LIMIT, "password": "p", "csrf": "c"})
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert f"larger than {FORM_LIMIT // 1024} KiB" in r.text
    carol = dash.client("carol")
    csrf = csrf_of(carol.get("/dashboard/policy").text)
    big = "# " + "x" * POLICY_FORM_LIMIT
    r = carol.post("/dashboard/policy/validate", data={"csrf": csrf, "text": big})
    assert r.status_code == 413 and f"larger than {POLICY_FORM_LIMIT // 1024} KiB" in r.text
    r = carol.post("/dashboard/policy/validate", data={"csrf": csrf, "text": "x" * (FORM_LIMIT * 2)})
    assert r.status_code == 400  # under the policy editor's own cap: read, then found invalid


# -- the dashboard --------------------------------------------------------------------------------


def _html_refusal(r, status: int) -> str:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    return r.text


@pytest.mark.parametrize("page", ["100000000000000000000", "1e20", "-1", "٣", "1000001"])
def test_unbounded_page_numbers_are_refused_with_a_page(dash: Dash, page):
    carol, otto = dash.client("carol"), dash.client("otto")
    assert "The page number must be a whole number" in _html_refusal(
        carol.get(f"/dashboard/events?page={page}"), 400
    )
    _html_refusal(otto.get(f"/dashboard/access-log?page={page}"), 400)


@pytest.mark.parametrize("pk", ["100000000000000000000", "2147483648", "-5", "abc", "99999"])
def test_unbounded_or_unknown_ids_in_forms_are_404_pages(dash: Dash, pk):
    carol, admin = dash.client("carol"), dash.client("admin")
    before = table_counts(dash.collector)
    csrf = csrf_of(carol.get("/dashboard/appeals").text)
    for path in (f"/dashboard/appeals/{pk}/decide", f"/dashboard/appeals/{pk}/learn"):
        _html_refusal(carol.post(path, data={"csrf": csrf, "status": "upheld", "phrase": "p"}), 404)
    admin_csrf = csrf_of(admin.get("/dashboard/admin/users").text)
    _html_refusal(
        admin.post(f"/dashboard/admin/users/{pk}", data={"csrf": admin_csrf, "role": "auditor"}), 404
    )
    _html_refusal(admin.post(f"/dashboard/admin/tokens/{pk}/revoke", data={"csrf": admin_csrf}), 404)
    after = table_counts(dash.collector)
    assert {k: v for k, v in after.items() if k != "access_log"} == {
        k: v for k, v in before.items() if k != "access_log"
    }


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x7f"])
def test_control_characters_in_forms_and_queries_are_refused_on_both_backends(dash: Dash, char):
    carol, admin, anonymous = dash.client("carol"), dash.client("admin"), dash.client()
    before = table_counts(dash.collector)
    for path in ("/dashboard/events", "/dashboard/trends", "/dashboard/appeals"):
        assert "control character" in _html_refusal(carol.get(path, params={"department": f"x{char}"}), 400)
    csrf = csrf_of(carol.get("/dashboard/appeals").text)
    appeal = dash.data["east_appeal"]
    r = carol.post(
        f"/dashboard/appeals/{appeal}/decide", data={"csrf": csrf, "status": "upheld", "comment": char}
    )
    assert f"control character U+{ord(char):04X}" in _html_refusal(r, 400)
    login_csrf = csrf_of(anonymous.get("/dashboard/login").text)
    r = anonymous.post(
        "/dashboard/login", data={"username": f"carol{char}", "password": "x", "csrf": login_csrf}
    )
    _html_refusal(r, 400)
    admin_csrf = csrf_of(admin.get("/dashboard/admin/users").text)
    form = {"csrf": admin_csrf, "username": "new\nname", "password": "long enough", "role": "auditor"}
    _html_refusal(admin.post("/dashboard/admin/users", data=form), 400)
    _html_refusal(
        admin.post(f"/dashboard/admin/devices/dev{quote(char)}x/revoke", data={"csrf": admin_csrf}), 400
    )
    after = table_counts(dash.collector)
    assert {k: v for k, v in after.items() if k != "access_log"} == {
        k: v for k, v in before.items() if k != "access_log"
    }
    # A reviewer's comment is multi-line text: line breaks stay.
    r = carol.post(
        f"/dashboard/appeals/{appeal}/decide",
        data={"csrf": csrf, "status": "upheld", "comment": "a\r\nb"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert next(a for a in dash.collector.appeals() if a["id"] == appeal)["reviewer_comment"] == "a\r\nb"


def _visible(html: str) -> str:
    """The page's text as a reader sees it (a query string echoed in a link's href is not)."""
    return re.sub(r"<[^>]*>", "", html)


def _status_line(html: str) -> str:
    found = re.search(r'role="status">([^<]*)<', html)
    return found.group(1) if found else ""


def test_done_shows_only_messages_the_server_chose(dash: Dash):
    carol, admin = dash.client("carol"), dash.client("admin")
    forged = "Your password expired: mail it to it-help@evil.example"
    for url in (
        f"/dashboard/appeals?done={forged}",
        "/dashboard/appeals?done=appeals.decided",
        f"/dashboard/appeals?done=decided&appeal={dash.data['east_appeal']}",  # still pending
        "/dashboard/appeals?done=decided&appeal=999999",
        "/dashboard/appeals?done=decided&appeal=1e3",
    ):
        page = carol.get(url).text
        assert _status_line(page) == "" and "evil.example" not in _visible(page)
    for url in (f"/dashboard/admin/users?done={forged}", "/dashboard/admin/users?done=user_created&user=99"):
        page = admin.get(url).text
        assert _status_line(page) == "" and "evil.example" not in _visible(page)
    # The real thing: a decision names the appeal and its status as stored.
    csrf = csrf_of(carol.get("/dashboard/appeals").text)
    r = carol.post(
        f"/dashboard/appeals/{dash.data['east_appeal']}/decide",
        data={"csrf": csrf, "status": "rejected", "comment": ""},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/dashboard/appeals?done=decided&appeal={dash.data['east_appeal']}"
    assert (
        _status_line(carol.get(r.headers["location"]).text)
        == f"Appeal {dash.data['east_appeal']} decided: rejected."
    )
    # A manager of another department learns nothing from the same link.
    west = dash.data["west_appeal"]
    carol.post(f"/dashboard/appeals/{west}/decide", data={"csrf": csrf, "status": "upheld", "comment": ""})
    mia = dash.client("mia")
    assert _status_line(mia.get(f"/dashboard/appeals?done=decided&appeal={west}").text) == ""
    admin_csrf = csrf_of(admin.get("/dashboard/admin/users").text)
    form = {"csrf": admin_csrf, "username": "nora", "password": "long enough", "role": "auditor"}
    r = admin.post("/dashboard/admin/users", data=form, follow_redirects=False)
    assert _status_line(admin.get(r.headers["location"]).text) == "User nora created."


def test_the_login_page_says_failed_or_wait_only_after_a_real_attempt(dash: Dash):
    anonymous = dash.client()
    r = anonymous.get("/dashboard/login?failed=true&wait_minutes=100000")
    assert r.status_code == 200
    assert "100000" not in _visible(r.text) and "Try again" not in r.text


def test_token_validity_retention_and_ids_are_bounded(server):
    from collector.errors import CollectorError

    coll = server.collector
    for days in (float("inf"), float("nan"), 1e300, 99_999_999_999, 0, -1):
        with pytest.raises(CollectorError, match="the validity must be a number of days"):
            coll.create_token("sales", days)
    with pytest.raises(CollectorError, match="control character U\\+0000"):
        coll.create_token("sales\x00")
    for days in (float("inf"), float("nan"), 1e300, -1):
        with pytest.raises(CollectorError, match="older_than must be a number of days"):
            coll.purge(days)
    assert coll.revoke_token("²") is False and coll.revoke_token("9" * 25) is False
    with pytest.raises(CollectorError, match="control character"):
        coll.revoke_device("dev\x00")
    assert coll.create_token("sales", 0.5)["expires_at"] is not None
