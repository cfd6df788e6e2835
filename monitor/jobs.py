"""The jobs behind the CLI: each is one library function taking Settings and returning a result.

The CLI parses options, calls one of these and prints; these never print and never import the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from classifiers.language import LanguageDetector
from monitor.active_model import ensure_active_model, load_classifier
from monitor.collectors import Collector, FetchWindow, ItemError, registry
from monitor.collectors.file import FileCollector
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.ingest.classify import classify_pending
from monitor.ingest.columns import SIMPLE, ColumnMap
from monitor.ingest.pipeline import IngestContext, RunSummary, collect_query
from monitor.ingest.privacy import load_salt, salt_file_for
from storage import queries
from storage.engine import open_database, open_sqlite_read_only, read_only_session_factory
from storage.models import ModelVersion


def open_store(settings: Settings, read_only: bool = False, must_exist: bool = False) -> sessionmaker[Session]:
    """Session factory for the configured database, created or upgraded on first use.

    ``read_only`` sessions never take SQLite's write lock, so reports and status do not block collection.
    ``must_exist`` refuses to create a SQLite database that is not there yet (``stance status`` run outside
    a project folder should say so, not leave an empty ``stance.db`` behind).
    """
    if must_exist:
        _check_database_exists(settings)
    try:
        engine, sessions = open_database(settings.database_url)
        if read_only:
            sessions = read_only_session_factory(engine)
    except MonitorError:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one clear line
        if read_only:  # a SQLite file we may not write (read-only file, folder or medium) can still be read
            try:
                return open_sqlite_read_only(settings.database_url)[1]
            except Exception:  # noqa: BLE001 - report the first problem
                pass
        raise MonitorError(f"database {safe_url(settings.database_url)}: {type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:300]}") from exc
    return sessions


def _check_database_exists(settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    try:
        url = make_url(settings.database_url)
    except Exception:  # noqa: BLE001 - open_store reports unparseable URLs
        return
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if not Path(url.database).exists():
        where = f"{settings.path}" if settings.path else "no stance.toml in this folder"
        raise MonitorError(f"no database at {url.database} ({where}); run `stance init` in your project folder "
                           "or pass --config PATH")


def safe_url(url: str) -> str:
    """The database URL with any password hidden, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<unparseable URL>"


def ingest_context(settings: Settings) -> IngestContext:
    from datetime import datetime, timedelta

    earliest = settings.earliest_post
    return IngestContext(
        topic=settings.topic.name,
        detector=LanguageDetector(settings.topic.languages),
        salt=load_salt(salt_file=salt_file_for(settings.database_url)),
        pseudonymise_authors=settings.pseudonymise_authors,
        pseudonymise_raw=settings.pseudonymise_raw,
        keywords=settings.topic.keywords,
        keyword_filters=settings.keyword_filters(),
        aggregate_only=settings.aggregate_only,
        mask_mentions=settings.mask_mentions,
        earliest=datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC),
        future=timedelta(days=settings.future_days),
    )


# --- import and collect ------------------------------------------------------------------------------


@dataclass
class ImportResult:
    path: Path
    summary: RunSummary
    rejects_path: Path | None = None
    #: Why the file could not be read at all (missing, unreadable); the other files are imported anyway.
    error: str | None = None


def import_files(
    settings: Settings, paths: list[Path], on_page: Callable[[RunSummary], None] | None = None,
    mapping: ColumnMap = SIMPLE,
) -> list[ImportResult]:
    """Import JSONL/CSV files, their columns read through ``mapping`` (``--map``, ``--preset``). Bad rows go
    to ``<file>.rejects.jsonl``; good rows land regardless."""
    sessions = open_store(settings)
    context = ingest_context(settings)
    results = []
    for path in paths:
        collector = FileCollector([str(path)], mapping)
        summary = collect_query(sessions, collector, str(path), context, on_page=on_page)
        if summary.status == "failed" and summary.fetched == 0 and not summary.errors:
            error = summary.error.split(": ", 1)[-1] if summary.error else f"{path}: cannot read"
            results.append(ImportResult(path, summary, error=error))
            continue
        summary.errors.sort(key=_line_number)
        results.append(ImportResult(path, summary, write_rejects(path, summary.errors)))
    return results


