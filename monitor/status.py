"""What is stored: counts per source and day, the last runs, and exports of posts with classifications."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from monitor.errors import MonitorError
from storage import queries
from storage import scheduling_queries as sq
from storage.deletion import deletion_log
from storage.models import ASPECTS, Classification, CollectionRun, DeletionLog, ModelVersion, Post


def status(session: Session, days: int = 14, now: datetime | None = None) -> dict[str, Any]:
    """A JSON-ready summary: totals, posts by source, by day and source (recent days), runs, models,
    scheduled jobs (last success, last failure, lag, collection gaps) and recent alerts."""
    now = now or datetime.now(UTC)
    by_source = dict(session.execute(select(Post.source, func.count()).group_by(Post.source)).all())
    by_lang = dict(session.execute(select(Post.lang, func.count()).group_by(Post.lang)).all())
    day = func.date(Post.created_at) if session.get_bind().dialect.name == "sqlite" else func.to_char(
        Post.created_at, "YYYY-MM-DD"
    )
    recent = session.execute(
        select(day.label("day"), Post.source, func.count())
        .group_by("day", Post.source)
        .order_by(day.desc())
        .limit(days * 8)
    ).all()
    active = queries.active_model_version(session)
    runs = queries.last_runs(session, 10)
    failures = session.scalars(
        select(CollectionRun).where(CollectionRun.status != "ok").order_by(CollectionRun.id.desc()).limit(5)
    )
    return {
        "posts": queries.count_posts(session),
        "by_source": by_source,
        "by_lang": {str(k): v for k, v in by_lang.items()},
        "by_day": [{"day": str(d), "source": s, "posts": n} for d, s, n in recent],
        "classified": queries.count_classifications(session, active.id) if active else 0,
        "active_model": active.name if active else None,
        "models": [
            {"name": m.name, "active": m.active, "created_at": m.created_at.isoformat()}
            for m in session.scalars(select(ModelVersion).order_by(ModelVersion.id))
        ],
        "last_runs": [_run(r) for r in runs],
        "recent_errors": [_run(r) for r in failures],
        "jobs": jobs_status(session, now, days),
        "alerts": [sq.alert_dict(a) for a in sq.recent_alerts(session, 20)],
        "deletions": [_deletion(entry) for entry in deletion_log(session, 10)],
    }


def _deletion(entry: DeletionLog) -> dict[str, Any]:
    return {"at": entry.at.isoformat(), "action": entry.action, "reason": entry.reason, "job": entry.job,
            "source": entry.source, "requested": entry.requested, "deleted": entry.deleted,
            "not_found": len(entry.not_found)}


def jobs_status(session: Session, now: datetime, days: int = 14) -> list[dict[str, Any]]:
    """Each scheduled job: its last success and failure (with the error), how long since it last succeeded
    (lag), whether it is overdue (lag beyond two schedule intervals) and, for collection jobs, the gaps in
    the source's successful runs over the last ``days`` days."""
    gaps = sq.collection_gaps(session, now - timedelta(days=days), now)
    entries = []
    for state in sq.job_states(session):
        success = sq.as_utc(state.last_success_at)
        lag = (now - success).total_seconds() if success else None
        source = (state.last_result or {}).get("source")
        entries.append({
            "name": state.name,
            "status": state.last_status,
            "last_started_at": _iso(state.last_started_at),
            "last_success_at": _iso(state.last_success_at),
            "last_failure_at": _iso(state.last_failure_at),
            "last_error": state.last_error,
            "last_duration_s": state.last_duration_s,
            "last_result": state.last_result,
            "next_run_at": _iso(state.next_run_at),
            "lag_seconds": round(lag, 1) if lag is not None else None,
            # Never succeeded counts as overdue only once it has tried.
            "overdue": bool(state.interval_s and (lag > 2 * state.interval_s if lag is not None else state.runs)),
            "runs": state.runs,
            "failures": state.failures,
            "collection_gaps": gaps.get(source, []) if source else [],
        })
    return entries


def _iso(value: datetime | None) -> str | None:
    return sq.as_utc(value).isoformat() if value else None


