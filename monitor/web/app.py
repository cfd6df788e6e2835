"""``create_app(settings)``: the dashboard and its read API as one ASGI app.

Every page ``/x`` has a JSON twin ``/x.json`` served by the same function: one data function per view
builds a dataclass, and the format only picks the renderer (a template, or JSON). ``/api/`` serves the
same dataclasses, documented at ``/api/openapi.json``, plus CSV of what each chart shows. Views hold no
SQL: the numbers come from ``reports.content.collect``, the PDF's own code path, and the posts behind them
from ``reports.drilldown``, which reuses the aggregation's Scope.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.web import labeling
from monitor.web.api import register_api
from monitor.web.cache import FreshCache
from monitor.web.deps import cached_overview
from monitor.web.filters import BadRequest, NotFound, parse_filters
from monitor.web.pages import register_pages
from monitor.web.render import VENDORED_UPLOT, VENDORED_UPLOT_CSS, error, make_templates, wants_json
from monitor.web.security import CSRF_COOKIE, CSRF_FIELD, HEADERS, Access, csrf_problem, csrf_value
from storage.engine import open_database, read_only_session_factory, session_factory

__all__ = ["VENDORED_UPLOT", "VENDORED_UPLOT_CSS", "WebOptions", "create_app"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebOptions:
    access: Access = Access()
    #: Aggregate the default view when the server starts, so the first visitor does not wait for it.
    warm: bool = False


def create_app(settings: Settings, options: WebOptions = WebOptions()) -> FastAPI:
    """A new app for ``settings``; the database is opened when the app starts (its lifespan), not here."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine, _ = open_database(settings.database_url)
        app.state.writers = session_factory(engine)
        app.state.readers = read_only_session_factory(engine)
        app.state.cache = FreshCache()
        app.state.label_queue = labeling.LabelQueue()
        if options.warm:
            _warm(app)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="Stance Monitor API", version="1", lifespan=lifespan, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None,  # their pages load scripts from a CDN; this app works offline
                  description="Read-only JSON over the classified posts; every route takes the dashboard's "
                              "filters. Shares are corrected for classifier error where the model's confusion "
                              "matrix allows, with 95% intervals; nulls mark periods with too few posts.")
    app.state.settings = settings
    app.state.options = options
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(packages=[("monitor.web", "static")]), name="static")
    app.middleware("http")(_guard)
    app.add_exception_handler(BadRequest, _bad_request)
    app.add_exception_handler(NotFound, _bad_request)
    app.add_exception_handler(MonitorError, _bad_request)
    register_pages(app)
    register_api(app)
    return app


def _warm(app: FastAPI) -> None:
    def run() -> None:
        try:
            with app.state.readers() as session:
                cached_overview(app, session, parse_filters({}, app.state.settings.report.freq))
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first visitor waits
            log.warning("could not pre-compute the overview", exc_info=True)

    threading.Thread(target=run, name="stance-serve-warm", daemon=True).start()


# --- requests: access, CSRF, headers, errors ---------------------------------------------------------


async def _guard(request: Request, call_next):
    started = time.perf_counter()
    access: Access = request.app.state.options.access
    csrf, new_csrf = csrf_value(request)
    request.state.csrf = csrf
    if not access.host_allowed(request):
        response: Response = error(request, 400, "this dashboard only answers requests for localhost")
    elif access.needs_token(request) and not access.authenticated(request):
        response = _unauthenticated(request)
    elif request.method == "POST" and (problem := csrf_problem(request, await _posted_csrf(request))):
        response = error(request, 403, problem)
    else:
        response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if access.token:
        response.headers.setdefault("Cache-Control", "no-store")
    if new_csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    # The server's own time for this answer, for the browser's network panel and benchmarks/dashboard.py.
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


async def _posted_csrf(request: Request) -> str | None:
    """The CSRF field of a posted form. Read from the raw body, which Starlette replays to the route (a form
    parsed here would reach the route empty); the dashboard's forms are all urlencoded."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs((await request.body()).decode("utf-8", "replace")).get(CSRF_FIELD)
    return values[0] if values else None


def _unauthenticated(request: Request) -> Response:
    if wants_json(request) or request.method != "GET":
        return JSONResponse({"error": "this needs the dashboard token (Authorization: Bearer ...)"}, 401,
                            headers={"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", 303)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return error(request, 404 if isinstance(exc, NotFound) else 400, str(exc))
