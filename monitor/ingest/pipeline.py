"""The pipeline: collect -> normalise -> detect language -> deduplicate -> store -> classify -> store.

Collection commits one transaction per page: the page's posts and the cursor that points past them go
together, so a crash loses nothing committed and the cursor never moves past posts that were not committed.
Classification (``monitor.ingest.classify``) commits per batch and only ever adds rows missing for the active
model version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from classifiers.language import LanguageDetector
from monitor.collectors import Collector, FetchWindow, ItemError
from monitor.collectors.http import RetryPolicy
from monitor.errors import Terminated
from monitor.ingest.normalise import content_hash, matches_keywords, normalise_text, record_to_row
from monitor.ingest.privacy import clean_strings, mask_mentions, pseudonymise, scrub_raw, strip_people
from monitor.ingest.records import InvalidRecord, PostRecord, checked
from storage import queries
from storage.models import CollectionRun

log = logging.getLogger(__name__)

#: Stored and printed error messages are cut here (a driver error can quote a whole page of SQL).
MAX_ERROR_CHARS = 500
EARLIEST_POST = datetime(2006, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IngestContext:
    """Everything ingestion needs besides the records; built once per command."""

    topic: str
    detector: LanguageDetector
    salt: str
    pseudonymise_authors: bool = True
    pseudonymise_raw: bool = True
    keywords: tuple[str, ...] = ()
    #: Source name -> keyword filter on/off from the configuration; sources not named use the collector's default.
    keyword_filters: Mapping[str, bool] = field(default_factory=dict)
    #: Sources stored without any author (not even a pseudonym).
    aggregate_only: tuple[str, ...] = ()
    mask_mentions: bool = False

    #: Posts dated before this, or more than ``future`` after now, are rejected (typos, placeholder dates).
    earliest: datetime = EARLIEST_POST
    future: timedelta = timedelta(days=2)

    def filters_keywords(self, collector: Collector) -> bool:
        return self.keyword_filters.get(collector.name, collector.filter_by_keywords)

    def keeps(self, collector: Collector, record: PostRecord) -> bool:
        """Whether ``record`` passes the source's keyword filter (always, where the filter is off)."""
        return not self.filters_keywords(collector) or matches_keywords(record.text, self.keywords)


def to_record(collector: Collector, raw: object, context: IngestContext, latest: datetime) -> PostRecord:
    """One raw item as a checked record (dates inside the window up to ``latest``); a payload the collector
    cannot read is an InvalidRecord too, naming the problem, so one bad item never costs its page."""
    try:
        return checked(collector.to_post(raw), context.earliest, latest)
    except InvalidRecord:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise InvalidRecord(f"unexpected payload: {short_error(exc)}") from exc


@dataclass
class RunSummary:
    source: str
    query: str
    run_id: int | None = None
    pages: int = 0
    fetched: int = 0
    new: int = 0
    skipped: int = 0
    #: Items that could not become posts (also listed in ``errors``, with page-level problems).
    invalid: int = 0
    #: Valid posts that were stored before (by source and id).
    duplicates: int = 0
    errors: list[ItemError] = field(default_factory=list)
    #: Posts stored before whose id came again with a different text (the stored post is kept).
    changed: list[ItemError] = field(default_factory=list)
    counted: int | None = None
    status: str = "ok"
    error: str | None = None

    @property
    def rejected(self) -> int:
        return len(self.errors)

    @property
    def already_stored(self) -> int:
        return self.duplicates


def ingest(session: Session, records: Iterable[PostRecord], context: IngestContext) -> list[int]:
    """Store ``records`` that are not stored yet; returns the new posts' ids. Does not commit.

    Works on the whole batch at once: languages are detected in one vectorised pass, each author is hashed
    once per batch, and the rows go to the database as one executemany of a cached statement."""
    unique: dict[tuple[str, str], PostRecord] = {}
    for record in records:
        unique.setdefault((record.source, record.source_id), record)
    batch = list(unique.values())
    # Languages are detected on the text as posted, before any mention is masked.
    detected = context.detector.detect_many([record.text for record in batch])
    pseudonyms: dict[tuple[str | None, str], str | None] = {}
    now = queries.utcnow()
    rows = []
    for record, language in zip(batch, detected):
        author, raw = record.author, record.raw
        if context.mask_mentions:
            record = replace(record, text=mask_mentions(record.text))
        if record.source in context.aggregate_only:
            author = None
            raw = strip_people(raw, context.mask_mentions) if raw is not None else None
        else:
            if context.pseudonymise_authors:
                key = (author, record.source)
                if key not in pseudonyms:
                    pseudonyms[key] = pseudonymise(author, record.source, context.salt)
                author = pseudonyms[key]
            if context.pseudonymise_raw and raw is not None:
                raw = scrub_raw(raw, record.source, context.salt)
            raw = clean_strings(raw, context.mask_mentions) if raw is not None else None
        rows.append(
            record_to_row(
                record,
                topic=context.topic,
                lang=language.lang,
                lang_confidence=language.confidence,
                author=author,
                raw=raw,
                collected_at=now,
            )
        )
    return queries.insert_posts(session, rows)


