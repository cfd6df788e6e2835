"""Query functions for job state, leases and alerts. Each takes a Session; the caller owns the transaction.

Lease acquisition is one atomic statement per step, so it is safe across processes and machines on SQLite and
PostgreSQL alike: ``INSERT ... ON CONFLICT DO NOTHING`` claims a free name, and a conditional
``UPDATE ... WHERE expires_at < now`` takes over an expired one. The INSERT's RETURNING row (its rowcount is
-1 with psycopg 3 under SQLAlchemy 2.1) and the UPDATE's rowcount say whether we won. Two
contenders can both run the UPDATE, but the database serialises them on the row and the second one's WHERE no
longer matches, so exactly one sees rowcount 1.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.base import rowcount
from storage.clock import as_utc
from storage.models import CollectionRun, HumanLabel
from storage.scheduling_models import Alert, JobState, Lease


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- leases --------------------------------------------------------------------------------------------


def try_acquire_lease(session: Session, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take lease ``name`` for ``owner`` until ``now + ttl`` if it is free or expired. Atomic; see module doc."""
    now = as_utc(now)
    values = {"owner": owner, "acquired_at": now, "expires_at": now + ttl, "heartbeat_at": now}
    inserted = session.execute(
        _insert(session)(Lease)
        .values(name=name, **values)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Lease.name)
    ).scalar()
    if inserted is not None:
        return True
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.expires_at < now)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(taken) == 1


