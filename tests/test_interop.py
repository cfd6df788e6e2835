"""Other tools' files in, files for other tools out: --map and presets, predict's inputs, exports."""

from __future__ import annotations

import csv
import json

import pytest

from monitor.ingest.columns import MapError, column_map, decode_twarc_text, suggest_preset
from tests_support import stance

# Header and quoting as `twarc2 csv` writes them (twarc-csv's default tweet columns, abridged).
TWARC2_CSV = (
    "id,conversation_id,author_id,created_at,text,lang,public_metrics.reply_count,public_metrics.retweet_count,"
    "public_metrics.quote_count,public_metrics.like_count,author.id,author.username,author.name\n"
    '1819000000000000001,1819000000000000001,42,2025-08-05T17:00:00.000Z,"gpt-oss is out under Apache 2.0.\\nOpen '
    'weights at last #gptoss",en,3,7,1,120,42,someone_real,Some One\n'
    '1819000000000000002,1819000000000000002,43,2025-08-05T18:00:00.000Z,"""OpenAI shipped weights, '
    'finally\\u2026""",en,0,0,0,2,43,another_one,Another\n'
)
# minet's tweet CSV (twitwi columns, abridged): Unix seconds, screen names.
MINET_CSV = (
    "id,timestamp_utc,local_time,user_screen_name,text,possibly_sensitive,retweet_count,like_count,reply_count,"
    "lang,url\n"
    "1819000000000000003,1754413200,2025-08-05T19:00:00,handle_x,Open weights from OpenAI? Finally.,0,4,10,2,en,"
    "https://twitter.com/handle_x/statuses/1819000000000000003\n"
)
# A 4CAT dataset export (Bluesky data source): no platform column, a body and a Unix timestamp.
FOURCAT_CSV = (
    "collected_at,query,rank,id,thread_id,created_at,author,author_id,body,link,like_count,quote_count,reply_count,"
    "repost_count,languages,timestamp\n"
    "2025-08-06T10:00:00,gpt-oss,0,at://did:plc:abc/app.bsky.feed.post/3k1,at://did:plc:abc/app.bsky.feed.post/3k1,"
    "2025-08-05T20:00:00+00:00,someone.bsky.social,did:plc:abc,Offene Gewichte von OpenAI: endlich!,"
    "https://bsky.app/profile/someone.bsky.social/post/3k1,5,0,1,2,de,1754424000.0\n"
)


def exported(workdir, capsys, *args) -> dict[str, dict]:
    code, _, err = stance(capsys, "export", "out.jsonl", *args)
    assert code == 0, err
    return {row["source_id"]: row for row in map(json.loads, (workdir / "out.jsonl").read_text().splitlines())}


def test_twarc2_csv_preset(workdir, capsys):
    (workdir / "tweets.csv").write_text(TWARC2_CSV)
    code, out, err = stance(capsys, "import", "--preset", "twarc2", "tweets.csv")
    assert code == 0, err
    assert "2 new, 0 already stored, 0 rejected" in out
    rows = exported(workdir, capsys)
    first = rows["1819000000000000001"]
    assert first["source"] == "x" and first["created_at"] == "2025-08-05T17:00:00Z"
    assert first["text"] == "gpt-oss is out under Apache 2.0.\nOpen weights at last #gptoss"
    assert (first["likes"], first["reposts"], first["replies"], first["quotes"]) == (120, 7, 3, 1)
    assert first["url"] == "https://x.com/i/status/1819000000000000001"  # no handle
    assert first["author"] is None  # X is stored aggregate-only: no author, not even a pseudonym
    assert rows["1819000000000000002"]["text"] == "OpenAI shipped weights, finally…"  # --json-encode-text


def test_minet_and_4cat_presets(workdir, capsys):
    (workdir / "minet.csv").write_text(MINET_CSV)
    (workdir / "4cat.csv").write_text(FOURCAT_CSV)
    assert stance(capsys, "import", "--preset", "minet", "minet.csv")[0] == 0
    code, out, err = stance(capsys, "import", "--preset", "4cat", "--source", "bluesky", "4cat.csv")
    assert code == 0 and "1 new" in out, err
    rows = exported(workdir, capsys)
    tweet = rows["1819000000000000003"]
    assert tweet["source"] == "x" and tweet["created_at"] == "2025-08-05T17:00:00Z"
    assert (tweet["likes"], tweet["reposts"], tweet["replies"]) == (10, 4, 2)
    assert "handle_x" not in json.dumps(tweet)
    post = rows["at://did:plc:abc/app.bsky.feed.post/3k1"]
    assert post["source"] == "bluesky" and post["text"] == "Offene Gewichte von OpenAI: endlich!"
    assert post["created_at"] == "2025-08-05T20:00:00Z" and (post["likes"], post["reposts"]) == (5, 2)


def test_map_names_columns_and_nested_json_fields(workdir, capsys):
    (workdir / "feed.csv").write_text("guid,published,body,who\nabc,2025-08-05 10:00:00,Weights please,me\n"
                                      "def,not a date,More weights,you\n")
    code, out, err = stance(capsys, "import", "--map", "id=guid,created_at=published,text=body,author=who",
                            "feed.csv")
    assert code == 0 and "1 new" in out and "1 rejected" in out
    assert "feed.csv:3: created_at (column published): unparseable date 'not a date'" in err
    (workdir / "nested.jsonl").write_text(json.dumps({"post": {"id": 7, "body": "Open the weights"},
                                                      "meta": {"time": "2025-08-06T09:00:00Z"}}) + "\n")
    code, out, err = stance(capsys, "import", "--map", "id=post.id,text=post.body,created_at=meta.time",
                            "--source", "forum", "nested.jsonl")
    assert code == 0 and "1 new" in out, err
    assert exported(workdir, capsys)["7"]["source"] == "forum"


