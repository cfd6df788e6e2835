"""Every real recorded API response under /work/shared/datasets/collector-fixtures/ through our ``to_post``.

The recordings come from the client libraries' own test suites (see SOURCE.md there); they are read in place,
never copied into the project. Each post-shaped object in them must become a record with an id, text, a UTC
time and an author, or fail with an InvalidRecord naming a field the recording really lacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.collectors.bluesky import post_view_to_record
from monitor.collectors.mastodon import status_to_record
from monitor.collectors.reddit import thing_to_record
from monitor.collectors.x import XCollector, build_client
from monitor.ingest.records import InvalidRecord, PostRecord

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "collector-fixtures"
pytestmark = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared recorded responses not found at {SHARED}"
)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def bodies(path: Path) -> Iterator[Any]:
    """The response bodies in one file: decoded cassettes, Betamax cassettes or plain bodies."""
    data = load(path)
    if isinstance(data, dict) and "interactions" in data:  # Betamax (PRAW)
        for interaction in data["interactions"]:
            text = interaction["response"]["body"].get("string", "")
            if text.strip().startswith(("{", "[")):
                yield json.loads(text)
    elif isinstance(data, list) and data and isinstance(data[0], dict) and "method" in data[0]:
        yield from (entry["json"] for entry in data if entry.get("json") is not None)
    else:
        yield data


def walk(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def files(*patterns: str) -> list[Path]:
    found = sorted({path for pattern in patterns for path in SHARED.glob(pattern)})
    return [path for path in found if not path.name.startswith("_")]


def check(record: PostRecord, source: str) -> None:
    assert record.source == source and record.source_id
    assert record.text.strip()
    assert record.created_at.utcoffset() == timedelta(0)
    assert record.raw is not None


# --- X ------------------------------------------------------------------------------------------------------


def tweets_in(body: Any) -> Iterator[tuple[dict, Any]]:
    """(tweet, includes) for each tweet object in a response (data list or single data object)."""
    for node in walk(body):
        data = node.get("data")
        candidates = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        for tweet in candidates:
            if isinstance(tweet, dict) and "text" in tweet and "id" in tweet and "event_type" not in tweet:
                yield tweet, node.get("includes")


def test_every_recorded_tweet():
    collector = XCollector(build_client("unused", None), "q")
    parsed = lacking_time = 0
    for path in files("tweepy/decoded/*.json", "python-twitter-v2/testdata/**/*.json"):
        for body in bodies(path):
            for tweet, includes in tweets_in(body):
                try:
                    record = collector.to_post({"data": tweet, "includes": includes or {}})
                except InvalidRecord as exc:
                    # tweepy's recordings asked for default fields only: no created_at (SOURCE.md).
                    assert "created_at" not in tweet and str(exc).startswith("created_at"), (path, tweet)
                    lacking_time += 1
                    continue
                check(record, "x")
                assert record.source_id == str(tweet["id"])
                if "author_id" in tweet:
                    assert record.author, (path, tweet["id"])
                parsed += 1
    assert parsed >= 60 and lacking_time > 0


# --- Mastodon ----------------------------------------------------------------------------------------------


def test_every_recorded_mastodon_status():
    parsed = 0
    for path in files("mastodon.py/decoded/*.json", "mastodon.py/decoded_entity_tests/*.json"):
        for body in bodies(path):
            for node in walk(body):
                if not ("uri" in node and "content" in node and "account" in node):
                    continue
                if not (
                    node.get("content") or node.get("spoiler_text") or isinstance(node.get("reblog"), dict)
                ):
                    continue  # media-only statuses have no text to analyse
                record = status_to_record(node)
                check(record, "mastodon")
                assert record.source_id.startswith("http") and "@" in record.author, (path, node["uri"])
                parsed += 1
    assert parsed >= 20


# --- Reddit -------------------------------------------------------------------------------------------------


def test_every_recorded_reddit_thing():
    parsed = 0
    for path in files("praw/cassettes/*.json", "reddit-raw/*.json"):
        for body in bodies(path):
            for node in walk(body):
                if node.get("kind") not in ("t1", "t3") or not isinstance(node.get("data"), dict):
                    continue
                data = node["data"]
                text = (data.get("title") or "") + (data.get("selftext") or "") + (data.get("body") or "")
                if not text.strip():
                    with pytest.raises(InvalidRecord, match="text"):
                        thing_to_record(node)
                    continue
                record = thing_to_record(node)
                check(record, "reddit")
                assert record.source_id.startswith(node["kind"] + "_")
                if data.get("author") not in (None, "[deleted]"):
                    assert record.author == data["author"]
                parsed += 1
    assert parsed >= 300


# --- Bluesky ------------------------------------------------------------------------------------------------


def post_views_in(body: Any) -> Iterator[dict]:
    for node in walk(body):
        uri = node.get("uri")
        if (
            isinstance(uri, str)
            and "/app.bsky.feed.post/" in uri
            and isinstance(node.get("record"), dict)
            and isinstance(node.get("author"), dict)
            and node["record"].get("$type", "app.bsky.feed.post") == "app.bsky.feed.post"
        ):
            yield node


def test_every_recorded_bluesky_post():
    parsed = 0
    for path in files("bskyr-bluesky/decoded/*.json", "atproto/test_data/*.json"):
        for body in bodies(path):
            for view in post_views_in(body):
                if not view["record"].get("text", "").strip():
                    with pytest.raises(InvalidRecord, match="text"):
                        post_view_to_record(view)
                    continue
                record = post_view_to_record(view)
                check(record, "bluesky")
                assert record.source_id == view["uri"] and record.author == view["author"]["did"]
                assert f"/profile/{view['author']['handle']}/" not in record.url
                assert record.url.startswith("https://bsky.app/profile/") and record.url.endswith(
                    view["uri"].rsplit("/", 1)[-1]
                )
                parsed += 1
    assert parsed >= 100
