"""Settings: one frozen object, read once from ``stance.toml`` and the environment at the edge (the CLI).

Secrets are never part of Settings: collectors read their tokens from the environment when they are built.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, overload

from monitor.errors import ConfigError

# The topic and report frequencies are the reports' vocabulary; the configuration reads them into it.
from reports.request import FREQ_CHOICES, FREQUENCIES, Event, Topic

__all__ = ["FREQUENCIES", "ClusterSettings", "Event", "Settings", "SourceSettings", "Topic", "load_settings"]

DEFAULT_PATH = Path("stance.toml")
SOURCE_NAMES = ("x", "mastodon", "bluesky", "reddit", "hackernews", "rss", "file")


@dataclass(frozen=True)
class SourceSettings:
    name: str
    enabled: bool = False
    base_url: str | None = None
    query: str | None = None
    max_posts_per_run: int | None = None
    #: ``keyword_filter``: drop posts mentioning none of the topic's keywords; None keeps the collector's default.
    keyword_filter: bool | None = None
    #: ``retention_days``: posts older than this are deleted by ``stance expire``; None uses ``[retention] days``.
    retention_days: int | None = None
    #: Seconds to wait for a connection and for data (every request); a run ends, failed, after
    #: ``max_run_seconds``.
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_run_seconds: float = 1800.0
    #: Source-specific keys (instances, subreddits, feeds, paths, ...), validated by the collector.
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportSettings:
    #: Not "reports": run from a source checkout, that is the reports package's folder.
    out_dir: Path = Path("stance-reports")
    freq: str = "auto"
    formats: tuple[str, ...] = ("pdf", "png")
    min_posts_per_period: int = 5


@dataclass(frozen=True)
class ClusterSettings:
    """``[cluster]``: the Celery broker. Without ``broker_url`` every job runs in the calling process."""

    #: redis://host:6379/0 or amqp://user:password@host:5672//; STANCE_BROKER_URL overrides it.
    broker_url: str | None = None
    #: Queue names are ``<prefix>.collect``, ``<prefix>.classify``, ``<prefix>.rescore``, ``<prefix>.report``,
    #: so several projects (or test runs) can share one broker.
    queue_prefix: str = "stance"
    #: Seconds before Redis hands an unacknowledged task to another worker: above the longest task.
    visibility_timeout: int = 3600
    #: Post ids per embed-and-classify or re-score task.
    batch_size: int = 500


@dataclass(frozen=True)
class Settings:
    path: Path | None
    database_url: str
    topic: Topic
    sources: Mapping[str, SourceSettings]
    report: ReportSettings
    classify_batch_size: int = 2000
    models_dir: Path = Path("models")
    #: Where ``stance train`` finds the labelled datasets' texts (the Reddit pool, the web passages).
    datasets_dir: Path = Path("../shared/datasets")
    pseudonymise_authors: bool = True
    pseudonymise_raw: bool = True
    #: Sources whose posts are stored without any author (not even a pseudonym): reports stay aggregate.
    aggregate_only: tuple[str, ...] = ("x",)
    #: Replace @mentions in stored text with ``@user``.
    mask_mentions: bool = False
    #: ``[retention] days``: default age after which ``stance expire`` deletes posts (None: keep forever).
    retention_days: int | None = None
    #: Posts dated before this day, or more than ``future_days`` ahead of now, are rejected at import.
    earliest_post: date = date(2006, 1, 1)
    future_days: int = 2
    schedule: Mapping[str, Any] = field(default_factory=dict)
    alerts: Mapping[str, Any] = field(default_factory=dict)
    cluster: ClusterSettings = field(default_factory=lambda: ClusterSettings())

    def enabled_sources(self) -> list[SourceSettings]:
        return [s for s in self.sources.values() if s.enabled]

    def keyword_filters(self) -> dict[str, bool]:
        """Source name -> keyword filter on or off, for the sources whose configuration says so."""
        return {s.name: s.keyword_filter for s in self.sources.values() if s.keyword_filter is not None}

    def retention(self) -> dict[str, int]:
        """Source name -> days posts are kept, for every source with a retention period."""
        days = {name: s.retention_days or self.retention_days for name, s in self.sources.items()}
        return {name: d for name, d in days.items() if d}


def default_config_text() -> str:
    return resources.files("monitor").joinpath("default_config.toml").read_text(encoding="utf-8")


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (default ``./stance.toml``; the built-in defaults when that file does not exist)."""
    environ = os.environ if environ is None else environ
    explicit = path is not None
    path = Path(path) if path else DEFAULT_PATH
    if path.exists():
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name}: cannot read: {exc}") from exc
    elif explicit:
        raise ConfigError(f"{path}: no such configuration file (run `stance init` to write one)")
    else:
        name, text, path = "built-in defaults", default_config_text(), None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: invalid TOML: {' '.join(str(exc).split())}") from exc
    return _build(data, name, path, environ)


