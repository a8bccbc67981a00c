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

from collector.dashboard import access_log, auth, i18n
from collector.dashboard.throttle import LoginThrottle
from collector.service import Collector
from companion.i18n import say

PREFIX = "/dashboard"
HOME = {
    "admin": f"{PREFIX}/admin/users",
    "compliance": f"{PREFIX}/trends",
    "manager": f"{PREFIX}/trends",
    "auditor": f"{PREFIX}/access-log",
}
NAV = (  # (catalogue key, path, roles that see it)
    ("nav.trends", "/trends", ("compliance", "manager")),
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


class LoginRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, auth: auth.Auth | None, what: str) -> None:
        super().__init__(what)
        self.auth, self.what = auth, what


class CsrfFailed(Exception):
    pass


class BadInput(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
        **context,
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


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    return dict(form.items())


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

    def text(self, name: str, max_len: int = 10_000, strip: bool = True) -> str:
        value = self.form.get(name, "")
        if not isinstance(value, str):
            raise BadInput(f"{name} must be text")
        if len(value) > max_len:
            raise BadInput(f"{name} is longer than {max_len} characters")
        return value.strip() if strip else value


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
        message = i18n.translate(language(request), "error.bad_request", message=exc.message)
        return render(request, "error.html", None, 400, title_key="error.bad_request_title", message=message)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    app.add_exception_handler(BadInput, bad_input)
