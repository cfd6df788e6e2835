"""The overview's numbers: ``reports.content.collect`` (the PDF's own code path) reshaped for JSON and CSV.

Series are columnar (one list per line of a chart, one entry per period) because that is what the charts
draw; NaN (too few posts in a period) becomes null. CSV rows are the same lists, one row per period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.web.filters import BadRequest, Filters
from reports.content import ReportContent, collect
from reports.lookups import NoModelVersion
from reports.periods import next_bucket
from reports.request import ReportRequest
from reports.series import GroupSummary, Interval
from reports.shares import Share
from reports.style import LANGUAGE_NAMES
from storage import queries
from storage.models import ASPECTS, STANCES

Number = float | None
_LANGUAGE_CODES = {name: code for code, name in LANGUAGE_NAMES.items()}


@dataclass(frozen=True)
class Estimate:
    """A share or mean with its 95% interval; null where there were too few posts."""

    value: Number
    low: Number
    high: Number


@dataclass(frozen=True)
class Band:
    """One line of a chart: a value per period with its 95% interval."""

    value: list[Number]
    low: list[Number]
    high: list[Number]


@dataclass(frozen=True)
class Periods:
    freq: str
    #: First day of each period (the x axis).
    starts: list[date]
    #: The days of each period inside the shown period: what a click on it lists.
    first_days: list[date]
    last_days: list[date]


@dataclass(frozen=True)
class Volume:
    posts: list[int]
    relevant: list[int]


@dataclass(frozen=True)
class Shares:
    #: True when ``corrected`` is corrected for classifier error; else it repeats the raw shares.
    corrected_for_error: bool
    note: str
    corrected: dict[str, Band]
    raw: dict[str, Band]
    #: Which confusion matrix corrected which platforms' posts in which language ("web": ["rss de"]).
    matrices: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Sentiment:
    mean: Band
    smoothed: list[Number]


@dataclass(frozen=True)
class Aspects:
    #: The share voicing a safety concern, corrected for classifier error when ``corrected_for_error``.
    safety_concern: Band
    shares: dict[str, list[Number]]
    corrected_for_error: bool = False


@dataclass(frozen=True)
class Group:
    """A language, a source or the whole scope: shares corrected and raw, sentiment, safety concern."""

    #: The filter value that selects the group (a language code, a source name); "" for the total.
    key: str
    label: str
    posts: int
    relevant: int
    shares: dict[str, Estimate]
    raw_shares: dict[str, Estimate]
    sentiment: Estimate
    safety_concern: Estimate
    #: The share the classifier flagged as voicing a safety concern (what the posts link lists).
    safety_concern_flagged: Estimate


@dataclass(frozen=True)
class Marker:
    day: date
    tag: str
    label: str
    kind: str


@dataclass(frozen=True)
class ModelRef:
    id: int
    name: str
    active: bool


@dataclass(frozen=True)
class Meta:
    """What every answer says about itself: its filters, the model version, the period and provenance."""

    filters: dict[str, str]
    topic: str
    model: ModelRef | None
    models: list[ModelRef]
    #: First and last day shown; null when nothing matches.
    period: list[date] | None
    synthetic: bool
    generated_at: datetime


@dataclass(frozen=True)
class Overview:
    meta: Meta
    periods: Periods
    volume: Volume
    shares: Shares
    sentiment: Sentiment
    aspects: Aspects
    markers: list[Marker]
    total: Group
    languages: list[Group]
    sources: list[Group]


@dataclass(frozen=True)
class VolumeAnswer:
    meta: Meta
    periods: Periods
    volume: Volume
    markers: list[Marker] = field(default_factory=list)


@dataclass(frozen=True)
class SharesAnswer:
    meta: Meta
    periods: Periods
    shares: Shares
    total: Group
    languages: list[Group]
    sources: list[Group]


@dataclass(frozen=True)
class SentimentAnswer:
    meta: Meta
    periods: Periods
    sentiment: Sentiment
    aspects: Aspects


def report_request(session: Session, settings: Settings, filters: Filters) -> ReportRequest:
    """The ReportRequest the PDF would get for these filters (without the post-text sample it alone shows)."""
    version_id = None
    if filters.model:
        version = queries.model_version_by_name(session, filters.model)
        if version is None:
            raise BadRequest(f"model: no model version named {filters.model!r}")
        version_id = version.id
    return ReportRequest(out_dir=Path("."), topic=settings.topic, date_from=filters.date_from,
                         date_to=filters.date_to, freq=filters.freq, langs=filters.langs, sources=filters.sources,
                         min_posts_per_period=settings.report.min_posts_per_period, model_version_id=version_id,
                         sample_texts=False)


def overview(session: Session, settings: Settings, filters: Filters) -> Overview:
    try:
        content = collect(session, report_request(session, settings, filters))
    except NoModelVersion as exc:
        raise BadRequest(str(exc)) from None
    return shape(content, filters)


def shape(content: ReportContent, filters: Filters) -> Overview:
    """ReportContent as the dashboard's JSON: null for NaN, columns per chart line, groups with their keys."""
    series = content.series
    starts = series.starts if series else []
    freq = series.freq if series else filters.freq  # what "auto" chose
    ends = [next_bucket(s, freq) - timedelta(days=1) for s in starts]
    if content.period:  # each period clipped to the days shown
        first, last = content.period
        first_days, last_days = [max(s, first) for s in starts], [min(e, last) for e in ends]
    else:  # nothing matched, so there is no series and no period to clip
        first_days, last_days = [], []
    versions = [ModelRef(v.id, v.name, v.active) for v in content.all_versions]
    model = content.model_version
    return Overview(
        meta=Meta(filters.params(), content.request.topic.title,
                  ModelRef(model.id, model.name, model.active) if model else None, versions,
                  list(content.period) if content.period else None, content.synthetic, content.generated_at),
        periods=Periods(freq, list(starts), first_days, last_days),
        volume=Volume(_ints(series.posts) if series else [], _ints(series.relevant) if series else []),
        shares=Shares(bool(series and series.shares_corrected), content.share_note,
                      {s: _band(series.stances[s]) if series else _band(None) for s in STANCES},
                      {s: _band(series.stances_raw[s]) if series else _band(None) for s in STANCES},
                      {name: [f"{source} {lang}" for source, lang in cells]
                       for name, cells in content.correction_matrices.items()}),
        sentiment=Sentiment(_band(series.sentiment if series else None),
                            _numbers(series.sentiment_smooth) if series else []),
        aspects=Aspects(_band(series.safety_concern if series else None),
                        {a: _numbers(series.aspects[a].value) if series else [] for a in ASPECTS},
                        content.safety_corrected),
        markers=[Marker(m.day, m.tag, m.label, m.kind) for m in content.markers],
        total=_group(content.total, ""),
        languages=[_group(g, _LANGUAGE_CODES.get(g.label, g.label)) for g in content.languages],
        sources=[_group(g, g.label) for g in content.sources],
    )


