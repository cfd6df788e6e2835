"""Reddit re-checks: which stored submissions and comments were deleted or removed on Reddit since collected.

``/api/info?id=t3_..,t1_..`` (through PRAW's client, up to 100 fullnames a request) returns each thing as it is
now: a deleted one has ``[deleted]`` as body or selftext (and as author), a removed one ``[removed]`` or a
``removed_by_category``. A thing Reddit no longer returns at all counts as gone too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import praw

from monitor.collectors.reddit import parse_listing
from monitor.errors import CollectorError

IDS_PER_REQUEST = 100  # the /api/info maximum
GONE_TEXTS = ("[deleted]", "[removed]")


def gone_things(reddit: praw.Reddit, names: Iterable[str]) -> dict[str, str]:
    """Fullname -> why it must go (deleted, removed, removed_by_<category>, author deleted, not returned)."""
    names = list(names)
    gone: dict[str, str] = {}
    for start in range(0, len(names), IDS_PER_REQUEST):
        chunk = names[start : start + IDS_PER_REQUEST]
        listing = reddit.request(method="GET", path="/api/info", params={"id": ",".join(chunk)})
        children, _after, problem = parse_listing(listing)
        if problem:
            raise CollectorError(f"reddit /api/info: {problem}")
        seen = set()
        for child in children:
            data = child.get("data") if isinstance(child, Mapping) else None
            if not isinstance(data, Mapping) or not data.get("name"):
                continue
            seen.add(str(data["name"]))
            reason = why_gone(data)
            if reason:
                gone[str(data["name"])] = reason
        gone.update({name: "not returned by reddit" for name in chunk if name not in seen})
    return gone


def why_gone(data: Mapping[str, Any]) -> str | None:
    """Why a thing as /api/info returns it must be deleted, or None when it is still there."""
    if data.get("removed_by_category"):
        return f"removed ({data['removed_by_category']})"
    text = data.get("body") if "body" in data else data.get("selftext")
    if text in GONE_TEXTS:
        return "deleted" if text == "[deleted]" else "removed"
    if data.get("author") in (None, "[deleted]"):
        return "author deleted"
    return None
