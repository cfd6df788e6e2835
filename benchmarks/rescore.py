"""Time to re-score every stored post with a newly trained model version (part of ``benchmarks/quality.py``).

The database (SQLite, cached under .benchmark-cache/) holds N posts whose texts are real labelled posts
repeated, each with its stored embedding and a classification by a first model version, as after months of
collection. The measured step is what follows a retraining and ``stance models activate``: ``stance classify``
(``monitor.jobs.classify``) with the new version, which reads the stored embeddings and reuses the stored
sentiment of unchanged scorers, so only the topic heads run; once in one process and once split over two
(``--workers 2``, one per core of these machines). Building the database is not timed.

    python benchmarks/rescore.py --posts 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from sqlalchemy import delete, func, insert, select  # noqa: E402

from classifiers import DEFAULT_STANCE_ARTEFACT, encoder, load_post_classifier, load_sentiment_router  # noqa: E402
from classifiers.embedding_cache import CachedEmbedder  # noqa: E402
from classifiers.training import load_training_data  # noqa: E402
from monitor import jobs  # noqa: E402
from monitor.config import load_settings  # noqa: E402
from monitor.ingest.classify import classification_row  # noqa: E402
from storage.engine import open_database  # noqa: E402
from storage.models import Classification, ModelVersion, Post, PostEmbedding  # noqa: E402
from storage.queries import activate_model_version  # noqa: E402

PROJECT = _HERE.parent
CACHE = PROJECT / ".benchmark-cache"
DATASETS = PROJECT.parent / "shared" / "datasets"
START = datetime(2025, 1, 1, tzinfo=UTC)
CHUNK = 20_000


def _version(session, name: str) -> ModelVersion:
    version = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
    if version is None:
        version = ModelVersion(name=name, kind="stance", created_at=datetime.now(UTC),
                               artefact=str(DEFAULT_STANCE_ARTEFACT), metrics={}, params={})
        session.add(version)
        session.flush()
    return version


def build(path: Path, n: int) -> None:
    """N posts with embeddings and a first version's classifications (sentiment included)."""
    data = load_training_data(DATASETS)
    examples = [x for x in data.train if x.get("lang") in ("de", "en")]
    texts, langs = [x["text"] for x in examples], [x["lang"] for x in examples]
    vectors = CachedEmbedder(encoder.encode, CACHE / f"embeddings-{encoder.NAME}.npz")(texts)
    blobs = [encoder.to_blob(v) for v in vectors]
    classifier = load_post_classifier()
    labels = classifier.classify(texts, langs, vectors)
    engine, sessions = open_database(f"sqlite:///{path}")
    with sessions.begin() as session:
        first = _version(session, "bench-first").id
    now = datetime.now(UTC)
    for start in range(0, n, CHUNK):
        rows = range(start, min(n, start + CHUNK))
        with sessions.begin() as session:
            session.execute(insert(Post), [
                {"id": i + 1, "source": "bench", "source_id": str(i), "topic": "bench", "text": texts[i % len(texts)],
                 "lang": langs[i % len(texts)], "created_at": START + timedelta(minutes=i % 500_000),
                 "metrics": {}, "content_hash": hashlib.sha1(str(i).encode()).hexdigest(), "collected_at": now}
                for i in rows])
            session.execute(insert(PostEmbedding), [
                {"post_id": i + 1, "encoder": encoder.NAME, "vector": blobs[i % len(texts)]} for i in rows])
            session.execute(insert(Classification), [
                classification_row(i + 1, first, labels[i % len(texts)], now) for i in rows])
    engine.dispose()


def run(n: int = 1_000_000, workers: tuple[int, ...] = (1, 2)) -> list[str]:
    """Time the re-score with each number of worker processes in ``workers``, side by side in one run."""
    CACHE.mkdir(exist_ok=True)
    # Named after the sentiment scorers too: a database built by older scorers holds sentiment the current
    # ones would all score again, which is a release's one-time cost, not a re-score's.
    scorers = load_sentiment_router().scorer_names
    path = CACHE / f"rescore-{n}-{'-'.join(sorted(scorers.values()))}.db"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".building")
        partial.unlink(missing_ok=True)
        build(partial, n)
        partial.rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    url = f"sqlite:///{path}"
    settings = load_settings(None, {"STANCE_DATABASE_URL": url})
    lines = []
    for count in workers:
        engine, sessions = open_database(url)
        with sessions.begin() as session:
            second = _version(session, "bench-retrained")
            session.execute(delete(Classification).where(Classification.model_version_id == second.id))
            # What `stance models activate` does after `stance train`; `stance classify` then scores history.
            activate_model_version(session, second)
            second_id = second.id
        engine.dispose()
        started = time.perf_counter()
        result = jobs.classify(settings, workers=count)
        seconds = time.perf_counter() - started
        engine, sessions = open_database(url)
        with sessions.begin() as session:
            stored = session.scalar(select(func.count()).where(Classification.model_version_id == second_id))
        engine.dispose()
        lines.append(
            f"Re-score after retraining, {count} worker process{'es' if count > 1 else ''} "
            f"(`stance classify --workers {count}`): {result.classified:,} stored posts (SQLite, stored embeddings, "
            f"sentiment of unchanged scorers reused) in {seconds:.0f} s = {seconds / 60:.1f} min "
            f"({result.classified / seconds:,.0f} posts/s); {stored:,} classifications stored; target <= 5 min for 1M")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to time (default: %(default)s)")
    args = parser.parse_args()
    print("\n".join(run(args.posts, tuple(int(w) for w in args.workers.split(",")))))
