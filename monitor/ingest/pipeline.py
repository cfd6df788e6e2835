"""The pipeline: collect -> normalise -> detect language -> deduplicate -> store -> classify -> store.

Collection commits one transaction per page: the page's posts and the cursor that points past them go
together, so a crash loses nothing committed and the cursor never moves past posts that were not committed.
Classification commits per batch and only ever adds rows missing for the active model version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from classifiers import encoder as embedding_codec
from classifiers.language import LanguageDetector
from classifiers.sentiment.router import SentimentResult
from monitor.collectors import Collector, FetchWindow, ItemError
from monitor.ingest.normalise import matches_keywords, record_to_row
from monitor.ingest.privacy import pseudonymise, scrub_raw
from monitor.ingest.records import InvalidRecord, PostRecord
from storage import queries
from storage.models import CollectionRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestContext:
    """Everything ingestion needs besides the records; built once per command."""

    topic: str
    detector: LanguageDetector
    salt: str
    pseudonymise_authors: bool = True
    pseudonymise_raw: bool = True
    keywords: tuple[str, ...] = ()


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
    errors: list[ItemError] = field(default_factory=list)
    counted: int | None = None
    status: str = "ok"
    error: str | None = None

    @property
    def rejected(self) -> int:
        return len(self.errors)

    @property
    def already_stored(self) -> int:
        return self.fetched - self.invalid - self.skipped - self.new


def ingest(session: Session, records: Iterable[PostRecord], context: IngestContext) -> list[int]:
    """Store ``records`` that are not stored yet; returns the new posts' ids. Does not commit.

    Works on the whole batch at once: languages are detected in one vectorised pass, each author is hashed
    once per batch, and the rows go to the database as one executemany of a cached statement."""
    unique: dict[tuple[str, str], PostRecord] = {}
    for record in records:
        unique.setdefault((record.source, record.source_id), record)
    batch = list(unique.values())
    detected = context.detector.detect_many([record.text for record in batch])
    pseudonyms: dict[tuple[str | None, str], str | None] = {}
    now = queries.utcnow()
    rows = []
    for record, language in zip(batch, detected):
        author, raw = record.author, record.raw
        if context.pseudonymise_authors:
            key = (author, record.source)
            if key not in pseudonyms:
                pseudonyms[key] = pseudonymise(author, record.source, context.salt)
            author = pseudonyms[key]
        if context.pseudonymise_raw and raw is not None:
            raw = scrub_raw(raw, record.source, context.salt)
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
    with sessions.begin() as session:
        run = queries.start_run(session, collector.name, query)
        summary.run_id = run.id
        cursor = queries.get_cursor(session, collector.name, query)
    try:
        for page in collector.fetch(query, cursor, window):
            _store_page(sessions, collector, query, page, context, summary)
            if on_page:
                on_page(summary)
            if should_stop is not None and should_stop():
                summary.status, summary.error = "stopped", "stopped on request; resumes from the cursor"
                break
    except KeyboardInterrupt:
        summary.status, summary.error = "interrupted", "interrupted by the user"
        _finish_run(sessions, summary)
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the run; what was committed stays committed
        log.warning("%s %r failed after %d pages: %s", collector.name, query, summary.pages, exc)
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"
    _finish_run(sessions, summary)
    return summary


def _store_page(sessions, collector, query, page, context, summary: RunSummary) -> None:
    records = []
    positions = page.positions or [f"page {summary.pages + 1} item {i + 1}" for i in range(len(page.items))]
    for raw, position in zip(page.items, positions):
        try:
            record = collector.to_post(raw)
        except InvalidRecord as exc:
            summary.invalid += 1
            summary.errors.append(ItemError(position, str(exc), _preview(raw)))
            continue
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            summary.invalid += 1
            summary.errors.append(ItemError(position, f"unexpected payload: {type(exc).__name__}: {exc}"))
            continue
        if collector.filter_by_keywords and not matches_keywords(record.text, context.keywords):
            summary.skipped += 1
            continue
        records.append(record)
    summary.errors.extend(page.errors)
    with sessions.begin() as session:
        new_ids = ingest(session, records, context)
        if page.cursor is not None:
            queries.set_cursor(session, collector.name, query, page.cursor)
    summary.pages += 1
    summary.fetched += len(page.items)
    summary.new += len(new_ids)
    if page.counted is not None:
        summary.counted = page.counted


def _finish_run(sessions, summary: RunSummary) -> None:
    with sessions.begin() as session:
        run = session.get(CollectionRun, summary.run_id)
        run.finished_at = queries.utcnow()
        run.pages, run.fetched, run.new = summary.pages, summary.fetched, summary.new
        run.rejected, run.counted = summary.rejected, summary.counted
        run.status, run.error = summary.status, summary.error
        if summary.errors:
            run.gaps = {"errors": [f"{e.position}: {e.reason}" for e in summary.errors[:200]]}


def _preview(raw: object, limit: int = 500) -> str:
    text = repr(raw)
    return text if len(text) <= limit else text[:limit] + "..."


# --- classification ----------------------------------------------------------------------------------


def classify_pending(
    sessions: sessionmaker[Session],
    classifier,
    model_version_id: int,
    batch_size: int = 2000,
    on_batch: Callable[[int], None] | None = None,
    post_ids: Sequence[int] | None = None,
    until_id: int | None = None,
    after_id: int = 0,
) -> int:
    """Classify every stored post that has no classification by ``model_version_id``. Returns how many.

    ``post_ids`` limits the work to those posts, ``after_id``/``until_id`` to an id range (the cluster's
    embed-and-classify and re-score tasks). Only missing classifications are computed and written, and the
    write ignores rows that appeared meanwhile, so running the same work twice stores it once.

    A post is encoded once: its embedding is stored with its first classification and read back by every
    later model version, and sentiment already scored by the current scorers is reused. So re-scoring
    history after retraining only runs the topic heads.
    """
    encoder = getattr(classifier, "encoder_name", None)
    scorers = list(getattr(getattr(classifier, "sentiment", None), "scorer_names", {}).values())
    done = 0
    while True:
        with sessions.begin() as session:
            stmt = queries.unclassified_posts(session, model_version_id, batch_size, after_id, encoder,
                                              post_ids=post_ids, until_id=until_id)
            batch = session.execute(stmt).all()
            if not batch:
                return done
            texts, langs = [row.text for row in batch], [row.lang for row in batch]
            embeddings = _embeddings(session, classifier, batch, encoder) if encoder else None
            stored = queries.stored_sentiments(session, [row.id for row in batch], scorers)
            known = [SentimentResult(*stored[row.id]) if row.id in stored else None for row in batch]
            labels = classifier.classify(texts, langs, embeddings, known)
            now = queries.utcnow()
            queries.insert_classifications(
                session,
                [classification_row(row.id, model_version_id, label, now) for row, label in zip(batch, labels)],
            )
        done += len(batch)
        after_id = batch[-1].id
        if on_batch:
            on_batch(len(batch))


def _embeddings(session: Session, classifier, batch, encoder: str) -> np.ndarray:
    """The batch's stored embeddings; those missing are computed and stored now."""
    missing = [i for i, row in enumerate(batch) if row.vector is None]
    vectors = np.zeros((len(batch), embedding_codec.DIM), dtype=np.float32)
    present = [i for i in range(len(batch)) if batch[i].vector is not None]
    if present:
        vectors[present] = embedding_codec.from_blobs([batch[i].vector for i in present])
    if missing:
        blobs = [embedding_codec.to_blob(v) for v in classifier.embed([batch[i].text for i in missing])]
        queries.insert_embeddings(session, [
            {"post_id": batch[i].id, "encoder": encoder, "vector": blob} for i, blob in zip(missing, blobs)
        ])
        # Classify with what was stored (float16), so that a later re-score gives exactly the same labels.
        vectors[missing] = embedding_codec.from_blobs(blobs)
    return vectors


def classification_row(post_id: int, model_version_id: int, labels, now: datetime) -> dict:
    return {
        "post_id": post_id,
        "model_version_id": model_version_id,
        "relevant": labels.relevant,
        "relevance_score": labels.relevance_score,
        "stance": labels.stance,
        "p_pro_open": labels.stance_proba["pro_open"],
        "p_pro_closed": labels.stance_proba["pro_closed"],
        "p_neutral": labels.stance_proba["neutral"],
        "safety": "safety" in labels.aspects,
        "competition": "competition" in labels.aspects,
        "governance": "governance" in labels.aspects,
        "local_ai": "local_ai" in labels.aspects,
        "safety_concern": labels.safety_concern,
        "sentiment": labels.sentiment,
        "sentiment_score": labels.sentiment_score,
        "sentiment_model": labels.sentiment_model,
        "classified_at": now,
    }
