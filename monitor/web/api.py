"""The read API under /api/: the pages' dataclasses as JSON (schema at /api/openapi.json), and CSV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from monitor.web.deps import cached_overview, filter_parameters, filters_of, post_or_404, reader
from monitor.web.filters import BadRequest, query_params
from monitor.web.overview import CSV_TABLES, Overview, SentimentAnswer, SharesAnswer, VolumeAnswer, csv_rows
from monitor.web.posts import PostsAnswer, posts_page
from monitor.web.render import csv_response, json_response
from monitor.web.versions import ModelComparison, compare_versions
from reports.drilldown import ListedPost


def register_api(app: FastAPI) -> None:
    shared = [Depends(filter_parameters)]

    def section(answer: Callable[[Overview], Any]):
        def endpoint(request: Request, session: Session = Depends(reader)) -> Response:
            return json_response(answer(cached_overview(request.app, session, filters_of(request))))

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
        return json_response(posts_page(session, request.app.state.settings, filters_of(request), params))

    @app.get("/api/posts/{post_id}", response_model=ListedPost, tags=["posts"],
             summary="One post with the labels of every model version and every human label")
    def api_post(post_id: int, session: Session = Depends(reader)) -> Response:
        return json_response(post_or_404(session, post_id))

    @app.get("/api/models", response_model=ModelComparison, tags=["models"],
             summary="Model versions compared on the same held-out posts")
    def api_models(session: Session = Depends(reader)) -> Response:
        return json_response(compare_versions(session))

    @app.get("/api/status", tags=["status"], summary="Posts per source and day, runs, scheduled jobs, alerts")
    def api_status(session: Session = Depends(reader)) -> Response:
        from monitor.status import status

        return json_response(status(session))

    @app.get("/api/{table}.csv", dependencies=shared, tags=["numbers"],
             summary=f"CSV of what a chart or table shows: {', '.join(CSV_TABLES)}",
             response_class=Response)
    def api_csv(request: Request, table: str, session: Session = Depends(reader)) -> Response:
        if table not in CSV_TABLES:
            raise BadRequest(f"table: expected one of {', '.join(CSV_TABLES)}, got {table!r}")
        return csv_response(csv_rows(cached_overview(request.app, session, filters_of(request)), table), table)
