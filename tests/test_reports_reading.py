"""Reports a policy reader can quote: each check goes through the data that feeds a chart, or the drawn chart."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text
from pypdf import PdfReader
from test_reports_helpers import TOPIC, add_post, add_version, fill_weeks, utc

from reports import ReportRequest, build_report, charts
from reports.content import collect
from reports.figures import CHART_PAGES
from reports.methods import corrections_page, methods_page, reading_page
from reports.pages import examples_page, summary_page, title_page
from reports.request import Event, Topic
from reports.text import report_style

MONDAY = date(2025, 7, 7)
# The English correction matrix that shipped when the August 2025 report showed "0% pro_open".
EN_MATRIX = [[401, 30, 295], [15, 36, 20], [250, 29, 667]]


def request_for(tmp_path, **kwargs) -> ReportRequest:
    return ReportRequest(out_dir=tmp_path / "out", topic=TOPIC, **kwargs)


def pdf_pages(result) -> list[str]:
    """Each page's text with whitespace collapsed (wrapping moves line breaks)."""
    pdf = next(f for f in result.files if f.suffix == ".pdf")
    return [" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages]


def add_counts(session, version, day, counts: dict[str, int], lang="en", **kwargs) -> None:
    for stance, n in counts.items():
        for i in range(n):
            add_post(session, version, utc(day + timedelta(days=i % 20)), stance=stance, lang=lang, **kwargs)


def test_auto_frequency_picks_the_shortest_period_with_enough_posts(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=6, per_week=40)
    with database() as session:
        weekly = collect(session, request_for(tmp_path))
    assert weekly.request.freq == "week" and weekly.freq_chosen
    with database.begin() as session:
        version = add_version(session, name="sparse")
        fill_weeks(session, version, MONDAY + timedelta(days=100), weeks=12, per_week=9)
    with database() as session:
        monthly = collect(session, request_for(tmp_path, model_version_id=version.id))
        result = build_report(session, request_for(tmp_path, model_version_id=version.id))
        fixed = collect(session, request_for(tmp_path, model_version_id=version.id, freq="week"))
    assert monthly.request.freq == "month" and result.freq == "month"
    assert all("-month-" in path.name or path.name.endswith("-month.pdf") for path in result.files)
    assert "per month (chosen automatically)" in pdf_pages(result)[2]
    assert fixed.request.freq == "week" and not fixed.freq_chosen


def test_the_chart_says_when_intervals_are_too_wide_to_read_a_trend(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=4, per_week=6)
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="week"))
        result = build_report(session, request_for(tmp_path, freq="week"))
    assert content.series.wide_intervals() is not None
    stance_page = pdf_pages(result)[2]
    assert "intervals are wide" in stance_page and "not evidence of a trend" in stance_page
    assert any("not evidence of a trend" in w for w in result.warnings)


def test_a_month_with_16_of_81_pro_open_gets_an_honest_interval_and_the_classified_share_beside_it(tmp_path,
                                                                                                 database):
    august = date(2025, 8, 1)
    with database.begin() as session:
        version = add_version(session, metrics={"stance_confusion": EN_MATRIX,
                                                "stance_confusion_by_lang": {"en": EN_MATRIX}})
        add_counts(session, version, august, {"pro_open": 16, "pro_closed": 8, "neutral": 57})
        add_counts(session, version, august - timedelta(days=31), {"pro_open": 15, "pro_closed": 6, "neutral": 10})
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="month", langs=("en",)))
        result = build_report(session, request_for(tmp_path, freq="month", langs=("en",)))
    series = content.series
    month = series.starts.index(august)
    corrected, raw = series.stances["pro_open"], series.stances_raw["pro_open"]
    assert raw.value[month] == pytest.approx(16 / 81)
    # The error rates alone can explain 16 pro_open decisions, so the point may sit at 0 ...
    assert corrected.value[month] < 0.05
    # ... but the interval must admit the shares the counts do not rule out (the old bootstrap said 0-7%).
    assert corrected.high[month] > 0.2
    assert content.correction_matrices == {"all real posts": [("mastodon", "en")]}
    pages = pdf_pages(result)
    assert "as classified" in pages[1] and "dashed: the share as the model classified the posts" in pages[2]
    assert "Correction matrices" in pages[9] and "all real posts; corrects mastodon en" in pages[9]


def test_posts_without_sentiment_are_never_drawn_as_zero(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=10, lang="en", sentiment=0.6)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=10, lang="fr", sentiment=None)
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="week"))
    by_label = {g.label: g for g in content.languages}
    assert math.isnan(by_label["fr"].sentiment[0]) and by_label["fr"].sentiment_n == 0
    assert content.total.sentiment[0] == pytest.approx(0.6)  # the French posts do not pull the mean to 0.3
    figure = Figure()
    ax = figure.add_subplot()
    charts.plot_group_sentiment(ax, content.languages)
    drawn = np.concatenate([line.get_xdata() for line in ax.lines if line.get_marker() == "o"])
    assert list(drawn) == pytest.approx([0.6])
    assert any("no sentiment scores" in t.get_text() for t in ax.texts)


