"""Hacker News stories and comments through the public Algolia search API (no credentials).

``search_by_date`` returns newest first and serves at most 1000 hits per query, so a run fixes an upper time
bound when it starts (new items then cannot shift the pages under it), walks the pages, and when the cap is
reached moves the upper bound down to the oldest hit seen and starts again at page 0. The cursor keeps the
newest item time of the last complete run; mid-run it also holds the upper bound and page, so a killed run
resumes at its last committed page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import requests

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.http import RetryPolicy, get, html_to_text, new_session, post_budget, source_policy
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError
from monitor.ingest.records import InvalidRecord, PostRecord, time_field

DEFAULT_BASE_URL = "https://hn.algolia.com"
HITS_PER_PAGE = 100
TAGS = "(story,comment)"
#: Algolia indexes items minutes after they are posted; each run looks back this far past its cursor so that
#: late-indexed items are not skipped (duplicates are dropped on insert).
INDEXING_LAG_SECONDS = 600


class HackerNewsCollector:
    name: ClassVar[str] = "hackernews"
    filter_by_keywords: ClassVar[bool] = False

    def __init__(
        self,
        query: str,
        base_url: str = DEFAULT_BASE_URL,
        max_posts_per_run: int | None = None,
        session: requests.Session | None = None,
        policy: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.time,
    ):
        self.query = query
        self.base_url = base_url.rstrip("/")
        self.max_posts_per_run = max_posts_per_run
        self.session = session or new_session()
        self.policy = policy
        self.clock = clock

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]
    ) -> HackerNewsCollector:
        if not settings.query:
            raise CollectorError("hackernews: [sources.hackernews] query is empty")
        return cls(settings.query, settings.base_url or DEFAULT_BASE_URL, settings.max_posts_per_run,
                   policy=source_policy(settings))

    def queries(self) -> list[str]:
        return [self.query]

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        state = dict(cursor or {})
        since = state.get("since")
        newest = state.get("newest", since)
        lower = max(0, since - INDEXING_LAG_SECONDS) if isinstance(since, int) else None
        if window.since is not None:
            lower = max(lower or 0, int(window.since.timestamp()))
        until = state.get("until")
        if until is None:
            until = int(window.until.timestamp()) if window.until else int(self.clock())
        page_number = state.get("page", 0)
        budget = post_budget(window.limit, self.max_posts_per_run)
        read = 0
        while True:
            filters = ([f"created_at_i>={lower}"] if lower is not None else []) + [f"created_at_i<={until}"]
            params = {
                "query": query,
                "tags": TAGS,
                "numericFilters": ",".join(filters),
                "hitsPerPage": HITS_PER_PAGE,
                "page": page_number,
            }
            response = get(self.session, f"{self.base_url}/api/v1/search_by_date", self.policy, params)
            position = f"until {until} page {page_number}"
            body, problem = parse_body(response)
            if problem:
                yield Page(items=[], failed=True, errors=[ItemError(position, problem, response.text[:500])])
                return
            hits = body["hits"]
            times = [
                hit["created_at_i"]
                for hit in hits
                if isinstance(hit, dict) and isinstance(hit.get("created_at_i"), int)
            ]
            newest = max([t for t in (newest, *times) if isinstance(t, int)], default=None)
            read += len(hits)
            next_position = next_page(body, until, page_number, times)
            if next_position is None:
                page_cursor: dict[str, int | None] = {"since": newest} if newest is not None else {}
            else:
                until, page_number = next_position
                page_cursor = {"since": since, "until": until, "page": page_number, "newest": newest}
            yield Page(
                items=hits,
                cursor={key: value for key, value in page_cursor.items() if value is not None},
                positions=[f"{position} hit {i + 1}" for i in range(len(hits))],
            )
            if next_position is None or (budget is not None and read >= budget):
                return

    def to_post(self, raw: Any) -> PostRecord:
        return hit_to_record(raw)


def parse_body(response: requests.Response) -> tuple[dict[str, Any], str | None]:
    """The JSON body, or a reason why it cannot be used."""
    try:
        body = response.json()
    except ValueError as exc:
        return {}, f"malformed response: not JSON ({exc})"
    if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
        return {}, "unexpected response: no 'hits' list"
    return body, None


def next_page(body: Mapping[str, Any], until: int, page: int, times: list[int]) -> tuple[int, int] | None:
    """Where the walk continues after this page: (upper bound, page), or None when the window is exhausted."""
    pages, total = body.get("nbPages"), body.get("nbHits")
    if not times:
        return None
    if isinstance(pages, int) and page + 1 < pages:
        return until, page + 1
    if isinstance(total, int) and total > (page + 1) * HITS_PER_PAGE:
        # The 1000-hit cap: start again below the oldest hit seen. Items sharing that second come again
        # and are dropped as duplicates; if the whole page shares one second, step past it.
        oldest = min(times)
        return (oldest if oldest < until else until - 1), 0
    return None


def hit_to_record(hit: Any) -> PostRecord:
    if not isinstance(hit, Mapping):
        raise InvalidRecord(f"hit: expected an object, got {type(hit).__name__}")
    object_id = hit.get("objectID")
    if object_id in (None, ""):
        raise InvalidRecord("objectID: missing")
    parts = [hit.get("title"), hit.get("story_text"), hit.get("comment_text")]
    text = "\n\n".join(html_to_text(part) for part in parts if isinstance(part, str) and part.strip())
    if not text.strip():
        raise InvalidRecord("text: missing or empty (no title, story_text or comment_text)")
    moment = hit.get("created_at_i", hit.get("created_at"))
    created_at = time_field(moment, "created_at")
    metrics = {}
    if isinstance(hit.get("points"), int):
        metrics["likes"] = hit["points"]
    if isinstance(hit.get("num_comments"), int):
        metrics["replies"] = hit["num_comments"]
    author = hit.get("author")
    return PostRecord(
        source="hackernews",
        source_id=str(object_id),
        text=text,
        created_at=created_at,
        author=str(author) if author else None,
        url=f"https://news.ycombinator.com/item?id={object_id}",
        metrics=metrics,
        # Algolia repeats the author's name as an "author_<name>" tag, which key-based scrubbing cannot see.
        raw={**hit, "_tags": [t for t in hit.get("_tags") or [] if not str(t).startswith("author_")]},
    )


COLLECTOR = HackerNewsCollector
