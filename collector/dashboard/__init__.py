"""The collector's dashboard: server-rendered pages (Simplified Chinese and English) for admins,
compliance staff, department managers and auditors, mounted under /dashboard.

`install(app, collector)` adds the routes, the static CSS and the refusal pages to the
collector's FastAPI app. The tables come from migration 0100_dashboard.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from collector.service import Collector


def install(app: FastAPI, collector: Collector) -> None:
    if getattr(app.state, "dashboard_collector", None) is not None:
        return  # installed already (create_app and a test may both call this)
    from collector.dashboard.routes import router
    from collector.dashboard.throttle import LoginThrottle
    from collector.dashboard.web import PREFIX, install_handlers

    app.state.dashboard_collector = collector
    app.state.login_throttle = LoginThrottle()
    install_handlers(app)
    app.include_router(router)
    app.mount(
        f"{PREFIX}/static", StaticFiles(directory=Path(__file__).with_name("static")), name="dashboard-static"
    )


__all__ = ["install"]
