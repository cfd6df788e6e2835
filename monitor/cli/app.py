"""The ``stance`` command: a thin layer over ``monitor.jobs`` and friends. Every command calls one library
function; a MonitorError becomes one line on stderr and exit code 1, a usage error one line and exit code 2.

Start-up matters (``stance --help`` runs in a fraction of a second): modules imported here at the top may
not import numpy, SQLAlchemy, matplotlib or scikit-learn; commands import the library in their bodies.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer

from monitor.cli import cluster as cli_cluster
from monitor.cli import compliance as cli_compliance
from monitor.cli import data as cli_data
from monitor.cli import label as cli_label
from monitor.cli import models as cli_models
from monitor.cli import schedule as cli_schedule
from monitor.cli import serve as cli_serve
from monitor.cli import status as cli_status
from monitor.cli import stream as cli_stream
from monitor.cli.common import (
    GlobalOptions,
    console,
    global_options,
    out,
    parse_date,
    parse_list,
    progress,
    settings,
    uses_broker,
)
from monitor.errors import MonitorError, Terminated
from reports.wording import plural

if TYPE_CHECKING:
    from rich.progress import TaskID

app = typer.Typer(help="Stance Monitor: follow a public debate, classify stance and sentiment, chart it.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})


@app.callback()
def _main(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", "-c", help="Configuration file (default ./stance.toml)."),
    log_format: str = typer.Option("text", "--log-format", help="text or json."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars (they are shown on a terminal only)."),
) -> None:
    from monitor.logs import configure_logging

    if log_format not in ("text", "json"):
        raise typer.BadParameter(f"expected text or json, got {log_format!r}", param_hint="--log-format")
    ctx.obj = GlobalOptions(config=config, quiet=quiet)
    configure_logging(log_format, logging.DEBUG if verbose else logging.WARNING)


def _print_summaries(summaries) -> None:
    for s in summaries:
        line = (f"{s.source} {s.query}: {plural(s.fetched, 'post')} fetched, {s.new} new, "
                f"{s.rejected} rejected")
        if s.skipped:
            line += f", {s.skipped} off-topic skipped"
        if s.counted is not None:
            line += f", {s.counted} counted by the platform"
        if s.status != "ok":
            line += f" [{s.status}: {s.error}]"
        out.print(line, markup=False, highlight=False)


@app.command()
def init(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing configuration file."),
) -> None:
    """Write a commented stance.toml and create or upgrade the database.

    Example: stance init
    """
    from monitor import jobs
    from monitor.config import DEFAULT_PATH, default_config_text

    path = global_options(ctx).config or DEFAULT_PATH
    if path.exists() and not force:
        out.print(f"{path} exists; keeping it (use --force to overwrite)", markup=False)
    else:
        path.write_text(default_config_text(), encoding="utf-8")
        out.print(f"wrote {path}", markup=False)
    current = settings(ctx)
    jobs.open_store(current)
    out.print(f"database ready: {jobs.safe_url(current.database_url)}", markup=False)


@app.command()
def collect(
    ctx: typer.Context,
    source: str | None = typer.Option(None, "--source", help="Only this source (even if disabled in the config)."),
    since: str | None = typer.Option(None, "--since", help="Earliest post date, YYYY-MM-DD."),
    until: str | None = typer.Option(None, "--until", help="Latest post date, YYYY-MM-DD."),
    max_posts: int | None = typer.Option(None, "--max", min=1, help="Read at most this many posts per query."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Say what a run would fetch and store; store nothing (X: counts only)."),
) -> None:
    """Collect new posts from the enabled sources, incrementally.

    Exit codes: 0 every run ok (a source whose lease another process holds is skipped), 2 some queries
    failed (HTTP errors, timeouts, unreadable responses, the time budget spent), 4 all failed, 5 stopped.

    Example: stance collect --source hackernews --max 200
    """
    from monitor import jobs
    from monitor.collectors import FetchWindow

    window = FetchWindow(_as_datetime(parse_date(since, "--since")), _as_datetime(parse_date(until, "--until")),
                         max_posts)
    current = settings(ctx)
    if dry_run:
        for line in jobs.dry_run(current, source, window):
            out.print(line, markup=False, highlight=False)
        return
    if uses_broker(current) and not (since or until or max_posts):
        from monitor.cluster.enqueue import enqueue_collect

        queued = enqueue_collect(current, source)
        out.print(f"enqueued {plural(queued.tasks, 'collect task')} for the workers", markup=False)
        return
    with progress(ctx) as bar:
        tasks: dict[str, TaskID] = {}

        def on_page(summary) -> None:
            key = f"{summary.source} {summary.query}"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=None)
            bar.update(tasks[key], description=f"{key}: {plural(summary.pages, 'page')}",
                       completed=summary.fetched)

        summaries = jobs.collect(current, source, window, on_page=on_page)
    _print_summaries(summaries)
    _exit_for(summaries)


def _exit_for(summaries) -> None:
    """Exit as `stance job` does when a run failed: 2 some queries failed, 4 all did, 5 stopped. A source
    whose lease another process holds is skipped, not failed (that process collects it)."""
    from monitor.cli.schedule import EXIT_CODES
    from monitor.scheduling.runners import summarise_collection

    code = EXIT_CODES[summarise_collection(None, [s for s in summaries if s.status != "locked"]).status]
    if code:
        raise typer.Exit(code)


def _as_datetime(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


@app.command()
def classify(
    ctx: typer.Context,
    rescore: bool = typer.Option(False, "--rescore", help="Drop the active version's classifications and score again."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Processes sharing the posts (one per core pays off when re-scoring history)."),
) -> None:
    """Classify stored posts that the active model version has not classified yet.

    Classifications are kept per model version, so after `stance models activate` this re-scores history.

    Example: stance classify --workers 2
    """
    from monitor import jobs

    current = settings(ctx)
    if uses_broker(current):
        from monitor.cluster.enqueue import enqueue_classify

        queued = enqueue_classify(current, rescore=rescore)
        out.print(f"enqueued {plural(queued.tasks, 'task')} for {plural(queued.items, 'post')} with {queued.model}",
                  markup=False)
        return
    with progress(ctx) as bar:
        task = bar.add_task("classifying posts", total=None if rescore else jobs.count_pending(current))
        result = jobs.classify(current, on_batch=lambda n: bar.advance(task, n), rescore=rescore, workers=workers)
    out.print(f"classified {plural(result.classified, 'post')} with {result.model}", markup=False)


@app.command()
def report(
    ctx: typer.Context,
    date_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    date_to: str | None = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
    freq: str | None = typer.Option(
        None, "--freq", help="auto (default: the shortest period with enough relevant posts in most periods), "
                             "day, week or month."),
    lang: str | None = typer.Option(None, "--lang", help="Comma-separated languages, e.g. de,en."),
    source: str | None = typer.Option(None, "--source", help="Comma-separated sources, e.g. x,mastodon."),
    fmt: str | None = typer.Option(None, "--format", help="pdf, png or pdf,png."),
    out_dir: Path | None = typer.Option(None, "--out", help="Output folder (default ./stance-reports)."),
) -> None:
    """Chart what is stored as PNG files and a multi-page PDF.

    File names carry the period, the frequency and the filters, so reports with different filters never
    overwrite each other. Exits with code 1 and writes nothing when no classified post matches.

    Example: stance report --from 2025-07-01 --lang en --format pdf
    """
    if freq is not None and freq not in ("auto", "day", "week", "month"):
        raise typer.BadParameter(f"expected auto, day, week or month, got {freq!r}", param_hint="--freq")
    formats = parse_list(fmt)
    if formats and any(f not in ("pdf", "png") for f in formats):
        raise typer.BadParameter(f"expected pdf and/or png, got {fmt!r}", param_hint="--format")
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if first and last and first > last:
        raise typer.BadParameter(f"{date_from} is after --to {date_to}", param_hint="--from")
    # The library comes after the options are checked: a usage error answers at once.
    from monitor import jobs

    current = settings(ctx)
    if uses_broker(current):
        from monitor.cluster.enqueue import enqueue_report

        enqueue_report(current, date_from=first, date_to=last, freq=freq, langs=parse_list(lang),
                       sources=parse_list(source), formats=formats, out_dir=out_dir)
        out.print("enqueued the report for the workers", markup=False)
        return
    with progress(ctx) as bar:
        task = bar.add_task("report", total=None)
        result = jobs.report(
            current, date_from=first, date_to=last, freq=freq, langs=parse_list(lang),
            sources=parse_list(source), formats=formats, out_dir=out_dir,
            on_step=lambda step, done=None, total=None: bar.update(task, description=f"report: {step}",
                                                                   completed=done or 0, total=total),
        )
    _print_report(result)


def _print_report(result) -> None:
    for warning in getattr(result, "warnings", []):
        console.print(f"warning: {warning}", markup=False, highlight=False)
    for path in result.files:
        out.print(f"wrote {path}", markup=False)


@app.command()
def run(ctx: typer.Context) -> None:
    """The main job: collect from the enabled sources, classify, and write the report.

    Example: stance run
    """
    from monitor import jobs

    current = settings(ctx)
    with progress(ctx) as bar:
        task = bar.add_task("collecting", total=None)
        result = jobs.run(
            current, on_page=lambda s: bar.update(task, description=f"collecting {s.source}", completed=s.fetched),
            on_batch=lambda n: bar.update(task, description="classifying", advance=n),
            on_step=lambda step, done=None, total=None: bar.update(task, description=f"report: {step}",
                                                                   completed=done or 0, total=total),
        )
    _print_summaries(result.collected)
    out.print(f"classified {plural(result.classified.classified, 'post')} with {result.classified.model}",
              markup=False)
    _print_report(result.report)
    _exit_for(result.collected)


cli_stream.register(app)
cli_data.register(app)
cli_compliance.register(app)
cli_status.register(app)
cli_models.register(app)
cli_schedule.register(app)
cli_label.register(app)
cli_serve.register(app)
cli_cluster.register(app)


def _usage_line(exc: click.ClickException) -> str:
    """A click error as one line: the command, the message and where to get help."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        return f"{ctx.command_path}: {message} (see '{ctx.command_path} --help')"
    return message


