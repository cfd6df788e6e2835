"""Classify stored posts with a model version: only what it has not classified yet, each post encoded once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from classifiers import encoder as embedding_codec
from classifiers.sentiment.router import SentimentResult
from storage import queries
from storage.engine import read_only_session_factory
from storage.retry import retry_aborted


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
    # Read, score and write in three steps, and hold the write lock only for the write: on SQLite a writer
    # locks the whole file, so holding it while the heads run would stall collection and the other
    # re-scoring processes (``workers`` of ``monitor.jobs.classify``) for the whole batch.
    readers = read_only_session_factory(sessions.kw["bind"])
    done = 0
    while True:
        with readers.begin() as session:
            stmt = queries.unclassified_posts(session, model_version_id, batch_size, after_id, encoder,
                                              post_ids=post_ids, until_id=until_id)
            batch = session.execute(stmt).all()
            if not batch:
                return done
            stored = queries.stored_sentiments(session, [row.id for row in batch], scorers)
        texts, langs = [row.text for row in batch], [row.lang for row in batch]
        embeddings, new_embeddings = _embeddings(classifier, batch, encoder) if encoder else (None, [])
        known = [SentimentResult(*stored[row.id]) if row.id in stored else None for row in batch]
        labels = classifier.classify(texts, langs, embeddings, known)
        now = queries.utcnow()
        rows = [classification_row(row.id, model_version_id, label, now) for row, label in zip(batch, labels)]
        # Worker processes can deadlock on rollup rows; the loser runs its write again (storage.retry).
        retry_aborted(partial(_write_batch, sessions, new_embeddings, rows))
        done += len(batch)
        after_id = batch[-1].id
        if on_batch:
            on_batch(len(batch))


def _write_batch(sessions: sessionmaker[Session], embeddings: list[dict], rows: list[dict]) -> None:
    """One batch's new embeddings and its classifications, in one transaction."""
    with sessions.begin() as session:
        queries.insert_embeddings(session, embeddings)
        queries.insert_classifications(session, rows)


def _embeddings(classifier, batch, encoder: str) -> tuple[np.ndarray, list[dict]]:
    """The batch's stored embeddings, and the rows to store for those computed now."""
    missing = [i for i, row in enumerate(batch) if row.vector is None]
    vectors = np.zeros((len(batch), embedding_codec.DIM), dtype=np.float32)
    present = [i for i in range(len(batch)) if batch[i].vector is not None]
    if present:
        vectors[present] = embedding_codec.from_blobs([batch[i].vector for i in present])
    rows: list[dict] = []
    if missing:
        blobs = [embedding_codec.to_blob(v) for v in classifier.embed([batch[i].text for i in missing])]
        rows = [{"post_id": batch[i].id, "encoder": encoder, "vector": blob} for i, blob in zip(missing, blobs)]
        # Classify with what is stored (float16), so that a later re-score gives exactly the same labels.
        vectors[missing] = embedding_codec.from_blobs(blobs)
    return vectors, rows


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
