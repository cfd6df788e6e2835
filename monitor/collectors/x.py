"""X (Twitter) API v2 recent or full-archive search through tweepy.

X bills every post read, so ``max_posts_per_run`` is a hard budget and ``count`` lets a dry run price a query
without reading posts. Search returns newest first; the cursor keeps ``since_id`` (the newest post of the last
complete run) and, while a run walks back through older pages, the ``next_token`` and the newest id seen, so
a run that dies or runs out of budget resumes where its last committed page ended.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.http import (
    DEFAULT_TIMEOUT,
    Retry,
    RetryPolicy,
    call_with_retries,
    post_budget,
    require_env,
    reset_from_headers,
    source_policy,
)
from monitor.collectors.x_payload import tweet_to_record, users_by_id
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError
from monitor.ingest.records import InvalidRecord, PostRecord

TOKEN_ENV = "X_BEARER_TOKEN"
TWEEPY_HOST = "https://api.twitter.com"
PAGE_SIZE = 100  # the API maximum for search
MIN_PAGE_SIZE = 10  # the API minimum
TWEET_FIELDS = ["created_at", "lang", "public_metrics", "conversation_id", "referenced_tweets", "author_id"]
USER_FIELDS = ["username", "name"]


class XCollector:
    name: ClassVar[str] = "x"
    filter_by_keywords: ClassVar[bool] = False

    def __init__(
        self,
        client: tweepy.Client,
        query: str,
        full_archive: bool = False,
        max_posts_per_run: int | None = None,
        policy: RetryPolicy = RetryPolicy(),
    ):
        self.client = client
        self.query = query
        self.full_archive = full_archive
        self.max_posts_per_run = max_posts_per_run
        self.policy = policy

    @classmethod
    def from_settings(cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]) -> XCollector:
        (token,) = require_env(environ, "x", (TOKEN_ENV,), "an X API bearer token is required")
        if not settings.query:
            raise CollectorError("x: [sources.x] query is empty")
        full_archive = settings.options.get("full_archive", False)
        if not isinstance(full_archive, bool):
            raise CollectorError(f"x: [sources.x] full_archive: expected true or false, got {full_archive!r}")
        policy = source_policy(settings)
        return cls(
            build_client(token, settings.base_url, policy.timeout), settings.query, full_archive,
            settings.max_posts_per_run, policy,
        )

    def queries(self) -> list[str]:
        return [self.query]

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        state = dict(cursor or {})
        since_id, newest = state.get("since_id"), state.get("newest_id") or state.get("since_id")
        budget = post_budget(window.limit, self.max_posts_per_run)
        size = PAGE_SIZE if budget is None else max(MIN_PAGE_SIZE, min(PAGE_SIZE, budget))
        # A resumed next_token is only valid with the parameters it was issued for: keep since_id and window.
        paginator = tweepy.Paginator(
            self._retrying(self._search_method()),
            query,
            pagination_token=state.get("next_token"),
            max_results=size,
            since_id=since_id,
            start_time=window.since,
            end_time=window.until,
            expansions=["author_id"],
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
        )
        pages = iter(paginator)
        read = 0
        for number in range(1, 1_000_000):
            try:
                response = next(pages)
            except StopIteration:
                return
            except ValueError as exc:  # requests' JSONDecodeError: truncated JSON or an HTML error page
                yield _failed_page(number, f"malformed response: {exc}")
                return
            tweets = response.get("data", []) if isinstance(response, dict) else None
            if not isinstance(tweets, list):
                yield _failed_page(
                    number, f"unexpected response: no list of tweets in {str(response)[:120]!r}"
                )
                return
            meta = response.get("meta") or {}
            next_token = meta.get("next_token")
            newest = newest_id(
                [newest, meta.get("newest_id"), *(t.get("id") for t in tweets if isinstance(t, dict))]
            )
            read += len(tweets)
            spent = budget is not None and read >= budget
            if next_token:
                cursor_state = {"since_id": since_id, "next_token": next_token, "newest_id": newest}
            else:
                cursor_state = {"since_id": newest}
            yield Page(
                items=page_items(tweets, response.get("includes")),
                cursor={key: value for key, value in cursor_state.items() if value is not None},
                positions=[f"page {number} tweet {i + 1}" for i in range(len(tweets))],
                counted=read,
            )
            if not next_token or spent:
                return

    def count(self, query: str, window: FetchWindow) -> int:
        """Posts matching ``query`` in the window, from the counts endpoint (costs no post reads)."""
        params = {"granularity": "day", "start_time": window.since, "end_time": window.until}
        if not self.full_archive:
            response = self._retrying(self.client.get_recent_tweets_count)(query, **params)
            return _total(response)
        return sum(
            _total(response)
            for response in tweepy.Paginator(
                self._retrying(self.client.get_all_tweets_count), query, **params
            )
        )

    def to_post(self, raw: Any) -> PostRecord:
        if not isinstance(raw, Mapping):
            raise InvalidRecord(f"tweet: expected an object, got {type(raw).__name__}")
        if "data" in raw:
            return tweet_to_record(raw["data"], users_by_id(raw.get("includes")))
        return tweet_to_record(raw)

    def _search_method(self) -> Callable[..., Any]:
        return self.client.search_all_tweets if self.full_archive else self.client.search_recent_tweets

    def _retrying(self, method: Callable[..., Any]) -> Callable[..., Any]:
        # functools.wraps keeps __name__, which tweepy.Paginator reads to pick next_token vs pagination_token.
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            return call_with_retries(
                lambda: method(*args, **kwargs),
                self.policy,
                lambda exc: classify_error(exc, self.policy.clock()),
                f"x {method.__name__}",
            )

        return call


def page_items(tweets: list[Any], includes: Any) -> list[dict[str, Any]]:
    """One item per tweet, shaped like a single-tweet API response so that it carries its own author."""
    users = users_by_id(includes if isinstance(includes, Mapping) else None)
    items = []
    for tweet in tweets:
        author = users.get(str(tweet.get("author_id"))) if isinstance(tweet, Mapping) else None
        items.append({"data": tweet, "includes": {"users": [author] if author else []}})
    return items


def newest_id(ids: list[Any]) -> str | None:
    """The largest tweet id (ids are decimal strings that grow with time)."""
    numeric = [int(value) for value in ids if isinstance(value, (str, int)) and str(value).isdigit()]
    return str(max(numeric)) if numeric else None


def classify_error(exc: BaseException, now: float) -> Retry | None:
    if isinstance(exc, tweepy.TooManyRequests):
        return Retry(rate_limited=True, reset_at=reset_from_headers(exc.response.headers, now))
    if isinstance(exc, (tweepy.TwitterServerError, requests.Timeout, requests.ConnectionError)):
        return Retry()
    return None


def _total(response: Any) -> int:
    meta = response.get("meta") if isinstance(response, dict) else None
    total = meta.get("total_tweet_count") if isinstance(meta, dict) else None
    if not isinstance(total, int):
        raise CollectorError(f"x counts: unexpected response {str(response)[:120]!r}")
    return total


def _failed_page(number: int, reason: str) -> Page:
    return Page(items=[], failed=True, errors=[ItemError(f"page {number}", reason)])


# --- the client ------------------------------------------------------------------------------------------


class TimeoutAdapter(HTTPAdapter):
    """Gives every request a (connect, read) timeout: tweepy sends its requests without one."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        super().__init__()
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, *args, **kwargs)


