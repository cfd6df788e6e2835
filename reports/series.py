"""From summed counts to what the charts draw: per-period shares, means and intervals, with gaps.

Only arithmetic on the (small) aggregated cube happens here; a period whose relevant posts fall below the
request's minimum gets NaN, which matplotlib draws as a gap instead of a share computed from three posts.
Posts without a sentiment score (languages no scorer covers) are left out of every sentiment mean, never
counted as 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from reports.aggregate import EMPTY_CUBE, Cube
from reports.periods import buckets_between
from reports.request import FREQUENCIES
from reports.shares import Share, ShareEstimator, raw_shares, wilson_interval
from storage.models import ASPECTS, STANCES

Z_95 = 1.959964
#: Periods in the centred rolling window of the sentiment smoother.
SMOOTHING_WINDOW = {"day": 7, "week": 3, "month": 3}
#: ``--freq auto`` wants at least this many relevant posts in most periods (a share from 30 posts still has
#: a 95% interval about 35 points wide) ...
AUTO_MIN_RELEVANT = 30
#: ... in at least this fraction of the periods.
AUTO_PERIOD_SHARE = 0.8


@dataclass(frozen=True)
class Interval:
    """Per-period estimate with a 95% interval; NaN where the period has too few posts."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def median_width(self) -> float:
        widths = (self.high - self.low)[~np.isnan(self.value)]
        return float(np.median(widths)) if len(widths) else math.nan


@dataclass(frozen=True)
class TimeSeries:
    starts: list[date]
    freq: str
    posts: np.ndarray
    relevant: np.ndarray
    #: True where a period has fewer relevant posts than the minimum: no share or mean is drawn there.
    hidden: np.ndarray
    sentiment: Interval
    sentiment_smooth: np.ndarray
    #: Stance shares as the report states them (corrected when a confusion matrix is stored).
    stances: dict[str, Interval]
    #: The shares of posts as the classifier labelled them, with Wilson intervals.
    stances_raw: dict[str, Interval]
    shares_corrected: bool
    aspects: dict[str, Interval]
    #: The share voicing a safety concern, corrected when the model stored a safety confusion ...
    safety_concern: Interval
    #: ... and the share the classifier flagged, with Wilson intervals.
    safety_concern_raw: Interval
    safety_corrected: bool

    def wide_intervals(self, limit: float = 0.4) -> float | None:
        """The median width of the drawn stance intervals when it exceeds ``limit``, else None."""
        widths = [self.stances[s].median_width() for s in STANCES]
        widths = [w for w in widths if not math.isnan(w)]
        width = float(np.median(widths)) if widths else math.nan
        return width if width > limit else None


@dataclass(frozen=True)
class GroupSummary:
    """Stance shares and mean sentiment of one group (a language, a source, a period)."""

    label: str
    posts: int
    relevant: int
    stances: dict[str, Share]
    sentiment: tuple[float, float, float]
    safety_concern: tuple[float, float, float]
    #: Shares as classified (uncorrected), for showing beside ``stances``.
    raw: dict[str, Share]
    #: Relevant posts with a sentiment score (languages without a scorer have none).
    sentiment_n: int = 0
    #: The share flagged as voicing a safety concern (``safety_concern`` is corrected when it can be).
    safety_concern_raw: tuple[float, float, float] = (math.nan, math.nan, math.nan)


def mean_interval(n: float, total: float, squares: float) -> tuple[float, float, float]:
    """Mean with a normal-approximation 95% interval, from count, sum and sum of squares."""
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    mean = total / n
    if n < 2:
        return (mean, math.nan, math.nan)
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = Z_95 * math.sqrt(variance / n)
    return (mean, mean - half, mean + half)


def proportion(k: float, n: float) -> tuple[float, float, float]:
    low, high = wilson_interval(k, n)
    return (k / n if n else math.nan, low, high)


def stance_counts(counts: Mapping[str, float]) -> dict[str, int]:
    return {s: int(counts.get(f"stance_{s}", 0)) for s in STANCES}