def renew_lease(session: Session, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Heartbeat: push the expiry out. False when the lease is no longer ours (it expired and was taken)."""
    now = as_utc(now)
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.owner == owner)
        .values(expires_at=now + ttl, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(renewed) == 1


def release_lease(session: Session, name: str, owner: str) -> bool:
    """Give the lease back; only its owner can, so a late release never frees someone else's lease."""
    released = session.execute(
        delete(Lease).where(Lease.name == name, Lease.owner == owner).execution_options(synchronize_session=False)
    )
    return rowcount(released) == 1


def get_lease(session: Session, name: str) -> Lease | None:
    return session.get(Lease, name)


# --- job state -----------------------------------------------------------------------------------------


def job_state(session: Session, name: str) -> JobState | None:
    return session.get(JobState, name)


def _state(session: Session, name: str) -> JobState:
    state = session.get(JobState, name)
    if state is None:
        state = JobState(name=name, runs=0, failures=0)
        session.add(state)
    return state


def set_schedule(session: Session, name: str, next_run_at: datetime | None, interval_s: int | None) -> JobState:
    state = _state(session, name)
    state.next_run_at = as_utc(next_run_at)
    state.interval_s = interval_s
    return state


def record_job_start(session: Session, name: str, now: datetime) -> JobState:
    state = _state(session, name)
    state.last_started_at = as_utc(now)
    state.last_status = "running"
    state.runs = (state.runs or 0) + 1
    return state


def record_job_end(
    session: Session,
    name: str,
    now: datetime,
    status: str,
    duration_s: float,
    error: str | None,
    result: dict[str, Any] | None,
    next_run_at: datetime | None,
) -> JobState:
    """Store a run's outcome. ok and skipped count as success; everything else as a failure with its error."""
    state = _state(session, name)
    now = as_utc(now)
    state.last_finished_at, state.last_status, state.last_duration_s = now, status, round(duration_s, 3)
    state.last_result = result
    if status in ("ok", "skipped"):
        state.last_success_at = now
    else:
        state.last_failure_at, state.last_error = now, error
        state.failures = (state.failures or 0) + 1
    if next_run_at is not None:
        state.next_run_at = as_utc(next_run_at)
    return state


def job_states(session: Session) -> list[JobState]:
    return list(session.scalars(select(JobState).order_by(JobState.name)))


def count_labels_since(session: Session, since: datetime | None) -> int:
    """Human labels added after ``since`` (all of them when None): what a retrain would learn from anew."""
    stmt = select(func.count(HumanLabel.id))
    if since is not None:
        stmt = stmt.where(HumanLabel.labelled_at > as_utc(since))
    return session.scalar(stmt) or 0


def collection_gaps(
    session: Session, since: datetime, now: datetime, factor: float = 3.0, minimum: timedelta = timedelta(hours=1)
) -> dict[str, list[dict[str, Any]]]:
    """Per source, the stretches without a successful collection run that are unusually long.

    "Unusually" is relative to the source's own rhythm: longer than ``factor`` times the median time between
    its successful runs (and at least ``minimum``), so no schedule needs to be known. An ongoing gap (no
    success since) ends at ``now`` and is marked ``ongoing``.
    """
    rows = session.execute(
        select(CollectionRun.source, CollectionRun.finished_at)
        .where(CollectionRun.status == "ok", CollectionRun.finished_at >= as_utc(since))
        .order_by(CollectionRun.source, CollectionRun.finished_at)
    ).all()
    times: dict[str, list[datetime]] = {}
    for source, finished in rows:
        if finished is not None:
            times.setdefault(source, []).append(as_utc(finished))
    now_utc = as_utc(now)
    gaps: dict[str, list[dict[str, Any]]] = {}
    for source, ends in times.items():
        steps = [b - a for a, b in zip(ends, ends[1:])]
        # statistics.median sorts and halves, which timedeltas support; its annotation only admits numbers.
        typical = statistics.median(steps) if steps else minimum  # type: ignore[type-var]
        limit = max(minimum, typical * factor)
        found = [(a, b, False) for a, b in zip(ends, ends[1:]) if b - a > limit]
        if now_utc - ends[-1] > limit:
            found.append((ends[-1], now_utc, True))
        gaps[source] = [
            {"from": a.isoformat(), "to": b.isoformat(), "hours": round((b - a).total_seconds() / 3600, 2),
             "ongoing": ongoing}
            for a, b, ongoing in found
        ]
    return gaps


# --- alerts --------------------------------------------------------------------------------------------


def add_alert(session: Session, row: dict[str, Any]) -> int | None:
    """Insert an alert unless one exists for its (metric, freq, period_start). Returns the new id or None."""
    stmt = _insert(session)(Alert).values(**row).on_conflict_do_nothing(
        index_elements=["metric", "freq", "period_start"]
    ).returning(Alert.id)
    return session.execute(stmt).scalar()


def recent_alerts(session: Session, limit: int = 20) -> list[Alert]:
    return list(session.scalars(select(Alert).order_by(Alert.period_start.desc(), Alert.id.desc()).limit(limit)))


def alerts_between(session: Session, first: date | None = None, last: date | None = None) -> list[Alert]:
    """Alerts whose period starts within [first, last], oldest first: for reports to mark on their charts."""
    stmt = select(Alert).order_by(Alert.period_start, Alert.metric)
    if first is not None:
        stmt = stmt.where(Alert.period_start >= first)
    if last is not None:
        stmt = stmt.where(Alert.period_start <= last)
    return list(session.scalars(stmt))


def undelivered_alerts(session: Session, max_attempts: int) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert)
            .where(Alert.delivered_at.is_(None), Alert.delivery_attempts < max_attempts)
            .order_by(Alert.id)
        )
    )


def alert_dict(alert: Alert) -> dict[str, Any]:
    """JSON-ready view of an alert (status output, webhook payload)."""
    return {
        "id": alert.id,
        "metric": alert.metric,
        "freq": alert.freq,
        "period_start": alert.period_start.isoformat(),
        "value": alert.value,
        "baseline_mean": alert.baseline_mean,
        "baseline_std": alert.baseline_std,
        "baseline_periods": alert.baseline_periods,
        "z_score": alert.z_score,
        "change": alert.change,
        "rule": alert.rule,
        "message": alert.message,
        "created_at": as_utc(alert.created_at).isoformat(),
        "delivered_at": as_utc(alert.delivered_at).isoformat() if alert.delivered_at else None,
        "delivery_error": alert.delivery_error,
    }
