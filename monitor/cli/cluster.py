"""``stance worker``: a Celery worker for the configured broker. ``register(app)`` adds it."""

from __future__ import annotations

import typer

from monitor.cli.common import settings
from monitor.errors import MonitorError


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    ctx: typer.Context,
    queues: str | None = typer.Option(
        None, "--queues", help="Comma-separated kinds of work: collect, classify, rescore, report (default: all)."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Worker processes (one task each at a time)."),
    name: str | None = typer.Option(None, "--name", help="Worker name (default: stance-<kinds>@<host>)."),
) -> None:
    """Take tasks off the queues of `[cluster] broker_url` (or STANCE_BROKER_URL) and run them.

    Tasks are acknowledged only when done, so a worker killed mid-task loses nothing: the task goes to another
    worker. Long re-scores and new posts are on separate queues; give them separate workers (docs/deploy.md).

    Example: stance worker --queues classify,collect --concurrency 2
    """
    from monitor.cluster.app import QUEUES, queue_name
    from monitor.cluster.enqueue import app_for

    current = settings(ctx)
    if not current.cluster.broker_url:
        raise MonitorError("no broker configured: set [cluster] broker_url in stance.toml or STANCE_BROKER_URL")
    kinds = [k.strip() for k in (queues or ",".join(QUEUES)).split(",") if k.strip()]
    unknown = [k for k in kinds if k not in QUEUES]
    if unknown or not kinds:
        raise typer.BadParameter(f"expected some of {', '.join(QUEUES)}, got {queues!r}", param_hint="--queues")
    app = app_for(current)
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
            "-Q", ",".join(queue_name(current, k) for k in kinds), "-n", name or f"stance-{'-'.join(kinds)}@%h"]
    app.worker_main(argv)
