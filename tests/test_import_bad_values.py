"""One bad value never costs a page or a file: each bad row is named by file and line, the good rows land."""

import csv
import json
from datetime import UTC

from sqlalchemy import create_engine, func, select, text

from storage.models import CollectionRun, Post
from tests_support import stance


def good(number: int) -> str:
    return json.dumps({"id": f"g{number}", "text": f"open weights post {number}",
                       "created_at": "2025-05-01T00:00:00Z"})


BAD_LINES = {
    "date 1e20": '{"id": "b1", "text": "x", "created_at": 1e20}',
    "date Infinity": '{"id": "b2", "text": "x", "created_at": Infinity}',
    "id object": '{"id": {"a": 1}, "text": "x", "created_at": "2025-05-01"}',
    "id list": '{"id": [1, 2], "text": "x", "created_at": "2025-05-01"}',
    "nested 5000 deep": '{"id": "b3", "text": "x", "created_at": "2025-05-01", "n": '
                        + "[" * 5000 + "]" * 5000 + "}",
    "year 9999": '{"id": "b5", "text": "x", "created_at": "9999-12-31T00:00:00Z"}',
    "year 1970": '{"id": "b6", "text": "x", "created_at": "1970-01-01T00:00:00Z"}',
    "likes Infinity": '{"id": "b7", "text": "x", "created_at": "2025-05-01", "likes": Infinity}',
    "nested 150 deep": '{"id": "b8", "text": "x", "created_at": "2025-05-01", "n": '
                       + "[" * 150 + "]" * 150 + "}",
}


def stored(db_url):
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        ids = set(conn.scalars(select(Post.source_id)))
        runs = conn.execute(select(CollectionRun.status, CollectionRun.error)).all()
    engine.dispose()
    return ids, runs


