"""build_report end to end on small real SQLite databases: files, pages, text and the awkward cases."""

from __future__ import annotations

import math
import warnings
from datetime import date, timedelta

import matplotlib
import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader
from test_reports_helpers import DEMO, TOPIC, add_post, add_version, fill_weeks, utc

from reports import EmptyReport, NoModelVersion, ReportRequest, build_report
from reports.content import collect
from reports.style import PAGE_SIZE, PNG_DPI
from storage.models import Classification

PAGES = 11  # title, key numbers, five charts, representative posts, methods, correction matrices, how to read
CHARTS = ("stance-shares", "sentiment", "safety-aspects", "languages-sources", "terms")
MONDAY = date(2025, 7, 7)


def pdf_text(result) -> tuple[int, str]:
    pdf = next(f for f in result.files if f.suffix == ".pdf")
    reader = PdfReader(pdf)
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def assert_pngs(result) -> None:
    pngs = [f for f in result.files if f.suffix == ".png"]
    assert [p.name for p in pngs] == [f"{pngs[0].name.rsplit('-stance-shares', 1)[0]}-{c}.png" for c in CHARTS]
    for png in pngs:
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            assert image.format == "PNG"
            assert image.size == (int(PAGE_SIZE[0] * PNG_DPI), int(PAGE_SIZE[1] * PNG_DPI))


def request_for(tmp_path, **kwargs) -> ReportRequest:
    """Weekly unless asked otherwise: most tests here are about weeks (``--freq auto`` has its own)."""
    return ReportRequest(out_dir=tmp_path / "out", topic=TOPIC, **{"freq": "week", **kwargs})


def test_full_report_has_every_page_chart_and_key_text(tmp_path, database):
    with database.begin() as session:
        version = add_version(session, metrics={"stance": {"macro_f1": 0.71}})
        fill_weeks(session, version, MONDAY, weeks=6, per_week=12, lang="de",
                   text="Offene Gewichte für alle, Grüße aus München #OpenWeights 🚀")
        fill_weeks(session, version, MONDAY, weeks=6, per_week=12, lang="en", source="x",
                   text="Costs $10M to train and $5M to run, ship the weights #OpenSource 🤖")
    with database() as session:
        result = build_report(session, request_for(tmp_path))
    assert result.posts == 144 and not result.synthetic
    assert result.period == (MONDAY, MONDAY + timedelta(days=7 * 5 + 6))
    pages, text = pdf_text(result)
    assert pages == PAGES
    for expected in ("OpenAI öffnet Gewichte?", "Key numbers", "Stance shares over time", "Sentiment over time",
                     "Safety concern and aspects", "Languages and sources", "What is being said",
                     "Representative posts", "Methods and coverage", "How to read the numbers", "macro-F1 0.710",
                     "anon-1a2b",
                     "gpt-oss veröffentlicht", "raw counts, uncorrected"):
        assert expected in text, expected
    assert "SYNTHETIC" not in text
    assert_pngs(result)


