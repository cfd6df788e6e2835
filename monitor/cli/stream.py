"""``stance stream``: follow a live feed as a long-lived process. ``register(app)`` adds it."""

from __future__ import annotations

import threading

import typer

from monitor.cli.common import out, settings, uses_broker
from reports.wording import plural


def register(app: typer.Typer) -> None:
    app.command("stream")(stream)


def stream(
    ctx: typer.Context,
    source: str = typer.Option("bluesky", "--source", help="Only bluesky (the public Jetstream feed) for now."),
    max_events: int | None = typer.Option(None, "--max-events", min=1, help="Stop after this many events."),
) -> None:
    """Follow a live feed and keep the posts that match the topic's keywords, resuming where it stopped.

    A long-lived process (run it under systemd, see docs/deploy.md); SIGTERM ends it after the current batch.
    Each batch of matching posts is stored together with the feed's cursor; with a broker configured the new
    posts' ids then go to the workers to be classified.

    Example: stance stream --source bluesky
    """
    from monitor import active_model, jobs
    from monitor.ingest.stream import JETSTREAM_URL, stream_bluesky
    from monitor.scheduling.scheduler import stop_on_signals

    if source != "bluesky":
        raise typer.BadParameter(f"live mode exists for bluesky only, got {source!r}", param_hint="--source")
    current = settings(ctx)
    url = current.sources["bluesky"].options.get("jetstream_url", JETSTREAM_URL)
    sessions = jobs.open_store(current)
    on_stored = None
    if uses_broker(current):
        from monitor.cluster.enqueue import enqueue_posts

        with sessions.begin() as session:
            version_id = active_model.ensure_active_model(session).id
        on_stored = lambda ids: enqueue_posts(current, ids, version_id)  # noqa: E731
    stop = threading.Event()
    restore = stop_on_signals(stop)
    try:
        summary = stream_bluesky(sessions, jobs.ingest_context(current), url=url, max_events=max_events,
                                 stop=stop.is_set, on_stored=on_stored)
    finally:
        restore()
    out.print(f"{plural(summary.events, 'event')}, {summary.matched} matched, {plural(summary.new, 'new post')}, "
              f"{summary.deleted} deleted (by their authors or with their accounts)", markup=False)
