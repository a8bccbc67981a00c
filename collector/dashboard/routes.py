"""The dashboard's pages: thin handlers over reports, learning, policy_editor, access_log and the
Collector. Handlers are plain `def` (FastAPI runs them in its thread pool: the database is blocking)."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from collector.admin import ROLES
from collector.dashboard import (
    access_log,
    auth,
    charts,
    learning,
    masking,
    monthly,
    periods,
    policy_editor,
    report_files,
    reports,
)
from collector.dashboard.auth import Auth
from collector.dashboard.names import Names
from collector.dashboard.web import (
    HOME,
    PREFIX,
    SECURITY_HEADERS,
    BadInput,
    NotFound,
    Posted,
    clean_request,
    collector_of,
    form_data,
    language,
    log,
    login_throttle,
    page_number,
    record_id,
    redirect,
    refuse_control_characters,
    render,
    require,
    require_post,
    scope_department,
    set_cookie,
)
from collector.errors import CollectorError

router = APIRouter(prefix=PREFIX, dependencies=[Depends(clean_request)])
EVENTS_PAGE = 50
LOG_PAGE = 100
REVIEWERS = ("compliance", "manager")

Reviewer = Annotated[Auth, Depends(require(*REVIEWERS))]
Compliance = Annotated[Auth, Depends(require("compliance"))]
Admin = Annotated[Auth, Depends(require("admin"))]
Auditor = Annotated[Auth, Depends(require("auditor"))]
PostReviewer = Annotated[Posted, Depends(require_post(*REVIEWERS))]
PostCompliance = Annotated[Posted, Depends(require_post("compliance"))]
PostAdmin = Annotated[Posted, Depends(require_post("admin"))]
PostAnyone = Annotated[Posted, Depends(require_post(*ROLES))]
FormData = Annotated[dict[str, Any], Depends(form_data)]


# -- login ----------------------------------------------------------------------------------------


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    user = auth.session_user(collector_of(request), request.cookies.get(auth.SESSION_COOKIE))
    return redirect(HOME[user.role] if user else f"{PREFIX}/login")


@router.get("/login")
def login_page(request: Request) -> Response:
    return _login_page(request)


def _login_page(request: Request, failed: bool = False, wait_minutes: int = 0) -> Response:
    """The form; after a failed login the same page says so (never from the URL: a link could
    otherwise make the dashboard tell a user their login failed or that they must wait)."""
    # Login forms are protected by a double-submit token (there is no session to bind one to yet).
    token = secrets.token_urlsafe(32)
    status = 429 if wait_minutes else 401 if failed else 200
    response = render(
        request,
        "login.html",
        None,
        status,
        csrf=token,
        failed=failed,
        wait_minutes=wait_minutes,
        next=request.query_params.get("next", ""),
    )
    set_cookie(request, response, auth.LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login")
def login(request: Request, form: FormData) -> Response:
    if not auth.same_token(request.cookies.get(auth.LOGIN_CSRF_COOKIE), form.get("csrf")):
        return render(
            request, "error.html", None, 403, title_key="error.forbidden", message=_t(request, "error.csrf")
        )
    username, password = (
        v if isinstance(v := form.get(k, ""), str) else "" for k in ("username", "password")
    )
    collector = collector_of(request)
    throttle = login_throttle(request)
    address = request.client.host if request.client else ""
    wait = throttle.wait_seconds(username, address)
    if wait:
        return _login_page(request, failed=True, wait_minutes=-(-wait // 60))
    token = auth.login(collector, username, password) if username and password else None
    if token is None:
        throttle.failed(username, address)
        return _login_page(request, failed=True)
    throttle.succeeded(username)
    user = auth.session_user(collector, token)
    assert user is not None
    access_log.append(collector, user.username, user.role, "login")
    nxt = form.get("next", "")
    nxt = nxt if isinstance(nxt, str) else ""
    # Only our own pages: an absolute or protocol-relative `next` would be an open redirect.
    target = nxt if nxt.startswith(PREFIX + "/") and not nxt.startswith("//") else HOME[user.role]
    response = redirect(target)
    set_cookie(request, response, auth.SESSION_COOKIE, token, max_age=auth.SESSION_HOURS * 3600)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(request: Request, posted: PostAnyone) -> Response:
    auth.logout(collector_of(request), posted.user)
    log(request, posted.user, "logout")
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(auth.SESSION_COOKIE, path=PREFIX)
    return response


def _t(request: Request, key: str, **values: Any) -> str:
    from collector.dashboard.i18n import translate

    return translate(language(request), key, **values)


# -- compliance views ----------------------------------------------------------------------------------


def _names(request: Request) -> Names:
    """Rule and category names in the reader's language, from the policy in force."""
    current = collector_of(request).current_policy()
    return Names.from_policy(current["policy"] if current else None, language(request))