def test_every_good_row_lands_and_every_bad_row_is_named(workdir, db_url, monkeypatch, capsys):
    monkeypatch.setenv("STANCE_DATABASE_URL", db_url)
    lines = [good(n) for n in range(1, 4)] + list(BAD_LINES.values()) + [good(n) for n in range(4, 7)]
    lines.append('{"id": "nul", "text": "a NUL\\u0000 inside", "created_at": "2025-05-01", '
                 '"author": "x\\u0000y"}')
    # A byte-order mark before line 1, as some Windows tools write.
    (workdir / "posts.jsonl").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")

    code, out, err = stance(capsys, "import", "posts.jsonl")

    assert code == 0, err
    assert "posts.jsonl: 7 new, 0 already stored, 9 rejected" in out
    rejects = [json.loads(line) for line in (workdir / "posts.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [r["position"] for r in rejects] == [f"posts.jsonl:{n}" for n in range(4, 13)]
    reasons = dict(zip(BAD_LINES, (r["error"] for r in rejects)))
    assert "out of range" in reasons["date 1e20"] and "out of range" in reasons["date Infinity"]
    assert "expected a string or an integer, got dict" in reasons["id object"]
    assert "got list" in reasons["id list"]
    assert "nested too deeply" in reasons["nested 5000 deep"] and "too deeply" in reasons["nested 150 deep"]
    assert "outside 2006-01-01" in reasons["year 9999"] and "outside 2006-01-01" in reasons["year 1970"]
    assert "likes: expected an integer" in reasons["likes Infinity"]
    # The rejects keep each line as it stood in the file, so it can be fixed and imported again.
    originals = dict(zip(BAD_LINES, (r["raw"] for r in rejects)))
    assert originals["date 1e20"] == BAD_LINES["date 1e20"] and originals["id list"] == BAD_LINES["id list"]
    ids, runs = stored(db_url)
    assert ids == {"g1", "g2", "g3", "g4", "g5", "g6", "nul"}
    assert runs == [("ok", None)]


def test_reimporting_counts_already_stored_never_negative(workdir, capsys):
    (workdir / "posts.jsonl").write_text(
        "\n".join([good(1), good(2), BAD_LINES["id object"], BAD_LINES["id list"]]) + "\n", encoding="utf-8")
    stance(capsys, "import", "posts.jsonl")
    code, out, _ = stance(capsys, "import", "posts.jsonl")
    assert code == 0
    assert "posts.jsonl: 0 new, 2 already stored, 2 rejected" in out


def test_a_csv_field_longer_than_csv_allows_rejects_that_row_only(workdir, capsys):
    with open(workdir / "posts.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at"])
        writer.writerow(["1", "first", "2025-05-01"])
        writer.writerow(["2", "x" * 200_000, "2025-05-01"])
        writer.writerow(["3", "third", "2025-05-01"])
        writer.writerow(["4", "fourth", "2025-05-01"])

    code, out, err = stance(capsys, "import", "posts.csv")

    assert code == 0, err
    assert "posts.csv: 3 new, 0 already stored, 1 rejected" in out
    assert "posts.csv:3: text: too long (200000 chars" in err


def test_dates_outside_a_configured_window_are_rejected(workdir, capsys):
    (workdir / "stance.toml").write_text('[ingest]\nearliest_post = "2025-01-01"\nfuture_days = 1\n')
    rows = [{"id": "old", "text": "old", "created_at": "2024-12-31T23:00:00Z"},
            {"id": "ok", "text": "ok", "created_at": "2025-01-01T00:00:00Z"},
            {"id": "future", "text": "future", "created_at": "2999-01-01T00:00:00Z"}]
    (workdir / "posts.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    code, out, err = stance(capsys, "import", "posts.jsonl")

    assert code == 0, err
    assert "1 new, 0 already stored, 2 rejected" in out
    assert "posts.jsonl:1: created_at: 2024-12-31T23:00:00+00:00 is outside 2025-01-01" in err


def test_a_row_the_database_refuses_costs_that_row_only(sessions):
    """A value the checks let through but the database refuses: the page is stored row by row."""
    from datetime import datetime

    from classifiers.language import LanguageDetector
    from monitor.collectors import Page
    from monitor.ingest.pipeline import IngestContext, collect_query
    from monitor.ingest.records import PostRecord

    class Source:
        name = "file"
        filter_by_keywords = False

        def queries(self):
            return ["q"]

        def fetch(self, query, cursor, window):
            yield Page(items=["a", "b", "c"], cursor={"done": True})

        def to_post(self, raw):
            source_id = "x" * 600 if raw == "b" else raw  # posts.source_id holds at most 512 characters
            return PostRecord("file", source_id, f"text {raw}", datetime(2025, 5, 1, tzinfo=UTC))

    engine = sessions.kw["bind"]
    if engine.dialect.name == "sqlite":  # SQLite does not enforce lengths; make it refuse the row instead
        with engine.begin() as conn:
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON posts WHEN length(NEW.source_id) > 512 "
                              "BEGIN SELECT RAISE(ABORT, 'too long'); END"))
    context = IngestContext(topic="t", detector=LanguageDetector(("de", "en")), salt="s")

    summary = collect_query(sessions, Source(), "q", context)

    assert summary.status == "ok" and summary.new == 2 and summary.invalid == 1
    assert [e.position for e in summary.errors] == ["page 1 item 2"]
    assert "refused by the database" in summary.errors[0].reason and len(summary.errors[0].reason) <= 500
    with sessions() as session:
        assert session.scalar(select(func.count(Post.id))) == 2


