"""Sources. Each is one module with one class behind the small ``Collector`` interface, registered by name.

A collector does two things: ``fetch`` pages of raw items over the network (or from files), and ``to_post``
turns one raw item into a ``PostRecord`` without any I/O. Storage, cursors, retries of whole runs and
pseudonymisation live in ``monitor.ingest.pipeline``, not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from monitor.config import SourceSettings, Topic
from monitor.ingest.records import PostRecord


@dataclass(frozen=True)
class ItemError:
    """A raw item or page that could not be used; recorded on the run, never raised."""

    position: str
    reason: str
    raw: str | None = None


@dataclass
class Page:
    """One page of raw items plus the cursor state to store once the page's posts are committed."""

    items: list[Any]
    cursor: dict[str, Any] | None = None
    errors: list[ItemError] = field(default_factory=list)
    #: Where each item came from (file line, page number), for error messages; same length as items.
    positions: list[str] | None = None
    #: Posts the platform says match the query (X counts), when known.
    counted: int | None = None
    #: The response itself could not be used (an error page, truncated or garbage body): the run failed.
    failed: bool = False


@dataclass(frozen=True)
class FetchWindow:
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None


@runtime_checkable
class Collector(Protocol):
    name: ClassVar[str]
    #: Whether posts that mention none of the topic's keywords are dropped, unless ``[sources.NAME]
    #: keyword_filter`` says otherwise. Off where the platform ran the query (search APIs, hashtag timelines):
    #: what it matched is paid for and kept, relevance is the classifier's job. On for feeds with no search.
    filter_by_keywords: ClassVar[bool]

    def queries(self) -> list[str]:
        """The queries this collector runs; each has its own cursor and run record."""
        ...

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        """Yield pages of raw items, newest state in ``Page.cursor``."""
        ...

    def to_post(self, raw: Any) -> PostRecord:
        """Turn one raw item into a record. Pure; raises ``InvalidRecord`` naming the bad field."""
        ...


class CollectorFactory(Protocol):
    def __call__(self, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]) -> Collector: ...


def registry() -> dict[str, CollectorFactory]:
    """Source name -> factory. Imported lazily so that one broken client library breaks one source only."""
    from monitor.collectors import file as file_source

    factories: dict[str, CollectorFactory] = {"file": file_source.FileCollector.from_settings}
    for name, module in (
        ("x", "x"),
        ("mastodon", "mastodon"),
        ("bluesky", "bluesky"),
        ("reddit", "reddit"),
        ("hackernews", "hackernews"),
        ("rss", "rss"),
    ):
        try:
            imported = __import__(f"monitor.collectors.{module}", fromlist=["COLLECTOR"])
        except ImportError:
            continue
        collector_class = getattr(imported, "COLLECTOR", None)
        if collector_class is not None:
            factories[name] = collector_class.from_settings
    return factories
