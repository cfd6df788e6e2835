"""Pure parsing of X API v2 tweet objects (as the API, tweepy and twarc2 deliver them) into records.

Shared by the X collector and by file import of twarc2 JSONL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.ingest.records import InvalidRecord, PostRecord, id_field, time_field

METRIC_NAMES = {
    "like_count": "likes",
    "retweet_count": "reposts",
    "reply_count": "replies",
    "quote_count": "quotes",
}


def users_by_id(includes: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    users = (includes or {}).get("users") or []
    return {str(user.get("id")): user for user in users if isinstance(user, dict)}


def tweet_to_record(
    tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]] | None = None
) -> PostRecord:
    """One v2 tweet object (flattened twarc2 tweets carry an ``author`` object instead of includes)."""
    if not isinstance(tweet, Mapping):
        raise InvalidRecord(f"tweet: expected an object, got {type(tweet).__name__}")
    tweet_id = id_field(tweet.get("id"))
    text = tweet.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRecord("text: missing or empty")
    created_at = time_field(tweet.get("created_at"), "created_at")
    author_id = tweet.get("author_id")
    author = tweet.get("author") if isinstance(tweet.get("author"), Mapping) else None
    if author is None and users is not None and author_id is not None:
        author = users.get(str(author_id))
    username = author.get("username") if author else None
    metrics = tweet.get("public_metrics") or {}
    return PostRecord(
        source="x",
        source_id=str(tweet_id),
        text=text,
        created_at=created_at,
        author=username or (str(author_id) if author_id is not None else None),
        url=f"https://x.com/i/web/status/{tweet_id}",
        lang_hint=tweet.get("lang"),
        metrics={
            ours: int(metrics[theirs])
            for theirs, ours in METRIC_NAMES.items()
            if isinstance(metrics, Mapping) and isinstance(metrics.get(theirs), int)
        },
        raw=dict(tweet) if author is None else {**tweet, "author": dict(author)},
    )
