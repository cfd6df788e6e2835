"""What each kind of scheduled job does: thin adapters from ``monitor.jobs`` (and friends) to ``JobResult``.

Each runner takes a ``JobContext`` and the ``JobSpec``; none prints, none knows about APScheduler or the CLI.
The collect runner is built from two small factories so that tests and the soak benchmark can point it at
local fake sources with a simulated clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from monitor.collectors import Collector, FetchWindow
from monitor.ingest.pipeline import IngestContext, RunSummary, collect_query
from monitor.scheduling.config import JobSpec
from monitor.scheduling.scheduler import JobContext, JobResult, Runner, StopRequested
from storage import scheduling_queries as sq

CollectorsFor = Callable[[JobContext, JobSpec], list[Collector]]
ContextFor = Callable[[JobContext], IngestContext]


def _settings_collectors(context: JobContext, spec: JobSpec) -> list[Collector]:
    from monitor import jobs

    return jobs.build_collectors(context.settings, spec.source)


def _settings_ingest(context: JobContext) -> IngestContext:
    from monitor import jobs

    return jobs.ingest_context(context.settings)


def collect_runner(collectors_for: CollectorsFor = _settings_collectors,
                   ingest_for: ContextFor = _settings_ingest) -> Runner:
    """Collect every query of the job's source, page by page, stopping between pages when asked."""

    def run(context: JobContext, spec: JobSpec) -> JobResult:
        ingest = ingest_for(context)
        summaries = []
        for collector in collectors_for(context, spec):
            for query in collector.queries():
                if context.should_stop():
                    break
                summaries.append(collect_query(context.sessions, collector, query, ingest, FetchWindow(),
                                               should_stop=context.should_stop))
        return summarise_collection(spec.source, summaries)

    return run


def summarise_collection(source: str | None, summaries: list[RunSummary]) -> JobResult:
    """ok when every query finished, partial when some failed, failed when all did, stopped on shutdown."""
    failed = [s for s in summaries if s.status == "failed"]
    data = {
        "source": source,
        "queries": len(summaries),
        "fetched": sum(s.fetched for s in summaries),
        "new": sum(s.new for s in summaries),
        "rejected": sum(s.rejected for s in summaries),
        "skipped": sum(s.skipped for s in summaries),
        "failed_queries": len(failed),
    }
    detail = f"{data['fetched']} fetched, {data['new']} new, {data['rejected']} rejected"
    if data["skipped"]:
        detail += f", {data['skipped']} off-topic skipped by the keyword filter"
    error = "; ".join(f"{s.source} {s.query!r}: {s.error}" for s in failed) or None
    if any(s.status == "stopped" for s in summaries):
        status = "stopped"
    elif failed and len(failed) == len(summaries):
        status = "failed"
    elif failed:
        status = "partial"
    else:
        status = "ok"
    return JobResult(status, detail, error, data)


def run_classify(context: JobContext, spec: JobSpec) -> JobResult:
    from monitor import jobs

    def check(_batch: int) -> None:
        # Called after each committed batch: the one safe place to stop.
        if context.should_stop():
            raise StopRequested

    result = jobs.classify(context.settings, on_batch=check)
    return JobResult("ok", f"classified {result.classified} posts with {result.model}",
                     data={"classified": result.classified, "model": result.model})


def run_report(context: JobContext, spec: JobSpec) -> JobResult:
    from monitor import jobs

    days = spec.options.get("days")
    first = context.now.date() - timedelta(days=days - 1) if days else None
    result = jobs.report(context.settings, freq=spec.options.get("freq"), date_from=first)
    files = [str(path) for path in result.files]
    return JobResult("ok", f"wrote {len(files)} files", data={"files": files})


Trainer = Callable[..., Any]


def _train_topic_version(*args: Any, **kwargs: Any) -> Any:
    from monitor.model_registry import train_topic_version

    return train_topic_version(*args, **kwargs)


def retrain_runner(train: Trainer = _train_topic_version) -> Runner:
    """Retrain the topic model once ``min_new_labels`` human labels arrived since the last retraining; the
    new version is registered inactive unless the job says ``activate = true``."""

    def run(context: JobContext, spec: JobSpec) -> JobResult:
        from monitor import active_model

        needed = spec.options.get("min_new_labels", 100)
        since_text = context.previous.get("labels_since")
        since = datetime.fromisoformat(since_text) if since_text else None
        carried = {"labels_since": since_text} if since_text else {}
        with context.sessions() as session:
            new = sq.count_labels_since(session, since)
        if new < needed:
            return JobResult("skipped", f"{new} new labels; retraining needs {needed}", data={**carried, "new": new})
        activate = bool(spec.options.get("activate", False))
        with context.sessions.begin() as session:
            active_model.ensure_active_model(session)
            result = train(session, context.settings.models_dir, activate,
                           datasets_dir=context.settings.datasets_dir)
        return JobResult(
            "ok",
            f"trained {result.name} on {result.examples} examples ({new} new labels)"
            + (", activated" if result.activated else ", inactive"),
            data={"labels_since": context.now.isoformat(), "model": result.name, "new": new,
                  "activated": result.activated},
        )

    return run


def default_runners() -> dict[str, Runner]:
    from monitor.scheduling.alerts import run_alerts

    return {
        "collect": collect_runner(),
        "classify": run_classify,
        "report": run_report,
        "retrain": retrain_runner(),
        "alerts": run_alerts,
        "compliance": run_compliance,
        "expire": run_expire,
    }


def run_compliance(context: JobContext, spec: JobSpec) -> JobResult:
    """A platform's compliance check (``source = "x"`` or ``"reddit"``): delete what the platform says is gone."""
    from monitor import compliance

    result = compliance.run_check(context.settings, context.sessions, spec.source or "", job=spec.name)
    return JobResult("ok", result.describe(), data={"checked": result.checked, "deleted": result.deleted,
                                                     "not_found": len(result.not_found)})


def run_expire(context: JobContext, spec: JobSpec) -> JobResult:
    """Delete posts older than their source's retention period."""
    from monitor import compliance

    result = compliance.expire(context.sessions, context.settings.retention(), context.now, job=spec.name)
    return JobResult("ok", f"expired {result.total} posts", data={"deleted": result.deleted})