def _number(value) -> Number:
    value = float(value)
    return None if math.isnan(value) else value


def _numbers(values: Iterable) -> list[Number]:
    return [_number(v) for v in values]


def _ints(values: Iterable) -> list[int]:
    return [int(v) for v in values]


def _band(interval: Interval | None) -> Band:
    if interval is None:
        return Band([], [], [])
    return Band(_numbers(interval.value), _numbers(interval.low), _numbers(interval.high))


def _estimate(triple) -> Estimate:
    if isinstance(triple, Share):
        triple = (triple.share, triple.low, triple.high)
    return Estimate(*(_number(v) for v in triple))


def _group(summary: GroupSummary, key: str) -> Group:
    return Group(key, summary.label, summary.posts, summary.relevant,
                 {s: _estimate(summary.stances[s]) for s in STANCES},
                 {s: _estimate(summary.raw[s]) for s in STANCES if summary.raw and s in summary.raw},
                 _estimate(summary.sentiment), _estimate(summary.safety_concern),
                 _estimate(summary.safety_concern_raw))


# --- CSV: what a chart shows, one row per period (or per group) ---------------------------------------

CSV_TABLES = ("volume", "shares", "sentiment", "aspects", "languages", "sources")


def csv_rows(data: Overview, table: str) -> list[dict[str, object]]:
    """The rows behind one chart or table: the same numbers as the JSON, flattened into columns."""
    if table in ("languages", "sources"):
        return [_flatten(asdict(group)) for group in getattr(data, table)]
    sections: dict[str, Volume | Shares | Sentiment | Aspects] = {
        "volume": data.volume, "shares": data.shares, "sentiment": data.sentiment, "aspects": data.aspects}
    section = sections[table]
    columns = {key: value for key, value in _flatten(asdict(section)).items() if isinstance(value, list)}
    rows = []
    for i, start in enumerate(data.periods.starts):
        row: dict[str, object] = {"period_start": start, "first_day": data.periods.first_days[i],
                                  "last_day": data.periods.last_days[i]}
        row.update({name: values[i] if i < len(values) else None for name, values in columns.items()})
        rows.append(row)
    return rows


def _flatten(value: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(_flatten(item, name + "_"))
        else:
            flat[name] = item
    return flat
