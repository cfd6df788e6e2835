"""``create_app(settings)``: the dashboard and its read API as one ASGI app.

Every page ``/x`` has a JSON twin ``/x.json`` served by the same function: one data function per view
builds a dataclass, and the format only picks the renderer (a template, or JSON). ``/api/`` serves the
same dataclasses, documented at ``/api/openapi.json``, plus CSV of what each chart shows. Views hold no
SQL: the numbers come from ``reports.content.collect``, the PDF's own code path, and the posts behind them
from ``reports.drilldown``, which reuses the aggregation's Scope.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.staticfiles import StaticFiles

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.labeling.loop import remove_label, save_label
from monitor.web import labeling
from monitor.web.cache import FreshCache
from monitor.web.filters import BadRequest, Filters, NotFound, parse_filters, query_params
from monitor.web.overview import (
    CSV_TABLES,
    Overview,
    SentimentAnswer,
    SharesAnswer,
    VolumeAnswer,
    csv_rows,
)
from monitor.web.overview import overview as build_overview
from monitor.web.posts import PostsAnswer, posts_page
from monitor.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    HEADERS,
    SESSION_COOKIE,
    Access,
    csrf_problem,
    csrf_value,
    safe_next,
)
from monitor.web.versions import ModelComparison, compare_versions
from reports import style
from reports.drilldown import ListedPost, post_detail
from storage import queries
from storage.engine import open_database, read_only_session_factory, session_factory
from storage.freshness import data_version

log = logging.getLogger(__name__)
VENDORED_UPLOT = "vendor/uPlot-1.6.32.iife.min.js"
VENDORED_UPLOT_CSS = "vendor/uPlot-1.6.32.min.css"


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
    app.state.templates = _templates()
    app.mount("/static", StaticFiles(packages=[("monitor.web", "static")]), name="static")
    app.middleware("http")(_guard)
    app.add_exception_handler(BadRequest, _bad_request)
    app.add_exception_handler(NotFound, _bad_request)
    app.add_exception_handler(MonitorError, _bad_request)
    _pages(app)
    _api(app)
    return app


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=select_autoescape(default=True))
    env.globals.update(stance_colours=style.STANCE_COLOURS, stance_labels=style.STANCE_LABELS,
                       aspect_colours=style.ASPECT_COLOURS, aspect_labels=style.ASPECT_LABELS,
                       stance_order=style.STANCE_ORDER, aspect_order=style.ASPECT_ORDER,
                       uplot_js=VENDORED_UPLOT, uplot_css=VENDORED_UPLOT_CSS, language_name=style.language_name)
    env.filters.update(pct=_percent, num=_decimal, interval=_interval)
    return env


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _decimal(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(estimate, percent: bool = True) -> str:
    """"95% CI 35–47%" for an Estimate, or "" where there were too few posts."""
    if estimate.low is None or estimate.high is None:
        return ""
    show = _percent if percent else _decimal
    return f"95% CI {show(estimate.low)}–{show(estimate.high)}"


def _warm(app: FastAPI) -> None:
    import threading

    def run() -> None:
        try:
            with app.state.readers() as session:
                _overview(app, session, parse_filters({}, app.state.settings.report.freq))
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first visitor waits
            log.warning("could not pre-compute the overview", exc_info=True)

    threading.Thread(target=run, name="stance-serve-warm", daemon=True).start()


# --- requests: access, CSRF, headers, errors ---------------------------------------------------------


async def _guard(request: Request, call_next):
    access: Access = request.app.state.options.access
    csrf, new_csrf = csrf_value(request)
    request.state.csrf = csrf
    if not access.host_allowed(request):
        response: Response = _error(request, 400, "this dashboard only answers requests for localhost")
    elif access.needs_token(request) and not access.authenticated(request):
        response = _unauthenticated(request)
    elif request.method == "POST" and (problem := csrf_problem(request, await _posted_csrf(request))):
        response = _error(request, 403, problem)
    else:
        response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if access.token:
        response.headers.setdefault("Cache-Control", "no-store")
    if new_csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    return response


async def _posted_csrf(request: Request) -> str | None:
    """The CSRF field of a posted form. Read from the raw body, which Starlette replays to the route (a form
    parsed here would reach the route empty); the dashboard's forms are all urlencoded."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs((await request.body()).decode("utf-8", "replace")).get(CSRF_FIELD)
    return values[0] if values else None


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.endswith(".json") or path.endswith(".csv")


