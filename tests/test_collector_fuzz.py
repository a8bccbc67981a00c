"""Property-based fuzzing of every ingest route and every dashboard form, on SQLite and PostgreSQL
(issue #12): arbitrary JSON, strings with lone surrogates, NUL and control characters, huge
numbers, deep nesting, invalid UTF-8. The answer is always a success or a 4xx (JSON for the API,
an HTML page for the dashboard), never a 500, and a refused request stores nothing.

Hypothesis runs derandomised and without its example database, so every run (and CI) tries the
same inputs; EXAMPLES bounds the time (about a minute for the whole file on an idle machine).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.collector_fixtures import *  # noqa: F403
from tests.collector_fixtures import Server, Workstation, obj_hash, table_counts
from tests.dashboard_fixtures import *  # noqa: F403  (fixtures)
from tests.dashboard_fixtures import Dash, csrf_of

EXAMPLES = int(os.environ.get("MAILWARDEN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- what hostile input looks like ------------------------------------------------------------------

SPECIALS = [
    "\x00",
    "\x01",
    "\x08",
    "\x1b",
    "\x7f",
    "\t",
    "\r\n",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",
    "\u0085",
    "\u2028",
    "\ufeff",
    "»",
    "«",
    "中文",
    "'",
    '"',
    "\\",
    "<script>",
    "%00",
    "&",
    "=",
    "+",
]
text = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=24),  # surrogates included
    st.lists(st.sampled_from(SPECIALS), max_size=6).map("".join),
    st.sampled_from(["", "x" * 201, "x" * 5000, "1e400", "nan", "-inf", "-1", "0", "2147483648", "1" * 25]),
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**300]),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def deep(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n if n % 2 else b"[" * n + b"]" * n


raw_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),  # lone surrogates as \\u escapes
    st.integers(20, 100_000).map(deep),
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b'{"a": NaN}',
            b'{"a": ' + b"9" * 5000 + b"}",
            b'{"a": "\xed\xa0\x80"}',
            b"\xff\xfe",
        ]
    ),
    st.binary(max_size=64),
)


def paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path in a JSON document (list indexes included)."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def mutate(data: st.DataObject, base: dict[str, Any]) -> dict[str, Any]:
    """`base` (a valid body) with one field replaced by hostile JSON, removed, or one added."""
    doc = json.loads(json.dumps(base))
    path = data.draw(st.sampled_from(list(paths(doc))))
    *parents, last = path
    holder = doc
    for key in parents:
        holder = holder[key]
    action = data.draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if action == "replace":
        holder[last] = data.draw(json_values)
    elif action == "delete":
        del holder[last]
    elif isinstance(holder, dict):
        holder[data.draw(text)] = data.draw(json_values)
    return doc


def signed(ws: Workstation, payload: dict[str, Any]) -> bytes:
    try:
        signature = ws.sign(payload)
    except (UnicodeEncodeError, ValueError):  # a lone surrogate cannot even be signed
        signature = "x" * 86
    return json.dumps({"device_id": ws.device_id, "payload": payload, "signature": signature}).encode()


# -- the ingest API -------------------------------------------------------------------------------------


def post(srv: Server, route: str, body: bytes) -> requests.Response:
    r = requests.post(
        f"{srv.url}/api/v1/{route}", data=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/json"), r.text
        assert isinstance(r.json()["error"]["code"], str) and r.json()["error"]["message"]
    return r


def assert_nothing_half_stored(before: dict[str, int], after: dict[str, int], r: requests.Response) -> None:
    if r.status_code < 400:
        return
    if r.status_code == 409 and r.json()["error"]["code"] == "sequence_conflict":
        before = {**before, "alerts": before["alerts"] + 1}  # the tamper alert IS the point
    assert after == before, r.text


@pytest.mark.parametrize("route", ["enroll", "summaries", "appeals"])
def test_arbitrary_bodies_are_answered_4xx_and_store_nothing(server, route):
    @FUZZ
    @given(body=raw_bodies)
    def run(body: bytes) -> None:
        before = table_counts(server.collector)
        r = post(server, route, body)
        assert r.status_code >= 400  # none of these can carry a valid token or signature
        assert table_counts(server.collector) == before

    run()


def test_enrolments_with_hostile_fields(server):
    token = server.collector.create_token("sales-east")["token"]
    ws = server.workstation()
    base = {"token": token, "public_key": ws.public_key, "hostname": "PC-0421", "agent_version": "0.1.0"}

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        before = table_counts(server.collector)
        r = post(server, "enroll", json.dumps(mutate(data, base)).encode())
        assert_nothing_half_stored(before, table_counts(server.collector), r)

    run()


def test_signed_summaries_with_hostile_fields(server):
    ws = server.enrolled()

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        payload = mutate(data, ws.next_summary(n_events=2))
        before = table_counts(server.collector)
        r = post(server, "summaries", signed(ws, payload))
        assert_nothing_half_stored(before, table_counts(server.collector), r)
        if r.status_code == 200 and payload["seq"] > ws.seq:  # accepted (maybe with a gap)
            ws.seq, ws.last_hash = payload["seq"], obj_hash(payload)

    run()


def test_signed_appeals_with_hostile_fields(server):
    ws = server.enrolled()
    counter = iter(range(1, 10**6))

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        base = {
            "type": "appeal",
            "schema": 1,
            "device_id": ws.device_id,
            "appeal_id": next(counter),
            "message_hash": "a" * 64,
            "rule": "commit.lowest-price",
            "reason": "the customer asked for it",
            "comment": "",
            "filed_at": "2026-11-24T10:00:00+00:00",
        }
        before = table_counts(server.collector)
        r = post(server, "appeals", signed(ws, mutate(data, base)))
        assert_nothing_half_stored(before, table_counts(server.collector), r)

    run()


# -- the dashboard ---------------------------------------------------------------------------------------

numberish = st.one_of(  # what a number field receives from someone probing it
    st.sampled_from(
        ["1e400", "nan", "inf", "-inf", "-0", "1e-400", "99999999999", "1e300", "0x10", "٣", "1_0"]
    ),
    numbers.map(str),
)
form_values = st.one_of(
    text.map(lambda s: s.encode("utf-8", "surrogatepass")), numberish.map(str.encode), st.binary(max_size=24)
)
ids = st.one_of(
    st.sampled_from(
        ["REAL", "REAL", "0", "99999", "2147483648", "100000000000000000000", "-1", "1e3", "%00"]
    ),
    text.map(lambda s: quote_from_bytes(s.encode("utf-8", "surrogatepass"), safe="")),
)

# Every POST form of the dashboard: (user, path with {id} for a row id, field -> valid choices).
FORMS: dict[str, tuple[str | None, str, dict[str, list[str]]]] = {
    "/login": (
        None,
        "/dashboard/login",
        {"username": ["carol"], "password": ["x"], "next": ["/dashboard/x"]},
    ),
    "/logout": ("carol", "/dashboard/logout", {}),
    "/appeals/{appeal_pk}/decide": (
        "carol",
        "/dashboard/appeals/{id}/decide",
        {"status": ["upheld", "rejected"], "comment": ["ok"]},
    ),
    "/appeals/{appeal_pk}/learn": ("carol", "/dashboard/appeals/{id}/learn", {"phrase": ["lowest price"]}),
    "/policy/validate": ("carol", "/dashboard/policy/validate", {"text": ['[policy]\nversion = "9"\n']}),
    "/policy/draft": ("carol", "/dashboard/policy/draft", {}),
    "/policy/publish": ("carol", "/dashboard/policy/publish", {"text": ['[policy]\nversion = "9"\n']}),
    "/admin/users": (
        "admin",
        "/dashboard/admin/users",
        {
            "username": ["nora"],
            "password": ["long enough"],
            "role": ["auditor", "manager"],
            "department": ["d"],
        },
    ),
    "/admin/users/{user_pk}": (
        "admin",
        "/dashboard/admin/users/{id}",
        {"role": ["compliance", "manager"], "department": ["d"], "disabled": ["1", "0"]},
    ),
    "/admin/tokens": (
        "admin",
        "/dashboard/admin/tokens",
        {"department": ["d"], "expires_days": ["7", "0.5"]},
    ),
    "/admin/tokens/{token_pk}/revoke": ("admin", "/dashboard/admin/tokens/{id}/revoke", {}),
    "/admin/devices/{device_id}/revoke": ("admin", "/dashboard/admin/devices/{id}/revoke", {}),
}


def test_every_post_route_of_the_dashboard_is_fuzzed():
    from collector.dashboard.routes import router

    posts = {r.path.removeprefix("/dashboard") for r in router.routes if "POST" in getattr(r, "methods", ())}
    assert posts == set(FORMS)


def encode_form(fields: list[tuple[bytes, bytes]], multipart: bool) -> tuple[bytes, str]:
    if not multipart:
        body = "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in fields)
        return body.encode("ascii"), "application/x-www-form-urlencoded"
    boundary = b"mwfuzz"
    parts = []
    for name, value in fields:
        disposition = b'form-data; name="' + name + b'"'
        if name == b"file":
            disposition += b'; filename="policy.toml"'
        parts.append(
            b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"
        )
    body = b"".join(parts) + b"--" + boundary + b"--\r\n"
    return body, "multipart/form-data; boundary=mwfuzz"


def real_id(dash: Dash, form: str) -> str:
    with dash.collector.storage.read() as tx:
        if "appeal" in form:
            return str(dash.data["west_appeal"])
        if "users" in form:
            return str(tx.get("users", {"username": "otto"})["id"])
        if "tokens" in form:
            return str(tx.select("tokens")[0]["id"])
    return dash.data["west"].device_id


def check_page(r: Any, before: dict[str, int], after: dict[str, int]) -> None:
    assert r.status_code < 500, r.text[:2000]
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("text/html"), r.text[:500]
        if r.status_code == 403:  # refusals of a logged-in user are audited
            after = {**after, "access_log": before["access_log"]}
        assert after == before, r.text[:2000]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_dashboard_forms_answer_a_page_and_store_nothing_when_refused(dash: Dash, form):
    username, path, fields = FORMS[form]
    client = dash.client(username)
    form_page = {None: "/dashboard/login", "carol": "/dashboard/policy", "admin": "/dashboard/admin/users"}
    csrf = csrf_of(client.get(form_page[username]).text)
    names = [*fields, "file"] if form == "/policy/validate" else list(fields)

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        chosen: list[tuple[bytes, bytes]] = []
        for name in names:
            value = data.draw(
                st.one_of(st.sampled_from(fields.get(name) or [""]).map(str.encode), form_values)
            )
            if data.draw(st.integers(0, 3)):  # sometimes left out
                chosen.append((name.encode(), value))
        if data.draw(
            st.integers(0, 9)
        ):  # mostly with the right token: the validation behind it is the target
            chosen.append((b"csrf", csrf.encode()))
        else:
            chosen.append((b"csrf", data.draw(form_values)))
        target = path
        if "{id}" in path:
            drawn = data.draw(ids)
            target = path.replace("{id}", real_id(dash, form) if drawn == "REAL" else drawn)
        body, content_type = encode_form(chosen, multipart=data.draw(st.booleans()))
        before = table_counts(dash.collector)
        r = client.post(target, content=body, headers={"Content-Type": content_type}, follow_redirects=False)
        check_page(r, before, table_counts(dash.collector))

    run()


PAGES = {  # GET page -> the user who may see it
    "/dashboard/login": None,
    "/dashboard/trends": "carol",
    "/dashboard/events": "mia",
    "/dashboard/appeals": "carol",
    "/dashboard/policy": "carol",
    "/dashboard/admin/users": "admin",
    "/dashboard/admin/tokens": "admin",
    "/dashboard/admin/devices": "admin",
    "/dashboard/access-log": "otto",
    "/dashboard/access-log/verify": "otto",
}
query_names = st.sampled_from(
    ["page", "department", "rule", "status", "period", "dimension", "done", "appeal"]
)


def test_dashboard_pages_take_any_query_string(dash: Dash):
    clients = {user: dash.client(user) for user in set(PAGES.values())}

    @FUZZ
    @given(
        page=st.sampled_from(sorted(PAGES)),
        query=st.lists(st.tuples(query_names | text, form_values), max_size=4),
    )
    def run(page: str, query: list[tuple[str, bytes]]) -> None:
        encoded = "&".join(
            f"{quote_from_bytes(k.encode('utf-8', 'surrogatepass'))}={quote_from_bytes(v)}" for k, v in query
        )
        before = table_counts(dash.collector)
        r = clients[PAGES[page]].get(f"{page}?{encoded}", follow_redirects=False)
        after = table_counts(dash.collector)
        if r.status_code < 400:  # a page that was shown was audited (trends, events, appeals, the log)
            after = {**after, "access_log": before["access_log"]}
        check_page(r, before, after)

    run()
