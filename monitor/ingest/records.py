"""The one record every source produces: what a post is, before it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from monitor.ingest.timeparse import parse_timestamp


@dataclass(frozen=True)
class PostRecord:
    """A post as a source delivered it, already parsed but not yet normalised or pseudonymised.

    ``raw`` is the platform's payload for re-processing; it is never mutated.
    """

    source: str
    source_id: str
    text: str
    created_at: datetime  # timezone-aware, UTC
    author: str | None = None
    url: str | None = None
    lang_hint: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] | None = None


class InvalidRecord(ValueError):
    """One raw item could not become a post; the message names the field."""


def time_field(value: object, field: str) -> datetime:
    """Parse a payload's timestamp; a bad or missing one is an InvalidRecord naming ``field``."""
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise InvalidRecord(f"{field}: {exc}") from None


def object_field(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A payload's nested object at ``key``; empty when it is missing or not an object."""
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}


def id_field(value: object, field: str = "id") -> str:
    """A payload's id as text: strings and integers only (an object or list would be stored as its repr)."""
    if value is None or value == "":
        raise InvalidRecord(f"{field}: missing")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRecord(f"{field}: expected a string or an integer, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise InvalidRecord(f"{field}: missing")
    return text


def checked(record: PostRecord, earliest: datetime, latest: datetime) -> PostRecord:
    """``record`` without NUL characters (PostgreSQL rejects them in text and JSON), or InvalidRecord when its
    date lies outside ``earliest`` .. ``latest`` (typos, placeholders such as 9999-12-31 or 1970-01-01)."""
    if not earliest <= record.created_at <= latest:
        raise InvalidRecord(
            f"created_at: {record.created_at.isoformat()} is outside {earliest.date()} .. {latest.date()}"
        )
    fields = (record.source_id, record.text, record.author, record.url, record.lang_hint)
    if not _has_nul(record.raw) and "\x00" not in "".join(value for value in fields if value):
        return record
    return replace(
        record,
        source_id=record.source_id.replace("\x00", ""),
        text=record.text.replace("\x00", ""),
        author=_strip_nul(record.author),
        url=_strip_nul(record.url),
        lang_hint=_strip_nul(record.lang_hint),
        raw=_strip_nul(record.raw),
    )


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    return value
