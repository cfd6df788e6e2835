"""The `stance` command end to end, in a fresh working directory, on SQLite and PostgreSQL."""

import json
import re

import pytest
from sqlalchemy import func, select

from storage.engine import open_database
from storage.models import Classification, Post
from tests_support import stance


@pytest.fixture
def configured(workdir, db_url, capsys):
    """`stance init` with the database URL of the test."""
    code, out, _ = stance(capsys, "init")
    assert code == 0 and "wrote stance.toml" in out
    config = workdir / "stance.toml"
    config.write_text(config.read_text().replace('database_url = "sqlite:///stance.db"', f'database_url = "{db_url}"'))
    return workdir


def counts(db_url):
    engine, sessions = open_database(db_url)
    with sessions() as session:
        result = session.scalar(select(func.count(Post.id))), session.scalar(select(func.count(Classification.id)))
    engine.dispose()
    return result


@pytest.mark.slow
def test_run_twice_builds_everything_once(configured, db_url, capsys):
    code, out, err = stance(capsys, "run")
    assert code == 0, err
    posts, classified = counts(db_url)
    assert posts >= 600 and classified == posts
    pdfs = list((configured / "stance-reports").glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].stat().st_size > 10_000
    assert list((configured / "stance-reports").glob("*.png"))

    code, out, err = stance(capsys, "run")
    assert code == 0, err
    assert re.search(r"\b0 new\b", out)
    assert counts(db_url) == (posts, classified)

    code, out, _ = stance(capsys, "status", "--json")
    summary = json.loads(out)
    assert summary["posts"] == posts
    assert set(summary["by_source"]) >= {"x", "mastodon", "bluesky", "reddit", "hackernews", "rss"}
    assert sum(summary["by_source"].values()) == posts


def test_import_lands_good_lines_and_names_every_bad_one(configured, db_url, capsys):
    lines = [
        '{"id": "1", "text": "OpenAI, release the weights", "created_at": "2025-08-05T10:00:00Z", "author": "a"}',
        '{"id": "2", "text": "broken json", ',
        '{"id": "3", "created_at": "2025-08-05T10:00:00Z"}',
        '{"id": "4", "text": "date?", "created_at": "next tuesday"}',
        '{"id": "5", "text": "' + "x" * 30_000 + '", "created_at": "2025-08-05"}',
        '{"id": "6", "text": "Offene Gewichte sind gut", "created_at": "2025-08-06T08:00:00+02:00"}',
    ]
    path = configured / "posts.jsonl"
    bad_byte = b'\n{"id": "7", "text": "bad \xff byte", "created_at": "2025-08-05"}\n'
    path.write_bytes("\n".join(lines).encode() + bad_byte)
    code, out, err = stance(capsys, "import", str(path))
    assert code == 0
    assert "2 new" in out and "5 rejected" in out
    for line, field in [(2, "malformed JSON"), (3, "text: missing"), (4, "created_at"), (5, "text: too long"),
                        (7, "invalid UTF-8")]:
        assert f"posts.jsonl:{line}: {field}" in err
    rejects = [json.loads(x) for x in (configured / "posts.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["position"] for r in rejects] == [f"posts.jsonl:{n}" for n in (2, 3, 4, 5, 7)]
    assert counts(db_url)[0] == 2

    code, out, _ = stance(capsys, "import", str(path))  # re-running is safe
    assert code == 0 and "0 new" in out
    assert counts(db_url)[0] == 2


def test_import_of_twarc2_pages_and_csv(configured, db_url, capsys):
    page = {"data": [{"id": "100", "text": "gpt-oss is out", "author_id": "9", "created_at": "2025-08-05T17:00:00.000Z",
                      "lang": "en", "public_metrics": {"like_count": 5, "retweet_count": 1}}],
            "includes": {"users": [{"id": "9", "username": "someone"}]}}
    (configured / "x.jsonl").write_text(json.dumps(page) + "\n")
    (configured / "p.csv").write_text(
        'id,text,created_at,source\n1,"Weights, finally",2025-08-05,mastodon\n2,,2025-08-05,x\n')
    code, out, err = stance(capsys, "import", "x.jsonl", "p.csv")
    assert code == 0
    assert "x.jsonl: 1 new" in out and "p.csv: 1 new, 0 already stored, 1 rejected" in out
    assert "p.csv:3: text: missing" in err
    code, out, _ = stance(capsys, "export", "out.jsonl")
    exported = {row["source_id"]: row for row in map(json.loads, (configured / "out.jsonl").read_text().splitlines())}
    assert exported["100"]["source"] == "x" and exported["100"]["author"] != "someone"
    assert exported["1"]["source"] == "mastodon"


def test_import_of_unreadable_file_fails_with_one_line(configured, capsys):
    (configured / "empty.jsonl").write_text("not json\n")
    code, _, err = stance(capsys, "import", "empty.jsonl")
    assert code == 1
    assert "empty.jsonl:1: malformed JSON" in err and "nothing could be imported" in err
    code, _, err = stance(capsys, "import", "missing.jsonl")
    assert code == 1 and "missing.jsonl: cannot read" in err and "Traceback" not in err


def test_config_errors_name_file_key_and_expectation(workdir, capsys):
    (workdir / "stance.toml").write_text('[report]\nfreq = "year"\n')
    code, _, err = stance(capsys, "status")
    assert code == 1
    assert "stance.toml: [report] freq: expected one of auto, day, week, month, got 'year'" in err
    (workdir / "stance.toml").write_text("[report\n")
    code, _, err = stance(capsys, "status")
    assert code == 1 and "stance.toml: invalid TOML" in err and len(err.strip().splitlines()) == 1


def test_predict_adds_the_documented_columns(workdir, capsys):
    (workdir / "in.csv").write_text(
        "body,n\n"
        '"OpenAI should finally release the weights of their models",1\n'
        '"Das Wetter in Berlin ist heute schön",2\n'
        '"Ceci est un message en français sur le tennis",3\n'
    )
    code, out, err = stance(capsys, "predict", "in.csv", "--out", "out.jsonl", "--text-col", "body")
    assert code == 0, err
    rows = [json.loads(x) for x in (workdir / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    for column in ("lang", "relevant", "stance", "stance_confidence", "safety_concern", "aspects", "sentiment",
                   "sentiment_score"):
        assert column in rows[0]
    assert [r["lang"] for r in rows] == ["en", "de", "fr"]
    assert rows[2]["sentiment"] is None and rows[2]["relevant"] is False
    assert rows[0]["n"] == "1"
    code, _, err = stance(capsys, "predict", "in.csv", "--out", "o.csv")
    assert code == 1 and "in.csv:1: header: expected a 'text' column" in err and "--map text=COLUMN" in err


def test_predict_names_the_column_a_jsonl_file_keeps_its_text_in(workdir, capsys):
    # A Reddit dump keeps the comment in "body": the error says so instead of only that "text" is missing.
    (workdir / "comments.jsonl").write_text(json.dumps({"id": "c1", "body": "Release the weights"}) + "\n")
    code, _, err = stance(capsys, "predict", "comments.jsonl", "--out", "out.jsonl")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert ("comments.jsonl:1: column 'text' is missing or empty; "
            "this row has a 'body' column: pass --text-col body") in err
    (workdir / "empty.jsonl").write_text(json.dumps({"id": "c1", "text": " ", "body": "Release the weights"}) + "\n")
    code, _, err = stance(capsys, "predict", "empty.jsonl", "--out", "out.jsonl")
    assert code == 1 and "empty.jsonl:1: column 'text' is missing or empty" in err and "--text-col" not in err
