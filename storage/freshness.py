"""A cheap fingerprint of what the reports read, so a reader can tell whether its cached numbers are stale."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Classification, CollectionRun, ModelVersion
from storage.scheduling_models import Alert


def data_version(session: Session) -> tuple:
    """Changes whenever posts are classified, re-scored or purged, a model version is added or activated, a
    collection run is recorded or an alert raised. Every part is read from a primary key or a small table, so
    this costs milliseconds on a million posts."""
    return (
        *session.execute(select(func.max(Classification.id), func.count(Classification.id))).one(),
        *session.execute(select(func.count(ModelVersion.id), func.max(ModelVersion.activated_at),
                                func.max(ModelVersion.id))).one(),
        session.scalar(select(func.max(ModelVersion.id)).where(ModelVersion.active.is_(True))),
        *session.execute(select(func.max(CollectionRun.id), func.max(CollectionRun.finished_at))).one(),
        session.scalar(select(func.max(Alert.id))),
    )
