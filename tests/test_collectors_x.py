"""X collector: the real tweepy client against a small fake of the v2 search API on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest_collectors import (
    RecordingSleep,
    ingest_context,
    kill_then_resume,
    open_test_database,
    stored_cursor,
    stored_ids,
)
from werkzeug import Request, Response

from monitor.collectors import FetchWindow
from monitor.collectors.x import XCollector, build_client, rebase
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError, RateLimited
from monitor.ingest.pipeline import collect_query
from monitor.ingest.records import InvalidRecord

QUERY = "gpt-oss"
TOPIC = Topic(name="t", title="t", languages=("en",), keywords=("gpt-oss",))


def tweet(number: int) -> dict:
    return {
        "id": str(1_800_000_000_000_000_000 + number),
        "text": f"gpt-oss post number {number} about open weights",
        "created_at": f"2025-08-05T10:{number:02d}:00.000Z",
        "author_id": str(100 + number % 3),
        "lang": "en",
        "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": number, "quote_count": 0},
        "edit_history_tweet_ids": [str(1_800_000_000_000_000_000 + number)],
    }


class FakeSearch:
    """Recent search over ``tweets`` (newest first), ``page_size`` per page, honouring since_id and next_token."""

    def __init__(self, tweets: list[dict], page_size: int = 2):
        self.tweets = sorted(tweets, key=lambda t: int(t["id"]), reverse=True)
        self.page_size = page_size
        self.scripted: list[Response] = []
        self.requests: list[dict] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(dict(request.args))
        if self.scripted:
            return self.scripted.pop(0)
        since_id = int(request.args.get("since_id", 0))
        matching = [t for t in self.tweets if int(t.get("id", since_id + 1)) > since_id]
        start = int(request.args.get("next_token", "0"))
        chunk = matching[start : start + self.page_size]
        body = {
            "data": chunk,
            "includes": {
                "users": [{"id": str(100 + i), "username": f"user{i}", "name": f"User {i}"} for i in range(3)]
            },
            "meta": {"result_count": len(chunk)},
        }
        if chunk:
            body["meta"].update(newest_id=chunk[0].get("id"), oldest_id=chunk[-1].get("id"))
        else:
            del body["data"]
        if start + self.page_size < len(matching):
            body["meta"]["next_token"] = str(start + self.page_size)
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def fake(httpserver):
    search = FakeSearch([tweet(n) for n in range(1, 6)])
    httpserver.expect_request("/2/tweets/search/recent").respond_with_handler(search)
    return search


def collector(httpserver, sleep: RecordingSleep | None = None, budget: int | None = None) -> XCollector:
    client = build_client("test-token", httpserver.url_for("/"))
    return XCollector(client, QUERY, max_posts_per_run=budget, policy=(sleep or RecordingSleep()).policy())


def test_rebase_keeps_path_and_query():
    assert (
        rebase("https://api.twitter.com/2/tweets?x=1", "http://127.0.0.1:9/prefix/")
        == "http://127.0.0.1:9/prefix/2/tweets?x=1"
    )


def test_from_settings_names_the_missing_token():
    with pytest.raises(CollectorError, match="X_BEARER_TOKEN"):
        XCollector.from_settings(SourceSettings("x", query="q"), TOPIC, {})


def test_pages_are_followed_and_requests_carry_fields(httpserver, fake):
    pages = list(collector(httpserver).fetch(QUERY, None, FetchWindow()))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    first = fake.requests[0]
    assert first["query"] == QUERY and first["max_results"] == "100"
    assert first["expansions"] == "author_id" and "created_at" in first["tweet.fields"]
    assert fake.requests[1]["next_token"] == "2"
    assert pages[0].cursor["next_token"] == "2" and pages[0].cursor["newest_id"] == tweet(5)["id"]
    assert pages[-1].cursor == {"since_id": tweet(5)["id"]}
    assert pages[-1].counted == 5
    record = collector(httpserver).to_post(pages[0].items[0])
    assert record.source_id == tweet(5)["id"] and record.author == "user2"
    assert record.created_at == datetime(2025, 8, 5, 10, 5, tzinfo=UTC)


def test_second_run_only_gets_newer_posts(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    first = collect_query(sessions, collector(httpserver), QUERY, ingest_context())
    assert first.new == 5 and first.status == "ok"
    fake.tweets.insert(0, tweet(9))
    second = collect_query(sessions, collector(httpserver), QUERY, ingest_context())
    assert fake.requests[-1]["since_id"] == tweet(5)["id"]
    assert second.fetched == 1 and second.new == 1
    assert stored_cursor(sessions, "x", QUERY) == {"since_id": tweet(9)["id"]}


def test_killed_run_resumes_without_loss_or_duplicates(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    stored_before, resumed = kill_then_resume(sessions, lambda: collector(httpserver), QUERY, pages=1)
    assert stored_before == 2
    assert fake.requests[-2]["next_token"] == "2"
    assert resumed.fetched == 3 and resumed.new == 3
    assert stored_ids(sessions, "x") == sorted(tweet(n)["id"] for n in range(1, 6))
    assert stored_cursor(sessions, "x", QUERY) == {"since_id": tweet(5)["id"]}


def test_budget_stops_the_run_and_the_next_run_continues(httpserver, fake):
    pages = list(collector(httpserver, budget=3).fetch(QUERY, None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 4  # whole pages: the budget is spent during the second one
    assert fake.requests[0]["max_results"] == "10"
    assert pages[-1].cursor["next_token"] == "4"
    rest = list(collector(httpserver, budget=3).fetch(QUERY, pages[-1].cursor, FetchWindow()))
    assert [t["data"]["id"] for p in rest for t in p.items] == [tweet(1)["id"]]
    assert rest[-1].cursor == {"since_id": tweet(5)["id"]}


def test_429_with_reset_header_waits_until_reset(httpserver, fake):
    sleep = RecordingSleep()
    fake.scripted.append(Response("{}", status=429, headers={"x-rate-limit-reset": str(1_700_000_000 + 30)}))
    pages = list(collector(httpserver, sleep).fetch(QUERY, None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5
    assert sleep.waits == [31.0]


def test_429_without_reset_backs_off_and_gives_up(httpserver, fake):
    sleep = RecordingSleep()
    fake.scripted.extend(Response("{}", status=429) for _ in range(10))
    with pytest.raises(RateLimited):
        list(collector(httpserver, sleep).fetch(QUERY, None, FetchWindow()))
    assert sleep.waits == [2.0, 4.0, 8.0]


def test_reset_too_far_away_raises_without_sleeping(httpserver, fake):
    sleep = RecordingSleep()
    fake.scripted.append(
        Response("{}", status=429, headers={"x-rate-limit-reset": str(1_700_000_000 + 5000)})
    )
    with pytest.raises(RateLimited, match="5001"):
        list(collector(httpserver, sleep).fetch(QUERY, None, FetchWindow()))
    assert sleep.waits == []


def test_server_error_then_success(httpserver, fake):
    sleep = RecordingSleep()
    fake.scripted.extend([Response("oops", status=503), Response("oops", status=500)])
    pages = list(collector(httpserver, sleep).fetch(QUERY, None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5 and sleep.waits == [2.0, 4.0]


def test_truncated_json_on_second_page_keeps_the_first(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    real = fake.__call__

    def flaky(request):
        if request.args.get("next_token") == "2":
            return Response('{"data": [{"id": "1', content_type="application/json")
        return real(request)

    fake.__class__ = type("Flaky", (FakeSearch,), {"__call__": lambda self, r: flaky(r)})
    summary = collect_query(sessions, collector(httpserver), QUERY, ingest_context())
    assert summary.new == 2 and summary.status == "failed"  # a lost page is a failed run, not ok
    assert summary.errors and "malformed response" in summary.errors[0].reason
    assert stored_cursor(sessions, "x", QUERY)["next_token"] == "2"


def test_html_error_page_becomes_a_page_error(httpserver, fake):
    fake.scripted.append(Response("<html><body>Over capacity</body></html>", content_type="text/html"))
    pages = list(collector(httpserver).fetch(QUERY, None, FetchWindow()))
    assert len(pages) == 1 and pages[0].items == [] and "malformed" in pages[0].errors[0].reason


def test_empty_result_stores_no_cursor_change(httpserver, fake):
    pages = list(collector(httpserver).fetch(QUERY, {"since_id": tweet(5)["id"]}, FetchWindow()))
    assert len(pages) == 1 and pages[0].items == [] and pages[0].cursor == {"since_id": tweet(5)["id"]}


def test_malformed_tweets_are_item_errors(httpserver, fake, tmp_path):
    bad = [{"id": "1900000000000000001", "created_at": "2025-08-05T10:00:00Z"}, {"text": "gpt-oss no id"}]
    fake.tweets = bad + fake.tweets[:1]
    summary = collect_query(open_test_database(tmp_path), collector(httpserver), QUERY, ingest_context())
    reasons = sorted(e.reason.split(":")[0] for e in summary.errors)
    assert summary.new == 1 and reasons == ["id", "text"]


def test_to_post_rejects_non_objects():
    client = build_client("t", None)
    with pytest.raises(InvalidRecord):
        XCollector(client, QUERY).to_post("nope")


def test_count_uses_the_counts_endpoint(httpserver):
    seen = []

    def counts(request):
        seen.append(dict(request.args))
        return Response(
            json.dumps({"data": [], "meta": {"total_tweet_count": 1234}}), content_type="application/json"
        )

    httpserver.expect_request("/2/tweets/counts/recent").respond_with_handler(counts)
    assert (
        collector(httpserver).count(QUERY, FetchWindow(since=datetime(2025, 8, 1, tzinfo=UTC)))
        == 1234
    )
    assert seen[0]["granularity"] == "day" and seen[0]["start_time"] == "2025-08-01T00:00:00Z"


def test_bearer_token_goes_only_in_the_header(httpserver, fake, caplog):
    caplog.set_level("DEBUG", logger="tweepy.client")
    list(collector(httpserver).fetch(QUERY, None, FetchWindow()))
    request_log = httpserver.log[0][0]
    assert request_log.headers["Authorization"] == "Bearer test-token"
    assert "test-token" not in caplog.text


def test_every_post_the_search_matched_is_stored_even_without_a_keyword(httpserver, tmp_path):
    tweets = [tweet(n) for n in range(1, 6)]
    for off_topic in tweets[:3]:
        off_topic["text"] = "matched by X through a URL or a quoted post; no keyword in the text"
    httpserver.expect_request("/2/tweets/search/recent").respond_with_handler(FakeSearch(tweets))
    sessions = open_test_database(tmp_path)
    summary = collect_query(sessions, collector(httpserver), QUERY, ingest_context(("gpt-oss",)))
    assert (summary.fetched, summary.new, summary.skipped) == (5, 5, 0)
    assert len(stored_ids(sessions, "x")) == 5