def _line_number(error: ItemError) -> int:
    tail = error.position.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def write_rejects(path: Path, errors: list[ItemError]) -> Path | None:
    """Write rejected rows next to the input (or to the working directory when that is read-only)."""
    if not errors:
        return None
    lines = "".join(
        json.dumps({"position": e.position, "error": e.reason, "raw": e.raw}, ensure_ascii=False) + "\n"
        for e in errors
    )
    target = path.with_name(path.name + ".rejects.jsonl")
    try:
        target.write_text(lines, encoding="utf-8")
    except OSError:
        target = Path.cwd() / (path.name + ".rejects.jsonl")
        target.write_text(lines, encoding="utf-8")
    return target


def build_collectors(settings: Settings, source: str | None = None, environ=None) -> list[Collector]:
    """Collectors for the enabled sources, or for ``source`` alone (enabled or not)."""
    import os

    environ = os.environ if environ is None else environ
    factories = registry()
    if source is not None:
        if source not in settings.sources:
            raise MonitorError(f"unknown source {source!r}; expected one of {', '.join(settings.sources)}")
        if source not in factories:
            raise MonitorError(f"source {source!r} is not available in this installation")
        chosen = [settings.sources[source]]
    else:
        chosen = [s for s in settings.enabled_sources() if s.name in factories]
    return [factories[s.name](s, settings.topic, environ) for s in chosen]


def dry_run(settings: Settings, source: str | None, window: FetchWindow = FetchWindow()) -> list[str]:
    """What collecting would do, storing nothing and moving no cursor: one line per source and query.

    X is asked through its counts endpoint, which costs no post reads (X bills every post read). The other
    sources read their first page from where the stored cursor stands and say how many of its posts are new,
    already stored, invalid or dropped by the keyword filter."""
    import math
    from datetime import UTC, datetime

    from monitor.ingest.pipeline import to_record
    from monitor.ingest.records import InvalidRecord
    from storage.deletion import stored_among

    sessions = open_store(settings)
    context = ingest_context(settings)
    lines = []
    for collector in build_collectors(settings, source):
        for query in collector.queries():
            if collector.name == "x":
                budget = min(b for b in (window.limit, settings.sources["x"].max_posts_per_run, 10**12) if b)
                counted = collector.count(query, window)  # type: ignore[attr-defined]
                reads = min(counted, budget)
                lines.append(f"x {query}: {counted} posts match; a run would read {reads} posts "
                             f"in {math.ceil(reads / 100)} requests (budget {budget if budget < 10**12 else 'none'})")
                continue
            with sessions() as session:
                cursor = queries.get_cursor(session, collector.name, query)
            page = next(iter(collector.fetch(query, cursor, window)), None)
            if page is None:
                lines.append(f"{collector.name} {query}: nothing new to read")
                continue
            records, invalid = [], 0
            latest = datetime.now(UTC) + context.future
            for raw in page.items:
                try:
                    records.append(to_record(collector, raw, context, latest))
                except InvalidRecord:  # counted, as a real run would reject it
                    invalid += 1
            kept = [r for r in records if context.keeps(collector, r)]
            with sessions() as session:
                stored = set(stored_among(session, collector.name, [r.source_id for r in kept]))
            new = sum(r.source_id not in stored for r in kept)
            lines.append(f"{collector.name} {query}: the first page holds {len(page.items)} posts: {new} new, "
                         f"{len(kept) - new} already stored, {len(records) - len(kept)} dropped by the keyword "
                         f"filter, {invalid} invalid (nothing stored)")
    return lines


def collect(
    settings: Settings,
    source: str | None = None,
    window: FetchWindow = FetchWindow(),
    on_page: Callable[[RunSummary], None] | None = None,
) -> list[RunSummary]:
    """Collect every query of the enabled sources (or of ``source``), each source under the same lease the
    scheduler takes, so a cron run and a running scheduler never collect one source at once."""
    from monitor.scheduling.locks import LockHeld, holding

    sessions = open_store(settings)
    context = ingest_context(settings)
    ttl = _lease_ttl(settings)
    summaries = []
    for collector in build_collectors(settings, source):
        try:
            with holding(sessions, f"collect:{collector.name}", ttl) as lease:
                for query in collector.queries():
                    summaries.append(collect_query(sessions, collector, query, context, window, on_page,
                                                   should_stop=lease.lost.is_set))
        except LockHeld as exc:
            summaries.append(RunSummary(collector.name, "*", status="locked", error=str(exc)))
    return summaries


def _lease_ttl(settings: Settings):
    from datetime import timedelta

    return timedelta(seconds=int(settings.schedule.get("lease_seconds", 600)))


# --- classification --------------------------------------------------------------------------------------


