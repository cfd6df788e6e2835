"""Text pages of the PDF: title, key numbers, representative posts and methods."""

from __future__ import annotations

import math
from datetime import date

from matplotlib.figure import Figure

from reports import style
from reports.content import ReportContent
from reports.figures import filters_text, period_text, period_words
from reports.series import Z_95, GroupSummary
from reports.text import drawable, shorten, wrapped
from reports.wording import plural

LINE = 0.028  # one line of 9-point text, as a fraction of the page height


def text_page(content: ReportContent, heading: str) -> Figure:
    figure = Figure(figsize=style.PAGE_SIZE)
    figure.text(0.05, 0.93, drawable(heading), fontsize=18, fontweight="bold", va="top")
    if content.synthetic:
        figure.text(0.95, 0.93, style.SYNTHETIC_NOTE, ha="right", va="top", color="white", fontsize=10,
                    fontweight="bold", bbox={"fc": style.SYNTHETIC_COLOUR, "ec": "none", "pad": 4})
    return figure


def title_page(content: ReportContent) -> Figure:
    request = content.request
    figure = Figure(figsize=style.PAGE_SIZE)
    figure.text(0.08, 0.78, drawable(request.topic.title), fontsize=26, fontweight="bold", va="top",
                wrap=True)
    figure.text(0.08, 0.66, "Stance report", fontsize=16, color="#444444", va="top")
    sources = ", ".join(g.label for g in content.sources) or "none"
    languages = ", ".join(g.label for g in content.languages) or "none"
    facts = [
        ("Period", f"{period_text(content)} (UTC), {period_words(content)}"),
        ("Filters", filters_text(content)),
        ("Sources", sources),
        ("Languages", languages),
        ("Posts", f"{plural(content.total.posts, 'post')} classified, {content.total.relevant:,} relevant to the "
                  f"topic"),
        ("Stance model", f"{content.model_name} (only its classifications are counted)"),
        ("Generated", f"{content.generated_at:%Y-%m-%d %H:%M} UTC"),
    ]
    for row, (name, value) in enumerate(facts):
        y = 0.56 - row * 0.045
        figure.text(0.08, y, name, fontsize=11, fontweight="bold", va="top")
        figure.text(0.24, y, shorten(value, 110), fontsize=11, va="top")
    if content.synthetic:
        figure.text(0.08, 0.2, "SYNTHETIC DEMO DATA", fontsize=28, fontweight="bold", color="white", va="top",
                    bbox={"fc": style.SYNTHETIC_COLOUR, "ec": "none", "pad": 8})
        figure.text(0.08, 0.12, "The posts in this report come from the bundled demo corpus; they are not real "
                    "and say nothing about the real debate.", fontsize=10, color=style.SYNTHETIC_COLOUR)
    if content.total.posts == 0:
        figure.text(0.08, 0.2, "No classified posts match this report's period and filters.", fontsize=13,
                    color="#444444")
    return figure


def _with_interval(triple: tuple[float, float, float], percent: bool) -> str:
    value, low, high = triple
    if math.isnan(value):
        return "–"
    fmt = (lambda v: f"{v * 100:.1f}%") if percent else (lambda v: f"{v:+.2f}")
    if math.isnan(low):
        return fmt(value)
    return f"{fmt(value)}  ({fmt(low)} to {fmt(high)})"


def _change(now: tuple[float, float, float], before: tuple[float, float, float], percent: bool) -> str:
    """Difference with a normal-approximation 95% interval built from the two intervals' half-widths."""
    if math.isnan(now[0]) or math.isnan(before[0]):
        return "–"
    difference = now[0] - before[0]
    halves = [(t[2] - t[1]) / 2 for t in (now, before)]
    scale = 100 if percent else 1
    unit = " pp" if percent else ""
    if any(math.isnan(h) for h in halves):
        return f"{difference * scale:+.1f}{unit}" if percent else f"{difference:+.2f}"
    half = Z_95 * math.sqrt(sum((h / Z_95) ** 2 for h in halves))
    digits = 1 if percent else 2
    return (f"{difference * scale:+.{digits}f}{unit}  ({(difference - half) * scale:+.{digits}f} to "
            f"{(difference + half) * scale:+.{digits}f})")


def _as_classified(group: GroupSummary, stance: str) -> str:
    raw = (group.raw or {}).get(stance)
    return "" if raw is None or math.isnan(raw.share) else f"\nas classified {raw.share * 100:.1f}%"


def _as_flagged(group: GroupSummary) -> str:
    share = group.safety_concern_raw[0]
    return "" if math.isnan(share) else f"\nas flagged {share * 100:.1f}%"


def _summary_rows(now: GroupSummary, before: GroupSummary, corrected: bool,
                  safety_corrected: bool = False) -> list[list[str]]:
    rows = [["Relevant posts", f"{before.relevant:,}", f"{now.relevant:,}",
             f"{now.relevant - before.relevant:+,}"]]
    for stance in style.STANCE_ORDER:
        pair = [(g.stances[stance].share, g.stances[stance].low, g.stances[stance].high) for g in (now, before)]
        cells = [_with_interval(pair[1], True), _with_interval(pair[0], True)]
        if corrected:
            cells = [cells[0] + _as_classified(before, stance), cells[1] + _as_classified(now, stance)]
        rows.append([f"Share {style.STANCE_LABELS[stance]}", *cells, _change(pair[0], pair[1], True)])
    rows.append(["Mean sentiment (polarity)", _with_interval(before.sentiment, False),
                 _with_interval(now.sentiment, False), _change(now.sentiment, before.sentiment, False)])
    concern = [_with_interval(before.safety_concern, True), _with_interval(now.safety_concern, True)]
    if safety_corrected:
        concern = [concern[0] + _as_flagged(before), concern[1] + _as_flagged(now)]
    rows.append(["Share voicing safety concern", *concern,
                 _change(now.safety_concern, before.safety_concern, True)])
    return rows


