"""Chart pages: one Figure per chart, each saved as a PNG and as a PDF page.

Every chart page carries the same header (topic, period, period length, model version, filters), the
synthetic-data banner when it applies and a footnote explaining the numbered date markers, so a PNG shared on
its own still explains itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure, SubFigure

from reports import charts, style
from reports.content import ReportContent
from reports.series import TimeSeries
from reports.text import drawable, shorten, wrapped
from reports.wording import plural

#: Characters of 9-point text that fit across the page header; of 7.5-point text across the footer.
HEADER_WIDTH = 175
FOOTER_WIDTH = 205


def chart_figure(content: ReportContent, title: str, note: str = "", markers: bool = True,
                 per_period: bool = True) -> tuple[Figure, SubFigure]:
    """A page with the shared header and footer, and the sub-figure the caller draws its axes into.

    ``per_period=False`` for charts of the whole period (no "per month" in the header)."""
    figure = Figure(figsize=style.PAGE_SIZE, layout="constrained")
    legend = wrapped(marker_legend(content), FOOTER_WIDTH) if markers else ""
    footer_lines = legend.count("\n") + 1 if legend else 0
    lines = [" · ".join(part for part in (content.request.topic.title, period_text(content),
                                          period_words(content) if per_period else "whole period",
                                          f"model {content.model_name}") if part),
             filters_text(content)]
    if note:
        lines.append(note)
    header_text = "\n".join(wrapped(line, HEADER_WIDTH) for line in lines)
    header_lines = header_text.count("\n") + 1
    header_height = 0.06 + 0.022 * header_lines
    footer_height = 0.012 + 0.016 * footer_lines
    header, body, footer = figure.subfigures(
        3, 1, squeeze=False, height_ratios=[header_height, 1 - header_height - footer_height, footer_height])[:, 0]
    header.text(0.01, 0.97, drawable(title), ha="left", va="top", fontsize=15, fontweight="bold")
    header.text(0.01, 0.97 - 0.045 / header_height, header_text, ha="left", va="top", fontsize=9,
                color="#333333", linespacing=1.3)
    if content.synthetic:
        header.text(0.99, 0.97, style.SYNTHETIC_NOTE, ha="right", va="top", color="white", fontsize=10,
                    fontweight="bold", bbox={"fc": style.SYNTHETIC_COLOUR, "ec": "none", "pad": 4})
        figure.text(0.5, 0.45, "SYNTHETIC", ha="center", va="center", rotation=25, fontsize=90,
                    color=style.SYNTHETIC_COLOUR, alpha=0.05, zorder=10)
    if legend:
        footer.text(0.01, 0.5, legend, ha="left", va="center", fontsize=7.5, color="#444444", linespacing=1.25)
    return figure, body


def period_text(content: ReportContent) -> str:
    if content.period is None:
        return "no posts"
    first, last = content.period
    return f"{first:%d %b %Y}" if first == last else f"{first:%d %b %Y} – {last:%d %b %Y}"


def period_words(content: ReportContent) -> str:
    """ "per month" or "per month (chosen automatically)"."""
    words = f"per {style.FREQ_NOUNS[content.request.freq]}"
    return words + " (chosen automatically)" if content.freq_chosen else words


def filters_text(content: ReportContent) -> str:
    """The filters every chart states, e.g. "Filters: language en; source x", or that there are none."""
    chosen = content.request.filters()
    if not chosen:
        return "All languages and sources"
    return "Filters: " + "; ".join(f"{name} {value}" for name, value in chosen)


def marker_legend(content: ReportContent) -> str:
    if content.period is None:
        return ""
    first, last = content.period
    shown = [m for m in content.markers if first <= m.day <= last]
    return "   ".join(f"[{m.tag}] {m.day:%d %b %Y} {shorten(m.label, 60)}" for m in shown)


def _time_axes(figure: SubFigure, ratios: list[int]):
    grid = figure.add_gridspec(len(ratios), 1, height_ratios=ratios)
    axes = [figure.add_subplot(grid[0])]
    axes += [figure.add_subplot(grid[i], sharex=axes[0]) for i in range(1, len(ratios))]
    return axes


def _series(content: ReportContent) -> TimeSeries:
    """The series a time chart draws: render._chart builds those pages only for content that has one."""
    assert content.series is not None, "time charts are drawn only for a report period with posts"
    return content.series


def sentiment_page(content: ReportContent) -> Figure:
    page, figure = chart_figure(content, "Sentiment over time",
                                "Mean polarity of relevant posts with 95% confidence band (posts without a "
                                "sentiment score, in languages no scorer covers, are left out); bars: posts "
                                "per period")
    series = _series(content)
    top, bottom = _time_axes(figure, [3, 1])
    charts.plot_sentiment(top, series)
    charts.plot_volume(bottom, series)
    charts.mark_dates(top, content.markers, series)
    charts.mark_dates(bottom, content.markers, series, tags=False)
    top.tick_params(labelbottom=False)
    return page


def stance_page(content: ReportContent) -> Figure:
    series = _series(content)
    note = (f"Share of each stance among relevant posts, {content.share_note}; shaded: 95% interval; "
            f"gaps: fewer than {plural(content.request.min_posts_per_period, 'relevant post')}")
    if series.shares_corrected:
        note += "; dashed: the share as the model classified the posts, before correction"
    width = series.wide_intervals()
    if width is not None:
        note += (f". The intervals are wide (median {width:.0%} of the scale): a change inside the bands is "
                 f"not evidence of a trend")
    page, figure = chart_figure(content, "Stance shares over time", note)
    axes = _time_axes(figure, [1, 1, 1])
    for index, (ax, stance) in enumerate(zip(axes, style.STANCE_ORDER)):
        charts.plot_stance_share(ax, series, stance, legend=index == 0)
        charts.mark_dates(ax, content.markers, series, tags=index == 0)
        if index < len(axes) - 1:
            ax.tick_params(labelbottom=False)
    return page


def safety_page(content: ReportContent) -> Figure:
    series = _series(content)
    note = "Share of relevant posts touching each aspect (a post can touch several), with 95% intervals. "
    if series.safety_corrected:
        note += ("Dashed: the share voicing a safety concern, corrected for the classifier's error as stance "
                 "shares are (the classifier flags many posts without one); dotted: the share it flagged")
    else:
        note += ("A post voicing a safety concern counts as touching safety, so the dashed line stays at or "
                 "below the safety line")
    concern = content.total.safety_concern_raw[0]
    fired = not math.isnan(concern) and concern > 0
    if not fired and np.nansum(series.aspects["safety"].value) > 0:
        note += (". The safety-concern classifier flagged none of the relevant posts in this period although "
                 "some touch safety, so its line is left out rather than drawn at 0%: read the safety line")
    page, figure = chart_figure(content, "Safety concern and aspects over time", note)
    grid = figure.add_gridspec(2, 2)
    first = figure.add_subplot(grid[0, 0])
    axes = [first] + [figure.add_subplot(grid[i // 2, i % 2], sharex=first) for i in range(1, 4)]
    for ax, aspect in zip(axes, style.ASPECT_ORDER):
        charts.plot_aspect(ax, series, aspect, with_concern=aspect == "safety" and fired)
        charts.mark_dates(ax, content.markers, series, tags=ax is first)
    for ax in axes[:2]:
        ax.tick_params(labelbottom=False)
    return page


def comparison_page(content: ReportContent) -> Figure:
    page, figure = chart_figure(content, "Languages and sources",
                                f"Stance shares {content.share_note}; bars: 95% interval; "
                                f"a language no sentiment scorer covers has no mean sentiment",
                                markers=False, per_period=False)
    grid = figure.add_gridspec(2, 2, height_ratios=[3, 2])
    panels = [("By language", content.languages, 0), ("By source", content.sources, 1)]
    for title, groups, column in panels:
        stances = figure.add_subplot(grid[0, column])
        charts.plot_group_stances(stances, groups)
        stances.set_title(f"{title}: stance shares", loc="left", pad=20)
        sentiment = figure.add_subplot(grid[1, column])
        charts.plot_group_sentiment(sentiment, groups)
        sentiment.set_title(f"{title}: mean sentiment", loc="left")
    return page


def terms_page(content: ReportContent) -> Figure:
    sampled = sum(t.posts for t in content.terms)
    page, figure = chart_figure(content, "What is being said",
                                f"Top hashtags and most distinctive words per stance (log-odds z-score vs. the "
                                f"other stances, informative Dirichlet prior); sample of "
                                f"{plural(sampled, 'relevant post')}",
                                markers=False, per_period=False)
    grid = figure.add_gridspec(2, 3)
    by_stance = {t.stance: t for t in content.terms}
    for column, stance in enumerate(style.STANCE_ORDER):
        terms = by_stance.get(stance)
        colour = style.STANCE_COLOURS[stance]
        words = figure.add_subplot(grid[0, column])
        charts.plot_terms(words, terms.distinctive if terms else [], colour, "distinctiveness (z)")
        words.set_title(f"{style.STANCE_LABELS[stance]}: distinctive words", loc="left", color=colour)
        tags = figure.add_subplot(grid[1, column])
        charts.plot_terms(tags, terms.hashtags if terms else [], colour, "posts in sample")
        tags.set_title(f"{style.STANCE_LABELS[stance]}: top hashtags", loc="left", color=colour)
    return page


#: Chart name (used for the PNG file name) and page builder, in PDF order.
CHART_PAGES: tuple[tuple[str, Callable[[ReportContent], Figure]], ...] = (
    ("stance-shares", stance_page),
    ("sentiment", sentiment_page),
    ("safety-aspects", safety_page),
    ("languages-sources", comparison_page),
    ("terms", terms_page),
)
