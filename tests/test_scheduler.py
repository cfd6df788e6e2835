"""The scheduler's one-pass core with a fixed clock: due-ness, coalescing, followers, leases, stop, state."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from classifiers.language import LanguageDetector
from monitor.collectors import Page
from monitor.errors import ConfigError
from monitor.ingest.pipeline import IngestContext
from monitor.ingest.records import PostRecord
from monitor.scheduling.config import JobSpec, ScheduleSettings, crontab_weekdays, next_fire, parse_schedule
from monitor.scheduling.locks import acquire
from monitor.scheduling.runners import collect_runner, retrain_runner
from monitor.scheduling.scheduler import JobResult, Runtime, run_due, run_job
from monitor.status import status
from storage import queries
from storage import scheduling_queries as sq
from storage.engine import open_database
from storage.models import CollectionRun, HumanLabel

T0 = datetime(2025, 8, 5, 12, 0, tzinfo=UTC)  # a Tuesday
MINUTE = timedelta(minutes=1)
CONTEXT = IngestContext(topic="t", detector=LanguageDetector(), salt="salt", keywords=("weights",))


def spec(name="collect-fake", kind="collect", cron="*/15 * * * *", after=(), source="fake", **options) -> JobSpec:
    return JobSpec(name, kind, cron, tuple(after), source if kind == "collect" else None, options)


def make_runtime(sessions, specs, runners, lease_seconds=600, **kwargs) -> Runtime:
    plan = ScheduleSettings("UTC", lease_seconds, 30, tuple(specs))
    return Runtime(sessions, plan, runners, heartbeat=False, **kwargs)


class Recorder:
    """A runner that remembers its calls and returns (or raises) what it is told."""

    def __init__(self, result=None, error=None):
        self.calls, self.result, self.error = [], result or JobResult("ok", "done"), error

    def __call__(self, context, job):
        self.calls.append((job.name, context.now))
        if self.error:
            raise self.error
        return self.result


def state(sessions, name):
    with sessions() as session:
        return sq.job_state(session, name)


def test_first_pass_plans_and_missed_fire_times_coalesce_into_one_run(sessions):
    runner = Recorder()
    runtime = make_runtime(sessions, [spec()], {"collect": runner})
    assert run_due(runtime, T0 + 2 * MINUTE) == []
    assert sq.as_utc(state(sessions, "collect-fake").next_run_at) == T0 + 15 * MINUTE
    # Five hours pass with nothing running: twenty fire times missed, one run.
    later = T0 + timedelta(hours=5, minutes=3)
    outcomes = run_due(runtime, later)
    assert [(o.job, o.status) for o in outcomes] == [("collect-fake", "ok")]
    assert run_due(runtime, later + MINUTE) == []
    job = state(sessions, "collect-fake")
    assert (job.runs, job.last_status, job.interval_s) == (1, "ok", 900)
    assert sq.as_utc(job.next_run_at) == T0 + timedelta(hours=5, minutes=15)
    assert len(runner.calls) == 1


def test_followers_run_after_their_predecessor_in_the_same_pass_and_only_after_success(sessions):
    collect, classify, alerts = Recorder(), Recorder(), Recorder()
    specs = [spec("alerts", "alerts", None, ["classify"]), spec("classify", "classify", None, ["collect-fake"]),
             spec()]
    runtime = make_runtime(sessions, specs, {"collect": collect, "classify": classify, "alerts": alerts})
    run_due(runtime, T0)
    assert [o.job for o in run_due(runtime, T0 + 15 * MINUTE)] == ["collect-fake", "classify", "alerts"]
    assert run_due(runtime, T0 + 16 * MINUTE) == []
    collect.error = ConnectionError("down")
    assert [(o.job, o.status) for o in run_due(runtime, T0 + 30 * MINUTE)] == [("collect-fake", "failed")]
    assert len(classify.calls) == len(alerts.calls) == 1


def test_failures_are_recorded_with_secrets_masked(sessions, caplog):
    runner = Recorder()
    runtime = make_runtime(sessions, [spec()], {"collect": runner})
    run_due(runtime, T0)
    run_due(runtime, T0 + 15 * MINUTE)
    succeeded = state(sessions, "collect-fake").last_success_at
    runner.error = RuntimeError("GET https://api.example/?token=abc123SECRET failed")
    with caplog.at_level(logging.INFO, logger="monitor.scheduling.scheduler"):
        (outcome,) = run_due(runtime, T0 + 30 * MINUTE)
    job = state(sessions, "collect-fake")
    assert outcome.status == job.last_status == "failed"
    assert "token=***" in job.last_error and "abc123SECRET" not in job.last_error
    assert "abc123SECRET" not in caplog.text and "event=end status=failed" in caplog.text
    assert job.last_success_at == succeeded and job.failures == 1
    assert sq.as_utc(job.next_run_at) == T0 + 45 * MINUTE


def test_two_schedulers_with_separate_engines_never_run_one_collection_at_once(db_url):
    """Two schedulers poll the same database at the same instants; each due run happens once, never twice."""
    open_database(db_url)[0].dispose()
    active, peak, runs, guard = [0], [0], [], threading.Lock()

    def slow(context, job):
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            runs.append(context.now)
        time.sleep(0.05)
        with guard:
            active[0] -= 1
        return JobResult("ok")

    ticks = [T0 + i * 15 * MINUTE for i in range(8)]
    barrier = threading.Barrier(2)
    outcomes = []

    def scheduler():
        engine, sessions = open_database(db_url)
        runtime = make_runtime(sessions, [spec()], {"collect": slow})
        for tick in ticks:
            barrier.wait()
            outcomes.extend(run_due(runtime, tick))
        engine.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1
    # Every due tick ran exactly once across both schedulers (a pass's clock moves on by real milliseconds).
    assert [r.replace(second=0, microsecond=0) for r in sorted(runs)] == ticks[1:]
    assert all(o.status in ("ok", "locked") for o in outcomes)


def test_a_dead_processs_lease_is_taken_over_once_it_expires(sessions):
    runner = Recorder()
    runtime = make_runtime(sessions, [spec()], {"collect": runner}, lease_seconds=300)
    run_due(runtime, T0)
    # Another scheduler claimed the 12:15 run and was killed: its lease stays until 12:20.
    assert acquire(sessions, "collect:fake", "dead-host:1:x", T0 + 15 * MINUTE, timedelta(seconds=300))
    assert [o.status for o in run_due(runtime, T0 + 16 * MINUTE)] == ["locked"]
    assert runner.calls == []
    assert [o.status for o in run_due(runtime, T0 + 20 * MINUTE + timedelta(seconds=1))] == ["ok"]
    assert run_job(runtime, "collect-fake", T0 + 21 * MINUTE).status == "ok"


def post(i):
    return PostRecord(source="fake", source_id=str(i), text=f"release the weights {i}",
                      created_at=datetime(2025, 8, 5, tzinfo=UTC), author="a", raw={"id": i})


class PagedCollector:
    """Three pages of three posts; ``after_first`` runs while the first page is being stored."""

    name, filter_by_keywords = "fake", True

    def __init__(self, after_first=lambda: None):
        self.after_first = after_first

    def queries(self):
        return ["q"]

    def fetch(self, query, cursor, window):
        for index in range((cursor or {}).get("page", 0), 3):
            yield Page(items=[index * 3 + j for j in range(3)], cursor={"page": index + 1})

    def to_post(self, raw):
        if raw == 2:
            self.after_first()
        return post(raw)


def test_a_stop_request_ends_collection_after_the_committed_page_and_the_next_run_resumes(sessions):
    stop = threading.Event()
    collector = PagedCollector(after_first=stop.set)
    runners = {"collect": collect_runner(lambda context, job: [collector], lambda context: CONTEXT)}
    runtime = make_runtime(sessions, [spec()], runners, stop=stop)
    outcome = run_job(runtime, "collect-fake", T0)
    assert (outcome.status, outcome.detail) == ("stopped", "3 fetched, 3 new, 0 rejected")
    with sessions() as session:
        assert queries.count_posts(session) == 3
        assert queries.get_cursor(session, "fake", "q") == {"page": 1}
        assert session.scalar(select(CollectionRun.status)) == "stopped"
    assert state(sessions, "collect-fake").last_status == "stopped"
    stop.clear()
    collector.after_first = lambda: None
    assert run_job(runtime, "collect-fake", T0 + MINUTE).detail == "6 fetched, 6 new, 0 rejected"
    with sessions() as session:
        assert queries.count_posts(session) == 9


def test_retrain_waits_for_enough_new_labels_and_registers_through_the_trainer(sessions, workdir):
    trained = []

    def trainer(session, models_dir, activate, datasets_dir):
        trained.append(activate)
        assert datasets_dir == settings.datasets_dir
        return SimpleNamespace(name=f"stance-test-{len(trained)}", examples=42, activated=activate)

    with sessions.begin() as session:
        ids = queries.insert_posts(session, [
            {"source": "x", "source_id": str(i), "topic": "t", "text": "weights", "lang": "en",
             "created_at": T0, "metrics": {}, "content_hash": str(i), "collected_at": T0} for i in range(4)])
        for post_id in ids[:2]:
            session.add(HumanLabel(post_id=post_id, annotator="a", labelled_at=T0, relevant=True, stance="pro_open"))
    job = spec("retrain", "retrain", "0 3 * * *", min_new_labels=3, activate=True)
    settings = SimpleNamespace(models_dir=workdir / "models", datasets_dir=workdir / "datasets")
    runtime = make_runtime(sessions, [job], {"retrain": retrain_runner(trainer)}, settings=settings)
    first = run_job(runtime, "retrain", T0 + MINUTE)
    assert (first.status, first.detail) == ("skipped", "2 new labels; retraining needs 3")
    with sessions.begin() as session:
        session.add(HumanLabel(post_id=ids[2], annotator="a", labelled_at=T0 + 2 * MINUTE, relevant=False,
                               stance="neutral"))
    second = run_job(runtime, "retrain", T0 + 3 * MINUTE)
    assert second.status == "ok" and "3 new labels" in second.detail and "activated" in second.detail
    assert trained == [True]
    assert run_job(runtime, "retrain", T0 + 4 * MINUTE).status == "skipped"  # nothing new since
    assert state(sessions, "retrain").last_result["labels_since"] == (T0 + 3 * MINUTE).isoformat()


def test_status_shows_jobs_with_lag_last_failure_and_collection_gaps(sessions):
    results = iter([JobResult("ok", data={"source": "fake"}), JobResult("failed", error="HTTP 503")])
    runtime = make_runtime(sessions, [spec()], {"collect": lambda context, job: next(results)})
    run_due(runtime, T0)
    run_due(runtime, T0 + 15 * MINUTE)
    run_due(runtime, T0 + 30 * MINUTE)
    with sessions.begin() as session:  # hourly successful runs with a six-hour hole
        for hour in [0, 1, 2, 3, 9, 10, 11]:
            at = T0 - timedelta(hours=12 - hour)
            session.add(CollectionRun(source="fake", query="q", started_at=at, finished_at=at, status="ok"))
    with sessions() as session:
        summary = status(session, now=T0 + 40 * MINUTE)
    (job,) = summary["jobs"]
    assert job["status"] == "failed" and job["last_error"] == "HTTP 503"
    assert job["lag_seconds"] == 25 * 60 and job["overdue"] is False
    assert [(g["hours"], g["ongoing"]) for g in job["collection_gaps"]] == [(6.0, False)]
    assert summary["alerts"] == []


def test_parse_schedule_reads_jobs_and_rejects_mistakes_by_name():
    raw = {"timezone": "Europe/Berlin", "jobs": {
        "collect-hn": {"run": "collect", "source": "hackernews", "cron": "*/10 * * * *"},
        "classify": {"after": ["collect-hn"]},
        "report-weekly": {"run": "report", "cron": "0 7 * * 1", "freq": "week"},
    }}
    plan = parse_schedule(raw, ["hackernews", "x"])
    assert [s.name for s in plan.ordered()] == ["collect-hn", "classify", "report-weekly"]
    assert plan.job("collect-hn").lease_name == "collect:hackernews"
    monday = next_fire(plan.job("report-weekly"), plan.tz, datetime(2025, 8, 6, tzinfo=UTC))
    assert (monday.strftime("%a %H:%M"), str(monday.tzinfo)) == ("Mon 07:00", "Europe/Berlin")
    bad = [
        ({"jobs": {"a": {"run": "collect", "source": "nope", "cron": "* * * * *"}}}, "source"),
        ({"jobs": {"a": {"run": "classify", "cron": "61 * * * *"}}}, "cron"),
        ({"jobs": {"a": {"run": "classify"}}}, "needs cron, after, or both"),
        ({"jobs": {"a": {"run": "classify", "cron": "* * * * *", "colour": 1}}}, "colour: unknown key"),
        ({"jobs": {"a": {"after": ["b"], "run": "classify"}, "b": {"after": ["a"], "run": "alerts"}}}, "cycle"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ]
    for table, message in bad:
        with pytest.raises(ConfigError, match=message):
            parse_schedule(table, ["hackernews"])


@pytest.mark.parametrize("field,expected", [
    ("1", "mon"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"), ("*/2", "sun,tue,thu,sat"),
    ("fri-mon", "sun,mon,fri,sat"), ("sat,SUN", "sun,sat"), ("*", "*"),
])
def test_crontab_weekdays_count_from_sunday_like_crontab(field, expected):
    assert crontab_weekdays(field) == expected