def _span(window: tuple[date, date] | None) -> str:
    if window is None:
        return ""
    return f"{window[0]:%d %b %Y}" if window[0] == window[1] else f"{window[0]:%d %b} – {window[1]:%d %b %Y}"


def summary_page(content: ReportContent) -> Figure:
    figure = text_page(content, "Key numbers")
    comparison = content.comparison
    if comparison is None:
        figure.text(0.05, 0.8, "No classified posts match this report's period and filters.", fontsize=12,
                    color="#444444", va="top")
        return figure
    corrected = content.shares_corrected
    explanation = (f"Compared: {comparison.description}. {filters_text(content)}. Stance shares are "
                   f"{content.share_note}" + ("; below each, the share as the model classified the posts" if corrected
                                             else "") +
                   ("; the share voicing a safety concern is corrected the same way, with the share the model "
                    "flagged below it" if content.safety_corrected else "") +
                   f"; in brackets the 95% interval. '–': fewer than "
                   f"{plural(content.request.min_posts_per_period, 'relevant post')}.")
    figure.text(0.05, 0.865, wrapped(explanation, 165), fontsize=9, color="#333333", va="top", linespacing=1.3)
    ax = figure.add_axes((0.05, 0.3, 0.9, 0.5))
    ax.set_axis_off()
    columns = ["", f"Previous\n{_span(comparison.previous_window)}", f"Current\n{_span(comparison.current_window)}",
               "Change (95% interval)"]
    rows = _summary_rows(comparison.current, comparison.previous, corrected, content.safety_corrected)
    table = ax.table(cellText=rows, colLabels=columns, loc="upper center", cellLoc="left", colLoc="left",
                     colWidths=[0.22, 0.26, 0.26, 0.26])
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1, 2.2)
    for (row, column), cell in table.get_celld().items():
        cell.set_edgecolor("#DDDDDD")
        if row == 0:
            cell.set_text_props(fontweight="bold")
        if row == len(rows) and content.safety_corrected:
            cell.set_height(cell.get_height() * 1.45)
        if row in (2, 3, 4):
            cell.set_height(cell.get_height() * (1.45 if corrected else 1))
            if column == 0:
                cell.set_text_props(color=style.STANCE_COLOURS[style.STANCE_ORDER[row - 2]], fontweight="bold")
    y = 0.27
    if content.warnings:
        figure.text(0.05, y, "Before quoting these numbers", fontsize=11, fontweight="bold", va="top",
                    color=style.SYNTHETIC_COLOUR)
        y -= 0.03
        for warning in content.warnings:
            text = wrapped(warning, 170)
            figure.text(0.05, y, text, fontsize=8.5, color="#333333", va="top", linespacing=1.3)
            y -= 0.022 * (text.count("\n") + 1) + 0.008
    if content.alerts:
        y -= 0.01
        figure.text(0.05, y, "Alerts in this period", fontsize=11, fontweight="bold", va="top")
        shown = content.alerts[-6:]
        lines = [wrapped(line, 170, max_lines=1) for line in shown]
        if len(content.alerts) > len(shown):
            lines.insert(0, f"(the latest {len(shown)} of {len(content.alerts)})")
        figure.text(0.05, y - 0.03, "\n".join(lines), fontsize=8.5, color="#333333", va="top", linespacing=1.4)
    return figure


def examples_page(content: ReportContent) -> Figure:
    figure = text_page(content, "Representative posts")
    figure.text(0.05, 0.86, "The short relevant posts each stance model was most confident about. Authors "
                "are shown as stored: pseudonyms, never names.", fontsize=9, color="#333333", va="top")
    y = 0.81
    for stance in style.STANCE_ORDER:
        figure.text(0.05, y, style.STANCE_LABELS[stance], fontsize=12, fontweight="bold",
                    color=style.STANCE_COLOURS[stance], va="top")
        y -= LINE * 1.3
        posts = [p for p in content.examples if p.stance == stance]
        if not posts:
            figure.text(0.07, y, "no relevant posts with this stance", fontsize=9, color="#666666", va="top")
            y -= LINE * 1.3
        for post in posts:
            meta = (f"p = {post.probability:.2f} · {str(post.created_at)[:10]} · {post.lang or '?'} · "
                    f"{post.source} · author {post.author or 'unknown'}")
            figure.text(0.07, y, shorten(meta, 140), fontsize=7.5, color="#666666", va="top")
            text = wrapped(post.text, width=150, max_lines=3)
            figure.text(0.07, y - LINE * 0.8, text, fontsize=8.5, va="top", linespacing=1.25)
            y -= LINE * (1.3 + 0.95 * (text.count("\n") + 1))
        y -= LINE * 0.4
    return figure
