"""Putting work on the queues: what the commands and the scheduler do instead of the work when a broker is set.

Everything is enqueued after the transaction that made it visible has committed (ids a worker looks up exist),
and as ids or id ranges only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from celery import Celery
from sqlalchemy import func, select

from monitor.config import Settings


@dataclass(frozen=True)
class Enqueued:
    """What was put on the queues: how many tasks, covering how many posts (or sources), for which model."""

    tasks: int
    items: int = 0
    model: str | None = None


def broker_configured(settings: Settings) -> bool:
    return bool(settings.cluster.broker_url)


_APPS: dict[int, Celery] = {}


def app_for(settings: Settings) -> Celery:
    """The Celery app of these settings, built once per process."""
    from monitor.cluster.app import create_app

    if id(settings) not in _APPS:
        _APPS[id(settings)] = create_app(settings)
    return _APPS[id(settings)]


def enqueue_classify(settings: Settings, rescore: bool = False) -> Enqueued:
    """Embed-and-classify tasks for every post the active model version has not classified, in batches of
    ``[cluster] batch_size`` ids. ``rescore`` first drops the version's classifications and enqueues id ranges
    covering every post instead (the re-score of all history after a retraining)."""
    from sqlalchemy import delete

    from monitor import active_model, jobs
    from monitor.cluster.tasks import send_unclassified
    from storage.models import Classification

    if rescore:
        with jobs.open_store(settings).begin() as session:
            version = active_model.ensure_active_model(session)
            version_id, name = version.id, version.name
            session.execute(delete(Classification).where(Classification.model_version_id == version_id))
        return enqueue_rescore(settings, version_id, name)
    tasks, posts, name = send_unclassified(app_for(settings), settings)
    return Enqueued(tasks, posts, name)


def enqueue_rescore(settings: Settings, version_id: int, name: str | None = None) -> Enqueued:
    """Re-score tasks over fixed id ranges covering every stored post, for ``version_id``."""
    from monitor import jobs
    from storage.models import Post

    with jobs.open_store(settings)() as session:
        first, last, count = session.execute(select(func.min(Post.id), func.max(Post.id), func.count())).one()
    if first is None:
        return Enqueued(0, 0, name)
    app, size, tasks = app_for(settings), settings.cluster.batch_size, 0
    for start in range(first, last + 1, size):
        app.send_task("stance.rescore_range", args=[start, min(last, start + size - 1), version_id])
        tasks += 1
    return Enqueued(tasks, count, name)


def enqueue_posts(settings: Settings, post_ids: list[int], version_id: int) -> Enqueued:
    """Embed-and-classify tasks for newly stored posts (the firehose consumer, after its commit)."""
    from monitor.cluster.tasks import send_classify

    tasks, posts = send_classify(app_for(settings), iter(post_ids), version_id, settings.cluster.batch_size)
    return Enqueued(tasks, posts)


def enqueue_collect(settings: Settings, source: str | None = None) -> Enqueued:
    """One collect task per source (the enabled ones, or ``source``)."""
    from monitor import jobs

    names = [c.name for c in jobs.build_collectors(settings, source)]
    for name in names:
        app_for(settings).send_task("stance.collect", args=[name])
    return Enqueued(len(names), len(names))


def enqueue_report(settings: Settings, **overrides: Any) -> Enqueued:
    """A report task; ``overrides`` as for ``monitor.jobs.report`` (dates become ISO strings on the wire)."""
    options = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif hasattr(value, "__fspath__"):
            value = str(value)
        options[key] = value
    app_for(settings).send_task("stance.report", args=[options])
    return Enqueued(1)


def enqueue_runners() -> dict[str, Any]:
    """Scheduler runners (``monitor.scheduling``) that enqueue collection, classification and reports instead
    of running them in the scheduler's process. The scheduler still decides what is due and records it."""
    from datetime import timedelta

    from monitor.scheduling.scheduler import JobResult

    def collect(context, spec) -> JobResult:
        queued = enqueue_collect(context.settings, spec.source)
        return JobResult("ok", f"enqueued {queued.tasks} collect task(s)", data={"enqueued": queued.tasks})

    def classify(context, spec) -> JobResult:
        queued = enqueue_classify(context.settings)
        return JobResult("ok", f"enqueued {queued.tasks} task(s) for {queued.items} post(s) with {queued.model}",
                         data={"enqueued": queued.tasks, "posts": queued.items, "model": queued.model})

    def report(context, spec) -> JobResult:
        days = spec.options.get("days")
        first = context.now.date() - timedelta(days=days - 1) if days else None
        enqueue_report(context.settings, freq=spec.options.get("freq"), date_from=first)
        return JobResult("ok", "enqueued the report", data={"enqueued": 1})

    return {"collect": collect, "classify": classify, "report": report}