def test_rolling_mean_does_not_run_through_hidden_periods(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=10)
        fill_weeks(session, version, MONDAY + timedelta(days=14), weeks=1, per_week=2)  # hidden: too few
        fill_weeks(session, version, MONDAY + timedelta(days=21), weeks=2, per_week=10)
    with database() as session:
        series = collect(session, request_for(tmp_path, freq="week", min_posts_per_period=5)).series
    assert list(series.hidden) == [False, False, True, False, False]
    assert math.isnan(series.sentiment.value[2]) and math.isnan(series.sentiment_smooth[2])
    assert not math.isnan(series.sentiment_smooth[1]) and not math.isnan(series.sentiment_smooth[3])


def test_safety_concern_never_exceeds_the_safety_aspect_and_aspects_have_bands(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        # Neutral posts: the helper sets the safety aspect only for pro_closed ones; these voice a concern.
        for i in range(12):
            add_post(session, version, utc(MONDAY + timedelta(days=i % 7)), stance="neutral", safety_concern=True)
    with database() as session:
        series = collect(session, request_for(tmp_path, freq="week")).series
    assert series.safety_concern.value[0] == 1.0
    assert series.aspects["safety"].value[0] >= series.safety_concern.value[0]
    for aspect in ("safety", "competition", "governance", "local_ai"):
        band = series.aspects[aspect]
        assert band.low[0] <= band.value[0] <= band.high[0] and band.high[0] > band.low[0]
    figure = Figure()
    ax = figure.add_subplot()
    charts.plot_aspect(ax, series, "governance")
    assert any(isinstance(c, PolyCollection) for c in ax.collections)


def test_a_safety_concern_head_that_never_fires_is_explained_not_drawn_at_zero(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=12)  # pro_closed posts touch safety, no concern
    with database() as session:
        result = build_report(session, request_for(tmp_path, freq="week"))
    safety_page = pdf_pages(result)[4]
    assert "flagged none of the relevant posts" in safety_page and "voices a safety concern" not in safety_page


def test_whole_period_charts_are_not_labelled_per_period_and_months_are_labelled_at_their_middle(tmp_path,
                                                                                                database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, date(2025, 6, 2), weeks=12, per_week=10)
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="month"))
        result = build_report(session, request_for(tmp_path, freq="month"))
    pages = pdf_pages(result)
    for page in (pages[5], pages[6]):  # languages and sources, what is being said
        assert "whole period" in page and "per month" not in page
    figure = Figure()
    ax = figure.add_subplot()
    charts.plot_stance_share(ax, content.series, "pro_open")
    ticks = [(date.fromordinal(int(t)), label.get_text()) for t, label in zip(ax.get_xticks(), ax.get_xticklabels())]
    assert [label.split("\n")[0] for _, label in ticks] == ["Jun", "Jul", "Aug"]
    assert all(day.day in (15, 16) for day, _ in ticks)


def test_group_legend_sits_above_the_bars_and_zero_shares_stay_visible(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        for i in range(20):
            add_post(session, version, utc(MONDAY + timedelta(days=i % 7)), stance=("pro_open", "neutral")[i % 2])
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="week"))
    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    charts.plot_group_stances(ax, content.languages)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y0 >= ax.get_window_extent(renderer).y1 - 1  # above the plotting area, clear of whiskers
    closed_dots = [line for line in ax.lines if line.get_color() == "#D55E00"]
    assert closed_dots and list(closed_dots[0].get_xdata()) == [0.0]  # a 0% pro-closed share is marked
    assert "0%" in [t.get_text() for t in ax.texts]


def _undrawn_tick_labels(figure: Figure) -> set[int]:
    """Labels of ticks outside their axis' view: matplotlib keeps but never draws them."""
    undrawn = set()
    for ax in figure.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    undrawn.update({id(tick.label1), id(tick.label2)})
    return undrawn


