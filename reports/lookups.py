"""Small queries beside the main aggregation: model versions and collection coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage import queries
from storage.models import CollectionRun, ModelVersion


class NoModelVersion(Exception):
    "No stance model version is active (or the requested one does not exist)"


def resolve_model_version(session: Session, model_version_id: int | None) -> ModelVersion | None:
    """The requested version, or the active stance version (None if nothing was ever classified)."""
    if model_version_id is None:
        return queries.active_model_version(session, "stance")
    version = session.get(ModelVersion, model_version_id)
    if version is None:
        raise NoModelVersion(f"model version {model_version_id} does not exist")
    return version


def model_versions(session: Session, kind: str = "stance") -> list[ModelVersion]:
    return list(session.scalars(
        select(ModelVersion).where(ModelVersion.kind == kind).order_by(ModelVersion.created_at)
    ))


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    runs: int
    failed_runs: int
    fetched: int
    new: int
    counted: int | None
    runs_with_gaps: int
    last_run: datetime | str | None


def collection_coverage(session: Session) -> list[SourceCoverage]:
    """Per source: runs, what was fetched vs. what the platform counted, and runs that recorded gaps."""
    failed = CollectionRun.status.in_(("failed", "interrupted"))
    stmt = (
        select(
            CollectionRun.source,
            func.count(),
            func.sum(case((failed, 1), else_=0)),
            func.coalesce(func.sum(CollectionRun.fetched), 0),
            func.coalesce(func.sum(CollectionRun.new), 0),
            func.sum(CollectionRun.counted),
            func.count(CollectionRun.gaps),
            func.max(CollectionRun.started_at),
        )
        .group_by(CollectionRun.source)
        .order_by(CollectionRun.source)
    )
    # A slice, as mypy reads a Row unpacked as objects (Row.tuple() is deprecated in SQLAlchemy 2.1).
    return [SourceCoverage(*row[:]) for row in session.execute(stmt)]
