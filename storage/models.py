"""Typed SQLAlchemy 2 models: the whole schema in one place.

Times are stored in UTC. Authors are stored pseudonymised (see ``monitor.ingest.privacy``); nothing here holds a
secret. Aspects are boolean columns rather than a JSON list so that reports can aggregate them in SQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# The label vocabulary is defined once, in classifiers.labels; re-exported here for queries and reports.
from classifiers.labels import ASPECTS, SENTIMENTS, STANCES  # noqa: F401
from storage.base import Base


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_posts_created_at", "created_at"),
        Index("ix_posts_content_hash", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(512))
    topic: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    lang_confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
    author: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(String(2048))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any] | None]
    content_hash: Mapped[str] = mapped_column(String(40))
    collected_at: Mapped[datetime]

    classifications: Mapped[list[Classification]] = relationship(
        back_populates="post", cascade="all, delete-orphan", passive_deletes=True
    )


class CollectionRun(Base):
    __tablename__ = "collection_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    query: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    pages: Mapped[int] = mapped_column(default=0)
    fetched: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    #: Posts the source's keyword filter dropped (``[sources.NAME] keyword_filter``).
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    #: What the platform says the query matches (X's counts endpoint), so gaps are visible.
    counted: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    gaps: Mapped[dict[str, Any] | None]


class Cursor(Base):
    """Where incremental collection of one (source, query) resumes."""

    __tablename__ = "cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    query: Mapped[str] = mapped_column(String(1024), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default="stance")
    created_at: Mapped[datetime]
    artefact: Mapped[str] = mapped_column(String(1024))
    artefact_sha256: Mapped[str | None] = mapped_column(String(64))
    data_hash: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime | None]


class Classification(Base):
    __tablename__ = "classifications"
    __table_args__ = (
        UniqueConstraint("post_id", "model_version_id"),
        # Covers the report's main GROUP BY: every column it reads is in the index, so on a million posts
        # the classifications table itself is never touched.
        Index(
            "ix_classifications_report",
            "model_version_id", "post_id", "relevant", "stance", "safety", "competition", "governance",
            "local_ai", "safety_concern", "sentiment_score",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    relevant: Mapped[bool] = mapped_column(Boolean)
    relevance_score: Mapped[float] = mapped_column(Float)
    stance: Mapped[str] = mapped_column(String(16))
    p_pro_open: Mapped[float] = mapped_column(Float)
    p_pro_closed: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)
    safety: Mapped[bool] = mapped_column(Boolean, default=False)
    competition: Mapped[bool] = mapped_column(Boolean, default=False)
    governance: Mapped[bool] = mapped_column(Boolean, default=False)
    local_ai: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_concern: Mapped[bool] = mapped_column(Boolean, default=False)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_model: Mapped[str | None] = mapped_column(String(64))
    classified_at: Mapped[datetime]

    post: Mapped[Post] = relationship(back_populates="classifications")


class PostEmbedding(Base):
    """A post's sentence embedding (``classifiers.encoder``, float16 bytes), computed once when the post is
    first classified. Retraining, re-scoring and comparing model versions read it instead of encoding again."""

    __tablename__ = "post_embeddings"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    encoder: Mapped[str] = mapped_column(String(32), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class HumanLabel(Base):
    __tablename__ = "human_labels"
    __table_args__ = (UniqueConstraint("post_id", "annotator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(64))
    labelled_at: Mapped[datetime]
    relevant: Mapped[bool | None] = mapped_column(Boolean)
    stance: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    aspects: Mapped[list[str] | None] = mapped_column(JSON)
    safety_concern: Mapped[bool | None] = mapped_column(Boolean)


class DeletionLog(Base):
    """One deletion (purge, platform compliance, expiry): what, when, why and how many; never the deleted text.

    ``not_found`` lists the requested ids that were not stored (deleted before, or never collected).
    """

    __tablename__ = "deletion_log"
    __table_args__ = (Index("ix_deletion_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    #: purge, x-compliance, bluesky-delete, bluesky-account, reddit-recheck, expire.
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    job: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(String(32))
    requested: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[int] = mapped_column(default=0)
    not_found: Mapped[list[str]] = mapped_column(JSON, default=list)


class Rollup(Base):
    """Classifications summed per (model version, UTC day, source, language, label): what reports count.

    ``label`` is the stance of relevant posts, "" for irrelevant ones. Database triggers (migration
    0006_cluster) keep it equal to a GROUP BY over ``classifications`` joined to ``posts`` on every insert,
    update and delete of a classification, and when a post is deleted; reports read it instead of scanning
    posts. A post's ``created_at``, ``source``, ``lang`` and ``url`` are never updated once stored.
    """

    __tablename__ = "rollups"

    #: No foreign key: when a model version is deleted, its classifications go by cascade and the triggers
    #: empty its rollup rows; a cascade on the rollup itself would race them.
    model_version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    posts: Mapped[int] = mapped_column(Integer, default=0)
    aspect_safety: Mapped[int] = mapped_column(Integer, default=0)
    aspect_competition: Mapped[int] = mapped_column(Integer, default=0)
    aspect_governance: Mapped[int] = mapped_column(Integer, default=0)
    aspect_local_ai: Mapped[int] = mapped_column(Integer, default=0)
    safety_concern: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_n: Mapped[int] = mapped_column(Integer, default=0)
    sentiment_sum: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_sq: Mapped[float] = mapped_column(Float, default=0.0)
    demo: Mapped[int] = mapped_column(Integer, default=0)
    p_pro_open: Mapped[float] = mapped_column(Float, default=0.0)
    p_pro_closed: Mapped[float] = mapped_column(Float, default=0.0)
    p_neutral: Mapped[float] = mapped_column(Float, default=0.0)


class DeadLetter(Base):
    """A task that failed for good (a poison batch): recorded with its arguments so it can be looked at and
    re-queued, instead of being retried forever or lost."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(128))
    task_id: Mapped[str | None] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    failed_at: Mapped[datetime]
