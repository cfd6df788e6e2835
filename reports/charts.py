"""Plotting functions: each draws one chart onto an Axes it is given and returns nothing.

They never create figures or touch pyplot state, so they can be composed into pages and tested alone.
Time series are drawn at the middle of each period; NaN values (too few posts) are gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from reports import style
from reports.periods import next_bucket
from reports.series import GroupSummary, TimeSeries
from reports.text import shorten
from reports.wording import plural


@dataclass(frozen=True)
class Marker:
    """A dated line on every time axis: a topic event or a model version change."""

    day: date
    tag: str
    label: str
    kind: str  # "event" or "model"


def period_midpoints(series: TimeSeries) -> list[date]:
    return [start + (next_bucket(start, series.freq) - start) / 2 for start in series.starts]


def _on_date_axis(value: date | Sequence[date]) -> Any:
    """A date or dates as x values: matplotlib's date converter takes them, though its stubs admit only numbers."""
    return value


def period_widths(series: TimeSeries) -> list[float]:
    return [(next_bucket(start, series.freq) - start).days * 0.8 for start in series.starts]


def format_time_axis(ax: Axes, series: TimeSeries) -> None:
    """Date ticks limited to the report's periods. Months are labelled at their middle, where their value
    is drawn ("Aug 2025"), so a label never names the month before the one it stands under."""
    if not series.starts:
        return
    ax.set_xlim(_on_date_axis(series.starts[0]), _on_date_axis(next_bucket(series.starts[-1], series.freq)))
    if series.freq == "month":
        middles = period_midpoints(series)
        step = max(1, len(middles) // 12 + (len(middles) % 12 > 0))
        shown = list(range(0, len(middles), step))
        ax.set_xticks(_on_date_axis([middles[i] for i in shown]),
                      [f"{series.starts[i]:%b}" + (f"\n{series.starts[i]:%Y}" if i == shown[0] or
                                                     series.starts[i].month == 1 else "") for i in shown])
        ax.tick_params(axis="x", length=0)
        return
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
        ax.axvline(_on_date_axis(marker.day + timedelta(hours=12)), color=colour, linestyle=(0, (4, 3)), linewidth=0.9,
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
    x = _on_date_axis(period_midpoints(series))
    widths = period_widths(series)
    ax.bar(x, series.posts, width=widths, color=style.VOLUME_COLOUR, label="all posts")
    ax.bar(x, series.relevant, width=widths, color="#6E6E6E", label="relevant")
    ax.set_ylabel("posts")
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    format_time_axis(ax, series)


def plot_sentiment(ax: Axes, series: TimeSeries) -> None:
    """Mean polarity of relevant posts per period, its 95% band and a volume-weighted rolling mean.

    Periods hidden for having too few posts are gaps in all three, the rolling mean included."""
    x = _on_date_axis(period_midpoints(series))
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


def plot_stance_share(ax: Axes, series: TimeSeries, stance: str, legend: bool = False) -> None:
    """One stance's share among relevant posts per period: the stated (corrected) share with its 95% band,
    and the share as classified as a dashed line beside it, so a reader sees what the correction did."""
    x = _on_date_axis(period_midpoints(series))
    colour = style.STANCE_COLOURS[stance]
    estimate, raw = series.stances[stance], series.stances_raw[stance]
    corrected = series.shares_corrected
    ax.fill_between(x, estimate.low, estimate.high, color=colour, alpha=0.18, linewidth=0,
                    label="95% interval")
    ax.plot(x, estimate.value, color=colour, marker="o", markersize=3.5, linewidth=1.8,
            label="corrected share" if corrected else "share as classified")
    if corrected:
        ax.plot(x, raw.value, color=colour, linestyle=(0, (3, 2)), marker="x", markersize=3.5, linewidth=1,
                label="share as classified")
    _share_axis(ax)
    ax.set_ylabel(style.STANCE_LABELS[stance], color=colour, fontweight="bold")
    if legend:
        _legend_above(ax, ncols=3)
    format_time_axis(ax, series)


def plot_aspect(ax: Axes, series: TimeSeries, aspect: str, with_concern: bool = False) -> None:
    """Share of relevant posts touching one aspect per period, with its 95% Wilson band; for safety, the
    share voicing a safety concern is drawn in the same panel: corrected for the classifier's error when the
    model stored its safety confusion, with the share it flagged beside it."""
    x = _on_date_axis(period_midpoints(series))
    colour = style.ASPECT_COLOURS[aspect]
    estimate = series.aspects[aspect]
    ax.fill_between(x, estimate.low, estimate.high, color=colour, alpha=0.2, linewidth=0)
    ax.plot(x, estimate.value, color=colour, marker="o", markersize=3, linewidth=1.6,
            label=f"touches {style.ASPECT_LABELS[aspect]}")
    if with_concern:
        concern = series.safety_concern
        ax.fill_between(x, concern.low, concern.high, color=style.SAFETY_CONCERN_COLOUR, alpha=0.12, linewidth=0)
        ax.plot(x, concern.value, color=style.SAFETY_CONCERN_COLOUR, marker="o", markersize=3, linewidth=1.4,
                linestyle=(0, (4, 2)),
                label="voices a safety concern" + (" (corrected)" if series.safety_corrected else ""))
        if series.safety_corrected:
            ax.plot(x, series.safety_concern_raw.value, color=style.SAFETY_CONCERN_COLOUR, marker="x",
                    markersize=3, linewidth=0.8, linestyle=(0, (1, 2)), label="flagged by the classifier")
    _share_axis(ax)
    ax.set_title(style.ASPECT_LABELS[aspect], loc="left", fontsize=10, color=colour)
    if with_concern:  # above the panel, right of its title: clear of the data and the date tags
        ax.legend(loc="lower right", bbox_to_anchor=(1, 1.0), fontsize=7.5, frameon=False, ncols=2,
                  borderaxespad=0.2)
    format_time_axis(ax, series)


def plot_group_stances(ax: Axes, groups: list[GroupSummary]) -> None:
    """Stance shares per group (language or source) as grouped horizontal bars with 95% intervals.

    Every share is labelled and marked with a dot, so a share of 0% or of a few percent is still visible;
    groups with too few relevant posts say so instead of showing empty bars."""
    if not groups:
        ax.text(0.5, 0.5, "no posts", ha="center", va="center", transform=ax.transAxes, color="#666666")
        ax.set_axis_off()
        return
    height = 0.8 / len(style.STANCE_ORDER)
    y = np.arange(len(groups))
    for offset, stance in enumerate(style.STANCE_ORDER):
        colour = style.STANCE_COLOURS[stance]
        shares = np.array([g.stances[stance].share for g in groups])
        low = np.array([g.stances[stance].low for g in groups])
        high = np.array([g.stances[stance].high for g in groups])
        errors = np.nan_to_num(np.vstack([shares - low, high - shares]), nan=0.0).clip(min=0)
        rows = y - 0.4 + height * (offset + 0.5)
        shown = ~np.isnan(shares)
        ax.barh(rows[shown], shares[shown], height=height, color=colour, xerr=errors[:, shown],
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"}, label=style.STANCE_LABELS[stance])
        ax.plot(shares[shown], rows[shown], "o", color=colour, markersize=3.5, markeredgecolor="white",
                markeredgewidth=0.5)
        for row, share, top in zip(rows[shown], shares[shown], np.nan_to_num(high[shown])):
            if max(share, top) < 0.88:  # right of the whisker
                ax.text(max(share, top) + 0.015, row, f"{share:.0%}", va="center", fontsize=6.5, color="#333333")
            else:  # inside the bar, left of its end, where no whisker runs
                ax.text(share - 0.02, row - height * 0.3, f"{share:.0%}", va="center", ha="right", fontsize=6.5,
                        color="white", fontweight="bold")
    ax.set_yticks(y, [f"{shorten(g.label, 22)}\n{plural(g.relevant, 'relevant post')}" for g in groups])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    for row, group in enumerate(groups):
        if np.isnan(group.stances[style.STANCE_ORDER[0]].share):
            reason = "no relevant posts" if group.relevant == 0 else "too few relevant posts to show shares"
            ax.text(0.02, row, reason, va="center", fontsize=7, color="#666666")
    ax.set_ylim(max(len(groups), 3) - 0.5, -0.5)
    _legend_above(ax, ncols=3)


def plot_group_sentiment(ax: Axes, groups: list[GroupSummary]) -> None:
    """Mean polarity per group with its 95% interval, as dots; a group without sentiment (a language no
    scorer covers, or too few scored posts) is labelled so, never drawn at 0."""
    if not groups:
        ax.set_axis_off()
        return
    y = np.arange(len(groups))
    means = np.array([g.sentiment[0] for g in groups])
    shown = ~np.isnan(means)
    lows = np.array([g.sentiment[1] for g in groups])
    highs = np.array([g.sentiment[2] for g in groups])
    errors = np.nan_to_num(np.vstack([means - lows, highs - means]), nan=0.0).clip(min=0)
    ax.errorbar(means[shown], y[shown], xerr=errors[:, shown], fmt="o", color=style.SENTIMENT_COLOUR, capsize=2)
    for row, group in zip(y[~shown], [g for g, s in zip(groups, shown) if not s]):
        reason = "no sentiment scores (language not covered)" if group.sentiment_n == 0 else "too few scored posts"
        ax.text(-0.97, row, reason, va="center", fontsize=7, color="#666666")
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(y, [shorten(g.label, 22) for g in groups])
    ax.set_ylim(max(len(groups), 3) - 0.5, -0.5)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("mean polarity")


def plot_terms(ax: Axes, terms: Sequence[tuple[str, float]], colour: str, value_label: str) -> None:
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
    # Room for a full list, so that three terms are not drawn as three giant bars.
    ax.set_ylim(max(len(terms), 8) - 0.5, -0.5)
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
