"""The one record every source produces: what a post is, before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
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