class _Reader:
    """Typed access to one table of the TOML document, with errors naming file and key."""

    def __init__(self, data: Mapping[str, Any], where: str, file: str):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{file}: [{where}]: expected a table, got {type(data).__name__}")
        self.data, self.where, self.file = data, where, file

    def fail(self, key: str, expected: str) -> ConfigError:
        prefix = f"[{self.where}] " if self.where else ""
        return ConfigError(f"{self.file}: {prefix}{key}: expected {expected}, got {self.data[key]!r}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, expected: str) -> Any:
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(key, expected)
        return value

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(key, list, list(default), "a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise self.fail(key, "a list of strings")
        return tuple(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default, f"one of {', '.join(choices)}")
        if value not in choices:
            raise self.fail(key, f"one of {', '.join(choices)}")
        return value

    def positive_int(self, key: str, default: int | None) -> int | None:
        value = self.get(key, int, default, "a positive integer")
        if value is not None and value <= 0:
            raise self.fail(key, "a positive integer")
        return value


def _build(data: dict[str, Any], file: str, path: Path | None, environ: Mapping[str, str]) -> Settings:
    root = _Reader(data, "", file)
    topic = _topic(_Reader(data.get("topic", {}), "topic", file))
    sources_table = data.get("sources", {})
    _Reader(sources_table, "sources", file)
    unknown = sorted(set(sources_table) - set(SOURCE_NAMES))
    if unknown:
        raise ConfigError(
            f"{file}: [sources.{unknown[0]}]: unknown source; expected one of {', '.join(SOURCE_NAMES)}"
        )
    sources = {
        name: _source(name, _Reader(sources_table.get(name, {}), f"sources.{name}", file), environ)
        for name in SOURCE_NAMES
    }
    report = _Reader(data.get("report", {}), "report", file)
    formats = report.str_list("formats", ("pdf", "png"))
    bad = [f for f in formats if f not in ("pdf", "png")]
    if bad:
        raise report.fail("formats", "a list of 'pdf' and/or 'png'")
    privacy = _Reader(data.get("privacy", {}), "privacy", file)
    ingest = _Reader(data.get("ingest", {}), "ingest", file)
    classify = _Reader(data.get("classify", {}), "classify", file)
    models = _Reader(data.get("models", {}), "models", file)
    database_url = environ.get("STANCE_DATABASE_URL") or root.get(
        "database_url", str, "sqlite:///stance.db", "an SQLAlchemy URL string"
    )
    return Settings(
        path=path,
        database_url=database_url,
        topic=topic,
        sources=sources,
        report=ReportSettings(
            out_dir=Path(report.get("out_dir", str, "stance-reports", "a directory path")),
            freq=report.choice("freq", FREQ_CHOICES, "auto"),
            formats=formats,
            min_posts_per_period=report.positive_int("min_posts_per_period", 5) or 5,
        ),
        classify_batch_size=classify.positive_int("batch_size", 2000) or 2000,
        models_dir=Path(models.get("dir", str, "models", "a directory path")),
        datasets_dir=Path(models.get("datasets_dir", str, "../shared/datasets", "a directory path")),
        pseudonymise_authors=privacy.get("pseudonymise_authors", bool, True, "true or false"),
        pseudonymise_raw=privacy.get("pseudonymise_raw", bool, True, "true or false"),
        aggregate_only=privacy.str_list("aggregate_only", ("x",)),
        mask_mentions=privacy.get("mask_mentions", bool, False, "true or false"),
        retention_days=_Reader(data.get("retention", {}), "retention", file).positive_int("days", None),
        earliest_post=_day(ingest, "earliest_post", date(2006, 1, 1)),
        future_days=ingest.positive_int("future_days", 2) or 2,
        schedule=_Reader(data.get("schedule", {}), "schedule", file).data,
        alerts=_Reader(data.get("alerts", {}), "alerts", file).data,
        cluster=_cluster(_Reader(data.get("cluster", {}), "cluster", file), environ),
    )


def _cluster(reader: _Reader, environ: Mapping[str, str]) -> ClusterSettings:
    broker = environ.get("STANCE_BROKER_URL") or reader.get("broker_url", str, None, "a broker URL string")
    return ClusterSettings(
        broker_url=broker or None,
        queue_prefix=reader.get("queue_prefix", str, "stance", "a string"),
        visibility_timeout=reader.positive_int("visibility_timeout", 3600) or 3600,
        batch_size=reader.positive_int("batch_size", 500) or 500,
    )


@overload
def _day(reader: _Reader, key: str, default: date) -> date: ...
@overload
def _day(reader: _Reader, key: str, default: None) -> date | None: ...
def _day(reader: _Reader, key: str, default: date | None) -> date | None:
    when = reader.get(key, (date, str), default, "a date like 2025-08-05")
    if isinstance(when, str):
        try:
            when = date.fromisoformat(when)
        except ValueError:
            raise reader.fail(key, "a date like 2025-08-05") from None
    return when


def _topic(reader: _Reader) -> Topic:
    events = []
    raw_events = reader.get("events", list, [], "a list of {date, label} tables")
    for index, raw in enumerate(raw_events):
        event = _Reader(raw, f"topic.events[{index}]", reader.file)
        when = _day(event, "date", None)
        if when is None:
            raise ConfigError(f"{reader.file}: [topic.events[{index}]] date: missing")
        events.append(Event(when, event.get("label", str, "", "a string")))
    languages = reader.str_list("languages", ("de", "en"))
    return Topic(
        name=reader.get("name", str, "default", "a string"),
        title=reader.get("title", str, reader.data.get("name", "Stance Monitor"), "a string"),
        languages=languages,
        keywords=reader.str_list("keywords", ()),
        events=tuple(sorted(events, key=lambda e: e.date)),
    )


def _seconds(reader: _Reader, key: str, default: float) -> float:
    value = reader.get(key, (int, float), default, "a positive number of seconds")
    if isinstance(value, bool) or value <= 0:
        raise reader.fail(key, "a positive number of seconds")
    return float(value)


def _source(name: str, reader: _Reader, environ: Mapping[str, str]) -> SourceSettings:
    known = {"enabled", "base_url", "query", "max_posts_per_run", "keyword_filter", "retention_days",
             "connect_timeout", "read_timeout", "max_run_seconds"}
    base_url = environ.get(f"STANCE_{name.upper()}_BASE_URL") or reader.get(
        "base_url", str, None, "a URL string"
    )
    return SourceSettings(
        name=name,
        enabled=reader.get("enabled", bool, False, "true or false"),
        base_url=base_url,
        query=reader.get("query", str, None, "a string"),
        max_posts_per_run=reader.positive_int("max_posts_per_run", None),
        keyword_filter=reader.get("keyword_filter", bool, None, "true or false"),
        retention_days=reader.positive_int("retention_days", None),
        connect_timeout=_seconds(reader, "connect_timeout", 10.0),
        read_timeout=_seconds(reader, "read_timeout", 30.0),
        max_run_seconds=_seconds(reader, "max_run_seconds", 1800.0),
        options={k: v for k, v in reader.data.items() if k not in known},
    )
