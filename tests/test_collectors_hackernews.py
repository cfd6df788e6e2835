"""Hacker News collector: requests against a fake Algolia API (responses), through the real pipeline."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from conftest_collectors import (
    RecordingSleep,
    ingest_context,
    kill_then_resume,
    open_test_database,
    stored_cursor,
    stored_ids,
)

from monitor.collectors import FetchWindow
from monitor.collectors.hackernews import HackerNewsCollector, hit_to_record
from monitor.errors import CollectorError, RateLimited
from monitor.ingest.pipeline import collect_query
from monitor.ingest.records import InvalidRecord

BASE = "http://hn.test"
NOW = 1_754_500_000
URL = re.compile(rf"{BASE}/api/v1/search_by_date.*")


def story(number: int) -> dict:
    return {
        "objectID": str(44_000_000 + number),
        "created_at_i": NOW - 10_000 + number * 100,
        "created_at": "2025-08-06T16:00:00.000Z",
        "author": f"hn_user{number}",
        "title": f"OpenAI releases gpt-oss ({number})",
        "url": "https://openai.com/index/introducing-gpt-oss/",
        "points": number,
        "num_comments": 2,
        "story_text": None,
        "comment_text": None,
        "_tags": ["story", f"author_hn_user{number}", f"story_{44_000_000 + number}"],
    }


def comment(number: int) -> dict:
    hit = story(number)
    hit.update(title=None, comment_text="<p>gpt-oss runs on my laptop &amp; it&#x27;s fast</p><p>really</p>")
    hit["_tags"] = ["comment"]
    return hit


class FakeAlgolia:
    def __init__(self, hits: list[dict], page_size: int = 2, cap: int = 1000):
        self.hits, self.page_size, self.cap = hits, page_size, cap
        self.scripted: list[tuple[int, dict, str]] = []
        self.params: list[dict] = []

    def __call__(self, request):
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.params.append(params)
        if self.scripted:
            return self.scripted.pop(0)
        matching = sorted(self.hits, key=lambda h: h["created_at_i"], reverse=True)
        for condition in params.get("numericFilters", "").split(","):
            field, op, value = re.match(r"(\w+)(>=|<=|>|<)(\d+)", condition).groups()
            compare = {">=": int.__ge__, "<=": int.__le__, ">": int.__gt__, "<": int.__lt__}[op]
            matching = [h for h in matching if compare(h[field], int(value))]
        page = int(params["page"])
        reachable = matching[: self.cap]
        chunk = reachable[page * self.page_size : (page + 1) * self.page_size]
        pages = -(-len(reachable) // self.page_size)
        body = {
            "hits": chunk,
            "nbHits": len(matching),
            "page": page,
            "nbPages": pages,
            "hitsPerPage": self.page_size,
        }
        return 200, {}, json.dumps(body)


@pytest.fixture
def fake(monkeypatch):
    # The collector asks for 100 per page; the fake serves small pages to exercise paging.
    monkeypatch.setattr("monitor.collectors.hackernews.HITS_PER_PAGE", 2)
    algolia = FakeAlgolia([story(1), comment(2), story(3), story(4), comment(5)])
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, URL, callback=algolia)
        yield algolia


def collector(sleep: RecordingSleep | None = None, budget: int | None = None) -> HackerNewsCollector:
    return HackerNewsCollector(
        "gpt-oss", BASE, budget, policy=(sleep or RecordingSleep()).policy(), clock=lambda: NOW
    )


def test_pages_then_cursor_is_the_newest_time(fake):
    pages = list(collector().fetch("gpt-oss", None, FetchWindow()))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert (
        fake.params[0]["tags"] == "(story,comment)"
        and fake.params[0]["numericFilters"] == f"created_at_i<={NOW}"
    )
    assert pages[0].cursor == {"until": NOW, "page": 1, "newest": story(5)["created_at_i"]}
    assert pages[-1].cursor == {"since": story(5)["created_at_i"]}


def test_second_run_only_gets_newer_posts(fake, tmp_path):
    sessions = open_test_database(tmp_path)
    assert collect_query(sessions, collector(), "gpt-oss", ingest_context()).new == 5
    fake.hits.append(story(50))
    second = collect_query(sessions, collector(), "gpt-oss", ingest_context())
    lower = story(5)["created_at_i"] - 600
    assert fake.params[-1]["numericFilters"].startswith(f"created_at_i>={lower}")
    assert second.new == 1
    assert stored_cursor(sessions, "hackernews", "gpt-oss") == {"since": story(50)["created_at_i"]}


def test_result_cap_moves_the_window_down(fake):
    fake.cap = 2  # only one page reachable per window, like Algolia's 1000-hit cap
    pages = list(collector().fetch("gpt-oss", None, FetchWindow()))
    ids = [h["objectID"] for p in pages for h in p.items]
    assert set(ids) == {story(n)["objectID"] for n in range(1, 6)}
    assert any(p["numericFilters"] == f"created_at_i<={story(4)['created_at_i']}" for p in fake.params)


def test_killed_run_resumes_without_loss_or_duplicates(fake, tmp_path):
    sessions = open_test_database(tmp_path)
    stored_before, resumed = kill_then_resume(sessions, collector, "gpt-oss", pages=2)
    assert stored_before == 4 and fake.params[-1]["page"] == "2" and resumed.fetched == 1 and resumed.new == 1
    assert len(stored_ids(sessions, "hackernews")) == 5


def test_budget_stops_after_the_page_that_spends_it(fake):
    pages = list(collector(budget=3).fetch("gpt-oss", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 4 and pages[-1].cursor["page"] == 2


def test_429_with_retry_after_then_success(fake):
    sleep = RecordingSleep()
    fake.scripted.append((429, {"Retry-After": "7"}, "{}"))
    pages = list(collector(sleep).fetch("gpt-oss", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5 and sleep.waits == [8.0]


def test_429_without_headers_gives_up_bounded(fake):
    sleep = RecordingSleep()
    fake.scripted.extend([(429, {}, "{}")] * 10)
    with pytest.raises(RateLimited):
        list(collector(sleep).fetch("gpt-oss", None, FetchWindow()))
    assert sleep.waits == [2.0, 4.0, 8.0]


def test_5xx_and_timeouts_are_retried(fake):
    sleep = RecordingSleep()
    fake.scripted.extend([(502, {}, "bad gateway"), requests.ConnectTimeout("slow")])
    assert sum(len(p.items) for p in collector(sleep).fetch("gpt-oss", None, FetchWindow())) == 5
    assert sleep.waits == [2.0, 4.0]


def test_persistent_5xx_gives_up(fake):
    fake.scripted.extend([(500, {}, "down")] * 10)
    with pytest.raises(CollectorError, match="gave up after 5 tries"):
        list(collector().fetch("gpt-oss", None, FetchWindow()))


def test_html_error_page_and_wrong_shape_are_page_errors(fake):
    fake.scripted.append((200, {}, "<html>Service Unavailable</html>"))
    pages = list(collector().fetch("gpt-oss", None, FetchWindow()))
    assert pages[0].items == [] and "not JSON" in pages[0].errors[0].reason
    fake.scripted.append((200, {}, json.dumps({"hits": "nope"})))
    pages = list(collector().fetch("gpt-oss", None, FetchWindow()))
    assert "no 'hits' list" in pages[0].errors[0].reason


def test_empty_result_keeps_the_cursor(fake):
    fake.hits.clear()
    pages = list(collector().fetch("gpt-oss", {"since": 123}, FetchWindow()))
    assert len(pages) == 1 and pages[0].items == [] and pages[0].cursor == {"since": 123}


def test_comment_html_becomes_text_and_bad_hits_name_the_field():
    record = hit_to_record(comment(2))
    assert record.text == "gpt-oss runs on my laptop & it's fast\n\nreally"
    assert record.author == "hn_user2" and record.created_at.tzinfo is not None
    assert record.url == f"https://news.ycombinator.com/item?id={44_000_002}"
    with pytest.raises(InvalidRecord, match="objectID"):
        hit_to_record({"title": "x", "created_at_i": 1})
    with pytest.raises(InvalidRecord, match="created_at"):
        hit_to_record({**story(1), "created_at_i": None, "created_at": "yesterday"})
    with pytest.raises(InvalidRecord, match="text"):
        hit_to_record({**story(1), "title": ""})
