"""build_report: query once, draw every page, write the PDF and one PNG per chart.

Drawing dominates a report's run time (matplotlib lays out and rasterises text slowly), so where the
platform can fork, the PNGs are drawn in a child process while this process writes the PDF: the two
halves take about the same time and the machine has at least two cores.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from reports import style
from reports.content import ReportContent, collect
from reports.figures import CHART_PAGES, chart_figure
from reports.methods import corrections_page, methods_page, reading_page
from reports.pages import examples_page, summary_page, title_page
from reports.request import ReportRequest, ReportResult
from reports.text import report_style


class EmptyReport(Exception):
    "No classified post matches the report's period and filters: nothing is written"


def build_report(session: Session, request: ReportRequest,
                 on_step: Callable[..., None] | None = None) -> ReportResult:
    """Write the report's files into ``request.out_dir`` and say what they cover.

    Raises EmptyReport, before writing anything, when no classified post matches. ``on_step(description,
    done, total)`` hears about the stages (counting, then each page drawn)."""
    step = on_step or (lambda *args: None)
    step("counting posts")
    content = collect(session, request)
    if content.posts == 0:
        raise EmptyReport(f"no classified posts match this report ({_scope_words(content)}); nothing was written")
    out_dir = Path(request.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(content)
    files: list[Path] = []
    png_paths = [out_dir / f"{stem}-{name}.png" for name, _ in CHART_PAGES] if "png" in request.formats else []
    pool = _png_pool(session) if png_paths and "pdf" in request.formats else None
    try:
        pending: Future | None = pool.submit(write_pngs, content, png_paths) if pool else None
        if "pdf" in request.formats:
            files.append(write_pdf(content, out_dir / f"{stem}.pdf", step))
        if pending is not None:
            step("finishing the PNG charts")
            pending.result()
        elif png_paths:
            write_pngs(content, png_paths, step)
    finally:
        if pool is not None:
            pool.shutdown()
    return ReportResult(files=png_paths + files, posts=content.posts, period=content.period,
                        synthetic=content.synthetic, freq=content.request.freq, warnings=list(content.warnings))


def _scope_words(content: ReportContent) -> str:
    request = content.request
    parts = [f"{name} {value}" for name, value in request.filters()]
    if request.date_from or request.date_to:
        parts.append(f"from {request.date_from or 'the start'} to {request.date_to or 'the end'}")
    return "; ".join(parts) or "no filters"


def write_pngs(content: ReportContent, paths: list[Path], on_step: Callable[..., None] | None = None) -> list[Path]:
    """One PNG per chart, in CHART_PAGES order, all of style.PAGE_SIZE at style.PNG_DPI."""
    with report_style():
        for number, ((name, build), path) in enumerate(zip(CHART_PAGES, paths), start=1):
            if on_step:
                on_step(f"drawing {path.name}", number, len(paths))
            _chart(content, name, build).savefig(path, format="png", dpi=style.PNG_DPI)
    return paths


def write_pdf(content: ReportContent, path: Path, on_step: Callable[..., None] | None = None) -> Path:
    """Title, key numbers, the charts, representative posts, methods and how to read them, one page each."""
    metadata = {"Title": f"{content.request.topic.title}: stance report",
                "Subject": "SYNTHETIC DEMO DATA" if content.synthetic else "Stance Monitor report",
                "Creator": "stance-monitor reports"}
    builders = [title_page, summary_page, *[_page_of(name, build) for name, build in CHART_PAGES],
                examples_page, methods_page, corrections_page, reading_page]
    with report_style(), PdfPages(path, metadata=metadata) as pdf:
        for number, build in enumerate(builders, start=1):
            if on_step:
                on_step(f"drawing PDF page {number} of {len(builders)}", number, len(builders))
            pdf.savefig(build(content))
    return path


def _page_of(name: str, build):
    return lambda content: _chart(content, name, build)


def _png_pool(session: Session) -> ProcessPoolExecutor | None:
    # Forking a process that runs other threads (the scheduler's) can copy a lock held by one of them
    # into the child and deadlock it; there the PNGs are drawn in this process instead.
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return None
    engine = session.get_bind().engine  # the Engine itself, or the one a bound Connection came from
    # The child inherits the parent's pooled connections; it must never use or close them (a PostgreSQL
    # connection closed by the child would end the parent's session too).
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                               initializer=engine.dispose, initargs=(False,))


def _chart(content: ReportContent, name: str, build) -> Figure:
    if content.series is None:
        figure, body = chart_figure(content, name.replace("-", " ").capitalize(), markers=False)
        body.text(0.5, 0.5, "No classified posts match this report's period and filters.", ha="center",
                  va="center", fontsize=14, color="#666666")
        return figure
    return build(content)


def file_stem(content: ReportContent) -> str:
    """``topic-20250101-20251031-month``, plus the filters (``-lang-en-source-x-mastodon``), so that reports
    with different periods or filters never overwrite each other."""
    request = content.request
    topic = _slug(request.topic.name) or "report"
    if content.period is None:
        return f"{topic}-empty"
    first, last = content.period
    stem = f"{topic}-{first:%Y%m%d}-{last:%Y%m%d}-{request.freq}"
    if request.langs:
        stem += "-lang-" + "-".join(_slug(lang) for lang in sorted(request.langs))
    if request.sources:
        stem += "-source-" + "-".join(_slug(source) for source in sorted(request.sources))
    return stem


def _slug(text: str) -> str:
    return re.sub(r"[^\w.]+", "-", text).strip("-.")