def test_an_export_without_a_text_column_suggests_its_preset(workdir, capsys):
    (workdir / "4cat.csv").write_text(FOURCAT_CSV.replace("created_at,", "created,"))
    code, _, err = stance(capsys, "import", "4cat.csv")
    assert code == 1
    assert "expected a 'text' column (simple schema)" in err and "use --preset 4cat" in err


def test_column_maps_and_their_errors():
    mapped = column_map("twarc2", "lang=language")
    assert mapped.columns["lang"] == ("language",) and mapped.columns["text"] == ("text",)
    assert column_map(spec="author=a|b").columns["author"] == ("a", "b")
    assert column_map(spec="author=a|b").value({"a": "", "b": "x"}, "author") == "x"
    for bad, message in (("text", "FIELD=COLUMN"), ("colour=x", "unknown field"), ("text=", "FIELD=COLUMN")):
        with pytest.raises(MapError, match=message):
            column_map(spec=bad)
    with pytest.raises(MapError, match="unknown preset"):
        column_map("sqlite-utils")
    assert suggest_preset(["id", "timestamp_utc", "user_screen_name", "text"]) == "minet"
    assert suggest_preset(["id", "text", "created_at"]) is None
    assert decode_twarc_text('"a \\"quoted\\" line"') == 'a "quoted" line'
    assert decode_twarc_text("two\\nlines") == "two\nlines"


def test_predict_reads_twarc2_jsonl_and_presets_and_neutralises_formulas(workdir, capsys):
    page = {"data": [{"id": "100", "text": "=HYPERLINK(\"http://evil\") open weights now", "author_id": "9",
                      "created_at": "2025-08-05T17:00:00.000Z", "lang": "en",
                      "public_metrics": {"like_count": 5, "retweet_count": 1, "reply_count": 0, "quote_count": 0}},
                     {"id": "101", "text": "Offene Gewichte sind gut", "author_id": "9",
                      "created_at": "2025-08-05T18:00:00.000Z", "lang": "de"}],
            "includes": {"users": [{"id": "9", "username": "someone"}]}}
    (workdir / "x.jsonl").write_text(json.dumps(page) + "\n")
    code, out, err = stance(capsys, "predict", "x.jsonl", "--out", "x.csv")
    assert code == 0 and "wrote 2 rows" in out, err
    with open(workdir / "x.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["100", "101"] and rows[1]["lang"] == "de"
    assert rows[0]["text"].startswith("'=HYPERLINK")
    assert rows[0]["created_at"] == "2025-08-05T17:00:00Z" and rows[0]["likes"] == "5"
    assert rows[0]["url"] == "https://x.com/i/status/100" and "someone" not in (workdir / "x.csv").read_text()
    assert {"relevant", "stance", "sentiment", "aspects"} <= set(rows[0])
    (workdir / "tweets.csv").write_text(TWARC2_CSV)
    code, _, err = stance(capsys, "predict", "--preset", "twarc2", "tweets.csv", "--out", "t.jsonl")
    assert code == 0, err
    predicted = [json.loads(line) for line in (workdir / "t.jsonl").read_text().splitlines()]
    assert len(predicted) == 2 and predicted[0]["lang"] == "en" and isinstance(predicted[0]["aspects"], list)


def test_export_filters_types_and_formula_cells(workdir, capsys):
    import pyarrow.parquet as pq

    lines = [
        {"id": "1", "text": "@everyone open the weights", "created_at": "2025-08-05T10:00:00+02:00", "lang": "en",
         "likes": 3},
        {"id": "2", "text": "Offene Gewichte jetzt", "created_at": "2025-08-07T10:00:00Z", "lang": "de"},
        {"id": "3", "text": "+1 for open weights", "created_at": "2025-09-01T10:00:00Z", "lang": "en",
         "source": "mastodon"},
    ]
    (workdir / "p.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert stance(capsys, "import", "p.jsonl")[0] == 0
    assert stance(capsys, "classify")[0] == 0
    rows = exported(workdir, capsys, "--from", "2025-08-01", "--to", "2025-08-31")
    assert set(rows) == {"1", "2"} and rows["1"]["created_at"] == "2025-08-05T08:00:00Z"
    assert rows["1"]["likes"] == 3 and rows["2"]["likes"] is None and isinstance(rows["1"]["aspects"], list)
    assert set(exported(workdir, capsys, "--lang", "de")) == {"2"}
    assert set(exported(workdir, capsys, "--source", "mastodon")) == {"3"}
    relevant = {k for k, row in exported(workdir, capsys).items() if row["relevant"]}
    stances = exported(workdir, capsys, "--stance", "pro_open,pro_closed,neutral")
    assert set(stances) == relevant
    model = next(iter(exported(workdir, capsys).values()))["model"]
    assert set(exported(workdir, capsys, "--model", model)) == {"1", "2", "3"}
    assert stance(capsys, "export", "out.csv")[0] == 0
    text = (workdir / "out.csv").read_text()
    assert "'@everyone open the weights" in text and "'+1 for open weights" in text
    assert "2025-08-07T10:00:00Z" in text
    assert stance(capsys, "export", "out.parquet", "--lang", "fr")[0] == 0  # no rows: still typed columns
    schema = pq.read_schema(workdir / "out.parquet")
    assert str(schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("relevant").type) == "bool" and str(schema.field("likes").type) == "int64"
    assert str(schema.field("aspects").type) == "list<element: string>"
    code, _, err = stance(capsys, "export", "out.csv", "--model", "nope")
    assert code == 1 and "no model version 'nope'" in err
