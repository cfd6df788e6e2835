"""RSS/Atom collector: requests (intercepted by responses) + feedparser, through the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses
from conftest_collectors import (
    FIXTURES,
    RecordingSleep,
    ingest_context,
    open_test_database,
    stored_cursor,
    stored_posts,
)

from monitor.collectors import FetchWindow
from monitor.collectors.rss import RSSCollector, entry_to_record
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError, RateLimited
from monitor.ingest.pipeline import collect_query
from monitor.ingest.records import InvalidRecord

RSS_URL = "http://feeds.test/ki.rss"
ATOM_URL = "http://feeds.test/blog.atom"
TOPIC = Topic(name="t", title="t", languages=("de", "en"), keywords=())


def rss_bytes() -> bytes:
    return (FIXTURES / "heise.rss.xml").read_bytes()


def collector(sleep: RecordingSleep | None = None, budget: int | None = None) -> RSSCollector:
    return RSSCollector([RSS_URL, ATOM_URL], budget, policy=(sleep or RecordingSleep()).policy())


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_from_settings_needs_feeds():
    with pytest.raises(CollectorError, match="feeds"):
        RSSCollector.from_settings(SourceSettings("rss", options={"feeds": []}), TOPIC, {})
    assert RSSCollector.from_settings(
        SourceSettings("rss", options={"feeds": [RSS_URL]}), TOPIC, {}
    ).queries() == [RSS_URL]


def test_rss_entries_become_records(mock):
    mock.get(RSS_URL, body=rss_bytes(), content_type="application/rss+xml")
    [page] = collector().fetch(RSS_URL, None, FetchWindow())
    records = [entry_to_record(raw) for raw in page.items]
    first = records[0]
    assert first.source_id == "news.example.de-1001"
    assert first.created_at == datetime(2025, 8, 5, 17, 0, tzinfo=UTC)
    assert (
        first.text.startswith("OpenAI veröffentlicht gpt-oss")
        and "Apache 2.0" in first.text
        and "<b>" not in first.text
    )
    assert first.author == "Redaktion KI" and first.lang_hint == "de" and first.url.endswith("/gpt-oss")
    undated = [r for r in records if r.url.endswith("/llama")][0]
    assert undated.source_id == "https://news.example.de/artikel/llama"  # no guid: the link is the id
    assert page.cursor["newest"] == "2025-08-06T06:30:00+00:00" and len(page.cursor["seen"]) == 3


def test_atom_content_and_author(mock):
    mock.get(ATOM_URL, body=(FIXTURES / "blog.atom.xml").read_bytes(), content_type="application/atom+xml")
    [page] = collector().fetch(ATOM_URL, None, FetchWindow())
    records = sorted((entry_to_record(raw) for raw in page.items), key=lambda r: r.created_at)
    assert [r.created_at.isoformat() for r in records] == [
        "2025-01-21T08:00:00+00:00",
        "2025-08-07T11:00:00+00:00",
    ]
    assert (
        records[1].text
        == "Why open weights matter after gpt-oss\n\nOpenAI's open-weight release changes the debate."
    )
    assert records[1].author == "Jane Analyst" and records[1].lang_hint == "en"


def test_second_run_only_gets_new_entries(mock, tmp_path):
    sessions = open_test_database(tmp_path)
    mock.get(RSS_URL, body=rss_bytes())
    assert collect_query(sessions, collector(), RSS_URL, ingest_context()).new == 3
    newer = rss_bytes().replace(
        b"<item>",
        b"<item><title>gpt-oss: erste Benchmarks</title><guid>news.example.de-1003</guid>"
        b"<pubDate>Thu, 07 Aug 2025 10:00:00 +0200</pubDate></item><item>",
        1,
    )
    mock.replace(responses.GET, RSS_URL, body=newer)
    second = collect_query(sessions, collector(), RSS_URL, ingest_context())
    assert second.fetched == 1 and second.new == 1
    assert stored_cursor(sessions, "rss", RSS_URL)["newest"] == "2025-08-07T08:00:00+00:00"
    assert len(stored_posts(sessions, "rss")) == 4


def test_budget_takes_oldest_first_and_the_rest_next_run(mock):
    mock.get(ATOM_URL, body=(FIXTURES / "blog.atom.xml").read_bytes())
    [first] = collector(budget=1).fetch(ATOM_URL, None, FetchWindow())
    assert [raw["title"] for raw in first.items] == ["DeepSeek and the closed-model argument"]
    [second] = collector(budget=1).fetch(ATOM_URL, first.cursor, FetchWindow())
    assert [raw["title"] for raw in second.items] == ["Why open weights matter after gpt-oss"]
    [third] = collector(budget=1).fetch(ATOM_URL, second.cursor, FetchWindow())
    assert third.items == []


def test_window_since_drops_older_entries(mock):
    mock.get(ATOM_URL, body=(FIXTURES / "blog.atom.xml").read_bytes())
    window = FetchWindow(since=datetime(2025, 8, 1, tzinfo=UTC))
    [page] = collector().fetch(ATOM_URL, None, window)
    assert [raw["title"] for raw in page.items] == ["Why open weights matter after gpt-oss"]


def test_429_then_5xx_then_timeout_then_success(mock):
    sleep = RecordingSleep()
    mock.get(RSS_URL, status=429, headers={"Retry-After": "3"})
    mock.get(RSS_URL, status=503)
    mock.get(RSS_URL, body=requests.ReadTimeout("slow"))
    mock.get(RSS_URL, body=rss_bytes())
    [page] = collector(sleep).fetch(RSS_URL, None, FetchWindow())
    assert len(page.items) == 3 and sleep.waits == [4.0, 2.0, 4.0]


def test_429_forever_is_bounded(mock):
    sleep = RecordingSleep()
    mock.get(RSS_URL, status=429)
    with pytest.raises(RateLimited):
        list(collector(sleep).fetch(RSS_URL, None, FetchWindow()))
    assert len(sleep.waits) == 3


def test_html_page_and_truncated_xml(mock):
    mock.get(RSS_URL, body=b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    [page] = collector().fetch(RSS_URL, None, FetchWindow())
    assert page.items == [] and "not an RSS or Atom feed" in page.errors[0].reason and page.cursor is None
    mock.replace(responses.GET, RSS_URL, body=rss_bytes()[:700])
    [page] = collector().fetch(RSS_URL, None, FetchWindow())
    # feedparser keeps the entries before the cut; the run goes on with what was readable
    assert [raw["id"] for raw in page.items] == ["news.example.de-1001"]


def test_entry_errors_name_the_field():
    with pytest.raises(InvalidRecord, match="id"):
        entry_to_record({"title": "x", "published": "2025-08-05T00:00:00+00:00"})
    with pytest.raises(InvalidRecord, match="text"):
        entry_to_record({"id": "1", "title": " ", "published": "2025-08-05T00:00:00+00:00"})
    with pytest.raises(InvalidRecord, match="published"):
        entry_to_record({"id": "1", "title": "t", "published": "someday"})
