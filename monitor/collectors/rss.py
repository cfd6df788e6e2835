"""RSS and Atom feeds (news sites, blogs): each configured feed is one query and one page per run.

The bytes are fetched with requests (so retries, timeouts and rate limits are ours) and parsed by feedparser.
Feeds have no paging and entries may lack dates, so the cursor per feed is the newest entry time plus the ids
already stored; an entry is new when its id was not seen and it is not older than that time.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import feedparser
import requests

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.http import RetryPolicy, get, html_to_text, new_session, post_budget, source_policy
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError
from monitor.ingest.normalise import MAX_TEXT_CHARS
from monitor.ingest.records import InvalidRecord, PostRecord, time_field

#: Ids remembered per feed; far more than any feed shows at once.
MAX_SEEN_IDS = 1000
MAX_ID_CHARS = 512


class RSSCollector:
    name: ClassVar[str] = "rss"
    filter_by_keywords: ClassVar[bool] = True

    def __init__(
        self,
        feeds: list[str],
        max_posts_per_run: int | None = None,
        session: requests.Session | None = None,
        policy: RetryPolicy = RetryPolicy(),
    ):
        self.feeds = feeds
        self.max_posts_per_run = max_posts_per_run
        self.session = session or new_session()
        self.policy = policy

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]
    ) -> RSSCollector:
        feeds = settings.options.get("feeds", [])
        if not isinstance(feeds, list) or not all(isinstance(feed, str) and feed for feed in feeds):
            raise CollectorError(f"rss: [sources.rss] feeds: expected a list of feed URLs, got {feeds!r}")
        if not feeds:
            raise CollectorError("rss: [sources.rss] feeds is empty; list the feed URLs to follow")
        return cls(list(feeds), settings.max_posts_per_run, policy=source_policy(settings))

    def queries(self) -> list[str]:
        return list(self.feeds)

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        response = get(self.session, query, self.policy)
        parsed = feedparser.parse(
            response.content, response_headers={k.lower(): v for k, v in response.headers.items()}
        )
        if not parsed.entries and (parsed.bozo or not parsed.version):
            reason = (
                f"not an RSS or Atom feed ({parsed.get('bozo_exception') or 'no entries, no feed element'})"
            )
            yield Page(items=[], failed=True, errors=[ItemError(query, reason, response.text[:500])])
            return
        feed = parsed.feed
        fetched_at = datetime.now(UTC).replace(microsecond=0)
        raws = [entry_to_raw(entry, query, feed, fetched_at) for entry in parsed.entries]
        taken, cursor_state = select_new(
            raws, cursor, window, post_budget(window.limit, self.max_posts_per_run)
        )
        yield Page(
            items=taken, cursor=cursor_state, positions=[f"{query} entry {raw['position']}" for raw in taken]
        )

    def to_post(self, raw: Any) -> PostRecord:
        return entry_to_record(raw)


def select_new(
    raws: list[dict[str, Any]], cursor: Mapping[str, Any] | None, window: FetchWindow, budget: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The entries to store (oldest first, at most ``budget``) and the cursor that covers exactly them."""
    state = dict(cursor or {})
    newest = state.get("newest")
    seen = list(state.get("seen", []))
    seen_set = set(seen)
    since = window.since.astimezone(UTC).isoformat() if window.since else None
    until = window.until.astimezone(UTC).isoformat() if window.until else None

    def wanted(raw: Mapping[str, Any]) -> bool:
        moment = raw["published"]
        if raw["id"] in seen_set:
            return False
        if not raw.get("dated"):
            return True
        return (
            (newest is None or moment >= newest)
            and (since is None or moment >= since)
            and (until is None or moment < until)
        )

    fresh = sorted((raw for raw in raws if wanted(raw)), key=lambda raw: raw["published"])
    taken = fresh if budget is None else fresh[:budget]
    times = [raw["published"] for raw in taken if raw.get("dated")]
    newest = max([t for t in (newest, *times) if t], default=None)
    # Newest-first so that trimming keeps the ids most likely to show up again.
    remembered = [raw["id"] for raw in reversed(taken)] + seen
    new_state: dict[str, Any] = {"seen": remembered[:MAX_SEEN_IDS]}
    if newest:
        new_state["newest"] = newest
    return taken, new_state


def entry_to_raw(
    entry: Mapping[str, Any], feed_url: str, feed: Mapping[str, Any], fetched_at: datetime
) -> dict[str, Any]:
    """A feedparser entry as plain JSON: dates become ISO 8601 UTC, only the fields we use are kept."""
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    # feedparser's struct_times are UTC; an undated entry is dated when we first saw it.
    published = datetime.fromtimestamp(calendar.timegm(moment), tz=UTC) if moment else fetched_at
    content = entry.get("content") or []
    body = content[0].get("value") if content and isinstance(content[0], Mapping) else entry.get("summary")
    entry_id = entry.get("id") or entry.get("link")
    if not entry_id:
        basis = f"{entry.get('title', '')}\x00{body or ''}"
        entry_id = "sha1:" + hashlib.sha1(basis.encode()).hexdigest()
    if len(entry_id) > MAX_ID_CHARS:
        entry_id = "sha1:" + hashlib.sha1(entry_id.encode()).hexdigest()
    return {
        "id": entry_id,
        "position": str(entry.get("id") or entry.get("link") or entry.get("title") or "?")[:120],
        "title": entry.get("title"),
        "body": body,
        "link": entry.get("link"),
        "published": published.isoformat(),
        "dated": bool(moment),
        "author": entry.get("author"),
        "feed": feed_url,
        "feed_title": feed.get("title"),
        "language": feed.get("language"),
    }


def entry_to_record(raw: Any) -> PostRecord:
    if not isinstance(raw, Mapping):
        raise InvalidRecord(f"entry: expected an object, got {type(raw).__name__}")
    if not raw.get("id"):
        raise InvalidRecord("id: missing")
    parts = [raw.get("title"), raw.get("body")]
    text = "\n\n".join(html_to_text(part) for part in parts if isinstance(part, str) and part.strip())
    if not text:
        raise InvalidRecord("text: missing or empty (no title or summary)")
    if not raw.get("published"):
        raise InvalidRecord("published: missing")
    created_at = time_field(raw["published"], "published")
    language = raw.get("language")
    return PostRecord(
        source="rss",
        source_id=str(raw["id"]),
        text=text[:MAX_TEXT_CHARS],
        created_at=created_at,
        author=raw.get("author") or None,
        url=raw.get("link") or None,
        lang_hint=language.split("-")[0].lower() if isinstance(language, str) and language else None,
        raw=dict(raw),
    )


COLLECTOR = RSSCollector