def _unauthenticated(request: Request) -> Response:
    if _wants_json(request) or request.method != "GET":
        return JSONResponse({"error": "this needs the dashboard token (Authorization: Bearer ...)"}, 401,
                            headers={"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", 303)


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status)
    return _render(request, "error.html", {"status": status, "message": message}, status)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 404 if isinstance(exc, NotFound) else 400, str(exc))


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    env: Environment = request.app.state.templates
    access: Access = request.app.state.options.access
    page = env.get_template(template).render(request=request, csrf=getattr(request.state, "csrf", ""),
                                             signed_in=bool(access.token) and access.authenticated(request),
                                             token_set=bool(access.token), **context)
    return HTMLResponse(page, status)


def _json(data: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data))


def _csv(rows: list[dict[str, object]], name: str) -> Response:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# --- data, shared by pages, twins and the API ---------------------------------------------------------


def reader(request: Request) -> Iterator[Session]:
    with request.app.state.readers() as session:
        yield session


def filters_of(request: Request) -> Filters:
    return parse_filters(query_params(request.query_params), request.app.state.settings.report.freq)


def _overview(app: FastAPI, session: Session, filters: Filters) -> Overview:
    settings: Settings = app.state.settings
    return app.state.cache.get(("overview", filters), data_version(session),
                               lambda: build_overview(session, settings, filters))


def filter_parameters(
    date_from: str | None = Query(None, alias="from", description="First day, YYYY-MM-DD (UTC)."),
    date_to: str | None = Query(None, alias="to", description="Last day, YYYY-MM-DD (UTC)."),
    freq: str | None = Query(None, description="Period: day, week or month."),
    lang: str | None = Query(None, description="Comma-separated language codes, e.g. de,en."),
    source: str | None = Query(None, description="Comma-separated sources, e.g. mastodon,reddit."),
    model: str | None = Query(None, description="A model version name (default: the active version)."),
) -> None:
    """Declares the shared filters for the OpenAPI schema; ``filters_of`` reads them (repeats included)."""


