"""``stance status``: what is stored, the last runs and the scheduled jobs. ``register(app)`` adds it."""

from __future__ import annotations

import json

import typer

from monitor.cli.common import out, settings


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print a JSON object.")) -> None:
    """Counts per source and day, the last runs and their errors.

    Reads an existing database only: outside a project folder (no stance.toml, no stance.db) it says so
    instead of creating an empty database.

    Example: stance status --json
    """
    from rich.table import Table

    from monitor import jobs
    from monitor.cluster.inspect import cluster_status
    from monitor.status import status as read_status

    current = settings(ctx)
    with jobs.open_store(current, read_only=True, must_exist=True)() as session:
        summary = read_status(session)
        summary["cluster"] = cluster_status(current, session)
    if as_json:
        out.print_json(json.dumps(summary, default=str))
        return
    out.print(f"{summary['posts']} posts, {summary['classified']} classified by {summary['active_model']}",
              markup=False)
    table = Table("source", "posts")
    for name, count in sorted(summary["by_source"].items()):
        table.add_row(name, str(count))
    out.print(table)
    sources = sorted({row["source"] for row in summary["by_day"]})
    days: dict[str, dict[str, int]] = {}
    for row in summary["by_day"]:
        days.setdefault(row["day"], {})[row["source"]] = row["posts"]
    if days:
        per_day = Table("day", *sources, title="latest days with posts")
        for day in sorted(days, reverse=True)[:14]:
            per_day.add_row(day, *(str(days[day].get(source, "")) for source in sources))
        out.print(per_day)
    runs = Table("started", "source", "query", "status", "fetched", "new", "error")
    for r in summary["last_runs"]:
        runs.add_row(r["started_at"][:19], r["source"], r["query"][:40], r["status"], str(r["fetched"]),
                     str(r["new"]), (r["error"] or "")[:60])
    out.print(runs)
    if summary.get("jobs"):
        jobs_table = Table("job", "status", "last success", "lag", "last failure", "gaps", title="scheduled jobs")
        for job in summary["jobs"]:
            lag = job["lag_seconds"]
            failure = f"{(job['last_failure_at'] or '')[:19]} {job['last_error'] or ''}".strip()
            jobs_table.add_row(job["name"], (job["status"] or "-") + (" (overdue)" if job["overdue"] else ""),
                               (job["last_success_at"] or "never")[:19], "" if lag is None else f"{lag / 60:.0f} min",
                               failure[:70], str(len(job["collection_gaps"])))
        out.print(jobs_table)
    for entry in summary.get("deletions", [])[:5]:
        out.print(f"deleted {entry['at'][:19]}: {entry['deleted']} of {entry['requested']} {entry['source'] or ''} "
                  f"({entry['action']}: {entry['reason']})", markup=False, highlight=False)
    _print_cluster(summary["cluster"])
    for alert in summary.get("alerts", [])[:10]:
        out.print(f"alert {alert['period_start'][:10]}: {alert['message']}", markup=False, highlight=False)


def _print_cluster(cluster: dict) -> None:
    from rich.table import Table

    lags = Table("source", "lag (newest post collected)", title="lag")
    for source, seconds in sorted(cluster["sources_lag_seconds"].items()):
        lags.add_row(source, _duration(seconds))
    if cluster["firehose_lag_seconds"] is not None:
        lags.add_row("firehose cursor", _duration(cluster["firehose_lag_seconds"]))
    out.print(lags)
    if not cluster["broker"]:
        out.print("no broker configured: jobs run in the process that starts them", markup=False)
        return
    if "broker_error" in cluster:
        out.print(f"broker {cluster['broker']}: unreachable ({cluster['broker_error']})", markup=False)
        return
    queues = Table("queue", "waiting", title=f"broker {cluster['broker']}")
    for name, depth in cluster["queues"].items():
        queues.add_row(name, str(depth))
    out.print(queues)
    workers = cluster["workers"]
    out.print(f"{len(workers)} worker(s) answering: {', '.join(workers) or 'none'}", markup=False)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