def _terminate_as_interrupt(received: threading.Event):
    """SIGTERM unwinds like Ctrl-C (raising Terminated, and setting ``received``), so that a collection run is
    marked stopped and its lease released instead of held for its lifetime. ``stance schedule`` installs its
    own, gentler handler. Returns the previous handler."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(_signum, _frame):
        received.set()
        raise Terminated()

    return signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``stance`` script; ``argv`` defaults to the process arguments.

    Exit codes: 0 ok, 1 a problem the user can act on (one line on stderr), 2 a usage error (one line),
    130 interrupted, 143 stopped by SIGTERM; commands such as ``stance job`` add their own (see their help).
    """
    terminated = threading.Event()
    previous = _terminate_as_interrupt(terminated)
    try:
        _run(argv, terminated)
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None, terminated: threading.Event) -> None:
    try:
        result = app(args=argv, standalone_mode=False, prog_name="stance")
    except MonitorError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except OSError as exc:  # a file or folder that cannot be written or read (--out into a read-only place)
        where = f"{exc.filename}: " if exc.filename else ""
        console.print(f"error: {where}{exc.strerror or exc}", markup=False, highlight=False)
        sys.exit(1)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _exit_if_terminated(terminated)
        console.print("interrupted", markup=False)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:  # `stance` or `stance models` alone: the help
        out.print(exc.message, markup=False, highlight=False)
        sys.exit(0)
    except click.ClickException as exc:
        console.print(f"error: {_usage_line(exc)}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        _exit_if_terminated(terminated)
        sys.exit(exc.exit_code)
    _exit_if_terminated(terminated)  # typer turns KeyboardInterrupt into a return value of 130
    if isinstance(result, int) and result:
        sys.exit(result)


def _exit_if_terminated(terminated: threading.Event) -> None:
    if terminated.is_set():
        console.print("stopped by SIGTERM", markup=False)
        sys.exit(143)