def test_a_post_dated_9999_already_stored_does_not_break_the_report(workdir, capsys):
    rows = [{"id": str(n), "text": f"OpenAI should release open weights, part {n}",
             "created_at": f"2025-05-0{n}T00:00:00Z"} for n in (1, 2)]
    (workdir / "posts.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert stance(capsys, "import", "posts.jsonl")[0] == 0
    engine = create_engine(f"sqlite:///{workdir / 'stance.db'}")
    with engine.begin() as conn:  # stored by a version that did not check dates
        conn.execute(text("UPDATE posts SET created_at = '9999-12-30 00:00:00.000000' WHERE source_id = '2'"))
    engine.dispose()
    assert stance(capsys, "classify")[0] == 0

    code, out, err = stance(capsys, "report", "--format", "png", "--freq", "day")

    assert code == 0, err
    assert "-20250501-20250501-day-stance-shares.png" in out


def test_a_missing_file_among_several_is_reported_and_the_others_imported(workdir, capsys):
    for name in ("a", "c"):
        (workdir / f"{name}.jsonl").write_text(json.dumps(
            {"id": name, "text": f"post {name}", "created_at": "2025-05-01T00:00:00Z"}), encoding="utf-8")

    code, out, err = stance(capsys, "import", "a.jsonl", "b.jsonl", "c.jsonl")

    assert code == 1
    assert "a.jsonl: 1 new" in out and "c.jsonl: 1 new" in out
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: b.jsonl: cannot read") and "Traceback" not in err
    ids, _ = stored(f"sqlite:///{workdir / 'stance.db'}")
    assert ids == {"a", "c"}


def test_export_and_report_into_an_unwritable_place_are_one_line(workdir, capsys):
    (workdir / "posts.jsonl").write_text(good(1), encoding="utf-8")
    assert stance(capsys, "import", "posts.jsonl")[0] == 0
    assert stance(capsys, "classify")[0] == 0
    (workdir / "a-file").write_text("not a folder")

    for args in (["export", "a-file/posts.csv"], ["report", "--out", "a-file/reports"]):
        code, _, err = stance(capsys, *args)
        assert code == 1, args
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "a-file" in err, err


def test_an_id_stored_with_another_text_is_a_warning(workdir, capsys):
    (workdir / "first.jsonl").write_text(good(1) + "\n" + good(2), encoding="utf-8")
    (workdir / "second.jsonl").write_text(
        good(1) + "\n" + json.dumps({"id": "g2", "text": "another text", "created_at": "2025-05-01"}),
        encoding="utf-8")
    stance(capsys, "import", "first.jsonl")

    code, out, err = stance(capsys, "import", "second.jsonl")

    assert code == 0
    assert "second.jsonl: 0 new, 2 already stored, 0 rejected" in out
    assert "warning: second.jsonl:2: id g2 is stored with a different text" in err
    assert "second.jsonl:1" not in err


def test_status_reads_a_database_that_cannot_be_written(workdir, capsys):
    import os
    import shutil
    import subprocess

    (workdir / "posts.jsonl").write_text(good(1), encoding="utf-8")
    assert stance(capsys, "import", "posts.jsonl")[0] == 0
    import sqlite3

    with sqlite3.connect(workdir / "stance.db") as connection:  # a database at rest: its WAL checkpointed
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = workdir / "readonly"
    folder.mkdir()
    shutil.copy(workdir / "stance.db", folder / "stance.db")
    os.chdir(folder)
    if os.geteuid() == 0:  # root writes through file modes; the immutable flag stops it too
        chattr = ["chattr", "+i", str(folder / "stance.db"), str(folder)]
        if shutil.which("chattr") is None or subprocess.run(chattr, capture_output=True).returncode:
            import pytest

            pytest.skip("cannot make a file read-only for root here (no chattr +i)")
    else:
        os.chmod(folder / "stance.db", 0o444)
        os.chmod(folder, 0o555)
    try:
        code, out, err = stance(capsys, "status", "--json")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder / "stance.db"), str(folder)], check=True)
        else:
            os.chmod(folder, 0o755)

    assert code == 0, err
    assert json.loads(out)["by_source"] == {"file": 1}


def test_a_rejected_csv_row_is_kept_as_csv_and_imports_once_fixed(workdir, capsys):
    with open(workdir / "posts.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "created_at"])
        writer.writerow(["1", "fine, with a comma", "2025-05-01"])
        writer.writerow(["2", 'says "open weights", badly dated', "yesterday-ish"])
    assert stance(capsys, "import", "posts.csv")[1].startswith("posts.csv: 1 new, 0 already stored, 1 rejected")
    (reject,) = [json.loads(x) for x in (workdir / "posts.csv.rejects.jsonl").read_text().splitlines()]
    assert reject["raw"] == '2,"says ""open weights"", badly dated",yesterday-ish'

    fixed = reject["raw"].replace("yesterday-ish", "2025-05-02")
    (workdir / "fixed.csv").write_text("id,text,created_at\n" + fixed + "\n", encoding="utf-8")
    code, out, err = stance(capsys, "import", "fixed.csv")
    assert code == 0, err
    assert "fixed.csv: 1 new, 0 already stored, 0 rejected" in out


def test_a_row_without_a_text_or_date_column_names_the_column_that_holds_it(workdir, db_url, monkeypatch, capsys):
    # A Reddit dump keeps the comment in "body": the reason says which --map would read it.
    monkeypatch.setenv("STANCE_DATABASE_URL", db_url)
    lines = [good(1), json.dumps({"id": "r1", "body": "Release the weights", "created_at": "2025-05-01"}),
             json.dumps({"id": "r2", "text": "", "body": "Release the weights", "created_at": "2025-05-01"}),
             json.dumps({"id": "r3", "text": "Release the weights", "created_utc": 1754400000})]
    (workdir / "posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = stance(capsys, "import", "posts.jsonl")
    assert code == 0, err
    assert "posts.jsonl:2: text: missing or empty; the row has a 'body' column: --map text=body" in err
    assert "posts.jsonl:3: text: missing or empty\n" in err  # it has a text column, just an empty one
    assert "posts.jsonl:4: created_at: missing; the row has a 'created_utc' column: --map created_at=created_utc" in err
    assert stored(db_url)[0] == {"g1"}