def _twin_link(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f'<{request.url.path}.json{query}>; rel="alternate"; type="application/json"'


def _page_or_twin(request: Request, template: str, data: Any, **context: Any) -> Response:
    """The format picks the renderer: ``/x.json`` gets the data as JSON, ``/x`` the page built from it."""
    if request.url.path.endswith(".json"):
        return _json(data)
    response = _render(request, template, {"data": data, **context})
    response.headers["Link"] = _twin_link(request)
    return response


def _pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/overview{query}", 307)

    @app.get("/overview", include_in_schema=False)
    @app.get("/overview.json", include_in_schema=False)
    def overview_page(request: Request, session: Session = Depends(reader)) -> Response:
        filters = filters_of(request)
        data = _overview(request.app, session, filters)
        return _page_or_twin(request, "overview.html", data, filters=filters,
                             lang_choices=_choices([g.key for g in data.languages], filters.langs),
                             source_choices=_choices([g.key for g in data.sources], filters.sources))

    @app.get("/posts", include_in_schema=False)
    @app.get("/posts.json", include_in_schema=False)
    def posts_list(request: Request, session: Session = Depends(reader)) -> Response:
        filters = filters_of(request)
        params = query_params(request.query_params)
        data = posts_page(session, request.app.state.settings, filters, params)

        def page_query(**changes: str | None) -> str:
            merged = {**params, **changes}
            return urlencode({key: value for key, value in merged.items() if value})

        return _page_or_twin(request, "posts.html", data, filters=filters, page_query=page_query)

    @app.get("/posts/{post_id:int}.json", include_in_schema=False)
    @app.get("/posts/{post_id:int}", include_in_schema=False)
    def post_page(request: Request, post_id: int, session: Session = Depends(reader)) -> Response:
        data = _post(session, post_id)
        return _page_or_twin(request, "post.html", data, filters=filters_of(request),
                             label_query=urlencode({"post": post_id}))

    @app.get("/models", include_in_schema=False)
    @app.get("/models.json", include_in_schema=False)
    def models_page(request: Request, session: Session = Depends(reader)) -> Response:
        return _page_or_twin(request, "models.html", compare_versions(session), filters=filters_of(request))

    _label_pages(app)
    _login_pages(app)


def _choices(present: list[str], chosen: tuple[str, ...] | None) -> list[str]:
    """Filter values to offer: those with posts under the current filters, plus those already chosen."""
    return list(dict.fromkeys([*present, *(chosen or ())]))


def _post(session: Session, post_id: int) -> ListedPost:
    data = post_detail(session, post_id)
    if data is None:
        raise NotFound(f"no post with id {post_id}")
    return data


def _label_pages(app: FastAPI) -> None:
    @app.get("/label", include_in_schema=False)
    def label_page(request: Request, session: Session = Depends(reader)) -> Response:
        params = query_params(request.query_params)
        sitting = labeling.parse_sitting(params)
        context: dict[str, Any] = {"sitting": sitting, "questions": labeling.QUESTIONS,
                                   "navigation": labeling.NAVIGATION, "candidate": None, "message": None}
        if sitting is not None:
            version = queries.active_model_version(session)
            if version is None:
                context["message"] = "No model version is active yet; run `stance classify` first."
            else:
                first = labeling.post_id_field(params["post"], "post") if params.get("post") else None
                context["candidate"] = request.app.state.label_queue.next(session, sitting.annotator, version.id,
                                                                          sitting.skipped, first)
        return _render(request, "label.html", context)

    @app.post("/label", include_in_schema=False)
    async def label_submit(request: Request) -> Response:
        form = await request.form()
        sitting = _sitting(form)
        post_id = labeling.post_id_field(_field(form, "post_id"))
        label = labeling.label_from_form({k: _field(form, k) for k in form.keys()},
                                         [str(v) for v in form.getlist("aspects")])
        with request.app.state.writers.begin() as session:
            if labeling.candidate(session, post_id) is None:
                raise BadRequest(f"post_id: no post with id {post_id}")
            save_label(session, post_id, sitting.annotator, label)
        done = tuple(i for i in sitting.done if i != post_id) + (post_id,)
        return RedirectResponse(f"/label?{labeling.Sitting(sitting.annotator, done, sitting.skipped).query()}",
                                303)

    @app.post("/label/undo", include_in_schema=False)
    async def label_undo(request: Request) -> Response:
        sitting = _sitting(await request.form())
        if not sitting.done:
            return RedirectResponse(f"/label?{sitting.query(message='nothing to undo')}", 303)
        previous = sitting.done[-1]
        with request.app.state.writers.begin() as session:
            remove_label(session, previous, sitting.annotator)
        back = labeling.Sitting(sitting.annotator, sitting.done[:-1], sitting.skipped)
        return RedirectResponse(f"/label?{back.query(post=previous)}", 303)


def _field(form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _sitting(form) -> labeling.Sitting:
    sitting = labeling.parse_sitting({key: _field(form, key) for key in ("annotator", "done", "skipped")})
    if sitting is None:
        raise BadRequest("annotator: say who is labelling")
    return sitting


def _login_pages(app: FastAPI) -> None:
    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str | None = None) -> Response:
        return _render(request, "login.html", {"next": safe_next(next), "failed": False})

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        access: Access = request.app.state.options.access
        target = safe_next(_field(form, "next"))
        if not access.token:
            return RedirectResponse(target, 303)
        if not access.token_matches(_field(form, "token") or ""):
            log.warning("dashboard login failed from %s", request.client.host if request.client else "?")
            return _render(request, "login.html", {"next": target, "failed": True}, 401)
        response = RedirectResponse(target, 303)
        response.set_cookie(SESSION_COOKIE, access.session_value(), httponly=True, samesite="strict", path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/overview", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


# --- the read API -------------------------------------------------------------------------------------


def _api(app: FastAPI) -> None:
    shared = [Depends(filter_parameters)]

    def section(answer: Callable[[Overview], Any]):
        def endpoint(request: Request, session: Session = Depends(reader)) -> Response:
            return _json(answer(_overview(request.app, session, filters_of(request))))

        return endpoint

    app.get("/api/overview", response_model=Overview, dependencies=shared, tags=["numbers"],
            summary="Everything the overview shows")(section(lambda o: o))
    app.get("/api/volume", response_model=VolumeAnswer, dependencies=shared, tags=["numbers"],
            summary="Posts and relevant posts per period, with event and model-change markers")(
        section(lambda o: VolumeAnswer(o.meta, o.periods, o.volume, o.markers)))
    app.get("/api/shares", response_model=SharesAnswer, dependencies=shared, tags=["numbers"],
            summary="Stance shares per period, corrected and raw, with 95% intervals; per language and source")(
        section(lambda o: SharesAnswer(o.meta, o.periods, o.shares, o.total, o.languages, o.sources)))
    app.get("/api/sentiment", response_model=SentimentAnswer, dependencies=shared, tags=["numbers"],
            summary="Mean sentiment, safety concern and aspect shares per period")(
        section(lambda o: SentimentAnswer(o.meta, o.periods, o.sentiment, o.aspects)))

    @app.get("/api/posts", response_model=PostsAnswer, dependencies=shared, tags=["posts"],
             summary="The posts behind a number, newest first, a page at a time")
    def api_posts(request: Request, session: Session = Depends(reader),
                  relevant: str | None = Query(None, description="all (default), yes or no."),
                  stance: str | None = Query(None, description="Relevant posts of this predicted stance."),
                  aspect: str | None = Query(None, description="Relevant posts with this aspect."),
                  concern: str | None = Query(None, description="yes: relevant posts voicing safety concern."),
                  limit: int | None = Query(None, description="Posts per page, 1 to 200 (default 25)."),
                  next: str | None = Query(None, description="The `next` token of the previous page.")) -> Response:
        params = query_params(request.query_params)
        return _json(posts_page(session, request.app.state.settings, filters_of(request), params))

    @app.get("/api/posts/{post_id}", response_model=ListedPost, tags=["posts"],
             summary="One post with the labels of every model version and every human label")
    def api_post(post_id: int, session: Session = Depends(reader)) -> Response:
        return _json(_post(session, post_id))

    @app.get("/api/models", response_model=ModelComparison, tags=["models"],
             summary="Model versions compared on the same held-out posts")
    def api_models(session: Session = Depends(reader)) -> Response:
        return _json(compare_versions(session))

    @app.get("/api/status", tags=["status"], summary="Posts per source and day, runs, scheduled jobs, alerts")
    def api_status(session: Session = Depends(reader)) -> Response:
        from monitor.status import status

        return _json(status(session))

    @app.get("/api/{table}.csv", dependencies=shared, tags=["numbers"],
             summary=f"CSV of what a chart or table shows: {', '.join(CSV_TABLES)}",
             response_class=Response)
    def api_csv(request: Request, table: str, session: Session = Depends(reader)) -> Response:
        if table not in CSV_TABLES:
            raise BadRequest(f"table: expected one of {', '.join(CSV_TABLES)}, got {table!r}")
        return _csv(csv_rows(_overview(request.app, session, filters_of(request)), table), table)
