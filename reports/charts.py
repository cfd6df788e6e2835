"""Plotting functions: each draws one chart onto an Axes it is given and returns nothing.

They never create figures or touch pyplot state, so they can be composed into pages and tested alone.
Time series are drawn at the middle of each period; NaN values (too few posts) are gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from reports import style
from reports.periods import next_bucket
from reports.series import GroupSummary, TimeSeries
from reports.text import shorten


@dataclass(frozen=True)
class Marker:
    """A dated line on every time axis: a topic event or a model version change."""

    day: date
    tag: str
    label: str
    kind: str  # "event" or "model"


def period_midpoints(series: TimeSeries) -> list[date]:
    return [start + (next_bucket(start, series.freq) - start) / 2 for start in series.starts]


def period_widths(series: TimeSeries) -> list[float]:
    return [(next_bucket(start, series.freq) - start).days * 0.8 for start in series.starts]


def format_time_axis(ax: Axes, series: TimeSeries) -> None:
    """Concise date ticks limited to the report's periods, so a single day still gets a sane axis."""
    if not series.starts:
        return
    ax.set_xlim(series.starts[0], next_bucket(series.starts[-1], series.freq))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def mark_dates(ax: Axes, markers: list[Marker], series: TimeSeries, tags: bool = True) -> None:
    """Vertical lines for events and model changes; short tags at the top, staggered when close together."""
    if not series.starts:
        return
    first, end = series.starts[0], next_bucket(series.starts[-1], series.freq)
    span = max((end - first).days, 1)
    last_x, level = None, 0
    for marker in sorted(markers, key=lambda m: m.day):
        if not first <= marker.day < end:
            continue
        colour = style.MODEL_CHANGE_COLOUR if marker.kind == "model" else style.EVENT_COLOUR
        ax.axvline(marker.day + timedelta(hours=12), color=colour, linestyle=(0, (4, 3)), linewidth=0.9,
                   zorder=1)
        if not tags:
            continue
        fraction = (marker.day - first).days / span
        # Tags closer than ~4% of the axis width would overlap: move the next one down a row.
        level = level + 1 if last_x is not None and fraction - last_x < 0.04 else 0
        last_x = fraction
        ax.annotate(marker.tag, xy=(marker.day + timedelta(hours=12), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(0, -3 - 11 * (level % 4)),
                    textcoords="offset points", ha="center", va="top", fontsize=7, color="white",
                    bbox={"boxstyle": "round,pad=0.2", "fc": colour, "ec": "none"}, zorder=5)


def plot_volume(ax: Axes, series: TimeSeries) -> None:
    """Posts per period (all classified) with the relevant ones darker, as bars."""
    x = period_midpoints(series)
    widths = period_widths(series)
    ax.bar(x, series.posts, width=widths, color=style.VOLUME_COLOUR, label="all posts")
    ax.bar(x, series.relevant, width=widths, color="#6E6E6E", label="relevant")
    ax.set_ylabel("posts")
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    format_time_axis(ax, series)


def plot_sentiment(ax: Axes, series: TimeSeries) -> None:
    """Mean polarity of relevant posts per period, its 95% band and a volume-weighted rolling mean."""
    x = period_midpoints(series)
    s = series.sentiment
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.fill_between(x, s.low, s.high, color=style.SENTIMENT_COLOUR, alpha=0.15, linewidth=0,
                    label="95% confidence band")
    ax.plot(x, s.value, color=style.SENTIMENT_COLOUR, marker="o", markersize=3, linewidth=1,
            label="mean polarity")
    ax.plot(x, series.sentiment_smooth, color="#E69F00", linewidth=2.2, label="rolling mean")
    # Mean polarity rarely leaves ±0.3; a fixed ±1 axis would flatten every change into a straight line.
    extent = np.nanmax(np.abs(np.concatenate([s.low, s.high, s.value, [0.0]])))
    limit = min(1.0, max(0.2, 1.15 * float(np.nan_to_num(extent))))
    ax.set_ylim(-limit, limit)
    ax.set_ylabel("mean polarity (-1 negative … +1 positive)")
    _legend_above(ax, ncols=3)
    format_time_axis(ax, series)


def plot_stance_shares(ax: Axes, series: TimeSeries) -> None:
    """Share of each stance among relevant posts per period, with its 95% interval."""
    x = period_midpoints(series)
    for stance in style.STANCE_ORDER:
        estimate = series.stances[stance]
        colour = style.STANCE_COLOURS[stance]
        ax.fill_between(x, estimate.low, estimate.high, color=colour, alpha=0.18, linewidth=0)
        ax.plot(x, estimate.value, color=colour, marker="o", markersize=3, linewidth=1.8,
                label=style.STANCE_LABELS[stance])
    _share_axis(ax)
    _legend_above(ax, ncols=3)
    format_time_axis(ax, series)


def plot_safety_concern(ax: Axes, series: TimeSeries) -> None:
    """Share of relevant posts voicing a safety concern, with its 95% Wilson interval."""
    x = period_midpoints(series)
    estimate = series.safety_concern
    ax.fill_between(x, estimate.low, estimate.high, color=style.SAFETY_CONCERN_COLOUR, alpha=0.15,
                    linewidth=0)
    ax.plot(x, estimate.value, color=style.SAFETY_CONCERN_COLOUR, marker="o", markersize=3,
            label="safety concern")
    _share_axis(ax)
    _legend_above(ax, ncols=1)
    format_time_axis(ax, series)


def plot_aspects(ax: Axes, series: TimeSeries) -> None:
    """Share of relevant posts touching each aspect (a post may touch several)."""
    x = period_midpoints(series)
    for aspect in style.ASPECT_ORDER:
        ax.plot(x, series.aspects[aspect], color=style.ASPECT_COLOURS[aspect], marker="o", markersize=3,
                linewidth=1.6, label=style.ASPECT_LABELS[aspect])
    _share_axis(ax)
    _legend_above(ax, ncols=4)
    format_time_axis(ax, series)


def plot_group_stances(ax: Axes, groups: list[GroupSummary]) -> None:
    """Stance shares per group (language or source) as grouped horizontal bars with 95% intervals."""
    if not groups:
        ax.text(0.5, 0.5, "no posts", ha="center", va="center", transform=ax.transAxes, color="#666666")
        ax.set_axis_off()
        return
    height = 0.8 / len(style.STANCE_ORDER)
    y = np.arange(len(groups))
    for offset, stance in enumerate(style.STANCE_ORDER):
        shares = np.array([g.stances[stance].share for g in groups])
        low = np.array([g.stances[stance].low for g in groups])
        high = np.array([g.stances[stance].high for g in groups])
        errors = np.nan_to_num(np.vstack([shares - low, high - shares]), nan=0.0).clip(min=0)
        ax.barh(y - 0.4 + height * (offset + 0.5), np.nan_to_num(shares), height=height,
                color=style.STANCE_COLOURS[stance], xerr=errors, error_kw={"elinewidth": 0.8, "capsize": 2},
                label=style.STANCE_LABELS[stance])
    ax.set_yticks(y, [f"{shorten(g.label, 22)}\n{g.relevant:,} relevant" for g in groups])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    for row, group in enumerate(groups):
        if np.isnan(group.stances[style.STANCE_ORDER[0]].share):
            ax.text(0.02, row, "too few relevant posts", va="center", fontsize=7, color="#666666")
    ax.legend(loc="lower right", fontsize=7, frameon=False)


def plot_group_sentiment(ax: Axes, groups: list[GroupSummary]) -> None:
    """Mean polarity per group with its 95% interval, as dots."""
    if not groups:
        ax.set_axis_off()
        return
    y = np.arange(len(groups))
    means = np.array([g.sentiment[0] for g in groups])
    errors = np.nan_to_num(np.vstack([means - [g.sentiment[1] for g in groups],
                                      [g.sentiment[2] for g in groups] - means]), nan=0.0).clip(min=0)
    ax.errorbar(np.nan_to_num(means), y, xerr=errors, fmt="o", color=style.SENTIMENT_COLOUR, capsize=2)
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(y, [shorten(g.label, 22) for g in groups])
    ax.invert_yaxis()
    ax.set_xlim(-1, 1)
    ax.set_xlabel("mean polarity")


def plot_terms(ax: Axes, terms: list[tuple[str, float]], colour: str, value_label: str) -> None:
    """Horizontal bars for ranked terms (hashtag counts or distinctiveness scores), best at the top."""
    if not terms:
        ax.text(0.5, 0.5, "not enough text", ha="center", va="center", transform=ax.transAxes,
                color="#666666", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    labels = [shorten(term, 24) for term, _ in terms]
    values = [value for _, value in terms]
    y = np.arange(len(terms))
    ax.barh(y, values, color=colour, height=0.7)
    ax.set_yticks(y, labels, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel(value_label, fontsize=7.5)
    ax.tick_params(axis="x", labelsize=7)


def _share_axis(ax: Axes) -> None:
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(axis="y", color="#E5E5E5", linewidth=0.6)


def _legend_above(ax: Axes, ncols: int) -> None:
    # Above the plot area, where neither data nor the date-marker tags can be hidden by it.
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncols=ncols,
              borderaxespad=0.2)