class RebasedAdapter(TimeoutAdapter):
    """Sends requests tweepy addresses to api.twitter.com to ``base_url`` (tweepy hard-codes the host)."""

    def __init__(self, base_url: str, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        super().__init__(timeout)
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        request.url = rebase(request.url or "", self.base_url)
        return super().send(request, *args, **kwargs)


def rebase(url: str, base_url: str) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s, and ``base_url``'s path prefixed."""
    target, base = urlsplit(url), urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + target.path, target.query, ""))


class _HideRequestHeaders(logging.Filter):
    # tweepy logs every request's headers, bearer token included, and every response's full body (usernames
    # and display names) at DEBUG.
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Making API request", "Received API response"))


_HEADER_FILTER = _HideRequestHeaders()


def build_client(
    token: str, base_url: str | None, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> tweepy.Client:
    """A tweepy client that raises on 429 (we wait ourselves, bounded) and talks to ``base_url`` if given."""
    logger = logging.getLogger("tweepy.client")
    if _HEADER_FILTER not in logger.filters:
        logger.addFilter(_HEADER_FILTER)
    client = tweepy.Client(bearer_token=token, return_type=dict, wait_on_rate_limit=False)
    for prefix in ("https://", "http://"):
        client.session.mount(prefix, TimeoutAdapter(timeout))
    if base_url and base_url.rstrip("/") != TWEEPY_HOST:
        client.session.mount(TWEEPY_HOST, RebasedAdapter(base_url, timeout))
    return client


COLLECTOR = XCollector
