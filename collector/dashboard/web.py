"""Request plumbing shared by the routes: language, rendering, login/role/CSRF dependencies and
the refusals (as exceptions the app turns into HTML pages).

No `from __future__ import annotations` here: FastAPI must see the dependency annotations built
inside `require`/`require_post` as objects (as strings they could not reach the closure's roles)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from collector.bodies import read_body
from collector.dashboard import access_log, auth, i18n, periods
from collector.dashboard.throttle import LoginThrottle
from collector.errors import CollectorError
from collector.service import Collector
from collector.validation import INT32_MAX, control_character, describe
from companion.i18n import say

PREFIX = "/dashboard"
FORM_LIMIT = 64 * 1024  # every form but the policy editor's: a comment of 4000 characters fits
POLICY_FORM_LIMIT = 4 * 1024 * 1024  # a policy of up to 1 MiB, percent-encoded or as a file
POLICY_FORMS = frozenset({f"{PREFIX}/policy/validate", f"{PREFIX}/policy/publish"})
MAX_PAGE = 1_000_000  # pages of a listing: offsets stay far inside what both databases bind
HOME = {
    "admin": f"{PREFIX}/admin/users",
    "compliance": f"{PREFIX}/trends",
    "manager": f"{PREFIX}/trends",
    "auditor": f"{PREFIX}/access-log",
}
NAV = (  # (catalogue key, path, roles that see it)
    ("nav.trends", "/trends", ("compliance", "manager")),
    ("nav.report", "/report", ("compliance", "manager")),
    ("nav.events", "/events", ("compliance", "manager")),
    ("nav.appeals", "/appeals", ("compliance", "manager")),
    ("nav.policy", "/policy", ("compliance",)),
    ("nav.users", "/admin/users", ("admin",)),
    ("nav.tokens", "/admin/tokens", ("admin",)),
    ("nav.devices", "/admin/devices", ("admin",)),
    ("nav.access_log", "/access-log", ("auditor",)),
)
# No scripts at all, no framing, nothing from elsewhere; inline SVG needs none of these.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold snippets: keep them out of shared and disk caches
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,  # every template, every value: a snippet with <script> stays text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def template(name: str) -> jinja2.Template:
    """A template of the dashboard's environment (autoescaped, strict)."""
    return _env.get_template(name)


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, auth: auth.Auth | None, what: str) -> None:
        super().__init__(what)
        self.auth, self.what = auth, what


class CsrfFailed(Exception):
    pass


class BadInput(Exception):
    """A refused input, shown as an error page: `key` (a catalogue entry, formatted with `values`)
    when given, else the English `message` inside the catalogue's "request was not valid"."""

    def __init__(self, message: str, status: int = 400, key: str = "", **values: object) -> None:
        super().__init__(message)
        self.message, self.status, self.key, self.values = message, status, key, values


class NotFound(Exception):
    pass


def collector_of(request: Request) -> Collector:
    return request.app.state.dashboard_collector


def login_throttle(request: Request) -> LoginThrottle:
    return request.app.state.login_throttle


