"""Mastodon collector: the real Mastodon.py client against a small fake instance on 127.0.0.1."""

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
from monitor.collectors.mastodon import MastodonCollector, snowflake, status_to_record
from monitor.config import SourceSettings, Topic
from monitor.errors import RateLimited
from monitor.ingest.pipeline import collect_query
from monitor.ingest.records import InvalidRecord

TOPIC = Topic(name="t", title="t", languages=("de", "en"), keywords=("gpt-oss",))


def status(number: int, host: str = "chaos.social") -> dict:
    local = number % 2 == 0
    return {
        "id": str(114_000_000_000_000_000 + number),
        "uri": f"https://{host}/users/u{number}/statuses/{number}",
        "url": f"https://{host}/@u{number}/{number}",
        "created_at": f"2025-08-05T12:{number:02d}:00.000Z",
        "content": f'<p>Was haltet ihr von <a href="https://x">#gptoss</a> ({number})?<br>gpt-oss ist offen</p>',
        "spoiler_text": "",
        "language": "de",
        "visibility": "public",
        "replies_count": 1,
        "reblogs_count": 2,
        "favourites_count": number,
        "reblog": None,
        "account": {
            "id": str(900 + number),
            "username": f"u{number}",
            "acct": f"u{number}" if local else f"u{number}@{host}",
            "display_name": f"User {number}",
            "url": f"https://{host}/@u{number}",
            "created_at": "2022-11-01T00:00:00.000Z",
        },
        "mentions": [],
        "tags": [{"name": "gptoss", "url": "https://chaos.social/tags/gptoss"}],
        "emojis": [],
        "media_attachments": [],
    }


class FakeInstance:
    def __init__(self, statuses: list[dict], page_size: int = 2):
        self.statuses = statuses
        self.page_size = page_size
        self.scripted: list[Response] = []
        self.requests: list[dict] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append({"path": request.path, **request.args})
        if self.scripted:
            return self.scripted.pop(0)
        lower = int(request.args.get("since_id") or request.args.get("min_id") or 0)
        upper = int(request.args.get("max_id") or 10**30)
        matching = sorted(
            (s for s in self.statuses if lower < int(s["id"]) < upper), key=lambda s: -int(s["id"])
        )
        chunk = matching[: self.page_size]
        body = (
            {"accounts": [], "statuses": chunk, "hashtags": []} if request.path == "/api/v2/search" else chunk
        )
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def fake(httpserver):
    instance = FakeInstance([status(n) for n in range(1, 6)])
    httpserver.expect_request("/api/v1/timelines/tag/gptoss").respond_with_handler(instance)
    httpserver.expect_request("/api/v2/search").respond_with_handler(instance)
    return instance


def collector(
    httpserver, sleep: RecordingSleep | None = None, budget: int | None = None, token: str | None = None
):
    base = httpserver.url_for("/").rstrip("/")
    return MastodonCollector(
        [base], ["#gptoss"], "gpt-oss", token, budget, policy=(sleep or RecordingSleep()).policy()
    )


def tag_query(httpserver) -> str:
    return f"{httpserver.url_for('/').rstrip('/')} #gptoss"


def test_queries_include_search_only_with_a_token():
    settings = SourceSettings(
        "mastodon", query="gpt-oss", options={"instances": ["https://a.example"], "hashtags": ["gptoss"]}
    )
    assert MastodonCollector.from_settings(settings, TOPIC, {}).queries() == ["https://a.example #gptoss"]
    with_token = MastodonCollector.from_settings(settings, TOPIC, {"MASTODON_ACCESS_TOKEN": "tok"})
    assert with_token.queries() == ["https://a.example #gptoss", "https://a.example search:gpt-oss"]


def test_walks_back_with_max_id_then_stores_since_id(httpserver, fake):
    pages = list(collector(httpserver).fetch(tag_query(httpserver), None, FetchWindow()))
    assert [len(p.items) for p in pages] == [2, 2, 1, 0]
    assert fake.requests[1]["max_id"] == status(4)["id"]
    assert pages[0].cursor == {"max_id": status(4)["id"], "newest_id": status(5)["id"]}
    assert pages[-1].cursor == {"since_id": status(5)["id"]}
    record = status_to_record(pages[0].items[0])
    assert record.source_id == "https://chaos.social/statuses/5" and record.author == "u5@chaos.social"
    assert record.url is None  # every web URL of a status names its account
    assert record.text == "Was haltet ihr von #gptoss (5)?\ngpt-oss ist offen"
    assert record.created_at == datetime(2025, 8, 5, 12, 5, tzinfo=UTC)
    assert (
        status_to_record(pages[0].items[1]).author == "u4@chaos.social"
    )  # local account: domain from its URL


