"""Deleting posts everywhere, with an audit record: the one path for purge, compliance jobs and expiry.

A post lives in ``posts`` (text, raw payload), ``classifications``, ``post_embeddings`` and ``human_labels``;
cursors may hold its platform id (X's ``since_id``). ``delete_posts`` removes all of it and writes one
``deletion_log`` row saying what, when, why and how many, and which requested ids were not stored. It never
records the deleted text. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from storage import queries
from storage.clock import utcnow
from storage.models import Classification, Cursor, DeletionLog, HumanLabel, Post, PostEmbedding

_CHUNK = 500
#: At most this many not-found ids are kept in one audit record (the count is always complete).
_NOT_FOUND_KEPT = 10_000


@dataclass
class Deletion:
    """What one deletion did: how many posts went, and the requested ids that were not stored."""

    deleted: int = 0
    not_found: list[str] = field(default_factory=list)
    log_id: int | None = None


def delete_posts(
    session: Session,
    source: str,
    source_ids: Iterable[str],
    *,
    action: str,
    reason: str,
    job: str | None = None,
) -> Deletion:
    """Delete the posts of ``source`` with these platform ids from every table and log it."""
    requested = list(dict.fromkeys(str(i) for i in source_ids))
    result = Deletion()
    for start in range(0, len(requested), _CHUNK):
        chunk = requested[start : start + _CHUNK]
        found = _delete_where(session, (Post.source == source) & Post.source_id.in_(chunk))
        result.deleted += len(found)
        kept = set(found)
        result.not_found.extend(i for i in chunk if i not in kept)
        _forget_in_cursors(session, source, found)
    result.log_id = _log(session, action, reason, job, source, len(requested), result)
    return result


def delete_by_author(
    session: Session, source: str, author: str, *, action: str, reason: str, job: str | None = None,
    source_id_prefix: str | None = None, audit_nothing: bool = True,
) -> Deletion:
    """Delete every post of ``source`` by the (pseudonymised) ``author``, or whose platform id starts with
    ``source_id_prefix`` (Bluesky: ``at://<did>/``, for posts stored without an author). With
    ``audit_nothing`` false, a deletion that found nothing is not logged (a firehose's account events)."""
    where = Post.author == author
    if source_id_prefix:
        where = where | Post.source_id.startswith(source_id_prefix, autoescape=True)
    found = _delete_where(session, (Post.source == source) & where)
    _forget_in_cursors(session, source, found)
    result = Deletion(deleted=len(found))
    if found or audit_nothing:
        result.log_id = _log(session, action, reason, job, source, len(found), result)
    return result


def delete_older_than(
    session: Session, source: str, cutoff: datetime, *, action: str = "expire", reason: str,
    job: str | None = None,
) -> Deletion:
    """Delete every post of ``source`` created before ``cutoff`` (retention)."""
    found = _delete_where(session, (Post.source == source) & (Post.created_at < cutoff))
    _forget_in_cursors(session, source, found)
    result = Deletion(deleted=len(found))
    if found:
        result.log_id = _log(session, action, reason, job, source, len(found), result)
    return result


def _delete_where(session: Session, where: ColumnElement[bool]) -> list[str]:
    """Delete the matching posts and every row that refers to them; returns their platform ids."""
    rows = session.execute(select(Post.id, Post.source_id).where(where)).all()
    for start in range(0, len(rows), _CHUNK):
        ids = [row.id for row in rows[start : start + _CHUNK]]
        # Explicit deletes, not only ON DELETE CASCADE: SQLite enforces foreign keys only when asked to.
        for model in (Classification, HumanLabel, PostEmbedding):
            session.execute(delete(model).where(model.post_id.in_(ids)))
        session.execute(delete(Post).where(Post.id.in_(ids)))
    return [row.source_id for row in rows]


def _forget_in_cursors(session: Session, source: str, source_ids: Sequence[str]) -> None:
    """Cursors that hold a deleted id (X ``since_id``) get the id just below it, or lose it when it is not a
    number: collection resumes at the same place without the deleted id staying stored."""
    if not source_ids:
        return
    gone = set(source_ids)
    for cursor in session.scalars(select(Cursor).where(Cursor.source == source)):
        state = dict(cursor.state)
        changed = False
        for key, value in list(state.items()):
            if isinstance(value, (str, int)) and str(value) in gone:
                changed = True
                if str(value).isdigit():
                    state[key] = str(int(value) - 1)
                else:
                    del state[key]
        if changed:
            cursor.state = state


def _log(session: Session, action: str, reason: str, job: str | None, source: str | None, requested: int,
         result: Deletion) -> int:
    entry = DeletionLog(at=utcnow(), action=action, reason=reason, job=job, source=source, requested=requested,
                        deleted=result.deleted, not_found=result.not_found[:_NOT_FOUND_KEPT])
    session.add(entry)
    session.flush()
    return entry.id


def deletion_log(session: Session, limit: int = 50) -> list[DeletionLog]:
    """The latest audit records, newest first."""
    return list(session.scalars(select(DeletionLog).order_by(DeletionLog.id.desc()).limit(limit)))


def stored_source_ids(session: Session, source: str) -> list[str]:
    """Every stored platform id of ``source``, oldest post first (what a compliance check uploads)."""
    return list(session.scalars(select(Post.source_id).where(Post.source == source).order_by(Post.id)))


def stored_among(session: Session, source: str, source_ids: Sequence[str]) -> list[str]:
    """Those of ``source_ids`` that are stored (a firehose announces deletions of posts we never kept)."""
    return [source_id for _, source_id in queries.stored_content_hashes(session, source, source_ids)]
