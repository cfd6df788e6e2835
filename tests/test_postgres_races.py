"""Processes starting together on one PostgreSQL database: schema creation and the first model version."""

import os
import subprocess
import sys
import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

POSTGRES_ENV = "STANCE_TEST_POSTGRES_URL"
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh_postgres_url():
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}")
    from storage.engine import normalise_url

    base = normalise_url(base)
    schema = f"race_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run_together(code: str, url: str, count: int = 3) -> list[subprocess.CompletedProcess]:
    processes = [subprocess.Popen([sys.executable, "-c", code, url], cwd=PROJECT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(count)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=300), *p.communicate()) for p in processes]


def test_processes_creating_the_schema_together_all_succeed(fresh_postgres_url):
    code = ("import sys, time; from storage.engine import open_database; "
            "open_database(sys.argv[1]); print('ok')")
    results = run_together(code, fresh_postgres_url, count=4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-500:] for r in results]


def test_processes_registering_the_default_model_together_all_succeed(fresh_postgres_url):
    from storage.engine import open_database

    engine, _ = open_database(fresh_postgres_url)
    engine.dispose()
    code = ("import sys\nfrom monitor.active_model import ensure_active_model\n"
            "from storage.engine import open_database\n"
            "engine, sessions = open_database(sys.argv[1])\n"
            "with sessions.begin() as session:\n"
            "    print(ensure_active_model(session).id)\n")
    results = run_together(code, fresh_postgres_url, count=4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-500:] for r in results]
    assert len({r.stdout.strip() for r in results}) == 1  # one version, registered once


def test_registering_the_default_model_survives_losing_the_race(sessions, monkeypatch):
    """Another process registers the default version between our look-up and our insert."""
    from monitor import active_model
    from storage import queries

    with sessions.begin() as session:
        winner = active_model.ensure_active_model(session)
        winner.active = False
        winner_id = winner.id
    real = queries.model_version_by_name
    calls = []

    def stale_first(session, name):
        calls.append(name)
        return None if len(calls) == 1 else real(session, name)

    monkeypatch.setattr(queries, "model_version_by_name", stale_first)
    with sessions.begin() as session:
        assert active_model.ensure_active_model(session).id == winner_id
    assert len(calls) == 2


def test_two_classify_at_once_never_classify_a_post_twice(db_url, workdir, monkeypatch):
    import json
    import threading
    import time
    from types import SimpleNamespace

    from monitor import jobs
    from monitor.config import load_settings

    monkeypatch.setenv("STANCE_DATABASE_URL", db_url)
    (workdir / "stance.toml").write_text("[classify]\nbatch_size = 5\n")
    (workdir / "posts.jsonl").write_text("\n".join(
        json.dumps({"id": str(n), "text": f"open weights {n}", "created_at": "2025-05-01T00:00:00Z"})
        for n in range(40)))
    settings = load_settings()
    jobs.import_files(settings, [workdir / "posts.jsonl"])
    labels = SimpleNamespace(relevant=True, relevance_score=0.9, stance="neutral", aspects=(),
                             stance_proba={"pro_open": 0.2, "pro_closed": 0.2, "neutral": 0.6},
                             safety_concern=False, sentiment="neutral", sentiment_score=0.0,
                             sentiment_model="x")

    class Slow:
        sentiment = None

        def classify(self, texts, langs, embeddings, known):
            time.sleep(0.05)
            return [labels] * len(texts)

    together = threading.Barrier(2, timeout=3)

    def load(version, settings):
        try:  # both start classifying at the same moment, unless one waits for the other
            together.wait()
        except threading.BrokenBarrierError:
            pass
        return Slow()

    monkeypatch.setattr(jobs, "load_classifier", load)
    counts = []
    threads = [threading.Thread(target=lambda: counts.append(jobs.classify(settings).classified))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(counts) == [0, 40]
