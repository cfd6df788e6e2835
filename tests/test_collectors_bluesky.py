"""Bluesky collector: the real atproto client (httpx) against a fake XRPC service (respx)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx
from atproto import Client
from conftest_collectors import (
    RecordingSleep,
    ingest_context,
    kill_then_resume,
    open_test_database,
    stored_cursor,
    stored_ids,
)

from monitor.collectors import FetchWindow
from monitor.collectors.bluesky import BlueskyCollector, post_view_to_record
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError, RateLimited
from monitor.ingest.pipeline import collect_query

BASE = "http://pds.test"
TOPIC = Topic(name="t", title="t", languages=("en",), keywords=())


def jwt(payload: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.c2ln"


SESSION = {
    "did": "did:plc:tester",
    "handle": "tester.bsky.social",
    "accessJwt": jwt(
        {"scope": "com.atproto.appPass", "sub": "did:plc:tester", "iat": 1_700_000_000, "exp": 4_000_000_000}
    ),
    "refreshJwt": jwt(
        {"scope": "com.atproto.refresh", "sub": "did:plc:tester", "iat": 1_700_000_000, "exp": 4_000_000_000}
    ),
}


def post(number: int) -> dict:
    return {
        "uri": f"at://did:plc:author{number}/app.bsky.feed.post/3lvr{number:04d}",
        "cid": f"bafyrei{number}",
        "author": {
            "did": f"did:plc:author{number}",
            "handle": f"author{number}.bsky.social",
            "displayName": f"Author {number}",
        },
        "record": {
            "$type": "app.bsky.feed.post",
            "text": f"gpt-oss is out and the weights are open ({number})",
            "createdAt": f"2025-08-05T18:{number:02d}:00.000Z",
            "langs": ["en"],
        },
        "replyCount": 0,
        "repostCount": 1,
        "likeCount": number,
        "quoteCount": 0,
        "indexedAt": f"2025-08-05T18:{number:02d}:01.000Z",
        "labels": [],
    }


class FakeSearch:
    """searchPosts newest first, ``page_size`` per page, ``cap`` hits per window before cursors stop."""

    def __init__(self, posts: list[dict], page_size: int = 2, cap: int = 100):
        self.posts, self.page_size, self.cap = posts, page_size, cap
        self.scripted: list[httpx.Response] = []
        self.params: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.params.append(params)
        if self.scripted:
            return self.scripted.pop(0)
        ordered = sorted(self.posts, key=lambda p: p["record"]["createdAt"], reverse=True)
        ordered = [
            p for p in ordered if ("since" not in params or p["record"]["createdAt"] >= params["since"])
        ]
        ordered = [
            p for p in ordered if ("until" not in params or p["record"]["createdAt"] < params["until"])
        ]
        start = int(params.get("cursor", 0))
        chunk = ordered[start : start + self.page_size]
        body = {"posts": chunk}
        end = start + self.page_size
        if end < len(ordered) and end < self.cap:
            body["cursor"] = str(end)
        return httpx.Response(200, json=body)


@pytest.fixture
def fake():
    search = FakeSearch([post(n) for n in range(1, 6)])
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.post("/xrpc/com.atproto.server.createSession").mock(
            return_value=httpx.Response(200, json=SESSION)
        )
        mock.get("/xrpc/app.bsky.feed.searchPosts").mock(side_effect=search)
        search.mock = mock
        yield search


def collector(sleep: RecordingSleep | None = None, budget: int | None = None) -> BlueskyCollector:
    return BlueskyCollector(
        Client(base_url=BASE),
        ("tester.bsky.social", "app-pass"),
        "gpt-oss",
        budget,
        (sleep or RecordingSleep()).policy(),
    )


def test_from_settings_names_missing_credentials():
    with pytest.raises(CollectorError, match="BLUESKY_APP_PASSWORD"):
        BlueskyCollector.from_settings(SourceSettings("bluesky", query="q"), TOPIC, {"BLUESKY_HANDLE": "me"})


def test_logs_in_and_pages_with_cursor(fake):
    pages = list(collector().fetch("gpt-oss", None, FetchWindow()))
    assert [len(p.items) for p in pages] == [2, 2, 1, 0]
    login = json.loads(fake.mock.calls[0].request.content)
    assert login == {"identifier": "tester.bsky.social", "password": "app-pass"}
    assert fake.mock.calls[1].request.headers["Authorization"] == f"Bearer {SESSION['accessJwt']}"
    assert (
        fake.params[0]["q"] == "gpt-oss"
        and fake.params[0]["sort"] == "latest"
        and fake.params[1]["cursor"] == "2"
    )
    assert pages[0].cursor == {"cursor": "2", "newest": "2025-08-05T18:05:00.000Z"}
    assert pages[-1].cursor == {"since": "2025-08-05T18:05:00.000Z"}
    record = post_view_to_record(pages[0].items[0])
    assert record.source_id == post(5)["uri"] and record.author == "did:plc:author5"  # the DID, not the handle
    assert record.url == "https://bsky.app/profile/did:plc:author5/post/3lvr0005"
    assert record.lang_hint == "en" and record.created_at.isoformat() == "2025-08-05T18:05:00+00:00"


def test_walks_back_in_windows_past_the_cap(fake):
    fake.cap = 2  # cursors stop after one page, like the real search after a few thousand hits
    pages = list(collector().fetch("gpt-oss", None, FetchWindow()))
    assert sorted(p["uri"] for page in pages for p in page.items) == sorted(
        post(n)["uri"] for n in range(1, 6)
    )
    assert fake.params[1]["until"] == "2025-08-05T18:04:00.000Z"


def test_second_run_only_gets_newer_posts(fake, tmp_path):
    sessions = open_test_database(tmp_path)
    assert collect_query(sessions, collector(), "gpt-oss", ingest_context()).new == 5
    fake.posts.append(post(7))
    second = collect_query(sessions, collector(), "gpt-oss", ingest_context())
    assert fake.params[-1]["since"] == "2025-08-05T18:05:00.000Z"
    assert second.new == 1
    assert stored_cursor(sessions, "bluesky", "gpt-oss") == {"since": "2025-08-05T18:07:00.000Z"}


def test_killed_run_resumes(fake, tmp_path):
    sessions = open_test_database(tmp_path)
    stored_before, resumed = kill_then_resume(sessions, collector, "gpt-oss", pages=1)
    assert stored_before == 2 and resumed.new == 3 and resumed.fetched == 3
    assert len(stored_ids(sessions, "bluesky")) == 5


def test_budget(fake):
    pages = list(collector(budget=3).fetch("gpt-oss", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 4 and pages[-1].cursor["cursor"] == "4"


def test_429_with_ratelimit_reset_then_success(fake):
    sleep = RecordingSleep()
    fake.scripted.append(
        httpx.Response(
            429, json={"error": "RateLimitExceeded"}, headers={"ratelimit-reset": str(1_700_000_000 + 60)}
        )
    )
    pages = list(collector(sleep).fetch("gpt-oss", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5 and sleep.waits == [61.0]


def test_429_without_headers_is_bounded(fake):
    sleep = RecordingSleep()
    fake.scripted.extend(httpx.Response(429, json={"error": "RateLimitExceeded"}) for _ in range(10))
    with pytest.raises(RateLimited):
        list(collector(sleep).fetch("gpt-oss", None, FetchWindow()))
    assert sleep.waits == [2.0, 4.0, 8.0]


def test_5xx_and_timeout_then_success(fake):
    sleep = RecordingSleep()
    fake.scripted.extend(
        [httpx.Response(500, json={"error": "InternalServerError"}), httpx.Response(502, text="bad gateway")]
    )
    pages = list(collector(sleep).fetch("gpt-oss", None, FetchWindow()))
    assert sum(len(p.items) for p in pages) == 5 and sleep.waits == [2.0, 4.0]


def test_truncated_json_and_html_are_page_errors(fake):
    fake.scripted.append(
        httpx.Response(200, content=b'{"posts": [{"uri": "at:', headers={"content-type": "application/json"})
    )
    [page] = collector().fetch("gpt-oss", None, FetchWindow())
    assert page.items == [] and "malformed response" in page.errors[0].reason
    fake.scripted.append(
        httpx.Response(200, content=b"<html>oops</html>", headers={"content-type": "text/html"})
    )
    [page] = collector().fetch("gpt-oss", None, FetchWindow())
    assert "no 'posts' list" in page.errors[0].reason


def test_bad_posts_name_the_field(fake, tmp_path):
    no_text = post(8)
    no_text["record"] = {"createdAt": "2025-08-05T18:08:00Z"}
    fake.posts = [no_text, {**post(9), "uri": "https://not-at"}, post(1)]
    summary = collect_query(open_test_database(tmp_path), collector(), "gpt-oss", ingest_context())
    assert summary.new == 1 and sorted(e.reason.split(":")[0] for e in summary.errors) == [
        "record.text",
        "uri",
    ]
    # Without an author object the DID comes from the at:// URI, which always names it.
    assert post_view_to_record({**post(1), "author": {}}).author == "did:plc:author1"


def test_every_post_the_search_matched_is_stored_even_without_a_keyword(fake, tmp_path):
    fake.posts[0]["record"]["text"] = "matched by the platform through a link, no keyword in the text"
    sessions = open_test_database(tmp_path)
    summary = collect_query(sessions, collector(), "gpt-oss", ingest_context(("gpt-oss",)))
    assert (summary.fetched, summary.new, summary.skipped) == (5, 5, 0)
    assert len(stored_ids(sessions, "bluesky")) == 5
