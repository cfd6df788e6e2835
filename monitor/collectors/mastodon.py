"""Mastodon through Mastodon.py: hashtag timelines and (with a token) v2 status search, on each instance.

Each (instance, hashtag) and (instance, search) pair is one query with its own cursor. Timelines and search
return newest first; a run walks back with ``max_id`` down to the ``since_id`` of the last complete run, and
while it walks the cursor also holds the walk position, so a killed run resumes at its last committed page.
The same status seen through two instances has one URI, which is its ``source_id``: it is stored once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
)

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.http import (
    USER_AGENT,
    Retry,
    RetryPolicy,
    call_with_retries,
    html_to_text,
    post_budget,
    source_policy,
)
from monitor.config import SourceSettings, Topic
from monitor.errors import CollectorError
from monitor.ingest.privacy import handle_free
from monitor.ingest.records import InvalidRecord, PostRecord, time_field

TOKEN_ENV = "MASTODON_ACCESS_TOKEN"
PAGE_SIZE = 40  # the API maximum for timelines and search
#: Skips the version probe Mastodon.py would otherwise make; every feature we use exists since 3.x.
ASSUMED_VERSION = "4.2.0"
SEARCH_PREFIX = "search:"


class MastodonCollector:
    name: ClassVar[str] = "mastodon"
    filter_by_keywords: ClassVar[bool] = False

    def __init__(
        self,
        instances: list[str],
        hashtags: list[str],
        search: str | None,
        access_token: str | None = None,
        max_posts_per_run: int | None = None,
        policy: RetryPolicy = RetryPolicy(),
    ):
        self.instances = [instance.rstrip("/") for instance in instances]
        self.hashtags = [tag.lstrip("#") for tag in hashtags]
        self.search = search
        self._access_token = access_token
        self.max_posts_per_run = max_posts_per_run
        self.policy = policy
        self._clients: dict[str, Mastodon] = {}

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]
    ) -> MastodonCollector:
        instances = [settings.base_url] if settings.base_url else settings.options.get("instances", [])
        hashtags = settings.options.get("hashtags", [])
        for key, value in (("instances", instances), ("hashtags", hashtags)):
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise CollectorError(
                    f"mastodon: [sources.mastodon] {key}: expected a list of strings, got {value!r}"
                )
        if not instances:
            raise CollectorError("mastodon: [sources.mastodon] instances is empty")
        token = environ.get(TOKEN_ENV) or None
        return cls(
            instances, hashtags, settings.query, token, settings.max_posts_per_run, source_policy(settings)
        )

    def queries(self) -> list[str]:
        """``<instance> #<tag>`` per hashtag; ``<instance> search:<query>`` too when a token allows search."""
        found = []
        for instance in self.instances:
            found += [f"{instance} #{tag}" for tag in self.hashtags]
            if self.search and self._access_token:
                found.append(f"{instance} {SEARCH_PREFIX}{self.search}")
        return found

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        instance, _, what = query.partition(" ")
        api = self._client(instance)
        state = dict(cursor or {})
        since_id = state.get("since_id") or (snowflake(window.since) if window.since else None)
        max_id = state.get("max_id") or (snowflake(window.until) if window.until else None)
        newest = state.get("newest_id") or state.get("since_id")
        budget = post_budget(window.limit, self.max_posts_per_run)
        read = 0
        for number in range(1, 1_000_000):
            request = self._request(api, what, since_id, max_id)
            try:
                statuses = call_with_retries(
                    request, self.policy, _classifier(api, self.policy), f"mastodon {query}"
                )
            except MastodonAPIError as exc:
                if isinstance(exc, MastodonServerError) or "parse" not in str(exc):
                    raise
                yield Page(
                    items=[],
                    failed=True,
                    errors=[ItemError(f"{query} page {number}", f"malformed response: {str(exc)[:300]}")],
                )
                return
            if not isinstance(statuses, list):
                yield Page(
                    items=[],
                    failed=True,
                    errors=[ItemError(f"{query} page {number}", "unexpected response: not a list")],
                )
                return
            items = [plain_json(status) for status in statuses]
            ids = [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id") is not None]
            if not ids:
                yield Page(items=items, cursor=_without_none({"since_id": newest}))
                return
            newest = max([value for value in (newest, *ids) if value], key=id_order)
            max_id = min(ids, key=id_order)
            read += len(items)
            yield Page(
                items=items,
                cursor=_without_none(
                    {"since_id": state.get("since_id"), "max_id": max_id, "newest_id": newest}
                ),
                positions=[f"{query} page {number} status {i + 1}" for i in range(len(items))],
            )
            if budget is not None and read >= budget:
                return

    def to_post(self, raw: Any) -> PostRecord:
        return status_to_record(raw)

    def _client(self, instance: str) -> Mastodon:
        if instance not in self._clients:
            client = Mastodon(
                api_base_url=instance,
                access_token=self._access_token,
                # "throw": we wait ourselves, bounded; Mastodon.py's "wait" could sleep without limit.
                ratelimit_method="throw",
                # Mastodon.py hands it to requests, which takes (connect, read); its hint says float only.
                request_timeout=self.policy.timeout,  # type: ignore[arg-type]
                mastodon_version=ASSUMED_VERSION,
                version_check_mode="none",
                user_agent=USER_AGENT,
            )
            # Mastodon.py 2.x takes mastodon_version but leaves the parsed version at 1.0.0, which makes
            # search with min_id/max_id fail its "needs 2.8.0" check; set what the assumed version means.
            client.mastodon_major, client.mastodon_minor, client.mastodon_patch = map(
                int, ASSUMED_VERSION.split(".")
            )
            self._clients[instance] = client
        return self._clients[instance]

    @staticmethod
    def _request(api: Mastodon, what: str, since_id: str | None, max_id: str | None) -> Callable[[], Any]:
        if what.startswith(SEARCH_PREFIX):
            text = what[len(SEARCH_PREFIX) :]
            return lambda: api.search_v2(
                text, resolve=False, result_type="statuses", min_id=since_id, max_id=max_id, limit=PAGE_SIZE
            ).get("statuses")
        tag = what.lstrip("#")
        return lambda: api.timeline_hashtag(tag, since_id=since_id, max_id=max_id, limit=PAGE_SIZE)


def _classifier(api: Mastodon, policy: RetryPolicy) -> Callable[[BaseException], Retry | None]:
    def classify(exc: BaseException) -> Retry | None:
        if isinstance(exc, MastodonRatelimitError):
            # Mastodon.py keeps the X-RateLimit-Reset of the last response, already as Unix seconds.
            reset = getattr(api, "ratelimit_reset", None)
            return Retry(rate_limited=True, reset_at=float(reset) if reset else None)
        if isinstance(exc, (MastodonNetworkError, MastodonServerError)):
            return Retry()
        return None

    return classify


def snowflake(moment: datetime) -> str:
    """The smallest Mastodon id a status created at ``moment`` can have (ids are milliseconds << 16)."""
    return str(int(moment.timestamp() * 1000) << 16)


def id_order(status_id: str) -> tuple[int, str]:
    # Mastodon ids are decimal strings of growing length; Pleroma-style flake ids are fixed-length strings.
    return len(status_id), status_id


def plain_json(entity: Any) -> Any:
    """A Mastodon.py entity as the JSON the server sent: dates as ISO strings, the fields it never sent dropped."""
    if hasattr(entity, "to_json"):
        entity = json.loads(entity.to_json(pretty=False))["_mastopy_data"]
    return _without_none_deep(entity)


def _without_none_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none_deep(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none_deep(item) for item in value]
    return value


def _without_none(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if value is not None}


def status_to_record(raw: Any) -> PostRecord:
    if not isinstance(raw, Mapping):
        raise InvalidRecord(f"status: expected an object, got {type(raw).__name__}")
    status = raw["reblog"] if isinstance(raw.get("reblog"), Mapping) else raw
    uri = status.get("uri")
    if not isinstance(uri, str) or not uri:
        raise InvalidRecord("uri: missing")
    content = status.get("content")
    if not isinstance(content, str):
        raise InvalidRecord("content: missing")
    parts = [status.get("spoiler_text"), content]
    text = "\n\n".join(html_to_text(part) for part in parts if isinstance(part, str) and part.strip())
    if not text:
        raise InvalidRecord("content: empty")
    created_at = time_field(status.get("created_at"), "created_at")
    account = status.get("account")
    if not isinstance(account, Mapping):
        raise InvalidRecord("account: missing")
    return PostRecord(
        source="mastodon",
        # The URI names the account (/users/<name>/statuses/<id>); without the name it is still unique.
        source_id=handle_free_uri(uri),
        text=text,
        created_at=created_at,
        author=full_handle(account),
        # Every web URL of a status names its account, so none is stored.
        url=None,
        lang_hint=status.get("language") or None,
        metrics={
            ours: status[theirs]
            for theirs, ours in (
                ("favourites_count", "likes"),
                ("reblogs_count", "reposts"),
                ("replies_count", "replies"),
            )
            if isinstance(status.get(theirs), int)
        },
        raw=dict(raw),
    )


def handle_free_uri(uri: str) -> str:
    """``https://host/users/name/statuses/id`` -> ``https://host/statuses/id``; other forms lose any profile path."""
    match = _STATUS_URI.match(uri)
    if match:
        return f"{match['origin']}/statuses/{match['id']}"
    return handle_free(uri)


_STATUS_URI = re.compile(r"^(?P<origin>https?://[^/]+)/(?:users/[^/]+/statuses|@[^/]+)/(?P<id>[^/?#]+)$")


def full_handle(account: Mapping[str, Any]) -> str | None:
    """``user@domain`` for every account: local accounts' ``acct`` lacks the domain, so take it from their URL."""
    acct = account.get("acct") or account.get("username")
    if not isinstance(acct, str) or not acct:
        return None
    if "@" in acct:
        return acct
    domain = urlsplit(str(account.get("url") or "")).netloc
    return f"{acct}@{domain}" if domain else acct


COLLECTOR = MastodonCollector
