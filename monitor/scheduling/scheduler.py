"""The scheduler: which configured jobs are due, running them under a lease, recording their state.

``run_due(runtime, now)`` is one pass over every job with a fixed ``now``; tests and benchmarks/soak.py call it
with a simulated clock. ``serve(runtime)`` is the long-running form behind ``stance schedule``: APScheduler
polls each job every ``poll_seconds`` (coalesce=True, max_instances=1, so a slow job is never started twice
in one process and a backlog of polls collapses into one), and each poll is ``run_if_due`` for that job.

Due-ness is decided from the job's state in the database, not from APScheduler's memory, so that every
scheduler on the database agrees, a restart keeps the plan, and runs missed while nothing was running
coalesce into one run. A cron job is due when its stored ``next_run_at`` has passed; a job with ``after`` is
due when one of those jobs finished (ok or partial) since it last started.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.logs import redact as redact_secrets
from monitor.scheduling.config import JobSpec, ScheduleSettings, interval_seconds, next_fire
from monitor.scheduling.locks import Heartbeat, owner_id
from storage import scheduling_queries as sq
from storage.scheduling_models import JobState

log = logging.getLogger(__name__)

#: Outcomes, mildest first: the order `stance schedule --once` uses to pick its exit code.
SEVERITY = ("ok", "skipped", "locked", "stopped", "partial", "failed")


class StopRequested(Exception):
    "Raised from a progress callback to end a job early, after the work committed so far."


@dataclass
class JobResult:
    """What a runner reports. ``data`` is kept as the job's ``last_result`` (and handed to its next run)."""

    status: str  # ok, partial, failed, skipped, stopped
    detail: str = ""
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobContext:
    """What a runner gets: the settings and database, the stop check, and its previous run's ``data``."""

    settings: Any
    sessions: sessionmaker[Session]
    should_stop: Callable[[], bool]
    now: datetime
    previous: dict[str, Any] = field(default_factory=dict)
    alerts: Any = None


Runner = Callable[[JobContext, JobSpec], JobResult]


@dataclass
class Runtime:
    """Everything a scheduler process holds: one per process (or per simulated scheduler in tests)."""

    sessions: sessionmaker[Session]
    schedule: ScheduleSettings
    runners: Mapping[str, Runner]
    settings: Any = None
    alerts: Any = None
    owner: str = field(default_factory=owner_id)
    stop: threading.Event = field(default_factory=threading.Event)
    #: Renew leases from a background thread while a job runs; off where time is simulated.
    heartbeat: bool = True

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.schedule.lease_seconds)


@dataclass(frozen=True)
class Outcome:
    job: str
    status: str  # a JobResult status, or "locked"
    duration_s: float = 0.0
    detail: str = ""
    error: str | None = None


def redact(text: str | None, limit: int = 2000) -> str | None:
    """Errors go to the database, logs and webhooks: mask anything that looks like a credential."""
    if text is None:
        return None
    return redact_secrets(text)[:limit]