def language(request: Request) -> str:
    return i18n.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def lang_url(request: Request, lang: str) -> str:
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def render(
    request: Request, template: str, user: auth.Auth | None = None, http_status: int = 200, **context: Any
) -> HTMLResponse:
    lang = language(request)

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    zones: list[Any] = []

    def when(value: Any) -> str:
        """A stored time in the company's zone, with its offset (the zone read once per page)."""
        if not zones:
            zones.append(periods.company_zone(collector_of(request).storage))
        return periods.show(value, zones[0])

    nav = [
        (t(key), PREFIX + path, request.url.path == PREFIX + path)
        for key, path, roles in NAV
        if user is not None and user.role in roles
    ]
    html = _env.get_template(template).render(
        t=t,
        describe=lambda target: i18n.describe_target(lang, target),
        say=lambda text: say(text, lang),
        lang=lang,
        user=user,
        nav=nav,
        prefix=PREFIX,
        request_path=request.url.path,
        lang_urls={code: lang_url(request, code) for code in i18n.LANGS},
        **{"when": when, **context},
    )
    response = HTMLResponse(html, status_code=http_status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in i18n.LANGS:
        set_cookie(request, response, i18n.LANG_COOKIE, lang, http_only=False, max_age=365 * 86400)
    return response


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    http_only: bool = True,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=http_only,
        samesite="lax",
        secure=auth.secure_cookie(request.url.scheme, request.url.hostname),
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- dependencies ---------------------------------------------------------------------------------


def current_user(request: Request) -> auth.Auth:
    found = auth.session_user(collector_of(request), request.cookies.get(auth.SESSION_COOKIE))
    if found is None:
        raise LoginRequired()
    return found


def form_limit(path: str) -> int:
    return POLICY_FORM_LIMIT if path in POLICY_FORMS else FORM_LIMIT


async def form_data(request: Request) -> dict[str, Any]:
    """The POSTed form, its body capped BEFORE it is read (as the API caps JSON; the login form
    too, which anyone may post), every text value held to the text-field rule."""
    limit = form_limit(request.url.path)
    try:
        body = await read_body(request, limit)
    except CollectorError as exc:
        raise BadInput(exc.message, exc.status, "error.too_large", kib=limit // 1024) from None

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except (HTTPException, MultiPartException, UnicodeDecodeError) as exc:
        raise BadInput(str(getattr(exc, "detail", None) or exc)) from None
    values = dict(form.items())
    for name, value in values.items():
        if isinstance(value, str):
            refuse_control_characters(name, value, multiline=True)
    return values


def refuse_control_characters(name: str, value: str, multiline: bool = False) -> None:
    bad = control_character(value, multiline)
    if bad is not None:
        raise BadInput(
            f"{name} holds the control character {describe(bad)}",
            400,
            "error.control_character",
            field=name,
            char=describe(bad),
        )


def clean_request(request: Request) -> None:
    """Router-wide: query strings and path segments are one-line text (NUL would break PostgreSQL
    queries, and nothing the dashboard reads there has any use for control characters)."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if isinstance(value, str):
            refuse_control_characters(name, value)


def record_id(value: str) -> int:
    """A row id from the URL; anything else (text, negative, beyond the column) is a 404."""
    if not (value.isascii() and value.isdigit() and len(value) <= 10) or int(value) > INT32_MAX:
        raise NotFound()
    return int(value)


def page_number(value: str | None) -> int:
    text = value or "0"
    if not (text.isascii() and text.isdigit() and len(text) <= 7 and int(text) <= MAX_PAGE):
        raise BadInput(f"page must be a whole number from 0 to {MAX_PAGE}", 400, "error.page", max=MAX_PAGE)
    return int(text)


def require(*roles: str) -> Callable[..., auth.Auth]:
    """Dependency: a logged-in user with one of `roles` (else login page or 403)."""

    def dependency(user: Annotated[auth.Auth, Depends(current_user)]) -> auth.Auth:
        if user.role not in roles:
            raise Forbidden(user, "role")
        return user

    return dependency


@dataclass
class Posted:
    user: auth.Auth
    form: dict[str, Any]

    def text(self, name: str, max_len: int = 10_000, strip: bool = True, multiline: bool = False) -> str:
        value = self.form.get(name, "")
        if not isinstance(value, str):
            raise BadInput(f"{name} must be text")
        if len(value) > max_len:
            raise BadInput(f"{name} is longer than {max_len} characters")
        value = value.strip() if strip else value
        if not multiline:  # form_data let line breaks through; a one-line field refuses them
            refuse_control_characters(name, value)
        return value


def require_post(*roles: str) -> Callable[..., Posted]:
    """Dependency for every POST: role as `require`, and the session's CSRF token in the form."""

    def dependency(
        user: Annotated[auth.Auth, Depends(require(*roles))],
        form: Annotated[dict[str, Any], Depends(form_data)],
    ) -> Posted:
        if not auth.same_token(user.csrf, form.get("csrf")):
            raise CsrfFailed()
        return Posted(user, form)

    return dependency


def scope_department(user: auth.Auth, requested: str | None) -> str | None:
    """The department a view is limited to: a manager's own (asking for another one is refused),
    the requested one (or all) for everyone else."""
    requested = requested or None
    if user.role == "manager":
        if not user.department:
            raise Forbidden(user, "manager without a department")  # sees nothing rather than everything
        if requested is not None and requested != user.department:
            raise Forbidden(user, f"department={requested}")
        return user.department
    return requested


def log(request: Request, user: auth.Auth, action: str, target: str = "") -> None:
    access_log.append(collector_of(request), user.username, user.role, action, target)


# -- refusals as pages ------------------------------------------------------------------------------


def install_handlers(app: Any) -> None:
    async def login_required(request: Request, _exc: Exception) -> Response:
        return redirect(f"{PREFIX}/login?{urlencode({'next': request.url.path})}")

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        if exc.auth is not None:  # refusals are part of the audit trail too
            await run_in_threadpool(
                access_log.append,
                collector_of(request),
                exc.auth.username,
                exc.auth.role,
                "denied",
                f"{request.method} {request.url.path} {exc.what}",
            )
        return render(
            request,
            "error.html",
            exc.auth,
            403,
            title_key="error.forbidden",
            message=i18n.translate(language(request), "error.forbidden_text"),
        )

    async def csrf_failed(request: Request, _exc: Exception) -> Response:
        return render(
            request,
            "error.html",
            None,
            403,
            title_key="error.forbidden",
            message=i18n.translate(language(request), "error.csrf"),
        )

    async def bad_input(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadInput)
        lang = language(request)
        if exc.key:
            message = i18n.translate(lang, exc.key, **exc.values)
        else:
            message = i18n.translate(lang, "error.bad_request", message=exc.message)
        return render(
            request, "error.html", None, exc.status, title_key="error.bad_request_title", message=message
        )

    async def not_found(request: Request, _exc: Exception) -> Response:
        message = i18n.translate(language(request), "error.not_found_text")
        return render(request, "error.html", None, 404, title_key="error.not_found", message=message)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    app.add_exception_handler(BadInput, bad_input)
    app.add_exception_handler(NotFound, not_found)
    # No route (or the wrong method) under /dashboard: a page too; elsewhere the API's JSON answer.
    for status, key in ((404, "error.not_found_text"), (405, "error.method_text")):
        api_handler = app.exception_handlers.get(status)

        async def html_or_json(
            request: Request, exc: Exception, api_handler=api_handler, status=status, key=key
        ):
            path = request.url.path
            if api_handler is not None and not (path == PREFIX or path.startswith(PREFIX + "/")):
                return await api_handler(request, exc)
            message = i18n.translate(language(request), key)
            title = "error.not_found" if status == 404 else "error.bad_request_title"
            return render(request, "error.html", None, status, title_key=title, message=message)

        app.add_exception_handler(status, html_or_json)
