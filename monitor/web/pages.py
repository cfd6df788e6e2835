"""The pages: each ``/x`` and its JSON twin ``/x.json`` from one function; labelling and sign-in forms."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from monitor.labeling.loop import remove_label, save_label
from monitor.web import labeling
from monitor.web.deps import cached_overview, filters_of, post_or_404, reader
from monitor.web.filters import BadRequest, query_params
from monitor.web.posts import posts_page
from monitor.web.render import json_response, render
from monitor.web.security import SESSION_COOKIE, Access, safe_next
from monitor.web.versions import compare_versions
from storage import queries

log = logging.getLogger(__name__)


def _twin_link(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f'<{request.url.path}.json{query}>; rel="alternate"; type="application/json"'


def _page_or_twin(request: Request, template: str, data: Any, **context: Any) -> Response:
    """The format picks the renderer: ``/x.json`` gets the data as JSON, ``/x`` the page built from it."""
    if request.url.path.endswith(".json"):
        return json_response(data)
    response = render(request, template, {"data": data, **context})
    response.headers["Link"] = _twin_link(request)
    return response


def register_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/overview{query}", 307)

    @app.get("/overview", include_in_schema=False)
    @app.get("/overview.json", include_in_schema=False)
    def overview_page(request: Request, session: Session = Depends(reader)) -> Response:
        filters = filters_of(request)
        data = cached_overview(request.app, session, filters)
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
        data = post_or_404(session, post_id)
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
        return render(request, "label.html", context)

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
        return render(request, "login.html", {"next": safe_next(next), "failed": False})

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        access: Access = request.app.state.options.access
        target = safe_next(_field(form, "next"))
        if not access.token:
            return RedirectResponse(target, 303)
        if not access.token_matches(_field(form, "token") or ""):
            log.warning("dashboard login failed from %s", request.client.host if request.client else "?")
            return render(request, "login.html", {"next": target, "failed": True}, 401)
        response = RedirectResponse(target, 303)
        response.set_cookie(SESSION_COOKIE, access.session_value(), httponly=True, samesite="strict", path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/overview", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
