"""Bluesky search through the atproto SDK (``app.bsky.feed.searchPosts``, logged in with an app password).

Search pages with an opaque cursor, newest first, and stops handing out cursors after a few thousand hits.
To get past that cap a run walks back in time windows: when a window runs out of cursors, the next window
ends (``until``) at the oldest post seen. The cursor keeps ``since`` (the newest post time of the last
complete run); mid-run it also holds the window's ``until``, the search cursor and the newest time seen, so a
killed run resumes at its last committed page. Live collection is in ``monitor.ingest.stream``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from atproto import Client, models
from atproto_client import exceptions as at_errors
from atproto_client.request import Request

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.http import Retry, RetryPolicy, call_with_retries, post_budget, require_env, source_policy
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError
from monitor.ingest.records import InvalidRecord, PostRecord, object_field, time_field
from monitor.ingest.timeparse import parse_timestamp

HANDLE_ENV, PASSWORD_ENV = "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"
PAGE_SIZE = 100  # the API maximum
POST_COLLECTION = "app.bsky.feed.post"


class BlueskyCollector:
    name: ClassVar[str] = "bluesky"
    filter_by_keywords: ClassVar[bool] = False

    def __init__(
        self,
        client: Client,
        credentials: tuple[str, str],
        query: str,
        max_posts_per_run: int | None = None,
        policy: RetryPolicy = RetryPolicy(),
    ):
        self.client = client
        self._credentials = credentials
        self.query = query
        self.max_posts_per_run = max_posts_per_run
        self.policy = policy
        self._logged_in = False

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]
    ) -> BlueskyCollector:
        handle, password = require_env(environ, "bluesky", (HANDLE_ENV, PASSWORD_ENV),
                                       "search needs a login; use an app password")
        if not settings.query:
            raise CollectorError("bluesky: [sources.bluesky] query is empty")
        policy = source_policy(settings)
        connect, read = policy.timeout
        # atproto's httpx client waits 5 s for everything by default; use the source's timeouts.
        request = Request(timeout=httpx.Timeout(read, connect=connect))
        client = Client(base_url=settings.base_url, request=request) if settings.base_url else Client(
            request=request)
        return cls(
            client, (handle, password), settings.query, settings.max_posts_per_run,
            policy,
        )

    def queries(self) -> list[str]:
        return [self.query]

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        self._login()
        state = dict(cursor or {})
        since = state.get("since")
        lower = max([t for t in (since, iso(window.since) if window.since else None) if t], default=None)
        until = state.get("until") or (iso(window.until) if window.until else None)
        search_cursor, newest = state.get("cursor"), state.get("newest", since)
        budget = post_budget(window.limit, self.max_posts_per_run)
        read = 0
        for number in range(1, 1_000_000):
            position = f"until {until or 'now'} page {number}"
            try:
                content = self._search(query, lower, until, search_cursor)
            except ValueError as exc:  # truncated or invalid JSON
                problem = ItemError(position, f"malformed response: {str(exc)[:200]}")
                yield Page(items=[], failed=True, errors=[problem])
                return
            if not isinstance(content, Mapping) or not isinstance(content.get("posts"), list):
                preview = content[:200] if isinstance(content, (bytes, str)) else repr(content)[:200]
                yield Page(
                    items=[],
                    failed=True,
                    errors=[ItemError(position, "unexpected response: no 'posts' list", str(preview))],
                )
                return
            posts = content["posts"]
            times = [t for t in (sort_time(post) for post in posts) if t]
            newest = max([t for t in (newest, *times) if t], default=None)
            read += len(posts)
            next_cursor = content.get("cursor") if isinstance(content.get("cursor"), str) else None
            if posts and next_cursor:
                search_cursor = next_cursor
            elif times and (until is None or min(times) < until):
                # Out of cursors (end or cap): search again below the oldest post seen.
                until, search_cursor = min(times), None
            else:
                until = search_cursor = None
            done = until is None and search_cursor is None
            page_cursor = (
                {"since": newest}
                if done
                else {"since": since, "until": until, "cursor": search_cursor, "newest": newest}
            )
            yield Page(
                items=posts,
                cursor={key: value for key, value in page_cursor.items() if value is not None},
                positions=[f"{position} post {i + 1}" for i in range(len(posts))],
            )
            if done or (budget is not None and read >= budget):
                return

    def to_post(self, raw: Any) -> PostRecord:
        return post_view_to_record(raw)

    def _login(self) -> None:
        if self._logged_in:
            return
        handle, password = self._credentials
        call_with_retries(
            lambda: self.client.login(handle, password, fetch_bsky_profile=False),
            self.policy,
            classifier(self.policy.clock),
            "bluesky login",
        )
        self._logged_in = True

    def _search(self, query: str, since: str | None, until: str | None, cursor: str | None) -> Any:
        params = models.AppBskyFeedSearchPosts.Params(
            q=query, sort="latest", limit=PAGE_SIZE, since=since, until=until, cursor=cursor
        )
        # invoke_query hands back the JSON as sent, so one odd post cannot fail the whole page's validation.
        response = call_with_retries(
            lambda: self.client.invoke_query(
                "app.bsky.feed.searchPosts", params=params, output_encoding="application/json"
            ),
            self.policy,
            classifier(self.policy.clock),
            "bluesky searchPosts",
        )
        return response.content


def classifier(clock: Callable[[], float]) -> Callable[[BaseException], Retry | None]:
    def classify(exc: BaseException) -> Retry | None:
        if isinstance(exc, at_errors.RateLimitExceededError):
            if exc.reset_at is not None:
                return Retry(rate_limited=True, reset_at=exc.reset_at.timestamp())
            after = exc.retry_after
            return Retry(rate_limited=True, reset_at=clock() + after if after is not None else None)
        if isinstance(exc, at_errors.NetworkError):  # timeouts, connection errors, 502
            return Retry()
        if (
            isinstance(exc, at_errors.RequestException)
            and exc.response is not None
            and exc.response.status_code >= 500
        ):
            return Retry()
        return None

    return classify


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sort_time(post: Any) -> str | None:
    """The time search sorts and filters by: the earlier of createdAt and indexedAt, as ISO text."""
    if not isinstance(post, Mapping):
        return None
    record = object_field(post, "record")
    moments = []
    for value in (record.get("createdAt"), post.get("indexedAt")):
        try:
            moments.append(parse_timestamp(value))
        except ValueError:
            continue
    return iso(min(moments)) if moments else None


def post_url(handle_or_did: str, uri: str) -> str:
    return f"https://bsky.app/profile/{handle_or_did}/post/{uri.rsplit('/', 1)[-1]}"


def post_view_to_record(raw: Any) -> PostRecord:
    """An ``app.bsky.feed.defs#postView`` (search, feeds, threads) as a record."""
    if not isinstance(raw, Mapping):
        raise InvalidRecord(f"post: expected an object, got {type(raw).__name__}")
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise InvalidRecord(f"uri: expected an at:// URI, got {uri!r}")
    record = raw.get("record")
    if not isinstance(record, Mapping):
        raise InvalidRecord("record: missing")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRecord("record.text: missing or empty")
    created_at = time_field(record.get("createdAt") or raw.get("indexedAt"), "record.createdAt")
    author = object_field(raw, "author")
    # The DID, not the handle: handles change and name the person; the stream knows authors by DID only, so
    # one account has one pseudonym whichever way its posts came, and a deletion by DID finds them all.
    did = author.get("did") or uri.removeprefix("at://").split("/", 1)[0]
    if not did:
        raise InvalidRecord("author.did: missing")
    langs = record.get("langs")
    counts = (
        ("likeCount", "likes"),
        ("repostCount", "reposts"),
        ("replyCount", "replies"),
        ("quoteCount", "quotes"),
    )
    return PostRecord(
        source="bluesky",
        source_id=uri,
        text=text,
        created_at=created_at,
        author=str(did),
        url=post_url(str(did), uri),
        lang_hint=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        metrics={ours: raw[theirs] for theirs, ours in counts if isinstance(raw.get(theirs), int)},
        raw=dict(raw),
    )


COLLECTOR = BlueskyCollector