def test_second_run_only_gets_newer_posts(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    query = tag_query(httpserver)
    assert collect_query(sessions, collector(httpserver), query, ingest_context()).new == 5
    fake.statuses.append(status(7))
    second = collect_query(sessions, collector(httpserver), query, ingest_context())
    assert fake.requests[-2]["since_id"] == status(5)["id"]
    assert second.fetched == 1 and second.new == 1
    assert stored_cursor(sessions, "mastodon", query) == {"since_id": status(7)["id"]}


def test_killed_run_resumes_without_loss_or_duplicates(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    query = tag_query(httpserver)
    stored_before, resumed = kill_then_resume(sessions, lambda: collector(httpserver), query, pages=1)
    assert stored_before == 2 and resumed.new == 3 and resumed.fetched == 3
    assert len(stored_ids(sessions, "mastodon")) == 5
    assert stored_cursor(sessions, "mastodon", query) == {"since_id": status(5)["id"]}


def test_same_status_through_two_instances_is_stored_once(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    query = tag_query(httpserver)
    collect_query(sessions, collector(httpserver), query, ingest_context())
    # the same statuses seen from another instance carry other local ids but the same URIs
    fake.statuses = [{**s, "id": str(int(s["id"]) + 10**6)} for s in fake.statuses]
    other = MastodonCollector(
        [httpserver.url_for("/").rstrip("/").replace("localhost", "127.0.0.1")], ["gptoss"], None
    )
    again = collect_query(sessions, other, other.queries()[0], ingest_context())
    assert again.fetched == 5 and again.new == 0


def test_search_uses_v2_with_min_id(httpserver, fake):
    query = f"{httpserver.url_for('/').rstrip('/')} search:gpt-oss"
    pages = list(
        collector(httpserver, token="tok").fetch(query, {"since_id": status(3)["id"]}, FetchWindow())
    )
    assert [s["id"] for p in pages for s in p.items] == [status(5)["id"], status(4)["id"]]
    assert fake.requests[0]["path"] == "/api/v2/search" and fake.requests[0]["type"] == "statuses"
    assert fake.requests[0]["min_id"] == status(3)["id"]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer tok"


def test_window_since_becomes_a_snowflake_id(httpserver, fake):
    since = datetime(2025, 8, 5, tzinfo=UTC)
    list(collector(httpserver).fetch(tag_query(httpserver), None, FetchWindow(since=since)))
    assert fake.requests[0]["since_id"] == snowflake(since) == str(int(since.timestamp() * 1000) << 16)


def test_budget_stops_and_next_run_continues(httpserver, fake):
    first = list(collector(httpserver, budget=2).fetch(tag_query(httpserver), None, FetchWindow()))
    assert sum(len(p.items) for p in first) == 2
    rest = list(
        collector(httpserver, budget=10).fetch(tag_query(httpserver), first[-1].cursor, FetchWindow())
    )
    assert sum(len(p.items) for p in rest) == 3 and rest[-1].cursor == {"since_id": status(5)["id"]}


def test_429_with_reset_header_then_success(httpserver, fake):
    sleep = RecordingSleep()
    reset = datetime.fromtimestamp(1_700_000_000 + 20, tz=UTC).isoformat()
    fake.scripted.append(
        Response("{}", status=429, headers={"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0"})
    )
    pages = list(collector(httpserver, sleep).fetch(tag_query(httpserver), None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5
    assert len(sleep.waits) == 1 and 0 <= sleep.waits[0] <= 900  # bounded wait derived from the header


def test_429_without_headers_gives_up(httpserver, fake):
    sleep = RecordingSleep()
    fake.scripted.extend(Response("{}", status=429) for _ in range(10))
    with pytest.raises(RateLimited):
        list(collector(httpserver, sleep).fetch(tag_query(httpserver), None, FetchWindow()))
    assert sleep.waits == [2.0, 4.0, 8.0]


def test_5xx_then_success(httpserver, fake):
    sleep = RecordingSleep()
    fake.scripted.extend([Response("down", status=502), Response("down", status=500)])
    assert (
        sum(
            len(p.items)
            for p in collector(httpserver, sleep).fetch(tag_query(httpserver), None, FetchWindow())
        )
        == 5
    )
    assert sleep.waits == [2.0, 4.0]


def test_html_error_page_after_first_page_keeps_the_first(httpserver, fake, tmp_path):
    sessions = open_test_database(tmp_path)
    query = tag_query(httpserver)
    real = FakeInstance.__call__

    def flaky(self, request):
        if request.args.get("max_id"):
            return Response(
                "<html><h1>We're sorry, but something went wrong</h1></html>", content_type="text/html"
            )
        return real(self, request)

    fake.__class__ = type("Flaky", (FakeInstance,), {"__call__": flaky})
    summary = collect_query(sessions, collector(httpserver), query, ingest_context())
    assert summary.new == 2 and summary.errors and "malformed response" in summary.errors[0].reason
    assert stored_cursor(sessions, "mastodon", query)["max_id"] == status(4)["id"]


def test_malformed_statuses_are_item_errors(httpserver, fake, tmp_path):
    broken = status(8)
    del broken["uri"]
    no_date = {**status(9), "created_at": "not a date"}
    fake.statuses = [broken, no_date, status(1)]
    summary = collect_query(
        open_test_database(tmp_path), collector(httpserver), tag_query(httpserver), ingest_context()
    )
    assert summary.new == 1 and sorted(e.reason.split(":")[0] for e in summary.errors) == [
        "created_at",
        "uri",
    ]


def test_boosts_use_the_boosted_status():
    boost = {**status(1), "content": "", "reblog": status(2, host="mastodon.social")}
    assert status_to_record(boost).source_id == "https://mastodon.social/statuses/2"
    with pytest.raises(InvalidRecord, match="account"):
        status_to_record({**status(1), "account": None})
