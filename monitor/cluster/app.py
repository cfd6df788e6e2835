"""The Celery app, built from Settings (``[cluster]``), never at import time.

Delivery (Celery's "Should I use retry or acks_late?" and the Redis transport notes): a task is acknowledged
only after it finished (``task_acks_late``), a worker takes one task at a time (``worker_prefetch_multiplier``
= 1), and a task whose worker process died (SIGKILL, out of memory) goes back on the queue
(``task_reject_on_worker_lost``). Redis hands an unacknowledged task to another worker after
``visibility_timeout`` seconds. All of that is safe because every task is idempotent.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from monitor.config import Settings

#: Short and long work on separate queues, so that a re-score of all history never delays new posts.
QUEUES = ("collect", "classify", "rescore", "report")


def queue_name(settings: Settings, kind: str) -> str:
    return f"{settings.cluster.queue_prefix}.{kind}"


def create_app(settings: Settings) -> Celery:
    """A Celery app for ``settings`` with the tasks registered; ``settings`` travel with it to the tasks."""
    if not settings.cluster.broker_url:
        raise ValueError("no broker configured: set [cluster] broker_url or STANCE_BROKER_URL")
    app = Celery("stance", broker=settings.cluster.broker_url, set_as_current=False)
    names = {kind: queue_name(settings, kind) for kind in QUEUES}
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.cluster.visibility_timeout,
            # Look for tasks of dead workers every few seconds (at most every 10 s), not every 100 s.
            "unacked_restore_interval": max(1, min(10, settings.cluster.visibility_timeout // 2)),
            "unacked_restore_throttle": 1,
        },
        task_queues=[Queue(name) for name in names.values()],
        task_default_queue=names["classify"],
        task_routes={
            "stance.collect": {"queue": names["collect"]},
            "stance.classify_batch": {"queue": names["classify"]},
            "stance.rescore_range": {"queue": names["rescore"]},
            "stance.report": {"queue": names["report"]},
        },
        worker_send_task_events=False,
    )
    app.stance_settings = settings  # type: ignore[attr-defined]
    from monitor.cluster import tasks

    tasks.register(app)
    return app
