"""What a report is asked for and what it produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

FORMATS = ("pdf", "png")
FREQUENCIES = ("day", "week", "month")
#: What a request may ask for: a frequency, or "auto" (the shortest one whose periods hold enough posts).
FREQ_CHOICES = ("auto", *FREQUENCIES)


@dataclass(frozen=True)
class Event:
    """A dated event to mark on the charts (e.g. a model release)."""

    date: date
    label: str


@dataclass(frozen=True)
class Topic:
    """The debate a report is about: its name, title, languages, keywords and dated events."""

    name: str
    title: str
    languages: tuple[str, ...]
    keywords: tuple[str, ...]
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class ReportRequest:
    out_dir: Path
    topic: Topic
    #: Inclusive UTC dates; None means "from the first" / "to the last" classified post.
    date_from: date | None = None
    date_to: date | None = None
    freq: str = "auto"
    langs: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    formats: tuple[str, ...] = FORMATS
    #: Periods with fewer relevant posts than this show no share, rather than a noisy one.
    min_posts_per_period: int = 5
    #: None = the active stance ModelVersion; classifications of other versions are never mixed in.
    model_version_id: int | None = None
    #: Read a sample of post texts for the term statistics and representative posts (PDF pages only; the
    #: dashboard shows neither and skips the cost).
    sample_texts: bool = True

    def filters(self) -> list[tuple[str, str]]:
        """The filters a reader must know about, as (name, value): languages and sources."""
        chosen = []
        if self.langs:
            chosen.append(("language" if len(self.langs) == 1 else "languages", ", ".join(self.langs)))
        if self.sources:
            chosen.append(("source" if len(self.sources) == 1 else "sources", ", ".join(self.sources)))
        return chosen

    def __post_init__(self) -> None:
        if self.freq not in FREQ_CHOICES:
            raise ValueError(f"freq must be one of {', '.join(FREQ_CHOICES)}, not {self.freq!r}")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise ValueError(f"unknown report format(s): {', '.join(unknown)}; expected pdf and/or png")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        if self.min_posts_per_period < 1:
            raise ValueError("min_posts_per_period must be at least 1")


@dataclass(frozen=True)
class ReportResult:
    files: list[Path]
    #: Classified posts in the report's scope (relevant or not).
    posts: int
    #: First and last day covered, or None when there were no posts.
    period: tuple[date, date] | None
    synthetic: bool
    #: The period length drawn (the chosen one when the request said "auto").
    freq: str = ""
    #: What a reader of the numbers should be told (few posts behind the headline shares, wide intervals).
    warnings: list[str] = field(default_factory=list)
