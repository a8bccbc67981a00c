"""The web app: thin FastAPI routes over `collector.service.Collector` (docs/protocol.md).

The process keeps nothing that matters in memory (metrics aside): run as many as you like on one
PostgreSQL behind a load balancer (docs/collector.md).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from collector.bodies import read_body
from collector.errors import CollectorError, bad_request
from collector.keys import load_audit_signer, load_policy_signer
from collector.service import MAX_BODY, Collector
from collector.storage import SqlStorage
from collector.validation import INT32_MAX, parse_json

API = "/api/v1"
log = logging.getLogger(__name__)
ENV_DB = "MAILWARDEN_COLLECTOR_DB"
ENV_KEY_FILE = "MAILWARDEN_COLLECTOR_POLICY_KEY_FILE"
ENV_AUDIT_KEY_FILE = "MAILWARDEN_COLLECTOR_AUDIT_KEY_FILE"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "mailwarden_collector_uploads_total",
            "Signed uploads answered 200",
            ["kind", "status"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "mailwarden_collector_rejections_total",
            "Requests refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mailwarden_collector_request_seconds",
            "Request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several worker processes on one host
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class TimingMiddleware:
    """Request latency by route, as plain ASGI (BaseHTTPMiddleware costs a lot per request)."""

    ROUTES = frozenset(
        {
            f"{API}/enroll",
            f"{API}/summaries",
            f"{API}/appeals",
            f"{API}/policy",
            f"{API}/decisions",
            "/healthz",
            "/metrics",
        }
    )

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # Answered here rather than by Starlette's outermost handler, which re-raises to the
            # server: uvicorn then drops the connection, sometimes before the 500 reaches the client.
            log.exception("unhandled error on %s", path)
            if started:
                raise
            self.metrics.rejected.labels("internal_error").inc()
            await error_response(500, "internal_error", "the collector failed; nothing was stored")(
                scope, receive, send
            )
        finally:
            route = path if path in self.ROUTES else "other"
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


DB_THREADS = int(os.environ.get("MAILWARDEN_COLLECTOR_DB_THREADS", "8"))


class Offload:
    """Runs the collector's blocking calls in a few threads: more threads than database connections
    that can work at once only add GIL and lock contention."""

    def __init__(self, threads: int = DB_THREADS) -> None:
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, fn: Any, *args: Any) -> Any:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)


def build_collector(
    db_url: str, key_file: str | None = None, migrate: bool = True, audit_key_file: str | None = None
) -> Collector:
    storage = SqlStorage(db_url)
    if migrate:
        storage.migrate()
    return Collector(
        storage,
        load_policy_signer(storage, key_file),
        audit_signer=load_audit_signer(storage, audit_key_file),
    )


def create_app(collector: Collector) -> FastAPI:
    app = FastAPI(title="Mailwarden collector", docs_url=None, redoc_url=None, openapi_url=None)
    metrics = Metrics()
    app.state.collector = collector
    app.state.metrics = metrics
    run_in_threadpool = Offload()

    app.add_middleware(TimingMiddleware, metrics=metrics)

    @app.exception_handler(CollectorError)
    async def _refused(_request: Request, exc: CollectorError) -> JSONResponse:
        metrics.rejected.labels(exc.code).inc()
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(404)
    async def _not_found(_request: Request, _exc: Exception) -> JSONResponse:
        metrics.rejected.labels("not_found").inc()
        return error_response(404, "not_found", "no such route")

    @app.exception_handler(405)
    async def _bad_method(_request: Request, _exc: Exception) -> JSONResponse:
        metrics.rejected.labels("method_not_allowed").inc()
        return error_response(405, "method_not_allowed", "method not allowed")

    @app.exception_handler(Exception)
    async def _crashed(_request: Request, _exc: Exception) -> JSONResponse:
        metrics.rejected.labels("internal_error").inc()
        return error_response(500, "internal_error", "the collector failed; nothing was stored")

    async def _json(request: Request) -> dict[str, Any]:
        return parse_json(await read_body(request, MAX_BODY))

    @app.post(f"{API}/enroll", status_code=201)
    async def enroll(request: Request) -> JSONResponse:
        body = await _json(request)
        answer = await run_in_threadpool(collector.enroll, body)
        metrics.accepted.labels("enroll", "accepted").inc()
        return JSONResponse(answer, status_code=201)

    @app.post(f"{API}/summaries")
    async def summaries(request: Request) -> dict[str, Any]:
        body = await _json(request)
        answer = await run_in_threadpool(collector.ingest_summary, body)
        metrics.accepted.labels("summary", answer["status"]).inc()
        return answer

    @app.post(f"{API}/appeals")
    async def appeals(request: Request) -> dict[str, Any]:
        body = await _json(request)
        answer = await run_in_threadpool(collector.ingest_appeal, body)
        metrics.accepted.labels("appeal", answer["status"]).inc()
        return answer

    def _signed(request: Request) -> dict[str, Any]:
        return collector.verify_request(
            "GET", request.url.path, request.url.query, {k.lower(): v for k, v in request.headers.items()}
        )

    @app.get(f"{API}/policy")
    async def policy(request: Request) -> Response:
        await run_in_threadpool(_signed, request)
        current = await run_in_threadpool(collector.current_policy)
        if current is None:
            return Response(status_code=204)
        return JSONResponse(current)

    @app.get(f"{API}/decisions")
    async def decisions(request: Request) -> dict[str, Any]:
        device = await run_in_threadpool(_signed, request)
        after_text = request.query_params.get("after", "0") or "0"
        try:
            after = int(after_text)
            if not 0 <= after <= INT32_MAX:
                raise ValueError
        except ValueError:
            raise bad_request(f"after must be an integer cursor from 0 to {INT32_MAX}") from None
        return await run_in_threadpool(collector.decisions_since, device["id"], after)

    # The dashboard (collector/dashboard/, a separate optional part) mounts its own routes here;
    # the ingest API works without it.
    try:
        from collector.dashboard import install as install_dashboard
    except ImportError as exc:
        install_dashboard = None
        if getattr(exc, "name", None) != "collector.dashboard":  # present but broken: say why
            log.warning("the dashboard is not available: %s", exc)
    if install_dashboard is not None:
        install_dashboard(app, collector)
        if not any(getattr(route, "path", None) == "/" for route in app.routes):
            # The address the demo and the docs give is the server root.
            @app.get("/", include_in_schema=False)
            async def _root() -> Response:
                return RedirectResponse("/dashboard", status_code=307)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory collector.app:app_from_env` (and `serve --workers N`)."""
    db = os.environ.get(ENV_DB)
    if not db:
        raise RuntimeError(f"set {ENV_DB} to the database URL")
    # The parent (`serve`) ran the migrations already; migrating again is a cheap no-op.
    return create_app(
        build_collector(
            db,
            os.environ.get(ENV_KEY_FILE) or None,
            audit_key_file=os.environ.get(ENV_AUDIT_KEY_FILE) or None,
        )
    )
