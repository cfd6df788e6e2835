"""From summed counts to what the charts draw: per-period shares, means and intervals, with gaps.

Only arithmetic on the (small) aggregated cube happens here; a period whose relevant posts fall below the
request's minimum gets NaN, which matplotlib draws as a gap instead of a share computed from three posts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from reports.aggregate import Cube
from reports.periods import buckets_between
from reports.shares import Share, ShareEstimator, raw_shares, wilson_interval
from storage.models import ASPECTS, STANCES

Z_95 = 1.959964
#: Periods in the centred rolling window of the sentiment smoother.
SMOOTHING_WINDOW = {"day": 7, "week": 3, "month": 3}


@dataclass(frozen=True)
class Interval:
    """Per-period estimate with a 95% interval; NaN where the period has too few posts."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class TimeSeries:
    starts: list[date]
    freq: str
    posts: np.ndarray
    relevant: np.ndarray
    sentiment: Interval
    sentiment_smooth: np.ndarray
    stances: dict[str, Interval]
    shares_corrected: bool
    aspects: dict[str, np.ndarray]
    safety_concern: Interval
    #: The counted shares with Wilson intervals, shown beside the corrected ones (same gaps).
    raw_stances: dict[str, Interval] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSummary:
    """Stance shares and mean sentiment of one group (a language, a source, a period)."""

    label: str
    posts: int
    relevant: int
    stances: dict[str, Share]
    sentiment: tuple[float, float, float]
    safety_concern: tuple[float, float, float]
    #: The counted shares with Wilson intervals, shown beside the corrected ``stances``.
    raw_stances: dict[str, Share] = field(default_factory=dict)


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


def summarise_group(label: str, counts: Mapping[str, float], estimator: ShareEstimator,
                    min_posts: int) -> GroupSummary:
    relevant = int(counts.get("relevant", 0))
    nan3 = (math.nan, math.nan, math.nan)
    enough = relevant >= min_posts
    missing = {s: Share(math.nan, math.nan, math.nan, False) for s in STANCES}
    stances = estimator.estimate(stance_counts(counts)) if enough else missing
    sentiment = mean_interval(counts.get("sentiment_n", 0), counts.get("sentiment_sum", 0),
                              counts.get("sentiment_sq", 0))
    return GroupSummary(
        label=label,
        posts=int(counts.get("posts", 0)),
        relevant=relevant,
        stances=stances,
        sentiment=sentiment if counts.get("sentiment_n", 0) >= min_posts else nan3,
        safety_concern=proportion(counts.get("safety_concern", 0), relevant) if enough else nan3,
        raw_stances=raw_shares(stance_counts(counts)) if enough else missing,
    )


def build_time_series(cube: Cube, first: date, last: date, freq: str, estimator: ShareEstimator,
                      min_posts: int) -> TimeSeries:
    starts = buckets_between(first, last, freq)
    per_bucket = cube.rolled_up("bucket", freq)
    groups = [summarise_group(str(s), per_bucket.get(s, {}), estimator, min_posts) for s in starts]

    def column(name: str) -> np.ndarray:
        return np.array([per_bucket.get(s, {}).get(name, 0.0) for s in starts], dtype=float)

    relevant = column("relevant")
    enough = relevant >= max(min_posts, 1)
    aspects = {a: np.where(enough, column(f"aspect_{a}") / np.maximum(relevant, 1), np.nan) for a in ASPECTS}
    return TimeSeries(
        starts=starts,
        freq=freq,
        posts=column("posts"),
        relevant=relevant,
        sentiment=_interval([g.sentiment for g in groups]),
        sentiment_smooth=_rolling_mean(column("sentiment_sum"), column("sentiment_n"),
                                       SMOOTHING_WINDOW[freq], min_posts),
        stances={s: _interval([(g.stances[s].share, g.stances[s].low, g.stances[s].high) for g in groups])
                 for s in STANCES},
        shares_corrected=estimator.corrects,
        aspects=aspects,
        safety_concern=_interval([g.safety_concern for g in groups]),
        raw_stances={s: _interval([(g.raw_stances[s].share, g.raw_stances[s].low, g.raw_stances[s].high)
                                   for g in groups]) for s in STANCES},
    )


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
