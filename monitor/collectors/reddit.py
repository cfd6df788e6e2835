"""Reddit through PRAW (app-only OAuth): new search results and new comments in each configured subreddit.

Listings are newest first and paged backwards with ``after``; a run walks back until it reaches posts older
than the newest one of the last complete run (``since``, in ``created_utc``). While it walks, the cursor also
holds ``after`` and the newest time seen, so a killed run resumes at its last committed page. We ask PRAW for
the raw JSON (``Reddit.request``) and parse it ourselves, so that one odd item cannot fail a whole page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, ClassVar

import praw
import prawcore

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.http import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    Retry,
    RetryPolicy,
    call_with_retries,
    post_budget,
    require_env,
    reset_from_headers,
    source_policy,
)
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError
from monitor.ingest.records import InvalidRecord, PostRecord, time_field

ID_ENV, SECRET_ENV, AGENT_ENV = "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT"
PAGE_SIZE = 100  # the listing maximum
KINDS = ("search", "comments")


class RedditCollector:
    name: ClassVar[str] = "reddit"
    filter_by_keywords: ClassVar[bool] = False

    def __init__(
        self,
        reddit: praw.Reddit,
        subreddits: list[str],
        search: str | None,
        max_posts_per_run: int | None = None,
        policy: RetryPolicy = RetryPolicy(),
    ):
        self.reddit = reddit
        self.subreddits = [name.removeprefix("r/") for name in subreddits]
        self.search = search
        self.max_posts_per_run = max_posts_per_run
        self.policy = policy

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]
    ) -> RedditCollector:
        client_id, secret = require_env(environ, "reddit", (ID_ENV, SECRET_ENV),
                                        "create a 'script' app at reddit.com/prefs/apps")
        subreddits = settings.options.get("subreddits", [])
        if (
            not isinstance(subreddits, list)
            or not subreddits
            or not all(isinstance(s, str) and s for s in subreddits)
        ):
            raise CollectorError(
                f"reddit: [sources.reddit] subreddits: expected a list of names, got {subreddits!r}"
            )
        policy = source_policy(settings)
        reddit = build_client(
            client_id, secret, environ.get(AGENT_ENV) or USER_AGENT, settings.base_url,
            policy.timeout,
        )
        return cls(reddit, subreddits, settings.query, settings.max_posts_per_run, policy)

    def queries(self) -> list[str]:
        kinds = KINDS if self.search else ("comments",)
        return [f"r/{name} {kind}" for name in self.subreddits for kind in kinds]

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        subreddit, _, kind = query.partition(" ")
        state = dict(cursor or {})
        since = state.get("since")
        lower = max(
            [t for t in (since, window.since.timestamp() if window.since else None) if t is not None],
            default=None,
        )
        upper = window.until.timestamp() if window.until else None
        newest, after = state.get("newest", since), state.get("after")
        budget = post_budget(window.limit, self.max_posts_per_run)
        read = 0
        for number in range(1, 1_000_000):
            path, params = self._listing(subreddit, kind, after)
            try:
                listing = call_with_retries(
                    partial(self.reddit.request, method="GET", path=path, params=params),
                    self.policy,
                    lambda exc: classify_error(exc, self.policy.clock()),
                    f"reddit {query}",
                )
            except prawcore.BadJSON as exc:
                yield Page(
                    items=[],
                    failed=True,
                    errors=[
                        ItemError(
                            f"{query} page {number}", "malformed response: not JSON", exc.response.text[:500]
                        )
                    ],
                )
                return
            children, after_next, problem = parse_listing(listing)
            if problem:
                yield Page(
                    items=[],
                    failed=True,
                    errors=[ItemError(f"{query} page {number}", problem, str(listing)[:500])],
                )
                return
            times = [created_utc(child) for child in children]
            # Stop at the first item older than the cursor; items from the same second come again and are
            # dropped as duplicates on insert.
            reached_cursor = lower is not None and any(t is not None and t < lower for t in times)
            items = [
                c
                for c, t in zip(children, times)
                if (lower is None or t is None or t >= lower) and (upper is None or t is None or t < upper)
            ]
            newest = max([t for t in (newest, *times) if t is not None], default=None)
            read += len(items)
            done = reached_cursor or not after_next
            page_cursor = (
                {"since": newest} if done else {"since": since, "after": after_next, "newest": newest}
            )
            yield Page(
                items=items,
                cursor={key: value for key, value in page_cursor.items() if value is not None},
                positions=[f"{query} page {number} {child_name(child)}" for child in items],
            )
            if done or (budget is not None and read >= budget):
                return
            after = after_next

    def to_post(self, raw: Any) -> PostRecord:
        return thing_to_record(raw)

    def _listing(self, subreddit: str, kind: str, after: str | None) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"limit": PAGE_SIZE, "raw_json": 1}
        if after:
            params["after"] = after
        if kind == "search":
            params.update(q=self.search, sort="new", restrict_sr="on", t="all")
            return f"/{subreddit}/search", params
        return f"/{subreddit}/comments", params


def parse_listing(listing: Any) -> tuple[list[Any], str | None, str | None]:
    """(children, next ``after``, problem) of a Listing; problem names what is wrong with the shape."""
    if (
        not isinstance(listing, Mapping)
        or listing.get("kind") != "Listing"
        or not isinstance(listing.get("data"), Mapping)
    ):
        return [], None, "unexpected response: not a Listing"
    children = listing["data"].get("children")
    if not isinstance(children, list):
        return [], None, "unexpected response: Listing without children"
    after = listing["data"].get("after")
    return children, after if isinstance(after, str) and after else None, None


def created_utc(child: Any) -> float | None:
    data = child.get("data") if isinstance(child, Mapping) else None
    value = data.get("created_utc") if isinstance(data, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def child_name(child: Any) -> str:
    data = child.get("data") if isinstance(child, Mapping) else None
    return str(data.get("name")) if isinstance(data, Mapping) else "?"


def thing_to_record(raw: Any) -> PostRecord:
    """A listing child: ``{"kind": "t3", "data": submission}`` or ``{"kind": "t1", "data": comment}``."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("data"), Mapping):
        raise InvalidRecord("data: expected a listing child with a data object")
    kind, data = raw.get("kind"), raw["data"]
    if kind not in ("t1", "t3"):
        raise InvalidRecord(f"kind: expected t1 (comment) or t3 (submission), got {kind!r}")
    name = data.get("name") or (f"{kind}_{data['id']}" if data.get("id") else None)
    if not name:
        raise InvalidRecord("name: missing")
    if kind == "t3":
        parts = [data.get("title"), data.get("selftext")]
    else:
        parts = [data.get("body")]
    text = "\n\n".join(part for part in parts if isinstance(part, str) and part.strip())
    if not text:
        raise InvalidRecord("text: missing or empty (title/selftext or body)")
    created_at = time_field(data.get("created_utc"), "created_utc")
    author = data.get("author")
    permalink = data.get("permalink")
    metrics = {"likes": data["score"]} if isinstance(data.get("score"), int) else {}
    if isinstance(data.get("num_comments"), int):
        metrics["replies"] = data["num_comments"]
    return PostRecord(
        source="reddit",
        source_id=str(name),
        text=text,
        created_at=created_at,
        author=author if isinstance(author, str) and author not in ("[deleted]", "") else None,
        url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink else None,
        lang_hint=None,
        metrics=metrics,
        raw=dict(raw),
    )


def classify_error(exc: BaseException, now: float) -> Retry | None:
    if isinstance(exc, prawcore.TooManyRequests):
        return Retry(rate_limited=True, reset_at=reset_from_headers(exc.response.headers, now))
    if isinstance(exc, (prawcore.ServerError, prawcore.RequestException)):
        return Retry()
    return None


def build_client(
    client_id: str, client_secret: str, user_agent: str, base_url: str | None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> praw.Reddit:
    """A read-only (app-only OAuth) client; ``base_url`` replaces both reddit.com and oauth.reddit.com."""
    urls: dict[str, Any] = {"oauth_url": base_url.rstrip("/"), "reddit_url": base_url.rstrip("/")} if base_url else {}
    reddit = praw.Reddit(
        client_id=client_id,
        client_secret=client_secret,
        user_agent=user_agent,
        check_for_updates=False,
        check_for_async=False,
        # prawcore hands this to requests: (connect, read) seconds for every request.
        requestor_kwargs={"timeout": timeout},
        **urls,
    )
    reddit.read_only = True
    return reddit


COLLECTOR = RedditCollector
