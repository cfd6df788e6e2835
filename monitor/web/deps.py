"""What pages, twins and the API share: a read-only session per request, the filters, the cached overview."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Query, Request
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.web.filters import Filters, NotFound, parse_filters, query_params
from monitor.web.overview import Overview
from monitor.web.overview import overview as build_overview
from reports.drilldown import ListedPost, post_detail
from storage.freshness import data_version


def reader(request: Request) -> Iterator[Session]:
    with request.app.state.readers() as session:
        yield session


def filters_of(request: Request) -> Filters:
    return parse_filters(query_params(request.query_params), request.app.state.settings.report.freq)


def cached_overview(app: FastAPI, session: Session, filters: Filters) -> Overview:
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


def post_or_404(session: Session, post_id: int) -> ListedPost:
    data = post_detail(session, post_id)
    if data is None:
        raise NotFound(f"no post with id {post_id}")
    return data
