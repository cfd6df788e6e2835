"""Chart pages: one Figure per chart, each saved as a PNG and as a PDF page.

Every chart page carries the same header (topic, period, model version), the synthetic-data banner when it
applies and a footnote explaining the numbered date markers, so a PNG shared on its own still explains itself.
"""

from __future__ import annotations

from collections.abc import Callable

from matplotlib.figure import Figure, SubFigure

from reports import charts, style
from reports.content import ReportContent
from reports.text import drawable, shorten, wrapped

#: Characters of 9-point text that fit across the page header.
HEADER_WIDTH = 190


def chart_figure(content: ReportContent, title: str, note: str = "",
                 markers: bool = True) -> tuple[Figure, SubFigure]:
    """A page with the shared header and footer, and the sub-figure the caller draws its axes into."""
    figure = Figure(figsize=style.PAGE_SIZE, layout="constrained")
    header, body, footer = figure.subfigures(3, 1, height_ratios=[0.11, 0.85, 0.04])
    header.text(0.01, 0.92, drawable(title), ha="left", va="top", fontsize=15, fontweight="bold")
    lines = [f"{content.request.topic.title} · {period_text(content)} · per {content.request.freq} · "
             f"model {content.model_name}"]
    if note:
        lines.append(note)
    header.text(0.01, 0.52, "\n".join(wrapped(line, HEADER_WIDTH, max_lines=2) for line in lines), ha="left",
                va="top", fontsize=9, color="#333333", linespacing=1.3)
    if content.synthetic:
        header.text(0.99, 0.92, style.SYNTHETIC_NOTE, ha="right", va="top", color="white", fontsize=10,
                    fontweight="bold", bbox={"fc": style.SYNTHETIC_COLOUR, "ec": "none", "pad": 4})
        figure.text(0.5, 0.45, "SYNTHETIC", ha="center", va="center", rotation=25, fontsize=90,
                    color=style.SYNTHETIC_COLOUR, alpha=0.05, zorder=0)
    if markers:
        footer.text(0.01, 0.5, wrapped(marker_legend(content), 190, max_lines=2), ha="left", va="center",
                    fontsize=7.5, color="#444444")
    return figure, body


def period_text(content: ReportContent) -> str:
    if content.period is None:
        return "no posts"
    first, last = content.period
    return f"{first:%d %b %Y}" if first == last else f"{first:%d %b %Y} – {last:%d %b %Y}"


def marker_legend(content: ReportContent) -> str:
    if content.period is None:
        return ""
    first, last = content.period
    shown = [m for m in content.markers if first <= m.day <= last]
    return "   ".join(f"[{m.tag}] {m.day:%d %b %Y} {shorten(m.label, 50)}" for m in shown)


def _time_axes(figure: SubFigure, ratios: list[int]):
    grid = figure.add_gridspec(len(ratios), 1, height_ratios=ratios)
    axes = [figure.add_subplot(grid[0])]
    axes += [figure.add_subplot(grid[i], sharex=axes[0]) for i in range(1, len(ratios))]
    return axes


def sentiment_page(content: ReportContent) -> Figure:
    page, figure = chart_figure(content, "Sentiment over time",
                          "Mean polarity of relevant posts with 95% confidence band; bars: posts per period")
    top, bottom = _time_axes(figure, [3, 1])
    charts.plot_sentiment(top, content.series)
    charts.plot_volume(bottom, content.series)
    charts.mark_dates(top, content.markers, content.series)
    charts.mark_dates(bottom, content.markers, content.series, tags=False)
    top.tick_params(labelbottom=False)
    return page


def stance_page(content: ReportContent) -> Figure:
    note = (f"Share among relevant posts, {content.share_note}; shaded: 95% interval; "
            f"gaps: fewer than {content.request.min_posts_per_period} relevant posts")
    page, figure = chart_figure(content, "Stance shares over time", note)
    (ax,) = _time_axes(figure, [1])
    charts.plot_stance_shares(ax, content.series)
    charts.mark_dates(ax, content.markers, content.series)
    ax.set_ylabel(f"share of relevant posts ({content.share_note})")
    return page


def safety_page(content: ReportContent) -> Figure:
    page, figure = chart_figure(content, "Safety concern and aspects over time",
                          "Share of relevant posts; a post can touch several aspects")
    top, bottom = _time_axes(figure, [1, 1])
    charts.plot_safety_concern(top, content.series)
    charts.plot_aspects(bottom, content.series)
    for ax in (top, bottom):
        charts.mark_dates(ax, content.markers, content.series, tags=ax is top)
    top.tick_params(labelbottom=False)
    top.set_ylabel("voices a safety concern")
    bottom.set_ylabel("touches the aspect")
    return page


def comparison_page(content: ReportContent) -> Figure:
    page, figure = chart_figure(content, "German vs English, and by source",
                          f"Whole period; stance shares {content.share_note}; bars: 95% interval",
                          markers=False)
    grid = figure.add_gridspec(2, 2, height_ratios=[3, 2])
    panels = [("By language", content.languages, 0), ("By source", content.sources, 1)]
    for title, groups, column in panels:
        stances = figure.add_subplot(grid[0, column])
        charts.plot_group_stances(stances, groups)
        stances.set_title(f"{title}: stance shares", loc="left")
        sentiment = figure.add_subplot(grid[1, column])
        charts.plot_group_sentiment(sentiment, groups)
        sentiment.set_title(f"{title}: mean sentiment", loc="left")
    return page


def terms_page(content: ReportContent) -> Figure:
    sampled = sum(t.posts for t in content.terms)
    page, figure = chart_figure(content, "What is being said",
                          f"Top hashtags and most distinctive words per stance (log-odds z-score vs. the other "
                          f"stances, informative Dirichlet prior); sample of {sampled:,} relevant posts",
                          markers=False)
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