def _scope_choices(user: Auth, scope: str | None, collector: Any) -> dict[str, Any]:
    """The department filter of a page: a manager's own department, shown without a chooser."""
    if user.role == "manager":
        return {"department": user.department, "departments": []}
    return {"department": scope, "departments": reports.departments(collector)}


@router.get("/trends")
def trends(
    request: Request,
    user: Reviewer,
    period: str = "week",
    dimension: str = "category",
    department: str = "",
    stream: str = "conduct",
) -> Response:
    collector = collector_of(request)
    scope = scope_department(user, department)
    if period not in reports.PERIODS or dimension not in reports.DIMENSIONS or stream not in reports.STREAMS:
        raise BadInput(
            "period must be week or month; dimension category, rule or department; "
            "stream conduct, fraud or received"
        )
    tz = reports.zone(collector)
    trend = reports.trend(collector, period, dimension, scope, stream, tz=tz)
    names = _names(request)
    labels = {k: names.of(dimension, k) for k in trend.series}
    x_labels = [p.short for p in trend.periods]
    chart = charts.stacked_bars(
        x_labels, {labels[k]: v for k, v in trend.series.items()}, _t(request, "trends.other")
    )
    conduct_by_rule = (
        trend
        if (dimension, stream) == ("rule", "conduct")
        else reports.trend(collector, period, "rule", scope, "conduct", tz=tz)
    )
    start, end = reports.period_window(trend, tz)
    outcome_rows = collector.storage.reports.outcome_counts(start, end, scope)
    log(
        request,
        user,
        "trends.view",
        f"period={period} dimension={dimension} stream={stream} department={scope or '*'}",
    )
    return render(
        request,
        "trends.html",
        user,
        chart=chart,
        trend=trend,
        labels=labels,
        names=names,
        x_labels=x_labels,
        period=period,
        dimension=dimension,
        stream=stream,
        streams=reports.STREAMS,
        zone=tz.key,
        offset=periods.offset_text(periods.local(collector.now(), tz)),
        rates=reports.false_flag_rates(collector, conduct_by_rule, scope, tz),
        outcomes=reports.outcomes_of(outcome_rows, "rule"),
        outcomes_by_department=reports.outcomes_of(outcome_rows, "department")
        if user.role != "manager"
        else [],
        outcome_names=reports.OUTCOMES,
        percent=monthly.percent,
        hours=monthly.hours,
        **_scope_choices(user, scope, collector),
    )


@router.get("/events")
def events(
    request: Request, user: Reviewer, department: str = "", rule: str = "", page: str = "0"
) -> Response:
    collector = collector_of(request)
    scope = scope_department(user, department)
    number = page_number(page)
    rows = reports.flag_list(collector, scope, rule or None, EVENTS_PAGE + 1, number * EVENTS_PAGE)
    more, rows = len(rows) > EVENTS_PAGE, rows[:EVENTS_PAGE]
    if user.role == "manager":
        for r in rows:
            for h in r["hits"]:
                h["snippet"] = masking.manager_snippet(h["snippet"])
    ids = ",".join(str(h["id"]) for r in rows for h in r["hits"])
    log(
        request,
        user,
        "events.view",
        f"department={scope or '*'} rule={rule or '*'} page={number} events={ids}",
    )
    return render(
        request,
        "events.html",
        user,
        rows=rows,
        page=number,
        more=more,
        rule=rule,
        names=_names(request),
        **_scope_choices(user, scope, collector),
    )


