"""Reddit collector: the real PRAW/prawcore client against a fake Reddit API (responses)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import prawcore
import pytest
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
from monitor.collectors.reddit import RedditCollector, build_client, thing_to_record
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError, RateLimited
from monitor.ingest.pipeline import collect_query
from monitor.ingest.records import InvalidRecord

BASE = "http://reddit.test"
TOPIC = Topic(name="t", title="t", languages=("en",), keywords=())
T0 = 1_754_400_000.0


def submission(number: int) -> dict:
    return {
        "kind": "t3",
        "data": {
            "id": f"1mi{number:03d}",
            "name": f"t3_1mi{number:03d}",
            "subreddit": "LocalLLaMA",
            "title": f"gpt-oss-120b benchmarks ({number})",
            "selftext": "Open weights at last.",
            "author": f"redditor{number}",
            "author_fullname": f"t2_{number}",
            "created_utc": T0 + number * 60,
            "score": 10 + number,
            "num_comments": 3,
            "permalink": f"/r/LocalLLaMA/comments/1mi{number:03d}/gptoss/",
            "over_18": False,
        },
    }


def comment_thing(number: int) -> dict:
    return {
        "kind": "t1",
        "data": {
            "id": f"n{number}",
            "name": f"t1_n{number}",
            "body": "OpenAI finally shipped open weights",
            "author": "[deleted]",
            "created_utc": T0 + number * 60,
            "score": 1,
            "permalink": f"/r/LocalLLaMA/comments/1mi001/gptoss/n{number}/",
            "link_id": "t3_1mi001",
        },
    }


class FakeReddit:
    def __init__(self, things: list[dict], page_size: int = 2):
        self.things, self.page_size = things, page_size
        self.scripted: list = []
        self.params: list[dict] = []

    def __call__(self, request):
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.params.append({"path": urlsplit(request.url).path, **params})
        if self.scripted:
            return self.scripted.pop(0)
        ordered = sorted(self.things, key=lambda t: -t["data"]["created_utc"])
        start = 0
        if "after" in params:
            start = [t["data"]["name"] for t in ordered].index(params["after"]) + 1
        chunk = ordered[start : start + self.page_size]
        after = chunk[-1]["data"]["name"] if chunk and start + self.page_size < len(ordered) else None
        return (
            200,
            {},
            json.dumps({"kind": "Listing", "data": {"after": after, "children": chunk, "before": None}}),
        )


@pytest.fixture
def fake(monkeypatch):
    # prawcore retries 5xx itself with real sleeps of a few seconds; make those instant.
    monkeypatch.setattr(prawcore.sessions.FiniteRetryStrategy, "_sleep_seconds", lambda self: None)
    reddit = FakeReddit([submission(n) for n in range(1, 6)])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(
            f"{BASE}/api/v1/access_token",
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 3600, "scope": "*"},
        )
        mock.add_callback(
            responses.GET, re.compile(rf"{BASE}/r/LocalLLaMA/(search|comments).*"), callback=reddit
        )
        yield reddit


def collector(sleep: RecordingSleep | None = None, budget: int | None = None) -> RedditCollector:
    client = build_client("id", "secret", "stance-monitor tests", BASE)
    return RedditCollector(
        client, ["LocalLLaMA"], "gpt-oss", budget, policy=(sleep or RecordingSleep()).policy()
    )


def test_from_settings_names_missing_credentials():
    with pytest.raises(CollectorError, match="REDDIT_CLIENT_SECRET"):
        RedditCollector.from_settings(
            SourceSettings("reddit", options={"subreddits": ["x"]}), TOPIC, {"REDDIT_CLIENT_ID": "a"}
        )
    built = RedditCollector.from_settings(
        SourceSettings("reddit", query="q", options={"subreddits": ["OpenAI"]}),
        TOPIC,
        {"REDDIT_CLIENT_ID": "a", "REDDIT_CLIENT_SECRET": "b"},
    )
    assert built.queries() == ["r/OpenAI search", "r/OpenAI comments"]


def test_search_pages_with_after(fake):
    pages = list(collector().fetch("r/LocalLLaMA search", None, FetchWindow()))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    first = fake.params[0]
    assert first["path"] == "/r/LocalLLaMA/search" and first["q"] == "gpt-oss" and first["sort"] == "new"
    assert first["restrict_sr"] == "on" and fake.params[1]["after"] == "t3_1mi004"
    assert pages[0].cursor == {"after": "t3_1mi004", "newest": T0 + 300}
    assert pages[-1].cursor == {"since": T0 + 300}


def test_second_run_only_gets_newer_posts(fake, tmp_path):
    sessions = open_test_database(tmp_path)
    assert collect_query(sessions, collector(), "r/LocalLLaMA search", ingest_context()).new == 5
    fake.things.append(submission(9))
    second = collect_query(sessions, collector(), "r/LocalLLaMA search", ingest_context())
    assert second.new == 1 and len(fake.params) == 5  # one page was enough: it reached the cursor
    assert stored_cursor(sessions, "reddit", "r/LocalLLaMA search") == {"since": T0 + 540}


def test_killed_run_resumes(fake, tmp_path):
    sessions = open_test_database(tmp_path)
    stored_before, resumed = kill_then_resume(sessions, collector, "r/LocalLLaMA search", pages=1)
    assert stored_before == 2 and fake.params[-2]["after"] == "t3_1mi004" and resumed.new == 3 and resumed.fetched == 3
    assert stored_ids(sessions, "reddit") == sorted(f"t3_1mi{n:03d}" for n in range(1, 6))


def test_comments_listing(fake):
    fake.things = [comment_thing(1), comment_thing(2)]
    [page] = list(collector().fetch("r/LocalLLaMA comments", None, FetchWindow()))
    record = thing_to_record(page.items[0])
    assert fake.params[0]["path"] == "/r/LocalLLaMA/comments"
    assert (
        record.source_id == "t1_n2"
        and record.author is None
        and record.url.startswith("https://www.reddit.com/r/")
    )


def test_budget(fake):
    pages = list(collector(budget=2).fetch("r/LocalLLaMA search", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 2 and pages[-1].cursor["after"] == "t3_1mi004"


def test_429_with_reset_then_success(fake):
    sleep = RecordingSleep()
    fake.scripted.append((429, {"x-ratelimit-reset": "12"}, "{}"))
    pages = list(collector(sleep).fetch("r/LocalLLaMA search", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5 and sleep.waits == [13.0]


def test_429_without_reset_is_bounded(fake):
    sleep = RecordingSleep()
    fake.scripted.extend([(429, {}, "{}")] * 10)
    with pytest.raises(RateLimited):
        list(collector(sleep).fetch("r/LocalLLaMA search", None, FetchWindow()))
    assert sleep.waits == [2.0, 4.0, 8.0]


def test_5xx_then_success(fake):
    sleep = RecordingSleep()
    # prawcore itself retries twice, so three 503s make one failed call for us, which we retry.
    fake.scripted.extend([(503, {}, "busy")] * 3)
    pages = list(collector(sleep).fetch("r/LocalLLaMA search", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5 and sleep.waits == [2.0]


def test_html_and_wrong_shape_are_page_errors(fake):
    fake.scripted.append((200, {"content-type": "text/html"}, "<html>reddit is down</html>"))
    [page] = collector().fetch("r/LocalLLaMA search", None, FetchWindow())
    assert page.items == [] and "not JSON" in page.errors[0].reason
    fake.scripted.append((200, {}, json.dumps({"kind": "t3", "data": {}})))
    [page] = collector().fetch("r/LocalLLaMA search", None, FetchWindow())
    assert "not a Listing" in page.errors[0].reason


def test_empty_listing(fake):
    fake.things = []
    [page] = collector().fetch("r/LocalLLaMA search", {"since": T0}, FetchWindow())
    assert page.items == [] and page.cursor == {"since": T0}


def test_bad_things_name_the_field():
    with pytest.raises(InvalidRecord, match="kind"):
        thing_to_record({"kind": "t5", "data": {}})
    with pytest.raises(InvalidRecord, match="created_utc"):
        thing_to_record({"kind": "t1", "data": {"name": "t1_x", "body": "hi"}})
    with pytest.raises(InvalidRecord, match="text"):
        thing_to_record({"kind": "t1", "data": {"name": "t1_x", "body": "", "created_utc": T0}})


def test_every_post_the_search_matched_is_stored_even_without_a_keyword(fake, tmp_path):
    fake.things[0]["data"]["title"] = "matched by Reddit's search, no keyword in the title"
    sessions = open_test_database(tmp_path)
    summary = collect_query(sessions, collector(), "r/LocalLLaMA search", ingest_context(("gpt-oss",)))
    assert (summary.fetched, summary.new, summary.skipped) == (5, 5, 0)
    assert len(stored_ids(sessions, "reddit")) == 5
