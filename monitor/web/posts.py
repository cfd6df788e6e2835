"""The drill-down: which posts a click means, one page at a time, with opaque ``next`` tokens."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.web.filters import BadRequest, Filters
from monitor.web.overview import report_request
from reports.aggregate import Scope
from reports.drilldown import ListedPost, PostSelection, list_posts
from reports.lookups import resolve_model_version

PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
SELECTION_KEYS = ("relevant", "stance", "aspect", "concern")


@dataclass(frozen=True)
class PostsAnswer:
    filters: dict[str, str]
    #: What the click added to the filters (stance, aspect, relevant, concern).
    selection: dict[str, str]
    model: str | None
    posts: list[ListedPost]
    #: Pass as ``next`` for the following page; null on the last page.
    next: str | None


def parse_selection(params: Mapping[str, str | None]) -> dict[str, str]:
    selection = {key: (params.get(key) or "").strip() for key in SELECTION_KEYS}
    return {key: value for key, value in selection.items() if value}


def posts_page(session: Session, settings: Settings, filters: Filters, params: Mapping[str, str | None]
               ) -> PostsAnswer:
    request = report_request(session, settings, filters)
    version = resolve_model_version(session, request.model_version_id)
    scope = Scope(version.id if version else None, filters.date_from, filters.date_to, filters.langs,
                  filters.sources)
    chosen = parse_selection(params)
    concern = chosen.get("concern")
    if concern not in (None, "yes", "no"):
        raise BadRequest(f"concern: expected yes or no, got {concern!r}")
    try:
        selection = PostSelection(scope, chosen.get("relevant", "all"), chosen.get("stance"), chosen.get("aspect"),
                                  None if concern is None else concern == "yes")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    limit = _limit(params.get("limit"))
    page = list_posts(session, selection, limit, decode_token(params.get("next")))
    return PostsAnswer(filters.params(), chosen, version.name if version else None, page.posts,
                       encode_token(page.after) if page.after else None)


def _limit(value: str | None) -> int:
    if not value:
        return PAGE_SIZE
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest(f"limit: expected a number of posts, got {value!r}") from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequest(f"limit: expected 1 to {MAX_PAGE_SIZE}, got {limit}")
    return limit


def encode_token(after: tuple[datetime, int]) -> str:
    created_at, post_id = after
    if created_at.tzinfo is None:  # SQLite hands back naive UTC
        created_at = created_at.replace(tzinfo=UTC)
    raw = json.dumps([created_at.isoformat(), post_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> tuple[datetime, int] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        stamp, post_id = json.loads(raw)
        created_at = datetime.fromisoformat(stamp)
        if not isinstance(post_id, int):
            raise ValueError
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("next: not a page token from this dashboard; start from the first page") from None
    return created_at, post_id

