"""The ``stance`` command: a thin layer over ``monitor.jobs`` and friends. Every command calls one library
function; a MonitorError becomes one line on stderr and exit code 1."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from monitor.cli import label as cli_label
from monitor.cli import models as cli_models
from monitor.cli import schedule as cli_schedule
from monitor.cli import serve as cli_serve
from monitor import jobs
from monitor.collectors import FetchWindow
from monitor.cli.common import State, console, out, progress, settings
from monitor.config import DEFAULT_PATH, default_config_text
from monitor.errors import MonitorError
from monitor.logs import configure_logging

app = typer.Typer(help="Stance Monitor: follow a public debate, classify stance and sentiment, chart it.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
@app.callback()
def _main(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Configuration file (default ./stance.toml)."),
    log_format: str = typer.Option("text", "--log-format", help="text or json."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    State.config = config
    configure_logging(log_format, logging.DEBUG if verbose else logging.WARNING)


def _date(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MonitorError(f"{option}: expected a date like 2025-08-05, got {value!r}") from None


def _print_summaries(summaries) -> None:
    for s in summaries:
        line = f"{s.source} {s.query}: {s.fetched} fetched, {s.new} new, {s.rejected} rejected"
        if s.skipped:
            line += f", {s.skipped} off-topic skipped"
        if s.counted is not None:
            line += f", {s.counted} counted by the platform"
        if s.status != "ok":
            line += f" [{s.status}: {s.error}]"
        out.print(line, markup=False, highlight=False)


@app.command()
def init(force: bool = typer.Option(False, help="Overwrite an existing configuration file.")) -> None:
    """Write a commented stance.toml and create or upgrade the database.

    Example: stance init
    """
    path = State.config or DEFAULT_PATH
    if path.exists() and not force:
        out.print(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        path.write_text(default_config_text(), encoding="utf-8")
        out.print(f"wrote {path}")
    current = settings()
    jobs.open_store(current)
    out.print(f"database ready: {jobs._safe_url(current.database_url)}", markup=False)


@app.command("import")
def import_(files: list[Path] = typer.Argument(..., help="JSONL or CSV files.")) -> None:
    """Import posts from JSONL/CSV files (simple schema or X API v2 / twarc2 output).

    Bad rows are reported by line and written to FILE.rejects.jsonl; good rows land anyway.
    Exit code 1 only when nothing could be read.

    Example: stance import tweets.jsonl posts.csv
    """
    current = settings()
    with progress() as bar:
        task = bar.add_task("importing", total=None)
        results = jobs.import_files(current, files, on_page=lambda s: bar.update(task, completed=s.fetched))
    readable = 0
    for result in results:
        s = result.summary
        readable += s.fetched - s.invalid
        out.print(f"{result.path}: {s.new} new, {s.already_stored} already stored, {s.rejected} rejected",
                  markup=False, highlight=False)
        for error in s.errors[:20]:
            console.print(f"  {error.position}: {error.reason}", markup=False, highlight=False)
        if len(s.errors) > 20:
            console.print(f"  ... and {len(s.errors) - 20} more", markup=False)
        if result.rejects_path:
            console.print(f"  rejected rows written to {result.rejects_path}", markup=False)
    if readable <= 0:
        raise MonitorError("nothing could be imported: every row was rejected")


@app.command()
def collect(
    source: Optional[str] = typer.Option(None, "--source", help="Only this source (even if disabled in the config)."),
    since: Optional[str] = typer.Option(None, help="Earliest post date, YYYY-MM-DD."),
    until: Optional[str] = typer.Option(None, help="Latest post date, YYYY-MM-DD."),
    max_posts: Optional[int] = typer.Option(None, "--max", help="Read at most this many posts per query."),
    dry_run: bool = typer.Option(False, "--dry-run", help="X only: count matching posts, read nothing."),
) -> None:
    """Collect new posts from the enabled sources, incrementally.

    Example: stance collect --source hackernews --max 200
    """
    current = settings()
    window = FetchWindow(_as_datetime(_date(since, "--since")), _as_datetime(_date(until, "--until")), max_posts)
    if dry_run:
        for line in jobs.dry_run(current, source, window):
            out.print(line, markup=False, highlight=False)
        return
    with progress() as bar:
        task = bar.add_task("collecting", total=None)
        summaries = jobs.collect(current, source, window, on_page=lambda s: bar.update(task, completed=s.fetched))
    _print_summaries(summaries)


def _as_datetime(day: Optional[date]) -> Optional[datetime]:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) if day else None


@app.command()
def classify(rescore: bool = typer.Option(False, help="(Re-)score stored posts with the active model version.")) -> None:
    """Classify stored posts that the active model version has not classified yet.

    Classifications are kept per model version, so after `stance models activate` this re-scores history.

    Example: stance classify
    """
    current = settings()
    with progress() as bar:
        task = bar.add_task("classifying", total=None if rescore else jobs.count_pending(current))
        result = jobs.classify(current, on_batch=lambda n: bar.advance(task, n), rescore=rescore)
    out.print(f"classified {result.classified} posts with {result.model}", markup=False)


@app.command()
def report(
    date_from: Optional[str] = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    date_to: Optional[str] = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
    freq: Optional[str] = typer.Option(None, help="day, week or month."),
    lang: Optional[str] = typer.Option(None, help="Comma-separated languages, e.g. de,en."),
    source: Optional[str] = typer.Option(None, help="Comma-separated sources."),
    fmt: Optional[str] = typer.Option(None, "--format", help="pdf,png"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Output directory."),
) -> None:
    """Chart what is stored as PNG files and a multi-page PDF.

    Example: stance report --from 2025-07-01 --freq week --format pdf
    """
    if freq is not None and freq not in ("day", "week", "month"):
        raise MonitorError(f"--freq: expected day, week or month, got {freq!r}")
    formats = tuple(f.strip() for f in fmt.split(",")) if fmt else None
    if formats and any(f not in ("pdf", "png") for f in formats):
        raise MonitorError(f"--format: expected pdf and/or png, got {fmt!r}")
    result = jobs.report(
        settings(), date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to"), freq=freq,
        langs=tuple(lang.split(",")) if lang else None, sources=tuple(source.split(",")) if source else None,
        formats=formats, out_dir=out_dir,
    )
    for path in result.files:
        out.print(f"wrote {path}", markup=False)


@app.command()
def run() -> None:
    """The main job: collect from the enabled sources, classify, and write the report.

    Example: stance run
    """
    current = settings()
    with progress() as bar:
        task = bar.add_task("collecting", total=None)
        result = jobs.run(current, on_page=lambda s: bar.update(task, completed=s.fetched),
                          on_batch=lambda n: bar.update(task, description="classifying", advance=n))
    _print_summaries(result.collected)
    out.print(f"classified {result.classified.classified} posts with {result.classified.model}", markup=False)
    for path in result.report.files:
        out.print(f"wrote {path}", markup=False)


@app.command()
def predict(
    input: Path = typer.Argument(..., help="CSV or JSONL file of posts."),
    output: Path = typer.Option(..., "--out", help="Where to write the rows with predictions (csv/jsonl/parquet)."),
    text_col: str = typer.Option("text", "--text-col", help="The column holding the post text."),
    model: Optional[Path] = typer.Option(None, "--model", help="A model directory (default: the shipped model)."),
    lang_col: str = typer.Option(
        "lang", "--lang-col", help="A column with each row's language code, used where present (else detected)."
    ),
) -> None:
    """Classify a file without storing it; adds lang, relevant, stance, stance_confidence, safety_concern,
    aspects, sentiment and sentiment_score to each row.

    Example: stance predict posts.csv --out labelled.csv --text-col body
    """
    from monitor.predict import predict_file

    n = predict_file(input, output, text_col, model, settings().topic.languages, lang_col)
    out.print(f"wrote {n} rows to {output}", markup=False)


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print a JSON object.")) -> None:
    """Counts per source and day, the last runs and their errors.

    Example: stance status --json
    """
    from monitor.status import status as read_status

    with jobs.open_store(settings(), read_only=True)() as session:
        summary = read_status(session)
    if as_json:
        out.print_json(json.dumps(summary, default=str))
        return
    out.print(f"{summary['posts']} posts, {summary['classified']} classified by {summary['active_model']}", markup=False)
    table = Table("source", "posts")
    for name, count in sorted(summary["by_source"].items()):
        table.add_row(name, str(count))
    out.print(table)
    sources = sorted({row["source"] for row in summary["by_day"]})
    days: dict[str, dict[str, int]] = {}
    for row in summary["by_day"]:
        days.setdefault(row["day"], {})[row["source"]] = row["posts"]
    if days:
        per_day = Table("day", *sources, title="latest days with posts")
        for day in sorted(days, reverse=True)[:14]:
            per_day.add_row(day, *(str(days[day].get(source, "")) for source in sources))
        out.print(per_day)
    runs = Table("started", "source", "query", "status", "fetched", "new", "error")
    for r in summary["last_runs"]:
        runs.add_row(r["started_at"][:19], r["source"], r["query"][:40], r["status"], str(r["fetched"]),
                     str(r["new"]), (r["error"] or "")[:60])
    out.print(runs)
    if summary.get("jobs"):
        jobs_table = Table("job", "status", "last success", "lag", "last failure", "gaps", title="scheduled jobs")
        for job in summary["jobs"]:
            lag = job["lag_seconds"]
            failure = f"{(job['last_failure_at'] or '')[:19]} {job['last_error'] or ''}".strip()
            jobs_table.add_row(job["name"], (job["status"] or "-") + (" (overdue)" if job["overdue"] else ""),
                               (job["last_success_at"] or "never")[:19], "" if lag is None else f"{lag / 60:.0f} min",
                               failure[:70], str(len(job["collection_gaps"])))
        out.print(jobs_table)
    for alert in summary.get("alerts", [])[:10]:
        out.print(f"alert {alert['period_start'][:10]}: {alert['message']}", markup=False, highlight=False)


@app.command()
def export(
    output: Path = typer.Argument(..., help="Output file (.csv, .jsonl or .parquet)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv, jsonl or parquet (default: from the suffix)."),
) -> None:
    """Export posts with their classifications by the active model version.

    Example: stance export posts.parquet
    """
    from monitor.status import export as export_posts

    with jobs.open_store(settings(), read_only=True)() as session:
        n = export_posts(session, output, fmt)
    out.print(f"wrote {n} posts to {output}", markup=False)


@app.command()
def purge(
    source: str = typer.Option(..., "--source", help="The source the ids belong to, e.g. x."),
    ids_file: Path = typer.Argument(..., help="A file with one source id per line (e.g. from X compliance jobs)."),
) -> None:
    """Delete posts by id from every table.

    Example: stance purge --source x deleted_ids.txt
    """
    from storage.queries import purge_posts

    try:
        ids = [line.strip() for line in ids_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise MonitorError(f"{ids_file}: cannot read: {exc.strerror}") from None
    sessions = jobs.open_store(settings())
    with sessions.begin() as session:
        n = purge_posts(session, source, ids)
    out.print(f"deleted {n} posts", markup=False)


@app.command()
def stream(
    source: str = typer.Option("bluesky", "--source", help="Only bluesky (the public Jetstream feed) for now."),
    max_events: Optional[int] = typer.Option(None, "--max-events", help="Stop after this many events."),
) -> None:
    """Follow a live feed and keep the posts that match the topic's keywords, resuming where it stopped.

    Example: stance stream --source bluesky
    """
    from monitor.ingest.stream import JETSTREAM_URL, stream_bluesky

    if source != "bluesky":
        raise MonitorError(f"--source: live mode exists for bluesky only, got {source!r}")
    current = settings()
    url = current.sources["bluesky"].options.get("jetstream_url", JETSTREAM_URL)
    summary = stream_bluesky(jobs.open_store(current), jobs.ingest_context(current), url=url, max_events=max_events)
    out.print(f"{summary.events} events, {summary.matched} matched, {summary.new} new posts", markup=False)


cli_models.register(app)
cli_schedule.register(app)
cli_label.register(app)
cli_serve.register(app)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point of the ``stance`` script; ``argv`` defaults to the process arguments."""
    try:
        result = app(args=argv, standalone_mode=False)
        if isinstance(result, int) and result:
            sys.exit(result)
    except MonitorError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except (typer.Exit, SystemExit) as exc:
        sys.exit(getattr(exc, "exit_code", getattr(exc, "code", 0)))
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