def summarise_group(label: str, cube: Cube, estimator: ShareEstimator, min_posts: int) -> GroupSummary:
    """Shares, means and intervals of the posts counted in ``cube`` (its stance shares corrected per community
    and language, which the cube's cells keep apart)."""
    counts = cube.total()
    relevant = int(counts.get("relevant", 0))
    nan3 = (math.nan, math.nan, math.nan)
    enough = relevant >= min_posts
    hidden = {s: Share(math.nan, math.nan, math.nan, False) for s in STANCES}
    sentiment = mean_interval(counts.get("sentiment_n", 0), counts.get("sentiment_sum", 0),
                              counts.get("sentiment_sq", 0))
    return GroupSummary(
        label=label,
        posts=int(counts.get("posts", 0)),
        relevant=relevant,
        stances=estimator.estimate(cube.cells()) if enough else hidden,
        raw=raw_shares(stance_counts(counts)) if enough else hidden,
        sentiment=sentiment if counts.get("sentiment_n", 0) >= min_posts else nan3,
        safety_concern=estimator.safety(counts.get("safety_concern", 0), relevant) if enough else nan3,
        sentiment_n=int(counts.get("sentiment_n", 0)),
        safety_concern_raw=proportion(counts.get("safety_concern", 0), relevant) if enough else nan3,
    )


def choose_freq(cube: Cube, first: date, last: date, min_relevant: int = AUTO_MIN_RELEVANT,
                share: float = AUTO_PERIOD_SHARE) -> str:
    """The shortest period length (day, week, month) whose periods between ``first`` and ``last`` hold at least
    ``min_relevant`` relevant posts in ``share`` of the periods; month when none does."""
    for freq in FREQUENCIES[:-1]:
        starts = buckets_between(first, last, freq)
        per_bucket = cube.rolled_up("bucket", freq)
        enough = [per_bucket.get(s, {}).get("relevant", 0) >= min_relevant for s in starts]
        if len(starts) > 1 and sum(enough) >= share * len(starts):
            return freq
    return FREQUENCIES[-1]


def build_time_series(cube: Cube, first: date, last: date, freq: str, estimator: ShareEstimator,
                      min_posts: int) -> TimeSeries:
    starts = buckets_between(first, last, freq)
    parts = cube.split("bucket", freq)
    groups = [summarise_group(str(s), parts.get(s, EMPTY_CUBE), estimator, min_posts) for s in starts]
    per_bucket = {start: part.total() for start, part in parts.items()}

    def column(name: str) -> np.ndarray:
        return np.array([per_bucket.get(s, {}).get(name, 0.0) for s in starts], dtype=float)

    relevant = column("relevant")
    hidden = relevant < max(min_posts, 1)
    sentiment_n = column("sentiment_n")
    smooth = _rolling_mean(column("sentiment_sum"), sentiment_n, SMOOTHING_WINDOW[freq], min_posts)
    # The smoothed line never runs through a period whose own mean is hidden for having too few posts.
    smooth[hidden | (sentiment_n < min_posts)] = np.nan
    return TimeSeries(
        starts=starts,
        freq=freq,
        posts=column("posts"),
        relevant=relevant,
        hidden=hidden,
        sentiment=_interval([g.sentiment for g in groups]),
        sentiment_smooth=smooth,
        stances={s: _interval([(g.stances[s].share, g.stances[s].low, g.stances[s].high) for g in groups])
                 for s in STANCES},
        stances_raw={s: _interval([(g.raw[s].share, g.raw[s].low, g.raw[s].high) for g in groups])
                     for s in STANCES},
        shares_corrected=estimator.corrects,
        aspects={a: _proportions(column(f"aspect_{a}"), relevant, hidden) for a in ASPECTS},
        safety_concern=_interval([g.safety_concern for g in groups]),
        safety_concern_raw=_interval([g.safety_concern_raw for g in groups]),
        safety_corrected=estimator.safety_confusion is not None,
    )


def _proportions(k: np.ndarray, n: np.ndarray, hidden: np.ndarray) -> Interval:
    """Shares k/n with Wilson intervals, NaN where ``hidden``."""
    triples = [(math.nan,) * 3 if h else proportion(a, b) for a, b, h in zip(k, n, hidden)]
    return _interval(triples)


def _interval(triples: list[tuple[float, float, float]]) -> Interval:
    array = np.array(triples, dtype=float).reshape(len(triples), 3)
    return Interval(array[:, 0], array[:, 1], array[:, 2])


def _rolling_mean(sums: np.ndarray, counts: np.ndarray, window: int, min_posts: int) -> np.ndarray:
    """Centred rolling mean weighted by post volume: total polarity over total posts in the window."""
    half = window // 2
    padded_sums = np.concatenate([[0.0], np.cumsum(sums)])
    padded_counts = np.concatenate([[0.0], np.cumsum(counts)])
    index = np.arange(len(sums))
    upper = np.minimum(index + half + 1, len(sums))
    lower = np.maximum(index - half, 0)
    window_sums = padded_sums[upper] - padded_sums[lower]
    window_counts = padded_counts[upper] - padded_counts[lower]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(window_counts >= min_posts, window_sums / window_counts, np.nan)
