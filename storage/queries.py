"""Query functions. Each takes a Session; the caller owns the transaction and commits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.models import (
    Classification,
    CollectionRun,
    Cursor,
    ModelVersion,
    Post,
    PostEmbedding,
)


def _insert_ignoring_conflicts(
    session: Session, model, rows: Sequence[dict[str, Any]], conflict_cols, returning: bool = True
) -> list[int]:
    """INSERT ... ON CONFLICT DO NOTHING (RETURNING id) as one executemany of a statement compiled once and
    cached (the drivers batch the rows: SQLAlchemy's insertmanyvalues); returns the ids of rows inserted.

    Core, not ORM: the table's insert skips the ORM's per-row bookkeeping, which a bulk write does not need."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    stmt = insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
    if not returning:
        session.execute(stmt, list(rows))
        return []
    return list(session.execute(stmt.returning(table.c.id), list(rows)).scalars())


# --- posts -------------------------------------------------------------------------------------------


#: Posts' columns as ingestion writes them (everything but the id).
_POST_COLUMNS = ("source", "source_id", "topic", "text", "lang", "lang_confidence", "created_at", "author", "url",
                 "metrics", "raw", "content_hash", "collected_at")
_JSON_COLUMNS = frozenset({"metrics", "raw"})
#: Below this many rows a page goes through executemany; above it, PostgreSQL gets COPY.
COPY_FROM_ROWS = 200


def insert_posts(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert posts, skipping any (source, source_id) already stored. Returns the new posts' ids.

    On PostgreSQL a large page is written with COPY into a temporary table and moved over with one
    INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id (COPY itself cannot skip conflicts)."""
    if len(rows) >= COPY_FROM_ROWS and session.get_bind().dialect.name == "postgresql":
        return _copy_posts(session, rows)
    return _insert_ignoring_conflicts(session, Post, rows, ["source", "source_id"])


def _copy_posts(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    import json

    columns = ", ".join(_POST_COLUMNS)
    driver = session.connection().connection.driver_connection
    assert driver is not None  # an open session's connection always has its DBAPI connection
    cursor = driver.cursor()
    try:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS posts_incoming AS SELECT "
            f"{columns} FROM posts WITH NO DATA")
        cursor.execute("TRUNCATE posts_incoming")
        with cursor.copy(f"COPY posts_incoming ({columns}) FROM STDIN") as copy:
            for row in rows:
                # JSON columns as SQLAlchemy's JSON type writes them (None is the JSON null).
                copy.write_row([json.dumps(row.get(name)) if name in _JSON_COLUMNS else row.get(name)
                                for name in _POST_COLUMNS])
        cursor.execute(f"INSERT INTO posts ({columns}) SELECT {columns} FROM posts_incoming "
                       "ON CONFLICT (source, source_id) DO NOTHING RETURNING id")
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def stored_content_hashes(
    session: Session, source: str, source_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """``(source, source_id) -> content_hash`` of the stored posts among ``source_ids``."""
    found: dict[tuple[str, str], str] = {}
    ids = list(dict.fromkeys(source_ids))
    for start in range(0, len(ids), 1000):
        rows = session.execute(select(Post.source_id, Post.content_hash).where(
            Post.source == source, Post.source_id.in_(ids[start : start + 1000])))
        found.update({(source, source_id): digest for source_id, digest in rows})
    return found


def count_posts(session: Session) -> int:
    return session.scalar(select(func.count(Post.id))) or 0


# --- cursors and runs --------------------------------------------------------------------------------


def get_cursor(session: Session, source: str, query: str) -> dict[str, Any] | None:
    cursor = session.get(Cursor, (source, query))
    return dict(cursor.state) if cursor else None


def set_cursor(session: Session, source: str, query: str, state: dict[str, Any]) -> None:
    cursor = session.get(Cursor, (source, query))
    if cursor is None:
        session.add(Cursor(source=source, query=query, state=state, updated_at=utcnow()))
    else:
        cursor.state = state
        cursor.updated_at = utcnow()


def start_run(session: Session, source: str, query: str) -> CollectionRun:
    """Record a new run. Runs of the same source and query still marked running belong to a process that
    died (collection of one source runs under a lease, one at a time): they are marked abandoned."""
    session.execute(
        update(CollectionRun)
        .where(CollectionRun.source == source, CollectionRun.query == query, CollectionRun.status == "running")
        .values(status="abandoned", error="the process ended before the run finished; resumed from its cursor")
    )
    run = CollectionRun(source=source, query=query, started_at=utcnow(), status="running")
    session.add(run)
    session.flush()
    return run


def last_runs(session: Session, limit: int = 10) -> list[CollectionRun]:
    return list(session.scalars(select(CollectionRun).order_by(CollectionRun.id.desc()).limit(limit)))


# --- model versions ----------------------------------------------------------------------------------


def active_model_version(session: Session, kind: str = "stance") -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.active.is_(True))
    )


def model_version_by_name(session: Session, name: str) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.name == name))


def activate_model_version(session: Session, version: ModelVersion) -> None:
    """Make ``version`` the only active model of its kind."""
    session.execute(
        update(ModelVersion).where(ModelVersion.kind == version.kind).values(active=False)
    )
    version.active = True
    version.activated_at = utcnow()


# --- classifications ---------------------------------------------------------------------------------


def unclassified_posts(
    session: Session, model_version_id: int, limit: int, after_id: int = 0, encoder: str | None = None,
    post_ids: Sequence[int] | None = None, until_id: int | None = None,
) -> Select:
    """Posts with no classification by ``model_version_id``, in id order, starting after ``after_id`` (and,
    optionally, only ``post_ids`` or ids up to ``until_id``): id, text, lang and, with ``encoder``, the stored
    embedding (``vector``, None where there is none yet)."""
    classified = select(Classification.post_id).where(
        Classification.model_version_id == model_version_id, Classification.post_id == Post.id
    )
    stmt: Select
    if encoder is None:
        stmt = select(Post.id, Post.text, Post.lang)
    else:
        stmt = select(Post.id, Post.text, Post.lang, PostEmbedding.vector).outerjoin(
            PostEmbedding, (PostEmbedding.post_id == Post.id) & (PostEmbedding.encoder == encoder)
        )
    if post_ids is None and until_id is None:
        return stmt.where(Post.id > after_id, ~classified.exists()).order_by(Post.id).limit(limit)
    # A batch of ids or a range (the cluster's tasks): the classifications already there are read by their
    # own small index range, not by an anti-join, whose plan goes wrong on PostgreSQL while a re-score
    # fills a version faster than its statistics follow (a nested loop over every row of the version).
    done = select(Classification.post_id).where(
        Classification.model_version_id == model_version_id, Classification.post_id > after_id)
    stmt = stmt.where(Post.id > after_id)
    if post_ids is not None:
        ids = list(post_ids)
        stmt, done = stmt.where(Post.id.in_(ids)), done.where(Classification.post_id.in_(ids))
    if until_id is not None:
        stmt, done = stmt.where(Post.id <= until_id), done.where(Classification.post_id <= until_id)
    return stmt.where(Post.id.not_in(done)).order_by(Post.id).limit(limit)


def unclassified_post_ids(session: Session, model_version_id: int) -> Iterator[int]:
    """Ids of the posts ``model_version_id`` has not classified, in id order, streamed."""
    classified = select(Classification.post_id).where(
        Classification.model_version_id == model_version_id, Classification.post_id == Post.id)
    return iter(session.scalars(select(Post.id).where(~classified.exists()).order_by(Post.id)
                                .execution_options(yield_per=10_000)))


def insert_classifications(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _insert_ignoring_conflicts(session, Classification, rows, ["post_id", "model_version_id"], returning=False)


def insert_embeddings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store embeddings (``post_id``, ``encoder``, ``vector``); a post's embedding is never replaced."""
    _insert_ignoring_conflicts(session, PostEmbedding, rows, ["post_id", "encoder"], returning=False)


def stored_sentiments(session: Session, post_ids: Sequence[int], scorers: Iterable[str]) -> dict[int, tuple]:
    """``post_id -> (sentiment, sentiment_score, sentiment_model)`` of any classification of these posts made
    by one of ``scorers``: a new topic model version reuses them instead of scoring sentiment again."""
    names = list(scorers)
    if not post_ids or not names:
        return {}
    found: dict[int, tuple] = {}
    for start in range(0, len(post_ids), 5000):
        rows = session.execute(
            select(Classification.post_id, Classification.sentiment, Classification.sentiment_score,
                   Classification.sentiment_model)
            .where(Classification.post_id.in_(post_ids[start : start + 5000]),
                   Classification.sentiment_model.in_(names))
        )
        for post_id, sentiment, score, model in rows:
            found[post_id] = (sentiment, score, model)
    return found


def count_classifications(session: Session, model_version_id: int | None = None) -> int:
    stmt = select(func.count(Classification.id))
    if model_version_id is not None:
        stmt = stmt.where(Classification.model_version_id == model_version_id)
    return session.scalar(stmt) or 0
