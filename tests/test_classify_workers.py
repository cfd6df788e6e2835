"""`stance classify --workers N`: the posts split by id range over N processes, each post scored once."""

import json

import pytest
from sqlalchemy import func, select

from monitor import jobs
from monitor.config import load_settings
from monitor.ingest.workers import WorkerFailed, run_in_processes, split_range
from storage.models import Classification


def test_split_range_covers_every_id_once_in_nearly_equal_parts():
    parts = split_range(5, 104, 3)
    assert parts == [(5, 37), (38, 70), (71, 104)]
    covered = [i for low, high in parts for i in range(low, high + 1)]
    assert covered == list(range(5, 105))
    assert split_range(1, 2, 4) == [(1, 1), (2, 2)]  # never an empty share
    assert split_range(3, 2, 2) == []


def _stored(settings) -> dict[int, tuple]:
    sessions = jobs.open_store(settings)
    with sessions.begin() as session:
        rows = session.execute(select(Classification.post_id, Classification.relevant, Classification.stance,
                                      Classification.p_pro_closed, Classification.sentiment))
        # Probabilities to 9 places: a batch of other posts changes the BLAS summation order in the last bit.
        return {row.post_id: (row.relevant, row.stance, round(row.p_pro_closed, 9), row.sentiment) for row in rows}


def test_two_worker_processes_store_what_one_process_stores(db_url, workdir, monkeypatch):
    monkeypatch.setenv("STANCE_DATABASE_URL", db_url)
    (workdir / "stance.toml").write_text("[classify]\nbatch_size = 7\n")
    texts = ["OpenAI should finally release the weights of its models",
             "Keep frontier models closed, open weights are too dangerous",
             "Die Bahn hat schon wieder Verspätung", "gpt-oss läuft lokal auf meinem Laptop"]
    (workdir / "posts.jsonl").write_text("\n".join(
        json.dumps({"id": str(n), "text": f"{texts[n % 4]} ({n})", "created_at": "2025-05-01T00:00:00Z"})
        for n in range(60)))
    settings = load_settings()
    jobs.import_files(settings, [workdir / "posts.jsonl"])

    progress: list[int] = []
    result = jobs.classify(settings, on_batch=progress.append, workers=2)
    assert result.classified == 60 and sum(progress) == 60
    in_two = _stored(settings)
    sessions = jobs.open_store(settings)
    with sessions.begin() as session:
        assert session.scalar(select(func.count(Classification.id))) == 60

    assert jobs.classify(settings, workers=2).classified == 0  # nothing pending: nothing scored twice
    assert jobs.classify(settings, rescore=True).classified == 60
    in_one = _stored(settings)
    assert in_two.keys() == in_one.keys() and len(in_one) == 60
    assert in_two == in_one
    assert {stance for _, stance, _, _ in in_one.values()} >= {"pro_open", "neutral"}


def test_a_failing_worker_is_one_clear_error(tmp_path):
    settings = load_settings(None, {"STANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'stance.db'}"})
    jobs.open_store(settings)  # an empty database: model version 999 does not exist
    with pytest.raises(WorkerFailed, match=r"worker 1 of 1: NoResultFound"):
        run_in_processes(jobs._classify_range, [(settings, 999, 1, 10)])
