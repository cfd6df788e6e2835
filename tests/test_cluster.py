"""Celery workers against the real Redis and PostgreSQL: delivered twice stores once, a worker killed with
SIGKILL mid-task loses nothing, the scheduler enqueues instead of running jobs when a broker is configured.

Never eager mode: the worker is ``stance worker`` in a process of its own, as in production.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

START = datetime(2025, 8, 1, tzinfo=UTC)
TEXTS = ["OpenAI should release the weights now", "Offene Gewichte sind gefährlich für alle",
         "gpt-oss runs fine on my laptop", "Closed models are the responsible choice"]


def _config(tmp_path: Path, db_url: str, redis_url: str, prefix: str) -> Path:
    path = tmp_path / "stance.toml"
    path.write_text(
        f'database_url = "{db_url}"\n\n[topic]\nname = "t"\nkeywords = ["openai"]\n\n'
        f'[cluster]\nbroker_url = "{redis_url}"\nqueue_prefix = "{prefix}"\nvisibility_timeout = 2\nbatch_size = 10\n\n'
        '[sources.file]\nenabled = true\npaths = ["builtin:demo"]\n\n'
        '[schedule.jobs.collect-file]\nrun = "collect"\nsource = "file"\ncron = "*/30 * * * *"\n\n'
        '[schedule.jobs.classify]\nafter = ["collect-file"]\n', encoding="utf-8")
    return path


@pytest.fixture
def cluster(tmp_path, db_url, redis_url, monkeypatch):
    """Settings for a fresh PostgreSQL schema and queues of this test's own on the test Redis."""
    import redis

    from monitor.config import load_settings

    prefix = f"t{uuid.uuid4().hex[:10]}"
    path = _config(tmp_path, db_url, redis_url, prefix)
    monkeypatch.delenv("STANCE_BROKER_URL", raising=False)
    monkeypatch.setenv("STANCE_AUTHOR_SALT", "test-salt")
    yield load_settings(path, {}), path, prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}.*"):
        client.delete(key)
    for tag, payload in client.hgetall("unacked").items():
        if prefix.encode() in payload:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


def _posts_with_embeddings(settings, n: int) -> tuple[list[int], int]:
    """n posts whose sentence embeddings are stored already (so the worker runs only the model heads)."""
    from classifiers import encoder
    from monitor import active_model, jobs
    from storage import queries

    rng = np.random.default_rng(13)
    with jobs.open_store(settings).begin() as session:
        ids = queries.insert_posts(session, [{
            "source": "file", "source_id": str(i), "topic": "t", "text": f"{TEXTS[i % 4]} ({i})", "lang": "en",
            "lang_confidence": 0.9, "created_at": START + timedelta(hours=i), "author": None, "url": None,
            "metrics": {}, "raw": None, "content_hash": str(i), "collected_at": START} for i in range(n)])
        queries.insert_embeddings(session, [
            {"post_id": post_id, "encoder": encoder.NAME,
             "vector": encoder.to_blob(rng.normal(size=encoder.DIM).astype(np.float32))} for post_id in ids])
        version_id = active_model.ensure_active_model(session).id
    return ids, version_id


def _worker(config: Path, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "STANCE_AUTHOR_SALT": "test-salt"}
    env.pop("STANCE_BROKER_URL", None)
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "worker", "--concurrency", "1"],
                            cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool children (its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {seconds:.0f} s waiting for {what}")
        time.sleep(0.05)


def _classified(settings, version_id: int) -> tuple[int, int]:
    from monitor import jobs
    from storage.models import Classification

    with jobs.open_store(settings)() as session:
        return session.execute(
            select(func.count(), func.count(func.distinct(Classification.post_id)))
            .where(Classification.model_version_id == version_id)).one()


def test_worker_killed_mid_task_loses_nothing_and_duplicates_nothing(cluster, tmp_path, redis_url):
    import redis

    from monitor.cluster.enqueue import enqueue_classify, enqueue_posts

    settings, config, prefix = cluster
    ids, version_id = _posts_with_embeddings(settings, 60)
    queued = enqueue_classify(settings)
    assert (queued.tasks, queued.items) == (6, 60)
    assert enqueue_posts(settings, ids, version_id).tasks == 6  # every post delivered twice

    client = redis.Redis.from_url(redis_url)

    def ours_in_progress() -> bool:  # a task of ours delivered to a worker and not acknowledged
        return any(prefix.encode() in payload for payload in client.hvals("unacked"))

    first = _worker(config, tmp_path)
    try:
        _wait(ours_in_progress, 90, "the first worker to take a task")
        _kill(first)
    finally:
        _kill(first)
    assert ours_in_progress()  # killed before it acknowledged: the task is still owed
    second = _worker(config, tmp_path)
    try:
        _wait(lambda: _classified(settings, version_id)[0] == 60 and not ours_in_progress()
              and client.llen(f"{prefix}.classify") == 0, 120, "the second worker to finish every task")
    finally:
        _kill(second)
    rows, posts = _classified(settings, version_id)
    assert rows == posts == 60


def test_scheduler_enqueues_instead_of_running_when_a_broker_is_configured(cluster, tmp_path, redis_url):
    import redis

    from monitor import jobs
    from monitor.cli.schedule import runners_for
    from monitor.scheduling.config import parse_schedule
    from monitor.scheduling.scheduler import Runtime, run_job
    from storage import queries

    settings, _config_path, prefix = cluster
    _posts_with_embeddings(settings, 25)
    sessions = jobs.open_store(settings)
    plan = parse_schedule(settings.schedule, settings.sources, "stance.toml")
    runtime = Runtime(sessions, plan, runners_for(settings), settings, None, heartbeat=False)
    outcomes = {name: run_job(runtime, name) for name in ("collect-file", "classify")}
    assert outcomes["collect-file"].status == "ok" and "enqueued 1 collect task" in outcomes["collect-file"].detail
    assert outcomes["classify"].status == "ok"
    client = redis.Redis.from_url(redis_url)
    collect = [json.loads(m) for m in client.lrange(f"{prefix}.collect", 0, -1)]
    assert [m["headers"]["task"] for m in collect] == ["stance.collect"]
    assert client.llen(f"{prefix}.classify") == 3  # 25 unclassified posts in batches of 10
    with sessions() as session:  # nothing ran here: no demo post collected, nothing classified
        assert queries.count_posts(session) == 25 and queries.count_classifications(session) == 0


def test_a_task_that_fails_for_good_leaves_a_dead_letter(cluster):
    """A poison batch (here: a model version that does not exist) is recorded, with its arguments."""
    from monitor import jobs
    from monitor.cluster.enqueue import app_for
    from storage.models import DeadLetter

    settings, _config_path, _prefix = cluster
    ids, _version_id = _posts_with_embeddings(settings, 3)
    task = app_for(settings).tasks["stance.classify_batch"]
    with pytest.raises(ValueError, match="model version 999 does not exist") as failure:
        task.run(ids, 999)
    task.on_failure(failure.value, "task-1", (ids, 999), {}, None)
    with jobs.open_store(settings)() as session:
        letters = session.scalars(select(DeadLetter)).all()
    assert [(d.task, d.task_id, d.args["args"], d.attempts) for d in letters] == [
        ("stance.classify_batch", "task-1", [ids, 999], 1)]
    assert "model version 999 does not exist" in letters[0].error
