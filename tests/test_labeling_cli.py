"""`stance label` end to end: label, retrain, compare, activate, re-score; and the spreadsheet round trip."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from classifiers.training import load_seed_set
from monitor.cli.label import register
from storage.engine import open_database
from storage.models import Classification, HumanLabel, ModelVersion, Post
from tests_support import stance

NOW = datetime(2025, 8, 6, tzinfo=UTC)


@pytest.fixture
def label_command(monkeypatch):
    """`stance label` on the real app, until monitor.cli.app registers it itself; undone after the test."""
    from monitor.cli.app import app

    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    register(app)
    register(app)  # a second registration (e.g. once cli.py does it) must not add a second command
    assert [c.name for c in app.registered_commands].count("label") == 1


@pytest.fixture
def configured(workdir, db_url, capsys, label_command):
    assert stance(capsys, "init")[0] == 0
    config = workdir / "stance.toml"
    config.write_text(config.read_text().replace('database_url = "sqlite:///stance.db"', f'database_url = "{db_url}"'))
    return workdir


def keys_for(i: int) -> str:
    """Plausible answers for the i-th post: mostly relevant, every stance, some off-topic."""
    if i % 5 == 4:
        return "n" + "pnt"[i % 3]  # off-topic: relevant n, then only the sentiment
    aspects = ("f" if i % 2 else "cg") + "\n"
    return "y" + "ocn"[i % 3] + "pnt"[i % 3] + aspects + ("y" if i % 7 == 0 else "n")


def label(capsys, monkeypatch, script: str, *args):
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    return stance(capsys, "label", "--annotator", "tester", *args)


def in_db(db_url, statement):
    engine, sessions = open_database(db_url)
    with sessions() as session:
        result = session.execute(statement).all()
    engine.dispose()
    return result


# The whole loop (label, retrain, compare, activate, re-score) once, on SQLite: it trains a model, which is
# most of its time, and every database step in it has its own test on PostgreSQL too (test_labeling.py,
# test_web_label.py, test_pipeline.py).
@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_label_fifty_retrain_activate_and_rescore(configured, db_url, capsys, monkeypatch):
    for command in ("collect", "classify"):  # what `stance run` does before its report, which is not needed here
        code, _, err = stance(capsys, command)
        assert code == 0, err
    ((posts,),) = in_db(db_url, select(func.count(Post.id)))

    # First sitting: a skip, and an undo that answers the third post again, then quit after 20 posts.
    first = keys_for(0) + keys_for(1) + "s" + keys_for(2) + "u" + keys_for(3) + keys_for(4)
    first += "".join(keys_for(i) for i in range(5, 21)) + "q"
    code, out, err = label(capsys, monkeypatch, first, "--limit", "50")
    assert code == 0, err
    assert "labelled 20 posts as tester (1 skipped); run again to resume" in out
    assert "secret" not in out and "relevant? [y]es [n]o" in out
    # Second sitting resumes: 30 more, never a post labelled before (else the count would fall short).
    code, out, err = label(capsys, monkeypatch, "".join(keys_for(i) for i in range(22, 60)), "--limit", "30")
    assert code == 0, err
    assert "labelled 30 posts as tester" in out
    labels = in_db(db_url, select(HumanLabel.relevant, HumanLabel.stance, HumanLabel.aspects,
                                  HumanLabel.safety_concern).where(HumanLabel.annotator == "tester"))
    assert len(labels) == 50
    assert {stance for _, stance, _, _ in labels} == {"pro_open", "pro_closed", "neutral"}
    assert all(s == "neutral" and a == [] and c is False for r, s, a, c in labels if not r)

    code, out, err = stance(capsys, "train", "--folds", "2")  # 2 folds: the same path, half the fits
    assert code == 0, err
    match = re.search(r"(stance-\d{8}-\d{6}-[0-9a-f]{8}): trained on (\d+) examples", out)
    assert match and int(match.group(2)) == len(load_seed_set()) + 50
    new = match.group(1)

    code, out, _ = stance(capsys, "models", "list")
    rows = [line for line in out.splitlines() if "stance-" in line]
    assert len(rows) == 2 and any(new in r for r in rows)
    assert "*" in next(r for r in rows if new not in r) and "*" not in next(r for r in rows if new in r)

    code, out, _ = stance(capsys, "models", "activate", new)
    assert code == 0 and f"active: {new}" in out
    code, out, err = stance(capsys, "classify")
    assert code == 0, err
    assert f"classified {posts} posts with {new}" in out

    per_version = dict(in_db(db_url, select(ModelVersion.name, func.count(Classification.id))
                             .join(Classification, Classification.model_version_id == ModelVersion.id)
                             .group_by(ModelVersion.name)))
    assert len(per_version) == 2 and set(per_version.values()) == {posts}
    assert in_db(db_url, select(func.count(Post.id))) == [(posts,)]
    assert in_db(db_url, select(func.count(HumanLabel.id))) == [(50,)]

    code, out, _ = stance(capsys, "classify")  # nothing left to do: no duplicates
    assert f"classified 0 posts with {new}" in out


def test_spreadsheet_round_trip_and_agreement_from_the_command_line(configured, db_url, capsys, monkeypatch):
    (configured / "posts.jsonl").write_text("".join(
        f'{{"id": "{i}", "text": "Post {i}: should OpenAI release the weights of model {i}?", '
        f'"created_at": "2025-08-0{1 + i % 5}T10:00:00Z", "author": "someone"}}\n' for i in range(8)))
    assert stance(capsys, "import", "posts.jsonl")[0] == 0
    # An active version with made-up scores instead of `stance classify`, which loads the real model (slow).
    engine, sessions = open_database(db_url)
    with sessions.begin() as session:
        version = ModelVersion(name="fake", kind="stance", created_at=NOW, artefact="-", active=True)
        session.add(version)
    code, out, err = label(capsys, monkeypatch, "", "--export", "batch.csv")
    assert code == 1 and "run `stance classify` first" in err
    with sessions.begin() as session:
        for post_id in session.scalars(select(Post.id)):
            session.add(Classification(post_id=post_id, model_version_id=version.id, relevant=True,
                                       relevance_score=0.5 + post_id / 100, stance="neutral", p_pro_open=0.3,
                                       p_pro_closed=0.3, p_neutral=0.4, classified_at=NOW))
    engine.dispose()

    code, out, err = label(capsys, monkeypatch, "", "--export", "batch.csv", "--limit", "5")
    assert code == 0, err
    assert "wrote 5 posts to batch.csv" in out
    with open(configured / "batch.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 6 and "someone" not in str(rows)
    for row, answer in zip(rows[1:], (["true", "pro_open", "positive"], ["false", "", "neutral"],
                                      ["true", "pro_closed", "negative"], ["true", "pro-open", "positive"],
                                      ["true", "neutral", "neutral"])):
        row[5:8] = answer
    with open(configured / "batch.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)

    for _ in range(2):  # importing twice replaces, never duplicates
        code, out, err = label(capsys, monkeypatch, "", "--import", "batch.csv")
        assert code == 0
        assert "stored 4 labels by tester, 1 row rejected" in out
        assert err.strip() == "batch.csv:5: stance: expected one of pro_open, pro_closed, neutral, got 'pro-open'"
    assert in_db(db_url, select(func.count(HumanLabel.id))) == [(4,)]

    code, _, err = stance(capsys, "label", "--agreement")
    assert code == 1 and "no post has labels by two annotators" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = stance(capsys, "label", "--annotator", "second", "--import", "batch.csv")
    assert code == 0, err
    code, out, _ = stance(capsys, "label", "--agreement")
    assert code == 0
    assert "second vs tester: 4 shared posts" in out and re.search(r"stance\s+│\s+1\.000\s+│\s+100%", out)

    code, _, err = stance(capsys, "label", "--export", "a.csv", "--agreement")
    assert code == 2 and err.strip() == ("error: stance label: use one of --export, --import and --agreement at "
                                         "a time (see 'stance label --help')")
