"""Answers in each format: pages from Jinja templates (autoescaped: post text is always text), JSON, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.web.security import Access
from reports import style

VENDORED_UPLOT = "vendor/uPlot-1.6.32.iife.min.js"
VENDORED_UPLOT_CSS = "vendor/uPlot-1.6.32.min.css"


def make_templates() -> Environment:
    """The page templates; every value is HTML-escaped unless a template says otherwise (none does)."""
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
    if percent:
        return f"95% CI {_percent(estimate.low)}–{_percent(estimate.high)}"
    return f"95% CI {_decimal(estimate.low)} to {_decimal(estimate.high)}"


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.endswith(".json") or path.endswith(".csv")


def error(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status)
    return render(request, "error.html", {"status": status, "message": message}, status)


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    env: Environment = request.app.state.templates
    access: Access = request.app.state.options.access
    page = env.get_template(template).render(request=request, csrf=getattr(request.state, "csrf", ""),
                                             signed_in=bool(access.token) and access.authenticated(request),
                                             token_set=bool(access.token), **context)
    return HTMLResponse(page, status)


def json_response(data: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data))


def csv_response(rows: list[dict[str, object]], name: str) -> Response:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
