"""Everything a report shows, gathered from the database in a fixed, small number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from reports.aggregate import Cube, Scope, count_cube
from reports.charts import Marker
from reports.lookups import SourceCoverage, collection_coverage, model_versions, resolve_model_version
from reports.periods import as_date, previous_window
from reports.request import ReportRequest
from reports.sample import SampledPost, representative_posts, sample_posts
from reports.series import AUTO_MIN_RELEVANT, GroupSummary, TimeSeries, build_time_series, choose_freq, summarise_group
from reports.shares import ShareEstimator, find_corrector
from reports.style import language_name
from reports.terms import StanceTerms, stance_terms
from reports.wording import plural
from storage.models import STANCES, ModelVersion

Window = tuple[date, date]
#: Without a requested start date, the summary compares the last this-many days with those before.
COMPARISON_DAYS = {"day": 1, "week": 7, "month": 30}
#: Headline shares from fewer relevant posts than this get a warning.
FEW_POSTS = AUTO_MIN_RELEVANT
#: A corrected share this far from the classified one is worth a sentence (in share points).
DIVERGENCE = 0.15
#: The same for the share voicing a safety concern, which is small: 5 points is most of it.
SAFETY_DIVERGENCE = 0.05


@dataclass(frozen=True)
class VersionInfo:
    """A ModelVersion detached from the session, so report content can be pickled to a render process."""

    id: int
    name: str
    active: bool
    created_at: datetime | None
    activated_at: datetime | None
    metrics: dict

    @classmethod
    def of(cls, version: ModelVersion) -> VersionInfo:
        return cls(version.id, version.name, bool(version.active), version.created_at, version.activated_at,
                   dict(version.metrics or {}))


@dataclass(frozen=True)
class Comparison:
    """Key numbers of the latest window against the window of the same length just before it."""

    description: str
    current_window: Window
    previous_window: Window
    current: GroupSummary
    previous: GroupSummary


@dataclass(frozen=True)
class ReportContent:
    request: ReportRequest
    generated_at: datetime
    model_version: VersionInfo | None
    all_versions: list[VersionInfo]
    #: First and last day shown; None when the scope holds no posts.
    period: Window | None
    synthetic: bool
    series: TimeSeries | None
    total: GroupSummary
    comparison: Comparison | None
    languages: list[GroupSummary]
    sources: list[GroupSummary]
    terms: list[StanceTerms]
    examples: list[SampledPost]
    coverage: list[SourceCoverage]
    markers: list[Marker]
    share_note: str
    #: One line per alert the scheduler recorded for a period inside this report's period.
    alerts: list[str] = field(default_factory=list)
    #: True when the period length was chosen by ``--freq auto`` (``request.freq`` holds the choice).
    freq_chosen: bool = False
    #: What a reader must be told before quoting the numbers (few posts, wide intervals, large corrections).
    warnings: list[str] = field(default_factory=list)
    #: Which confusion matrix corrected which platforms' posts in which language ("web en": [("rss", "en")]);
    #: empty when the shares are raw.
    correction_matrices: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: True when the stance shares are corrected for classifier error.
    shares_corrected: bool = False
    #: True when the share voicing a safety concern is corrected by the model's safety confusion.
    safety_corrected: bool = False

    @property
    def posts(self) -> int:
        return self.total.posts

    @property
    def model_name(self) -> str:
        return self.model_version.name if self.model_version else "none active"


def collect(session: Session, request: ReportRequest) -> ReportContent:
    version = resolve_model_version(session, request.model_version_id)
    version_id = version.id if version else None
    metrics = version.metrics if version else None
    estimator = ShareEstimator.from_metrics(metrics, find_corrector())
    minimum = request.min_posts_per_period
    # The previous window of the same length is counted in the same pass (an open end: everything before).
    query_from = (previous_window(request.date_from, request.date_to)[0]
                  if request.date_from and request.date_to else None)
    cube = count_cube(session, Scope(version_id, query_from, request.date_to, request.langs, request.sources))
    period = _period(request, cube)
    shown = cube.within(*period) if period else cube.within(None, None)
    chosen = request.freq == "auto"
    if chosen:
        request = replace(request, freq=choose_freq(shown, *period) if period else "week")
    totals = shown.total()
    relevant = int(totals["relevant"])
    first, last = period or (None, None)
    scope = Scope(version_id, first, last, request.langs, request.sources)
    sample = sample_posts(session, scope, relevant) if request.sample_texts else []
    versions = [VersionInfo.of(v) for v in model_versions(session)]
    series = build_time_series(shown, *period, request.freq, estimator, minimum) if period else None
    comparison = _comparison(request, cube, period, estimator) if period else None
    return ReportContent(
        request=request,
        generated_at=datetime.now(UTC),
        model_version=VersionInfo.of(version) if version else None,
        all_versions=versions,
        period=period,
        synthetic=totals["demo"] > 0,
        series=series,
        total=summarise_group("this period", shown, estimator, minimum),
        comparison=comparison,
        languages=_groups(shown, "lang", estimator, minimum, language_name),
        sources=_groups(shown, "source", estimator, minimum, str),
        terms=stance_terms([(p.stance, p.text) for p in sample]) if sample else [],
        examples=representative_posts(sample),
        coverage=collection_coverage(session),
        alerts=_alert_lines(session, period),
        markers=_markers(request, versions),
        share_note=estimator.describe(),
        freq_chosen=chosen,
        warnings=_warnings(series, comparison),
        correction_matrices=estimator.matrices(shown.cells()),
        shares_corrected=estimator.corrects,
        safety_corrected=estimator.safety_confusion is not None,
    )


def _warnings(series: TimeSeries | None, comparison: Comparison | None) -> list[str]:
    """Sentences a reader of the key numbers must see before quoting them."""
    notes = []
    if comparison is not None:
        few = [(name, group.relevant) for name, group in (("previous", comparison.previous),
                                                          ("current", comparison.current))
               if group.relevant < FEW_POSTS]
        if few:
            counts = " and ".join(f"{plural(n, 'relevant post')} ({name})" for name, n in few)
            notes.append(f"The headline shares rest on {counts}: with fewer than {FEW_POSTS} posts a share can "
                         f"move by 20 points by chance; quote the intervals, not the points.")
        current = comparison.current
        for stance in STANCES:
            corrected, raw = current.stances[stance].share, (current.raw or {}).get(stance)
            if raw is not None and abs(corrected - raw.share) >= DIVERGENCE:
                notes.append(f"The correction moves the current {stance.replace('_', '-')} share from "
                             f"{raw.share:.0%} (as classified) to {corrected:.0%}: it assumes the model errs on "
                             f"these posts as it did on the labelled posts of their community; see the page of "
                             f"correction matrices.")
                break
        corrected, flagged = current.safety_concern[0], current.safety_concern_raw[0]
        if abs(corrected - flagged) >= SAFETY_DIVERGENCE:  # False when either is NaN
            notes.append(f"The correction puts the current share voicing a safety concern at {corrected:.0%} "
                         f"against {flagged:.0%} flagged by the classifier, which flags some posts without "
                         f"one; see the page of correction matrices.")
    if series is not None:
        width = series.wide_intervals()
        if width is not None:
            notes.append(f"The stance intervals per {series.freq} are wide (median {width:.0%} of the scale): "
                         f"changes inside the bands are not evidence of a trend.")
    return notes


def _period(request: ReportRequest, cube: Cube) -> Window | None:
    """The requested days; open ends are filled from the first and last post found."""
    if request.date_from and request.date_to:
        return (request.date_from, request.date_to)
    if request.date_from:
        shown = cube.within(request.date_from, None)
        return (request.date_from, shown.last_day() or request.date_from)
    first, last = cube.first_day(), cube.last_day()
    if first is None or last is None:  # an empty cube
        return None
    return (first, request.date_to or last)


def _comparison(request: ReportRequest, cube: Cube, period: Window, estimator: ShareEstimator) -> Comparison:
    """The requested period vs. the one before; without a requested start, the latest period vs. the one before."""
    if request.date_from:
        current = period
        description = "the report period vs. the period of the same length before it"
    else:
        days = COMPARISON_DAYS[request.freq]
        current = (max(period[0], period[1] - timedelta(days=days - 1)), period[1])
        description = f"the last {plural(days, 'day')} with data vs. the {plural(days, 'day')} before"
    previous = previous_window(*current)
    minimum = request.min_posts_per_period
    return Comparison(
        description=description,
        current_window=current,
        previous_window=previous,
        current=summarise_group("current", cube.within(*current), estimator, minimum),
        previous=summarise_group("previous", cube.within(*previous), estimator, minimum),
    )


def _groups(cube: Cube, dimension: Literal["lang", "source"], estimator: ShareEstimator, minimum: int,
            name) -> list[GroupSummary]:
    parts = cube.split(dimension)
    ordered = sorted(parts.items(), key=lambda item: -item[1].total()["posts"])
    return [summarise_group(name(label), part, estimator, minimum) for label, part in ordered]


def _markers(request: ReportRequest, versions: list[VersionInfo]) -> list[Marker]:
    markers = [Marker(e.date, str(i), e.label, "event") for i, e in enumerate(request.topic.events, start=1)]
    activated = sorted(((v.activated_at, v) for v in versions if v.activated_at is not None),
                       key=lambda pair: pair[0])
    markers += [Marker(as_date(at), f"M{i}", f"model {v.name} activated", "model")
                for i, (at, v) in enumerate(activated, start=1)]
    return markers


def _alert_lines(session: Session, period: Window | None) -> list[str]:
    from storage.scheduling_queries import alerts_between

    if period is None:
        return []
    alerts = alerts_between(session, *period)
    return [f"{alert.period_start:%Y-%m-%d} ({alert.freq}): {alert.message}" for alert in alerts]