def _run(run: CollectionRun) -> dict[str, Any]:
    return {
        "source": run.source,
        "query": run.query,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "pages": run.pages,
        "fetched": run.fetched,
        "new": run.new,
        "rejected": run.rejected,
        "skipped": run.skipped,
        "counted": run.counted,
        "error": run.error,
    }


#: The columns of an export, in order, with their Parquet types (monitor.tables.TYPES).
EXPORT_TYPES = {
    "source": "string", "source_id": "string", "created_at": "timestamp", "lang": "string", "author": "string",
    "url": "string", "text": "string", "likes": "int", "reposts": "int", "replies": "int", "quotes": "int",
    "relevant": "bool", "stance": "string", "stance_confidence": "float", "aspects": "list",
    "safety_concern": "bool", "sentiment": "string", "sentiment_score": "float", "model": "string",
}
ENGAGEMENT = ("likes", "reposts", "replies", "quotes")


@dataclass(frozen=True)
class ExportFilter:
    """Which posts an export holds: UTC days, languages, sources, stances (of relevant posts) and the model
    version whose classifications are exported (default the active one). None means "any"."""

    first_day: date | None = None
    last_day: date | None = None
    langs: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    stances: tuple[str, ...] | None = None
    model: str | None = None


def export_rows(session: Session, chosen: ExportFilter = ExportFilter(), batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every post matching ``chosen`` with its classification by the chosen model version (None where that
    version has not classified it yet; a ``--stance`` filter keeps classified relevant posts only)."""
    version = _export_version(session, chosen.model)
    join = and_(Classification.post_id == Post.id, Classification.model_version_id == (version.id if version else -1))
    stmt = select(Post, Classification).outerjoin(Classification, join).order_by(Post.id)
    if chosen.first_day is not None:
        stmt = stmt.where(Post.created_at >= datetime.combine(chosen.first_day, time.min, tzinfo=UTC))
    if chosen.last_day is not None:
        end = datetime.combine(chosen.last_day, time.min, tzinfo=UTC) + timedelta(days=1)
        stmt = stmt.where(Post.created_at < end)
    if chosen.langs:
        stmt = stmt.where(func.coalesce(Post.lang, "und").in_(chosen.langs))
    if chosen.sources:
        stmt = stmt.where(Post.source.in_(chosen.sources))
    if chosen.stances:
        stmt = stmt.where(Classification.relevant.is_(True), Classification.stance.in_(chosen.stances))
    for post, label in session.execute(stmt.execution_options(yield_per=batch)):
        metrics = post.metrics or {}
        yield {
            "source": post.source,
            "source_id": post.source_id,
            "created_at": sq.as_utc(post.created_at),
            "lang": post.lang,
            "author": post.author,
            "url": post.url,
            "text": post.text,
            **{name: _count(metrics.get(name)) for name in ENGAGEMENT},
            "relevant": label.relevant if label else None,
            "stance": label.stance if label else None,
            "stance_confidence": _stance_confidence(label),
            "aspects": [a for a in ASPECTS if getattr(label, a)] if label else [],
            "safety_concern": label.safety_concern if label else None,
            "sentiment": label.sentiment if label else None,
            "sentiment_score": label.sentiment_score if label else None,
            "model": version.name if label and version else None,
        }


def _export_version(session: Session, name: str | None) -> ModelVersion | None:
    if name is None:
        return queries.active_model_version(session)
    version = queries.model_version_by_name(session, name)
    if version is None:
        known = ", ".join(v.name for v in session.scalars(select(ModelVersion).order_by(ModelVersion.id))) or "none"
        raise MonitorError(f"--model: no model version {name!r}; known: {known}")
    return version


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _stance_confidence(label: Classification | None) -> float | None:
    if label is None:
        return None
    probability = {"pro_open": label.p_pro_open, "pro_closed": label.p_pro_closed, "neutral": label.p_neutral}
    return round(probability[label.stance], 4)


def export(session: Session, out: Path, fmt: str | None = None, chosen: ExportFilter = ExportFilter()) -> int:
    """Write ``export_rows`` to ``out`` (csv, jsonl or parquet); returns the number of posts."""
    from monitor.tables import write_rows

    return write_rows(out, export_rows(session, chosen), fmt, types=EXPORT_TYPES)