def collect_query(
    sessions: sessionmaker[Session],
    collector: Collector,
    query: str,
    context: IngestContext,
    window: FetchWindow = FetchWindow(),
    on_page: Callable[[RunSummary], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunSummary:
    """Collect one query of one source, committing page by page. Never raises for bad items or pages.

    ``should_stop`` is asked after each committed page; when it says so the run ends there with status
    "stopped" (a scheduler shutting down), and the next run resumes from the cursor.
    """
    summary = RunSummary(collector.name, query)
    # Network collectors carry a retry policy with the source's time budget; the run's clock starts now.
    policy = getattr(collector, "policy", None)
    if hasattr(collector, "policy") and isinstance(policy, RetryPolicy):  # hasattr: not in the Protocol
        policy = collector.policy = policy.started()
    with sessions.begin() as session:
        run = queries.start_run(session, collector.name, query)
        summary.run_id = run.id
        cursor = queries.get_cursor(session, collector.name, query)
    try:
        for page in collector.fetch(query, cursor, window):
            _store_page(sessions, collector, query, page, context, summary)
            if on_page:
                on_page(summary)
            if page.failed:
                reasons = "; ".join(f"{e.position}: {e.reason}" for e in page.errors) or "unreadable response"
                summary.status, summary.error = "failed", _clip(reasons)
                break
            if should_stop is not None and should_stop():
                summary.status, summary.error = "stopped", "stopped on request; resumes from the cursor"
                break
            if isinstance(policy, RetryPolicy):
                policy.check_time(f"{collector.name} {query}")
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):
            summary.status, summary.error = "stopped", "stopped by SIGTERM; resumes from the cursor"
        else:
            summary.status, summary.error = "interrupted", "interrupted by the user"
        _finish_run(sessions, summary)
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the run; what was committed stays committed
        summary.status, summary.error = "failed", short_error(exc)
        log.warning("%s %r failed after %d pages: %s", collector.name, query, summary.pages, summary.error)
    _finish_run(sessions, summary)
    return summary


def _store_page(sessions, collector, query, page, context, summary: RunSummary) -> None:
    records, where, skipped_before = [], [], summary.skipped
    positions = page.positions or [f"page {summary.pages + 1} item {i + 1}" for i in range(len(page.items))]
    latest = datetime.now(UTC) + context.future
    for raw, position in zip(page.items, positions):
        try:
            record = to_record(collector, raw, context, latest)
        except InvalidRecord as exc:
            summary.invalid += 1
            summary.errors.append(ItemError(position, _clip(str(exc)), _original(collector, raw)))
            continue
        if not context.keeps(collector, record):
            summary.skipped += 1
            continue
        records.append(record)
        where.append(position)
    summary.errors.extend(page.errors)
    refused = 0
    try:
        with sessions.begin() as session:
            new = len(ingest(session, records, context))
            if page.cursor is not None:
                queries.set_cursor(session, collector.name, query, page.cursor)
    except (DataError, IntegrityError):
        # One row the database refuses must not cost the page: store row by row, reject the ones refused.
        new, refused = _store_rows(sessions, records, where, context, summary)
        if page.cursor is not None:
            with sessions.begin() as session:
                queries.set_cursor(session, collector.name, query, page.cursor)
    summary.pages += 1
    if skipped_before != summary.skipped:
        log.info("%s %r page %d: %d off-topic posts dropped by the keyword filter", collector.name, query,
                 summary.pages, summary.skipped - skipped_before)
    summary.fetched += len(page.items)
    summary.new += new
    summary.invalid += refused
    duplicates = len({(r.source, r.source_id) for r in records}) - new - refused
    summary.duplicates += duplicates
    if duplicates:
        _note_changed_texts(sessions, records, where, summary)
    if page.counted is not None:
        summary.counted = page.counted


def _note_changed_texts(sessions, records, positions, summary: RunSummary) -> None:
    """Name the records whose id is stored with another text: a re-used id, or an edited post."""
    by_source: dict[str, list[str]] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record.source_id)
    with sessions() as session:
        stored = {key: value for source, ids in by_source.items()
                  for key, value in queries.stored_content_hashes(session, source, ids).items()}
    for record, position in zip(records, positions):
        known = stored.get((record.source, record.source_id))
        if known is not None and known != content_hash(normalise_text(record.text)):
            reason = f"id {_clip(record.source_id, 80)} is stored with a different text; kept the stored post"
            summary.changed.append(ItemError(position, reason))


def _store_rows(sessions, records, positions, context, summary: RunSummary) -> tuple[int, int]:
    """Store ``records`` one transaction each; returns (stored, refused). Refused rows become errors."""
    new = refused = 0
    for record, position in zip(records, positions):
        try:
            with sessions.begin() as session:
                new += len(ingest(session, [record], context))
        except (DataError, IntegrityError) as exc:
            refused += 1
            summary.errors.append(ItemError(position, f"refused by the database: {short_error(exc)}"))
    return new, refused


def short_error(exc: BaseException) -> str:
    """``exc`` as one short line: a driver error's first line only, never the SQL and parameters."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return _clip(f"{type(exc).__name__}: {first}")


def _clip(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _finish_run(sessions, summary: RunSummary) -> None:
    with sessions.begin() as session:
        run = session.get(CollectionRun, summary.run_id)
        run.finished_at = queries.utcnow()
        run.pages, run.fetched, run.new = summary.pages, summary.fetched, summary.new
        run.rejected, run.counted, run.skipped = summary.rejected, summary.counted, summary.skipped
        run.status, run.error = summary.status, summary.error
        if summary.errors:
            run.gaps = {"errors": [_clip(f"{e.position}: {e.reason}") for e in summary.errors[:200]]}


def _original(collector: Collector, raw: object) -> str:
    """What the rejects keep of a bad item: the input line where the source has one (files), else a preview."""
    original = getattr(collector, "original", None)
    return original(raw) if original is not None else _preview(raw)


def _preview(raw: object, limit: int = 500) -> str:
    text = repr(raw)
    return text if len(text) <= limit else text[:limit] + "..."
