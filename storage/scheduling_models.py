"""Tables of the scheduler: per-job state, leases (cross-process locks) and alerts.

Kept apart from ``storage.models`` so the collection schema stays readable; both share ``Base`` and so one
Alembic history. Times are UTC; SQLite hands them back naive, so readers go through ``as_utc``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class JobState(Base):
    """What the scheduler knows about one configured job; shared by every scheduler on the database."""

    __tablename__ = "job_states"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: running, ok, partial, failed, skipped, stopped (see monitor.scheduling.scheduler.Outcome).
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_duration_s: Mapped[float | None] = mapped_column(Float)
    #: Small JSON summary of the last run (posts fetched/new, classified, labels seen, ...).
    last_result: Mapped[dict[str, Any] | None]
    next_run_at: Mapped[datetime | None]
    #: Seconds between two cron fire times, so status can tell an overdue job without the config.
    interval_s: Mapped[int | None] = mapped_column(Integer)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class Lease(Base):
    """A lock with an expiry: held by ``owner`` until ``expires_at`` unless renewed (heartbeat).

    A process that dies stops renewing, so its lease lapses and another scheduler takes it over.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class Alert(Base):
    """A metric of the last complete period that moved beyond its threshold against the baseline."""

    __tablename__ = "alerts"
    # One alert per metric and period, however often the alert job evaluates it.
    __table_args__ = (UniqueConstraint("metric", "freq", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    #: stance:pro_open, stance:pro_closed, stance:neutral, sentiment or volume.
    metric: Mapped[str] = mapped_column(String(32))
    freq: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    baseline_mean: Mapped[float] = mapped_column(Float)
    baseline_std: Mapped[float] = mapped_column(Float)
    baseline_periods: Mapped[int] = mapped_column(Integer)
    z_score: Mapped[float | None] = mapped_column(Float)
    change: Mapped[float] = mapped_column(Float)
    #: Which rule fired: "zscore", "absolute" or both, e.g. "zscore,absolute".
    rule: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivery_error: Mapped[str | None] = mapped_column(Text)