# -- the monthly report --------------------------------------------------------------------------------


def _report_of(request: Request, user: Auth, month: str, department: str, lang: str) -> Any:
    collector = collector_of(request)
    scope = scope_department(user, department)
    if lang not in ("", "zh", "en"):
        raise BadInput("the report's language is zh or en")
    try:
        chosen = (
            periods.month(month) if month else reports.current(collector, "month", reports.zone(collector))
        )
    except CollectorError:
        raise BadInput(f"bad month {month!r}", 400, "error.month") from None
    return monthly.build(collector, chosen, scope, lang or language(request)), scope


@router.get("/report")
def report_page(
    request: Request, user: Reviewer, month: str = "", department: str = "", report_lang: str = ""
) -> Response:
    report, scope = _report_of(request, user, month, department, report_lang)
    log(request, user, "report.view", f"month={report.month.key} department={scope or '*'}")
    return render(
        request,
        "report.html",
        user,
        report=report,
        body=report_files.html_body(report),
        formats=report_files.FORMATS,
        report_lang=report.lang,
        **_scope_choices(user, scope, collector_of(request)),
    )


@router.get("/report/download")
def report_download(
    request: Request,
    user: Reviewer,
    month: str = "",
    department: str = "",
    report_lang: str = "",
    format: str = "pdf",
) -> Response:
    if format not in report_files.FORMATS:
        raise BadInput("the format is pdf, xlsx or html")
    report, scope = _report_of(request, user, month, department, report_lang)
    data = report_files.render(report, format)
    log(
        request,
        user,
        "report.download",
        f"month={report.month.key} department={scope or '*'} format={format} lang={report.lang}",
    )
    name = monthly.report_file_name(report, format)
    return Response(
        data,
        media_type=report_files.MEDIA_TYPES[format],
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/appeals")
def appeals(request: Request, user: Reviewer, department: str = "", status: str = "") -> Response:
    collector = collector_of(request)
    scope = scope_department(user, department)
    if status not in ("", "pending", "upheld", "rejected"):
        raise BadInput("unknown status")
    rows = reports.appeal_list(collector, scope, status or None)
    for r in rows:
        r["phrase"] = learning.suggested_phrase(r["snippet"])
        if user.role == "manager":
            r["snippet"] = masking.manager_snippet(r["snippet"])
    log(
        request,
        user,
        "appeals.view",
        f"department={scope or '*'} status={status or '*'} appeals={','.join(str(r['id']) for r in rows)}",
    )
    return render(
        request,
        "appeals.html",
        user,
        rows=rows,
        status=status,
        message=_decided_notice(request, user),
        names=_names(request),
        **_scope_choices(user, scope, collector),
    )


def _decided_notice(request: Request, user: Auth) -> str:
    """The status line after a decision: `?done=decided&appeal=N` names a code, and the text is
    the catalogue's, filled from the appeal as stored (never from the URL). Anything else, or an
    appeal this user may not see or that is still pending, shows nothing."""
    params = request.query_params
    if params.get("done") != "decided":
        return ""
    try:
        found = reports.appeal(collector_of(request), record_id(params.get("appeal", "")))
    except NotFound:
        return ""
    if found is None or found["status"] == "pending":
        return ""
    if user.role == "manager" and found["department"] != user.department:
        return ""
    return _t(request, "appeals.decided", id=found["id"], status=_t(request, "status." + found["status"]))


def _appeal_in_scope(request: Request, user: Auth, appeal_pk: int) -> dict[str, Any]:
    found = reports.appeal(collector_of(request), appeal_pk)
    if found is None:
        raise NotFound()
    scope_department(user, found["department"])  # a manager may only decide their department's appeals
    return found


@router.post("/appeals/{appeal_pk}/decide")
def decide(request: Request, appeal_pk: str, posted: PostReviewer) -> Response:
    pk = record_id(appeal_pk)
    _appeal_in_scope(request, posted.user, pk)
    status, comment = posted.text("status", 16), posted.text("comment", 4000, multiline=True)
    try:
        collector_of(request).decide_appeal(pk, status, comment, posted.user.username)
    except CollectorError as exc:
        raise BadInput(exc.message) from None
    log(request, posted.user, "appeal.decide", f"appeal={pk} status={status}")
    return redirect(f"{PREFIX}/appeals?{urlencode({'done': 'decided', 'appeal': pk})}")


@router.post("/appeals/{appeal_pk}/learn")
def learn(request: Request, appeal_pk: str, posted: PostCompliance) -> Response:
    """One click: queue the appeal's allow-phrase and open the next version's draft in the editor."""
    collector = collector_of(request)
    pk = record_id(appeal_pk)
    try:
        phrase = learning.add_allow_phrase(
            collector, pk, posted.text("phrase", 200) or None, posted.user.username
        )
        text = learning.draft(collector, posted.user.username)
    except CollectorError as exc:
        raise NotFound() if exc.status == 404 else BadInput(exc.message) from None
    log(request, posted.user, "appeal.learn", f"appeal={pk} phrase={phrase}")
    current = collector.current_policy()
    return _policy_page(
        request,
        posted.user,
        text,
        policy_editor.check(text, current["version"] if current else None),
        message=_t(request, "appeals.learned", phrase=phrase),
    )


# -- policy editor -----------------------------------------------------------------------------------


def _policy_page(
    request: Request, user: Auth, text: str = "", checked: Any = None, status: int = 200, message: str = ""
) -> Response:
    collector = collector_of(request)
    current = collector.current_policy()
    diff = None
    if checked is not None and checked.ok:
        diff = policy_editor.diff(
            current["policy"] if current else "",
            text,
            _t(request, "policy.diff.current", version=current["version"]) if current else "",
            _t(request, "policy.diff.new", version=checked.version),
        )
    return render(
        request,
        "policy.html",
        user,
        status,
        current=current,
        text=text,
        checked=checked,
        diff=diff,
        pending=learning.pending(collector),
        message=message,
    )


@router.get("/policy")
def policy(request: Request, user: Compliance) -> Response:
    return _policy_page(request, user)


async def _policy_upload(request: Request, form: FormData) -> str:
    """The text of the uploaded file, else of the text area (read here: uploads need `await`)."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(1024 * 1024 + 1)
        if len(raw) > 1024 * 1024:
            raise BadInput("the policy file is larger than 1 MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(_t(request, "policy.not_utf8")) from None
        refuse_control_characters("file", text, multiline=True)
        return policy_editor.normalise(text)
    text = form.get("text", "")
    return policy_editor.normalise(text) if isinstance(text, str) else ""


@router.post("/policy/validate")
def policy_validate(
    request: Request, posted: PostCompliance, text: Annotated[str, Depends(_policy_upload)]
) -> Response:
    current = collector_of(request).current_policy()
    checked = policy_editor.check(text, current["version"] if current else None)
    return _policy_page(request, posted.user, text, checked, 200 if checked.ok else 400)


@router.post("/policy/draft")
def policy_draft(request: Request, posted: PostCompliance) -> Response:
    collector = collector_of(request)
    current = collector.current_policy()
    if current is None:
        raise BadInput(_t(request, "policy.none"))
    try:
        text = learning.draft(collector, posted.user.username)
    except CollectorError as exc:
        raise BadInput(exc.message) from None
    return _policy_page(request, posted.user, text, policy_editor.check(text, current["version"]))


@router.post("/policy/publish")
def policy_publish(request: Request, posted: PostCompliance) -> Response:
    # Published byte for byte as shown in the diff.
    text = policy_editor.normalise(posted.text("text", 1024 * 1024, strip=False, multiline=True))
    try:
        published = policy_editor.publish(collector_of(request), text, posted.user.username)
    except CollectorError as exc:
        current = collector_of(request).current_policy()
        return _policy_page(
            request,
            posted.user,
            text,
            policy_editor.check(text, current["version"] if current else None),
            400,
            exc.message,
        )
    log(request, posted.user, "policy.publish", f"version={published['version']}")
    return _policy_page(
        request, posted.user, message=_t(request, "policy.published", version=published["version"])
    )


# -- administration -----------------------------------------------------------------------------------


def _users_page(request: Request, user: Auth, message: str = "", status: int = 200) -> Response:
    return render(
        request,
        "users.html",
        user,
        status,
        users=collector_of(request).storage.reports.users(),
        roles=ROLES,
        message=message,
    )


@router.get("/admin/users")
def users_page(request: Request, user: Admin) -> Response:
    return _users_page(request, user, _user_notice(request))


USER_NOTICES = {"user_created": "users.created", "user_updated": "users.updated"}


def _user_notice(request: Request) -> str:
    """`?done=user_created&user=N`: the catalogue's text for that code, naming user N as stored;
    an unknown code or user shows nothing (see _decided_notice)."""
    key = USER_NOTICES.get(request.query_params.get("done", ""))
    if key is None:
        return ""
    try:
        user_id = record_id(request.query_params.get("user", ""))
    except NotFound:
        return ""
    found = collector_of(request).storage.reports.user(user_id)
    return _t(request, key, name=found["username"]) if found else ""


@router.post("/admin/users")
def user_create(request: Request, posted: PostAdmin) -> Response:
    name, role = posted.text("username", 200), posted.text("role", 32)
    department = posted.text("department", 200) or None
    if role == "manager" and not department:
        return _users_page(request, posted.user, _t(request, "users.manager_needs_department"), 400)
    try:
        user_id = collector_of(request).create_user(name, posted.text("password", 1000), role, department)
    except CollectorError as exc:
        return _users_page(request, posted.user, exc.message, 400)
    log(request, posted.user, "user.create", f"user={name} role={role} department={department or ''}")
    return redirect(f"{PREFIX}/admin/users?{urlencode({'done': 'user_created', 'user': user_id})}")


@router.post("/admin/users/{user_pk}")
def user_update(request: Request, user_pk: str, posted: PostAdmin) -> Response:
    user_id = record_id(user_pk)
    role, department = posted.text("role", 32), posted.text("department", 200) or None
    disabled = posted.text("disabled", 8) == "1"
    if role not in ROLES:
        raise BadInput("unknown role")
    if role == "manager" and not department:
        return _users_page(request, posted.user, _t(request, "users.manager_needs_department"), 400)
    if user_id == posted.user.user_id and (role != "admin" or disabled):
        raise BadInput("you cannot demote or disable yourself")  # keeps at least this admin
    collector = collector_of(request)
    try:
        target = collector.update_user(user_id, role, department, disabled)
    except CollectorError as exc:
        raise NotFound() if exc.status == 404 else BadInput(exc.message) from None
    auth.end_sessions_of(collector, user_id)  # new rights take effect at once
    log(
        request,
        posted.user,
        "user.update",
        f"user={target['username']} role={role} department={department or ''} disabled={disabled}",
    )
    return redirect(f"{PREFIX}/admin/users?{urlencode({'done': 'user_updated', 'user': user_id})}")


def _tokens(request: Request) -> list[dict[str, Any]]:
    rows = collector_of(request).storage.reports.tokens()
    now = collector_of(request).now()
    for r in rows:
        r["state"] = (
            "revoked"
            if r["revoked_at"]
            else "expired"
            if r["expires_at"] and r["expires_at"] <= now
            else "active"
        )
    return rows


@router.get("/admin/tokens")
def tokens_page(request: Request, user: Admin) -> Response:
    return render(request, "tokens.html", user, tokens=_tokens(request), new=None)


@router.post("/admin/tokens")
def token_create(request: Request, posted: PostAdmin) -> Response:
    department, days = posted.text("department", 200), posted.text("expires_days", 16)
    try:
        expires = float(days) if days else None
    except ValueError:
        raise BadInput("the validity must be a number of days") from None
    if expires is not None and expires <= 0:
        raise BadInput("the validity must be a positive number of days")
    try:
        made = collector_of(request).create_token(department, expires)
    except CollectorError as exc:
        raise BadInput(exc.message) from None
    log(request, posted.user, "token.create", f"token={made['id']} department={department}")
    # Rendered, not redirected: the token is shown once and must not land in a URL or history.
    return render(request, "tokens.html", posted.user, tokens=_tokens(request), new=made)


@router.post("/admin/tokens/{token_pk}/revoke")
def token_revoke(request: Request, token_pk: str, posted: PostAdmin) -> Response:
    token_id = record_id(token_pk)
    collector = collector_of(request)
    if collector.storage.reports.token(token_id) is None:
        raise NotFound()
    collector.revoke_token(token_id)  # False when revoked already: a second click changes nothing
    log(request, posted.user, "token.revoke", f"token={token_id}")
    return redirect(f"{PREFIX}/admin/tokens")


@router.get("/admin/devices")
def devices_page(request: Request, user: Admin) -> Response:
    return render(request, "devices.html", user, devices=reports.device_list(collector_of(request)))


@router.post("/admin/devices/{device_id}/revoke")
def device_revoke(request: Request, device_id: str, posted: PostAdmin) -> Response:
    collector_of(request).revoke_device(device_id)
    log(request, posted.user, "device.revoke", f"device={device_id}")
    return redirect(f"{PREFIX}/admin/devices")


# -- audit ------------------------------------------------------------------------------------------------


def _access_log_page(request: Request, user: Auth, number: int, verification: Any, problems: Any) -> Response:
    collector = collector_of(request)
    rows = access_log.entries(collector, LOG_PAGE + 1, number * LOG_PAGE)
    return render(
        request,
        "access_log.html",
        user,
        rows=rows[:LOG_PAGE],
        more=len(rows) > LOG_PAGE,
        page=number,
        verification=verification,
        heads=access_log.signed_heads(collector)[::-1],
        head_problems=problems,
        audit_key=collector.audit_signer.public_key_b64,
    )


@router.get("/access-log")
def access_log_page(request: Request, user: Auditor, page: str = "0") -> Response:
    number = page_number(page)
    log(request, user, "access_log.view", f"page={number}")
    return _access_log_page(request, user, number, None, None)


def _download(data: Any, filename: str) -> Response:
    return Response(
        json.dumps(data, indent=2, sort_keys=True) + "\n",
        media_type="application/json",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/access-log/heads.json")
def access_log_heads(request: Request, user: Auditor) -> Response:
    heads = access_log.signed_heads(collector_of(request))
    log(request, user, "access_log.heads", "all")
    return _download(heads, "access-log-heads.json")


@router.get("/access-log/heads/{day}.json")
def access_log_head(request: Request, user: Auditor, day: str) -> Response:
    found = [h for h in access_log.signed_heads(collector_of(request)) if h["day"] == day]
    if not found:
        raise NotFound()
    log(request, user, "access_log.heads", f"day={day}")
    return _download(found[0], access_log.head_file_name(day))


@router.get("/access-log/verify")
def access_log_verify(request: Request, user: Auditor) -> Response:
    collector = collector_of(request)
    verification = access_log.verify(collector)
    problems = access_log.verify_heads(collector, access_log.signed_heads(collector))
    outcome = "ok" if verification.ok else f"broken at {verification.broken_at}"
    log(request, user, "access_log.verify", outcome + (f", {len(problems)} bad heads" if problems else ""))
    return _access_log_page(request, user, 0, verification, problems)