def describe(exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    return redact(f"{type(exc).__name__}: {first}" if first else type(exc).__name__, 500) or ""


# --- due-ness ----------------------------------------------------------------------------------------------


def is_due(spec: JobSpec, state: JobState | None, states: Mapping[str, JobState], now: datetime) -> bool:
    if spec.cron and state is not None and state.next_run_at is not None and sq.as_utc(state.next_run_at) <= now:
        return True
    started = sq.as_utc(state.last_started_at) if state else None
    for name in spec.after:
        before = states.get(name)
        if before is None or before.last_finished_at is None or before.last_status not in ("ok", "partial"):
            continue
        if started is None or sq.as_utc(before.last_finished_at) > started:
            return True
    return False


def _sync(session: Session, spec: JobSpec, schedule: ScheduleSettings, now: datetime) -> None:
    """Give a new job its first fire time, and move it earlier when the cron expression changed to fire sooner.

    A stored time in the past is left alone: that is a missed run, and it makes the job due (once).
    """
    state = sq.job_state(session, spec.name)
    upcoming = next_fire(spec, schedule.tz, now)
    interval = interval_seconds(spec, schedule.tz, now)
    stored = sq.as_utc(state.next_run_at) if state and state.next_run_at else None
    if state is None or (upcoming is not None and (stored is None or stored > upcoming)):
        sq.set_schedule(session, spec.name, upcoming, interval)
    elif state.interval_s != interval:
        state.interval_s = interval


def run_if_due(runtime: Runtime, spec: JobSpec, now: datetime) -> Outcome | None:
    """Run ``spec`` if it is due at ``now``; None when it is not (or the process is stopping)."""
    if runtime.stop.is_set():
        return None
    for attempt in range(2):
        try:
            with runtime.sessions.begin() as session:
                _sync(session, spec, runtime.schedule, now)
                states = {state.name: state for state in sq.job_states(session)}
                due = is_due(spec, states.get(spec.name), states, now)
            break
        except IntegrityError:
            # Two schedulers created the job's first state row at the same moment; the row exists now.
            if attempt:
                raise
    return _execute(runtime, spec, now, force=False) if due else None


def run_due(runtime: Runtime, now: datetime) -> list[Outcome]:
    """One pass: run every due job once, collection first. Failures are recorded, never raised.

    ``now`` moves on by the real time the pass has taken, so a follower starts after its predecessor ended.
    """
    outcomes = []
    began = time.monotonic()
    for spec in runtime.schedule.ordered():
        try:
            outcome = run_if_due(runtime, spec, now + timedelta(seconds=time.monotonic() - began))
        except Exception as exc:  # noqa: BLE001 - e.g. the database is unreachable; the next pass retries
            log.error("job=%s event=error error=%s", spec.name, describe(exc))
            outcome = Outcome(spec.name, "failed", error=describe(exc))
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def run_job(runtime: Runtime, name: str, now: datetime | None = None) -> Outcome:
    """Run one configured job now, due or not, holding its lease (``stance job NAME``)."""
    spec = runtime.schedule.job(name)
    now = now or datetime.now(UTC)
    with runtime.sessions.begin() as session:
        _sync(session, spec, runtime.schedule, now)
    outcome = _execute(runtime, spec, now, force=True)
    assert outcome is not None  # forced: _claim never answers "done"
    return outcome


# --- running one job ---------------------------------------------------------------------------------------


def _claim(runtime: Runtime, spec: JobSpec, now: datetime, force: bool) -> tuple[str, dict[str, Any]]:
    """Take the lease and mark the job started, in one transaction: "run", "locked" or "done"."""
    with runtime.sessions.begin() as session:
        if not sq.try_acquire_lease(session, spec.lease_name, runtime.owner, now, runtime.ttl):
            return "locked", {}
        states = {state.name: state for state in sq.job_states(session)}
        state = states.get(spec.name)
        # Checked again under the lease: another scheduler may have finished this very run a moment ago.
        if not force and not is_due(spec, state, states, now):
            sq.release_lease(session, spec.lease_name, runtime.owner)
            return "done", {}
        previous = dict(state.last_result or {}) if state else {}
        sq.record_job_start(session, spec.name, now)
    return "run", previous


def _execute(runtime: Runtime, spec: JobSpec, now: datetime, force: bool) -> Outcome | None:
    claim, previous = _claim(runtime, spec, now, force)
    if claim == "done":
        return None
    if claim == "locked":
        log.info("job=%s event=locked lease=%s", spec.name, spec.lease_name)
        return Outcome(spec.name, "locked", detail=f"lease {spec.lease_name} is held by another process")
    log.info("job=%s event=start kind=%s lease=%s owner=%s", spec.name, spec.kind, spec.lease_name, runtime.owner)
    started = time.monotonic()
    keeper = Heartbeat(runtime.sessions, spec.lease_name, runtime.owner, runtime.ttl) if runtime.heartbeat else None
    with keeper or nullcontext():
        lost = keeper.lost.is_set if keeper else (lambda: False)
        context = JobContext(runtime.settings, runtime.sessions, lambda: runtime.stop.is_set() or lost(), now,
                             previous, runtime.alerts)
        result = _call(runtime.runners.get(spec.kind), context, spec)
    duration = time.monotonic() - started
    result.error = redact(result.error)
    # A run that learned nothing keeps what the previous one knew (the source, when retraining last ran).
    result.data = result.data or previous
    _finish(runtime, spec, now + timedelta(seconds=duration), result, duration)
    _log_end(spec, result, duration)
    return Outcome(spec.name, result.status, round(duration, 3), result.detail, result.error)


def _call(runner: Runner | None, context: JobContext, spec: JobSpec) -> JobResult:
    if runner is None:
        return JobResult("failed", error=f"no runner for jobs of kind {spec.kind!r}")
    try:
        return runner(context, spec)
    except StopRequested:
        return JobResult("stopped", "stopped on request after the last committed batch", "stopped on request")
    except Exception as exc:  # noqa: BLE001 - recorded on the job; the scheduler keeps going
        log.debug("job=%s failed", spec.name, exc_info=True)
        return JobResult("failed", error=describe(exc))


def _finish(runtime: Runtime, spec: JobSpec, finished: datetime, result: JobResult, duration: float) -> None:
    """Record the outcome and the next fire time, then release the lease, in one transaction: a second
    scheduler that gets the lease afterwards sees the job as done and does not run it again."""
    try:
        with runtime.sessions.begin() as session:
            sq.record_job_end(session, spec.name, finished, result.status, duration, result.error, result.data,
                              next_fire(spec, runtime.schedule.tz, finished))
            sq.release_lease(session, spec.lease_name, runtime.owner)
    except Exception as exc:  # noqa: BLE001 - the lease lapses by itself; the job stays due and runs again
        log.error("job=%s event=record-failed error=%s", spec.name, describe(exc))


def _log_end(spec: JobSpec, result: JobResult, duration: float) -> None:
    level = logging.INFO if result.status in ("ok", "skipped") else logging.WARNING
    if result.status == "failed":
        level = logging.ERROR
    log.log(level, "job=%s event=end status=%s duration_s=%.3f detail=%s%s", spec.name, result.status, duration,
            result.detail or "-", f" error={result.error}" if result.error else "")


# --- the long-running scheduler ------------------------------------------------------------------------------


def worst(outcomes: list[Outcome]) -> str:
    return max((o.status for o in outcomes), key=SEVERITY.index, default="ok")


def _poll(runtime: Runtime, spec: JobSpec) -> None:
    try:
        run_if_due(runtime, spec, datetime.now(UTC))
    except Exception as exc:  # noqa: BLE001 - keep polling; APScheduler would log a traceback per poll
        log.error("job=%s event=error error=%s", spec.name, describe(exc))


def serve(runtime: Runtime, tick: float = 1.0) -> None:
    """Run the schedule until ``runtime.stop`` is set, then let running jobs finish their current page.

    The caller sets the stop flag (``stop_on_signals`` does so on SIGTERM and Ctrl-C).
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    schedule = runtime.schedule
    scheduler = BackgroundScheduler(
        timezone=schedule.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    first = datetime.now(schedule.tz)
    for index, spec in enumerate(schedule.ordered()):
        # Staggered first polls run collection before classification on start.
        scheduler.add_job(_poll, IntervalTrigger(seconds=schedule.poll_seconds, timezone=schedule.tz),
                          args=[runtime, spec], id=spec.name, name=spec.name,
                          next_run_time=first + timedelta(milliseconds=200 * index))
    log.info("scheduler event=start owner=%s jobs=%s", runtime.owner, ",".join(s.name for s in schedule.jobs))
    scheduler.start()
    try:
        while not runtime.stop.wait(tick):
            pass
    finally:
        log.info("scheduler event=stopping waiting_for_running_jobs=true")
        scheduler.shutdown(wait=True)
        log.info("scheduler event=stopped")


def stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGTERM and SIGINT instead of dying mid-page; returns a function restoring the old
    handlers. Must be called from the main thread."""

    def handler(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            log.warning("received %s: finishing the current page, then exiting", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