@dataclass
class ClassifyResult:
    model: str
    classified: int
    sentiment_scorers: dict[str, str] = field(default_factory=dict)


def classify(
    settings: Settings, on_batch: Callable[[int], None] | None = None, rescore: bool = False, workers: int = 1
) -> ClassifyResult:
    """Classify every stored post that the active model version has not classified yet.

    ``rescore`` first drops the active version's classifications, e.g. after the sentiment scorers changed;
    other versions' classifications are never touched. ``workers`` > 1 splits the posts by id range over
    that many processes (``monitor.ingest.workers``): worth it for a re-score of history, not for a few new
    posts, since each process loads the models first.
    """
    from sqlalchemy import delete, func, select

    from monitor.ingest.workers import run_in_processes, split_range
    from monitor.scheduling.locks import holding
    from storage.models import Classification, Post

    sessions = open_store(settings)
    ttl = _lease_ttl(settings)
    # One classifier at a time: a second `stance classify` waits, then finds nothing left to do, instead of
    # classifying the same posts again. (Not the scheduler's job lease "classify", which its job holds.)
    with holding(sessions, "classify:posts", ttl, patience=ttl.total_seconds()):
        with sessions.begin() as session:
            version = ensure_active_model(session)
            if rescore:
                session.execute(delete(Classification).where(Classification.model_version_id == version.id))
            version_id, name = version.id, version.name
            classifier = load_classifier(version, settings)
            first, last = session.execute(select(func.min(Post.id), func.max(Post.id))).one()
        if workers > 1 and first is not None:
            shares = [(settings, version_id, low, high) for low, high in split_range(first, last, workers)]
            done = sum(run_in_processes(_classify_range, shares, on_batch))
        else:
            done = classify_pending(sessions, classifier, version_id, settings.classify_batch_size, on_batch)
    scorers = getattr(classifier.sentiment, "scorer_names", {}) if classifier.sentiment else {}
    return ClassifyResult(name, done, dict(scorers))


def _classify_range(
    settings: Settings, version_id: int, first_id: int, last_id: int, on_batch: Callable[[int], None]
) -> int:
    """One worker process's share of ``classify``: the unclassified posts with ids in [first_id, last_id]."""
    sessions = open_store(settings)
    with sessions.begin() as session:
        version = session.get_one(ModelVersion, version_id)
        classifier = load_classifier(version, settings)
    return classify_pending(sessions, classifier, version_id, settings.classify_batch_size, on_batch,
                            after_id=first_id - 1, until_id=last_id)


def count_pending(settings: Settings) -> int:
    from sqlalchemy import func, select

    sessions = open_store(settings)
    with sessions.begin() as session:
        version = ensure_active_model(session)
        pending = queries.unclassified_posts(session, version.id, limit=10**12).subquery()
        return session.scalar(select(func.count()).select_from(pending)) or 0


# --- reports and the main job ------------------------------------------------------------------------


def report(settings: Settings, on_step: Callable[..., None] | None = None, **overrides):
    """Write the report for the stored data; ``overrides`` are ReportRequest fields (dates, freq, ...).

    Raises MonitorError, and writes nothing, when no classified post matches the period and filters, or
    when the output folder is a Python package (the ``reports/`` folder of a source checkout)."""
    from reports import EmptyReport, ReportRequest, build_report

    fields: dict[str, Any] = {
        "out_dir": settings.report.out_dir,
        "topic": settings.topic,
        "freq": settings.report.freq,
        "formats": settings.report.formats,
        "min_posts_per_period": settings.report.min_posts_per_period,
    }
    fields.update({k: v for k, v in overrides.items() if v is not None})
    out_dir = Path(fields["out_dir"])
    if (out_dir / "__init__.py").exists():
        raise MonitorError(f"{out_dir}: this is a Python package folder, not a place for report files; "
                           "choose another with --out or [report] out_dir")
    with open_store(settings).begin() as session:
        ensure_active_model(session)
    try:
        with open_store(settings, read_only=True)() as session:
            return build_report(session, ReportRequest(**fields), on_step=on_step)
    except EmptyReport as exc:
        raise MonitorError(str(exc)) from None


@dataclass
class RunResult:
    collected: list[RunSummary]
    classified: ClassifyResult
    report: object


def run(settings: Settings, on_page=None, on_batch=None, on_step=None) -> RunResult:
    """The main job: collect from every enabled source, classify what is new, write the report."""
    collected = collect(settings, on_page=on_page)
    classified = classify(settings, on_batch)
    return RunResult(collected, classified, report(settings, on_step=on_step))