def texts_outside(figure: Figure) -> list[str]:
    """Texts drawn (partly) outside the page."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    page = figure.bbox
    undrawn = _undrawn_tick_labels(figure)
    outside = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in undrawn:
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1 or box.y1 > page.y1 + 1:
            outside.append(text.get_text()[:60])
    return outside


def test_no_text_runs_off_any_page(tmp_path, database):
    many_events = tuple(Event(date(2025, 7, 7) + timedelta(days=3 * i), f"Event number {i} with a longer label "
                              f"naming what happened") for i in range(12))
    topic = Topic(TOPIC.name, TOPIC.title, TOPIC.languages, TOPIC.keywords, many_events)
    with database.begin() as session:
        version = add_version(session, metrics={
            "cross_validated": {"all": {"n": 10325, "stance": {"macro_f1": 0.774, "accuracy": 0.835},
                                        "relevant": {"f1": 0.887}, "safety_concern": {"f1": 0.716}}},
            "held_out": {"all": {"n": 1625, "stance": {"macro_f1": 0.535, "accuracy": 0.825},
                                 "relevant": {"f1": 0.764}, "safety_concern": {"f1": 0.367}}},
            "stance_confusion": EN_MATRIX})
        fill_weeks(session, version, MONDAY, weeks=6, per_week=12, lang="de")
        fill_weeks(session, version, MONDAY, weeks=6, per_week=12, lang="en", source="x")
    request = ReportRequest(out_dir=tmp_path / "out", topic=topic, langs=("de", "en"), sources=("mastodon", "x"))
    with database() as session:
        content = collect(session, request)
        result = build_report(session, request)
    with report_style():
        builders = [title_page, summary_page, *[build for _, build in CHART_PAGES], examples_page, methods_page,
                    corrections_page, reading_page]
        for build in builders:
            assert texts_outside(build(content)) == [], build.__name__
    pages = pdf_pages(result)
    flat = " ".join(pages)
    assert "held-out real posts: n 1625, stance macro-F1 0.535" in flat  # the model line is not cut
    assert "[12] 09 Aug 2025 Event number 11 with a longer label naming what happened" in flat


def test_headline_shares_on_few_posts_carry_a_warning(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=1, per_week=9)
        fill_weeks(session, version, MONDAY + timedelta(days=7), weeks=1, per_week=31)
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="week"))
        result = build_report(session, request_for(tmp_path, freq="week"))
    assert content.comparison.previous.relevant == 9 and content.comparison.current.relevant == 31
    assert any("9 relevant posts (previous)" in warning for warning in content.warnings)
    assert "Before quoting these numbers" in pdf_pages(result)[1]
    assert any("9 relevant posts (previous)" in warning for warning in result.warnings)


def test_plurals_on_the_methods_page(tmp_path, database):
    from storage.models import CollectionRun

    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=1, per_week=8)
        session.add(CollectionRun(source="file", query="demo", started_at=utc(MONDAY), finished_at=utc(MONDAY),
                                  status="ok", pages=1, fetched=8, new=8, rejected=0))
    with database() as session:
        result = build_report(session, request_for(tmp_path, freq="week"))
    methods = pdf_pages(result)[8]
    assert "file: 1 run (0 failed" in methods and "1 runs" not in methods and "0 runs recorded gaps" in methods


def test_filters_are_on_every_chart_and_in_the_file_names(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=3, per_week=12, lang="de")
        fill_weeks(session, version, MONDAY, weeks=3, per_week=12, lang="en", source="x")
    with database() as session:
        german = build_report(session, request_for(tmp_path, freq="week", langs=("de",)))
        english_x = build_report(session, request_for(tmp_path, freq="week", langs=("en",), sources=("x",)))
        everything = build_report(session, request_for(tmp_path, freq="week"))
    names = [{p.name for p in r.files} for r in (german, english_x, everything)]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert all("-lang-de" in name for name in names[0])
    assert all("-lang-en-source-x" in name for name in names[1])
    for page in pdf_pages(english_x)[2:7]:
        assert "Filters: language en; source x" in page
    assert "All languages and sources" in pdf_pages(everything)[2]


def test_plural_words_for_counts():
    from reports.wording import plural

    assert [plural(n, "post") for n in (0, 1, 2, 1200)] == ["0 posts", "1 post", "2 posts", "1,200 posts"]
    assert plural(1.0, "run") == "1 run" and plural(3, "query", "queries") == "3 queries"


def test_the_share_voicing_a_safety_concern_is_corrected_with_the_flagged_share_beside_it(tmp_path, database):
    """A classifier that flags 8 % of the posts without a concern: 9 of 100 flagged is about what it flags
    when nobody voices one, so the report must not state 9 %."""
    august = date(2025, 8, 1)
    with database.begin() as session:
        version = add_version(session, metrics={"stance_confusion": EN_MATRIX,
                                                "safety_confusion": [[920, 80], [30, 30]]})
        for month, flagged in ((august, 9), (august - timedelta(days=31), 30)):
            add_counts(session, version, month, {"neutral": flagged}, safety_concern=True)
            add_counts(session, version, month, {"neutral": 100 - flagged})
    with database() as session:
        content = collect(session, request_for(tmp_path, freq="month"))
        result = build_report(session, request_for(tmp_path, freq="month"))
    series = content.series
    month = series.starts.index(august)
    assert series.safety_corrected and content.safety_corrected
    assert series.safety_concern_raw.value[month] == pytest.approx(0.09)
    assert series.safety_concern.value[month] < 0.04 and series.safety_concern.low[month] == 0.0
    # 30 flagged of 100 is more than false positives explain: the corrected share is above the flagged one.
    assert series.safety_concern.value[month - 1] > 0.4 > series.safety_concern_raw.value[month - 1]
    assert content.total.safety_concern_raw[0] == pytest.approx(39 / 200)
    assert content.total.safety_concern[0] > content.total.safety_concern_raw[0]
    pages = pdf_pages(result)
    assert "as flagged 9.0%" in pages[1] and "safety concern is corrected the same way" in pages[1]
    assert "dotted: the share it flagged" in " ".join(pages)
    assert "safety concern, all languages" in pages[9]
    assert any("share voicing a safety concern at 2% against 9% flagged" in w for w in content.warnings)
