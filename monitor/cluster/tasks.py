"""The tasks: thin wrappers that check ids and call the functions the commands call in one process.

Each takes ids and names, never objects (JSON messages). Each is idempotent: classification computes only the
classifications missing for (post id, model version) and writes them with ON CONFLICT DO NOTHING, a deleted post
is a no-op, collection resumes from the cursor committed with each page and runs under the source's lease. So a
task delivered twice (a worker killed before it acknowledged) stores its work once.

Transient errors (database connection or serialisation failures, rate limits, network) are retried with
exponential back-off and jitter; anything else fails at once. A task that fails for good leaves a row in
``dead_letters`` with its arguments and the error (a poison batch), instead of being retried forever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from celery import Celery, Task
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from monitor.errors import RateLimited

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, RateLimited)
MAX_RETRIES = 5


class LeaseBusy(Exception):
    "The source's collection lease is held by another process; try again later."


class StanceTask(Task):
    """Base of every task: back-off on transient errors, a dead letter when a task fails for good."""

    autoretry_for = TRANSIENT + (LeaseBusy,)
    retry_backoff = 2
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = MAX_RETRIES
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: D401 - Celery's hook
        record_dead_letter(self.app.stance_settings, self.name, task_id, {"args": list(args), "kwargs": kwargs},
                           exc, self.request.retries + 1)


def record_dead_letter(settings, task: str, task_id: str | None, arguments: dict[str, Any], exc: BaseException,
                       attempts: int) -> None:
    from storage.models import DeadLetter
    from storage.queries import utcnow

    log.error("task %s %s failed for good after %d attempt(s): %s", task, task_id, attempts, exc)
    try:
        with sessions_for(settings.database_url).begin() as session:
            session.add(DeadLetter(task=task, task_id=task_id, args=arguments, attempts=attempts,
                                   error=f"{type(exc).__name__}: {exc}"[:4000], failed_at=utcnow()))
    except DBAPIError:
        log.exception("could not record the dead letter of task %s", task_id)


@lru_cache(maxsize=4)
def sessions_for(database_url: str):
    """One engine and session factory per worker process and database."""
    from storage.engine import open_database

    return open_database(database_url)[1]


_CLASSIFIERS: dict[tuple[str, int], Any] = {}


def _classifier(settings, model_version_id: int):
    """The classifier of one model version, loaded once per worker process (it holds the sentence encoder)."""
    from monitor import active_model
    from storage.models import ModelVersion

    key = (settings.database_url, model_version_id)
    if key not in _CLASSIFIERS:
        with sessions_for(settings.database_url)() as session:
            version = session.get(ModelVersion, model_version_id)
            if version is None:
                raise ValueError(f"model version {model_version_id} does not exist")
            _CLASSIFIERS.clear()  # one version at a time: a classifier holds hundreds of megabytes
            _CLASSIFIERS[key] = active_model.load_classifier(version, settings)
    return _CLASSIFIERS[key]


def classify_posts(settings, model_version_id: int, post_ids: list[int] | None = None,
                   first_id: int | None = None, last_id: int | None = None) -> int:
    """Classify the posts among ``post_ids`` (or with ids in [first_id, last_id]) that ``model_version_id``
    has not classified yet; returns how many it classified (0 when all were done already)."""
    from monitor.ingest.classify import classify_pending

    classifier = _classifier(settings, model_version_id)
    batch = len(post_ids) if post_ids else settings.cluster.batch_size
    return classify_pending(sessions_for(settings.database_url), classifier, model_version_id,
                            batch_size=max(1, batch), post_ids=post_ids,
                            after_id=(first_id - 1) if first_id is not None else 0, until_id=last_id)


def chunks(ids: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for post_id in ids:
        chunk.append(post_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def send_classify(app: Celery, ids: Iterator[int], model_version_id: int, size: int) -> tuple[int, int]:
    """Embed-and-classify tasks for ``ids`` in batches of ``size``; returns (tasks, posts) sent."""
    tasks = posts = 0
    for chunk in chunks(ids, size):
        app.send_task("stance.classify_batch", args=[chunk, model_version_id])
        tasks, posts = tasks + 1, posts + len(chunk)
    return tasks, posts


def send_unclassified(app: Celery, settings) -> tuple[int, int, str]:
    """Tasks for every post the active model version has not classified; (tasks, posts, model name)."""
    from monitor import active_model
    from storage import queries

    sessions = sessions_for(settings.database_url)
    with sessions.begin() as session:
        version = active_model.ensure_active_model(session)
        version_id, name = version.id, version.name
    with sessions() as session:
        tasks, posts = send_classify(app, queries.unclassified_post_ids(session, version_id), version_id,
                                     settings.cluster.batch_size)
    return tasks, posts, name


def register(app: Celery) -> None:
    """Add the tasks to ``app`` (one app per Settings; see ``monitor.cluster.app.create_app``)."""

    @app.task(name="stance.classify_batch", base=StanceTask, bind=True)
    def classify_batch(self, post_ids: list[int], model_version_id: int) -> int:
        """Embed and classify a batch of posts for one model version."""
        ids = [int(i) for i in post_ids]
        return classify_posts(self.app.stance_settings, int(model_version_id), post_ids=ids)

    @app.task(name="stance.rescore_range", base=StanceTask, bind=True)
    def rescore_range(self, first_id: int, last_id: int, model_version_id: int) -> int:
        """Classify the posts with ids in [first_id, last_id] for a (new) model version."""
        return classify_posts(self.app.stance_settings, int(model_version_id),
                              first_id=int(first_id), last_id=int(last_id))

    @app.task(name="stance.collect", base=StanceTask, bind=True)
    def collect(self, source: str) -> dict[str, int]:
        """Collect every query of one source, page by page, under the source's database lease."""
        from monitor import jobs

        summaries = jobs.collect(self.app.stance_settings, source)
        if any(s.status == "locked" for s in summaries):
            raise LeaseBusy(f"collection of {source} is running elsewhere")
        new = sum(s.new for s in summaries)
        if new:  # classify what came in (posts already queued are classified once: the tasks are idempotent)
            send_unclassified(self.app, self.app.stance_settings)
        return {"fetched": sum(s.fetched for s in summaries), "new": new}

    @app.task(name="stance.report", base=StanceTask, bind=True)
    def report(self, options: dict[str, Any]) -> list[str]:
        """Render the report; ``options`` are ReportRequest fields, dates as ISO strings, ``days`` counted back
        from today."""
        from monitor import jobs

        fields = dict(options)
        days = fields.pop("days", None)
        if days:
            fields["date_from"] = date.today() - timedelta(days=int(days) - 1)
        for name in ("date_from", "date_to"):
            if isinstance(fields.get(name), str):
                fields[name] = date.fromisoformat(fields[name])
        for name in ("langs", "sources", "formats"):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        return [str(path) for path in jobs.report(self.app.stance_settings, **fields).files]