def test_demo_corpus_posts_make_every_page_say_synthetic(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        for i in range(20):
            add_post(session, version, utc(MONDAY + timedelta(days=i % 10)), url=f"{DEMO}{i}")
    with database() as session:
        result = build_report(session, request_for(tmp_path))
    assert result.synthetic
    reader = PdfReader(next(f for f in result.files if f.suffix == ".pdf"))
    assert all("SYNTHETIC" in page.extract_text() for page in reader.pages)
    # The watermark lies over the charts, not hidden behind their white axes: the middle of the stance page
    # has faintly red pixels that no stance colour makes.
    stance_png = next(f for f in result.files if f.name.endswith("stance-shares.png"))
    with Image.open(stance_png) as image:
        width, height = image.size
        middle = image.convert("RGB").crop((width * 3 // 10, height * 3 // 10, width * 7 // 10, height * 7 // 10))
        r, g, b = np.moveaxis(np.asarray(middle).astype(int), -1, 0)
    tinted = int(((r - g >= 6) & (abs(g - b) <= 3)).sum())
    assert tinted > 5000, tinted


def test_only_the_chosen_model_version_is_counted(tmp_path, database):
    with database.begin() as session:
        old = add_version(session, name="old", active=False)
        new = add_version(session, name="new", active=True)
        for i in range(30):
            post = add_post(session, new, utc(MONDAY + timedelta(days=i % 7)), stance="pro_open")
            # The same post, classified differently by the old model:
            session.add(Classification(post_id=post.id, model_version_id=old.id, relevant=True, relevance_score=1,
                                       stance="pro_closed", p_pro_open=0.1, p_pro_closed=0.8, p_neutral=0.1,
                                       sentiment_score=-0.5, classified_at=post.created_at))
        old_id = old.id
    with database() as session:
        active = collect(session, request_for(tmp_path))
        chosen = collect(session, request_for(tmp_path, model_version_id=old_id))
    assert active.model_name == "new" and active.total.relevant == 30
    assert active.total.stances["pro_open"].share == 1.0
    assert chosen.model_name == "old" and chosen.total.relevant == 30
    assert chosen.total.stances["pro_closed"].share == 1.0


def test_unknown_model_version_is_an_error(tmp_path, database):
    with database() as session, pytest.raises(NoModelVersion):
        build_report(session, request_for(tmp_path, model_version_id=999))


def test_sparse_and_empty_periods_show_gaps_not_shares(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=1, per_week=10)
        fill_weeks(session, version, MONDAY + timedelta(days=14), weeks=1, per_week=3)  # below the minimum
        fill_weeks(session, version, MONDAY + timedelta(days=28), weeks=1, per_week=10)
    with database() as session:
        content = collect(session, request_for(tmp_path, min_posts_per_period=5))
        result = build_report(session, request_for(tmp_path, min_posts_per_period=5))
    series = content.series
    assert series.starts == [MONDAY + timedelta(days=7 * i) for i in range(5)]
    assert list(series.posts) == [10, 0, 3, 0, 10]
    shares = series.stances["pro_open"].value
    assert not math.isnan(shares[0]) and not math.isnan(shares[4])
    assert all(math.isnan(shares[i]) for i in (1, 2, 3))
    assert math.isnan(series.sentiment.value[2])
    assert pdf_text(result)[0] == PAGES


def test_single_day_report(tmp_path, database):
    day = date(2025, 8, 5)
    with database.begin() as session:
        version = add_version(session)
        for hour in range(8):
            add_post(session, version, utc(day, hour), stance=("pro_open", "neutral")[hour % 2])
    with database() as session:
        result = build_report(session, request_for(tmp_path, freq="day", date_from=day, date_to=day))
    assert result.period == (day, day) and result.posts == 8
    pages, text = pdf_text(result)
    assert pages == PAGES and "05 Aug 2025" in text


def test_one_language_only(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=3, per_week=8, lang="de", text="Bitte endlich offene Gewichte!")
    with database() as session:
        content = collect(session, request_for(tmp_path))
        result = build_report(session, request_for(tmp_path, langs=("de",)))
    assert [g.label for g in content.languages] == ["German"]
    assert "German" in pdf_text(result)[1]
    assert_pngs(result)


def test_no_relevant_posts(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=6, relevant=False)
    with database() as session:
        result = build_report(session, request_for(tmp_path))
    assert result.posts == 12
    pages, text = pdf_text(result)
    assert pages == PAGES
    assert "0 relevant" in text and "no relevant posts with this stance" in text


@pytest.mark.parametrize("with_version", [False, True])
def test_no_posts_at_all_writes_nothing_and_says_so(tmp_path, database, with_version):
    if with_version:
        with database.begin() as session:
            add_version(session)
    with database() as session, pytest.raises(EmptyReport, match="no classified posts match"):
        build_report(session, request_for(tmp_path))
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_filters_that_match_nothing_write_nothing(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=8, lang="de")
    with database() as session, pytest.raises(EmptyReport, match="language fr; source rss"):
        build_report(session, request_for(tmp_path, langs=("fr",), sources=("rss",)))
    assert not list((tmp_path / "out").glob("*"))


def test_requested_period_is_compared_with_the_one_before(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=1, per_week=10, sentiment=-0.5)
        fill_weeks(session, version, MONDAY + timedelta(days=7), weeks=1, per_week=20, sentiment=0.5)
    with database() as session:
        content = collect(session, request_for(tmp_path, date_from=MONDAY + timedelta(days=7),
                                               date_to=MONDAY + timedelta(days=13)))
    comparison = content.comparison
    assert comparison.previous_window == (MONDAY, MONDAY + timedelta(days=6))
    assert comparison.previous.relevant == 10 and comparison.current.relevant == 20
    assert comparison.previous.sentiment[0] == pytest.approx(-0.5)
    assert comparison.current.sentiment[0] == pytest.approx(0.5)
    assert content.total.posts == 20  # the previous window is compared, not charted


def test_pngs_only_and_rc_params_do_not_leak(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=2, per_week=7)
    before = dict(matplotlib.rcParams)
    with database() as session:
        result = build_report(session, request_for(tmp_path, formats=("png",)))
    assert all(f.suffix == ".png" for f in result.files) and len(result.files) == len(CHARTS)
    assert dict(matplotlib.rcParams) == before


def test_emoji_dollars_and_umlauts_render_without_warnings(tmp_path, database):
    with database.begin() as session:
        version = add_version(session)
        for i in range(12):
            add_post(session, version, utc(MONDAY + timedelta(days=i % 5)),
                     text="Über $10M und $5M für 🦜🧑‍💻 offene Gewichte 🚀🚀 \u2063 #KI #OpenWeights 🇩🇪")
    with database() as session, warnings.catch_warnings():
        warnings.simplefilter("error")
        result = build_report(session, request_for(tmp_path))
    assert "Über" in pdf_text(result)[1]


def test_corrected_shares_are_used_and_labelled_when_available(tmp_path, database, monkeypatch):
    from reports import shares

    calls = []

    def fake_corrected_shares(groups, n_boot=200, seed=0):
        calls.append(groups)
        return {s: shares.Share(0.5 if s == "pro_open" else 0.25, 0.4, 0.6, True) for s in groups[0][0]}

    monkeypatch.setattr(shares, "find_corrector", lambda: fake_corrected_shares)
    confusion = [[8, 1, 1], [1, 8, 1], [1, 1, 8]]
    with database.begin() as session:
        version = add_version(session, metrics={"stance_confusion": confusion})
        fill_weeks(session, version, MONDAY, weeks=2, per_week=8)
    with database() as session:
        import reports.content as content_module

        monkeypatch.setattr(content_module, "find_corrector", lambda: fake_corrected_shares)
        content = collect(session, request_for(tmp_path))
        result = build_report(session, request_for(tmp_path))
    assert calls and [matrix for _, matrix in calls[0]] == [confusion]
    assert content.total.stances["pro_open"].share == 0.5
    assert "corrected for classifier error" in content.share_note
    reader = PdfReader(next(f for f in result.files if f.suffix == ".pdf"))
    stance_page = reader.pages[2].extract_text()
    assert "Stance shares over time" in stance_page
    assert "corrected for classifier error" in stance_page and "raw counts" not in stance_page


def test_alerts_recorded_for_the_period_appear_on_the_key_numbers_page(tmp_path, database):
    from storage.scheduling_models import Alert

    with database.begin() as session:
        version = add_version(session)
        fill_weeks(session, version, MONDAY, weeks=3, per_week=12, lang="en", text="ship the weights")
        for start, message in ((MONDAY + timedelta(days=7), "pro_open share jumped to 80% (baseline 40%)"),
                               (MONDAY - timedelta(days=70), "an alert before the report's period")):
            session.add(Alert(created_at=utc(start), metric="stance:pro_open", freq="week", period_start=start,
                              value=0.8, baseline_mean=0.4, baseline_std=0.05, baseline_periods=8, z_score=8.0,
                              change=0.4, rule="z", message=message))
    with database() as session:
        result = build_report(session, request_for(tmp_path, formats=("pdf",)))
    text = pdf_text(result)[1]
    assert "Alerts in this period" in text
    assert "pro_open share jumped to 80%" in text
    assert "before the report's period" not in text
