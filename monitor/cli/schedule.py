"""``stance schedule`` and ``stance job``: the scheduler's thin CLI. ``register(app)`` adds both commands.

Exit codes (for cron and systemd; see docs/operations.md):

    0  ok (or nothing was due / nothing to do)
    1  user or configuration error (bad stance.toml, unknown job)
    2  partial failure: the job ran, but some source, query or webhook failed
    3  the job's lock is held by another process (another scheduler or `stance job`)
    4  the job failed
    5  stopped early by SIGTERM or Ctrl-C after committing its current page; the next run resumes
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC

import typer

from monitor.cli.common import console, out, settings
from reports.wording import plural

EXIT_CODES = {"ok": 0, "skipped": 0, "partial": 2, "locked": 3, "failed": 4, "stopped": 5}


def register(app: typer.Typer) -> None:
    """Add ``schedule`` and ``job`` to ``app`` (once; calling it again changes nothing)."""
    if any(command.name == "schedule" for command in app.registered_commands):
        return
    app.command("schedule")(schedule)
    app.command("job")(job)


def _runtime(ctx: typer.Context, stop: threading.Event):
    """Settings, schedule, alert settings and database, read once here at the edge."""
    from monitor import jobs
    from monitor.scheduling.alerts import parse_alerts
    from monitor.scheduling.config import parse_schedule
    from monitor.scheduling.scheduler import Runtime

    current = settings(ctx)
    file = str(current.path or "stance.toml")
    plan = parse_schedule(current.schedule, current.sources, file)
    alerts = parse_alerts(current.alerts, os.environ, file)
    return Runtime(jobs.open_store(current), plan, runners_for(current), current, alerts, stop=stop)


def runners_for(current):
    """The runners that do the work here, or, with a broker configured, put it on the queues instead."""
    from monitor.scheduling.runners import default_runners

    runners = default_runners()
    if current.cluster.broker_url:
        from monitor.cluster.enqueue import enqueue_runners

        runners.update(enqueue_runners())
    return runners


def _close(runtime) -> None:
    bind = runtime.sessions.kw.get("bind")
    if bind is not None:
        bind.dispose()


def _print(outcome) -> None:
    line = f"{outcome.job}: {outcome.status} in {outcome.duration_s:.1f} s"
    if outcome.detail:
        line += f": {outcome.detail}"
    out.print(line, markup=False, highlight=False)
    if outcome.error:
        console.print(f"  {outcome.job}: {outcome.error}", markup=False, highlight=False)


def _show_jobs(runtime) -> None:
    """One plain line per job (easy to grep in a terminal or a systemd journal)."""
    from storage import scheduling_queries as sq

    with runtime.sessions() as session:
        states = {state.name: state for state in sq.job_states(session)}
    for spec in runtime.schedule.ordered():
        state = states.get(spec.name)
        when = "; ".join(filter(None, [spec.cron and f"cron {spec.cron!r}",
                                       spec.after and f"after {','.join(spec.after)}"]))
        out.print(f"{spec.name}: {spec.kind}{' ' + spec.source if spec.source else ''}, {when}, "
                  f"lease {spec.lease_name}, next {_when(state.next_run_at if state else None)}, "
                  f"last {state.last_status if state and state.last_status else '-'}, "
                  f"last success {_when(state.last_success_at if state else None)}",
                  markup=False, highlight=False)


def _print_pass(runtime, outcomes) -> None:
    """What one `schedule --once` pass did: each job run, or that nothing was due, then what comes next."""
    from storage import scheduling_queries as sq

    for outcome in outcomes:
        _print(outcome)
    with runtime.sessions() as session:
        states = {state.name: state for state in sq.job_states(session)}
    specs = runtime.schedule.ordered()
    if not outcomes:
        out.print(f"nothing was due ({plural(len(specs), 'job')} configured)", markup=False)
    upcoming = [(spec, states.get(spec.name)) for spec in specs]
    timed = sorted(((spec, state, state.next_run_at) for spec, state in upcoming if state and state.next_run_at),
                   key=lambda row: sq.as_utc(row[2]))
    for spec, state, _ in timed[:5]:
        out.print(f"next: {spec.name} at {_when(state.next_run_at)}", markup=False, highlight=False)
    followers = [spec.name for spec, _ in upcoming if spec.after and not spec.cron]
    if followers:
        out.print(f"then, after the jobs they follow: {', '.join(followers)}", markup=False, highlight=False)


def _when(value) -> str:
    from storage.clock import as_utc

    return as_utc(value).isoformat(timespec="seconds") if value else "-"


def _info_logging() -> None:
    """Job start/end lines are INFO; show them unless -v asked for more. APScheduler's own INFO is noise."""
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def schedule(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run what is due now, once, and exit (for cron)."),
    show: bool = typer.Option(False, "--list", help="List the configured jobs and their state, run nothing."),
) -> None:
    """Run the jobs of [schedule.jobs] in stance.toml until SIGTERM or Ctrl-C (which finish the current page).

    Every job holds a lease in the database, so several schedulers on one database never run the same job at
    once. With --once, runs what is due now, prints each job's outcome (or that nothing was due) and the
    next runs, and exits with the code of the worst outcome (see `stance job`).

    Example: stance --log-format json schedule
    """
    from monitor.scheduling.scheduler import run_due, serve, stop_on_signals, worst

    _info_logging()
    stop = threading.Event()
    runtime = _runtime(ctx, stop)
    try:
        if show:
            _show_jobs(runtime)
            return
        restore = stop_on_signals(stop)
        try:
            if once:
                from datetime import datetime

                outcomes = run_due(runtime, datetime.now(UTC))
                _print_pass(runtime, outcomes)
                code = EXIT_CODES[worst(outcomes)]
                if code:
                    raise typer.Exit(code)
                return
            serve(runtime)
        finally:
            restore()
    finally:
        _close(runtime)


def job(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, metavar="[NAME]",
                                         help="A job name from [schedule.jobs] (omit to list them)."),
) -> None:
    """Run one configured job once, now, holding its lock; the exit code says how it went.

    \b
    Exit codes:
      0  ok
      1  configuration error
      2  partial failure (some source, query or webhook failed)
      3  lock held by another process
      4  failed
      5  stopped by SIGTERM/Ctrl-C after committing its current page

    Example: stance job collect-hackernews
    """
    from monitor.scheduling.locks import holder
    from monitor.scheduling.scheduler import run_job, stop_on_signals

    stop = threading.Event()
    runtime = _runtime(ctx, stop)
    try:
        if name is None:
            _show_jobs(runtime)
            return
        runtime.schedule.job(name)  # unknown names fail before any signal handler or lease is touched
        restore = stop_on_signals(stop)
        try:
            outcome = run_job(runtime, name)
        finally:
            restore()
        if outcome.status == "locked":

            spec = runtime.schedule.job(name)
            console.print(f"{name}: lock {spec.lease_name} is held by {holder(runtime.sessions, spec.lease_name)}",
                          markup=False, highlight=False)
        else:
            _print(outcome)
        code = EXIT_CODES[outcome.status]
        if code:
            raise typer.Exit(code)
    finally:
        _close(runtime)
