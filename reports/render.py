"""build_report: query once, draw every page, write the PDF and one PNG per chart.

Drawing dominates a report's run time (matplotlib lays out and rasterises text slowly), so where the
platform can fork, the PNGs are drawn in a child process while this process writes the PDF: the two
halves take about the same time and the machine has at least two cores.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from reports import style
from reports.content import ReportContent, collect
from reports.figures import CHART_PAGES, chart_figure
from reports.methods import methods_page
from reports.pages import examples_page, summary_page, title_page
from reports.request import ReportRequest, ReportResult
from reports.text import report_style


def build_report(session: Session, request: ReportRequest) -> ReportResult:
    """Write the report's files into ``request.out_dir`` and say what they cover."""
    content = collect(session, request)
    out_dir = Path(request.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(content)
    files: list[Path] = []
    png_paths = [out_dir / f"{stem}-{name}.png" for name, _ in CHART_PAGES] if "png" in request.formats else []
    pool = _png_pool(session) if png_paths and "pdf" in request.formats else None
    try:
        pending: Future | None = pool.submit(write_pngs, content, png_paths) if pool else None
        if "pdf" in request.formats:
            files.append(write_pdf(content, out_dir / f"{stem}.pdf"))
        if pending is not None:
            pending.result()
        elif png_paths:
            write_pngs(content, png_paths)
    finally:
        if pool is not None:
            pool.shutdown()
    return ReportResult(files=png_paths + files, posts=content.posts, period=content.period,
                        synthetic=content.synthetic)


def chart_pages(content: ReportContent) -> list[Figure]:
    return [_chart(content, name, build) for name, build in CHART_PAGES]


def write_pngs(content: ReportContent, paths: list[Path]) -> list[Path]:
    """One PNG per chart, in CHART_PAGES order, all of style.PAGE_SIZE at style.PNG_DPI."""
    with report_style():
        for figure, path in zip(chart_pages(content), paths):
            figure.savefig(path, format="png", dpi=style.PNG_DPI)
    return paths


def write_pdf(content: ReportContent, path: Path) -> Path:
    """Title, key numbers, the charts, representative posts and methods, one page each."""
    metadata = {"Title": f"{content.request.topic.title}: stance report",
                "Subject": "SYNTHETIC DEMO DATA" if content.synthetic else "Stance Monitor report",
                "Creator": "stance-monitor reports"}
    with report_style(), PdfPages(path, metadata=metadata) as pdf:
        for page in (title_page, summary_page):
            pdf.savefig(page(content))
        for figure in chart_pages(content):
            pdf.savefig(figure)
        for page in (examples_page, methods_page):
            pdf.savefig(page(content))
    return path


def _png_pool(session: Session) -> ProcessPoolExecutor | None:
    # Forking a process that runs other threads (the scheduler's) can copy a lock held by one of them
    # into the child and deadlock it; there the PNGs are drawn in this process instead.
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return None
    engine = session.get_bind()
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
    topic = re.sub(r"[^\w.-]+", "-", content.request.topic.name).strip("-") or "report"
    if content.period is None:
        return f"{topic}-empty"
    first, last = content.period
    return f"{topic}-{first:%Y%m%d}-{last:%Y%m%d}-{content.request.freq}"
