"""Helpers for the network collector tests: a real SQLite database, an ingest context, and a way to kill a run.

Imported explicitly by ``tests/test_collectors_*.py`` (not a pytest conftest, so it touches no other test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from classifiers.language import LanguageDetector
from monitor.collectors import Collector, FetchWindow, Page
from monitor.collectors.http import NO_WAIT, RetryPolicy
from monitor.ingest.pipeline import IngestContext, RunSummary, collect_query
from storage import queries
from storage.engine import open_database
from storage.models import Post

FIXTURES = Path(__file__).parent / "collector_fixtures"


def open_test_database(tmp_path: Path):
    _engine, sessions = open_database(f"sqlite:///{tmp_path}/t.db")
    return sessions


def ingest_context(keywords: tuple[str, ...] = ()) -> IngestContext:
    return IngestContext(topic="t", detector=LanguageDetector(), salt="s", keywords=keywords)


def stored_ids(sessions, source: str) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(Post.source_id).where(Post.source == source)))


def stored_posts(sessions, source: str) -> list[Post]:
    with sessions() as session:
        return list(session.scalars(select(Post).where(Post.source == source).order_by(Post.source_id)))


def stored_cursor(sessions, source: str, query: str) -> dict[str, Any] | None:
    with sessions() as session:
        return queries.get_cursor(session, source, query)


class RecordingSleep:
    """A sleep that only remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def policy(self, now: float = 1_700_000_000.0, **kwargs: Any) -> RetryPolicy:
        return RetryPolicy(sleep=self, clock=lambda: now, **kwargs)


class KilledAfter:
    """Wraps a collector so that its run dies (like Ctrl-C) after ``pages`` pages were handed to the pipeline."""

    def __init__(self, collector: Any, pages: int):
        self.collector, self.pages = collector, pages
        self.name = collector.name
        self.filter_by_keywords = collector.filter_by_keywords

    def queries(self) -> list[str]:
        return self.collector.queries()

    def to_post(self, raw: Any):
        return self.collector.to_post(raw)

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        for number, page in enumerate(self.collector.fetch(query, cursor, window), start=1):
            yield page
            if number >= self.pages:
                raise KeyboardInterrupt


__all__ = [
    "FIXTURES",
    "NO_WAIT",
    "KilledAfter",
    "RecordingSleep",
    "ingest_context",
    "open_test_database",
    "stored_cursor",
    "stored_ids",
    "stored_posts",
]


def kill_then_resume(
    sessions, make_collector: Callable[[], Collector], query: str, pages: int
) -> tuple[int, RunSummary]:
    """Collect ``query`` until the process "dies" after ``pages`` committed pages, then run it again, as a
    restarted job would: (posts stored when it died, the resumed run's summary)."""
    with pytest.raises(KeyboardInterrupt):
        collect_query(sessions, KilledAfter(make_collector(), pages=pages), query, ingest_context())
    stored_before = len(stored_ids(sessions, make_collector().name))
    return stored_before, collect_query(sessions, make_collector(), query, ingest_context())

