"""The report's building blocks: SQL counting on both dialects, periods, intervals, terms and text."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta

import pytest
from test_reports_helpers import add_post, add_version, utc

from classifiers.prevalence import combined_corrected_shares
from reports.aggregate import Scope, count_cube
from reports.periods import bucket_start, buckets_between, previous_window
from reports.shares import Confusions, ShareEstimator, confusion_from_metrics, wilson_interval
from reports.terms import distinctive_terms, tokenise
from reports.text import drawable, shorten
from storage.engine import open_database


def test_cube_counts_per_day_language_and_stance_on_each_dialect(db_url):
    engine, sessions = open_database(db_url)
    try:
        with sessions.begin() as session:
            version = add_version(session)
            other = add_version(session, name="other", active=False)
            monday = date(2025, 7, 7)
            add_post(session, version, utc(monday, 0), stance="pro_open", sentiment=0.5, lang="de")
            add_post(session, version, utc(monday, 23), stance="pro_closed", sentiment=-0.5, safety_concern=True)
            add_post(session, version, utc(monday + timedelta(days=6), 23), relevant=False, sentiment=None)
            add_post(session, other, utc(monday, 12))  # another model version: never counted
            version_id = version.id
        with sessions() as session:
            cube = count_cube(session, Scope(version_id))
            weeks = cube.rolled_up("bucket", "week")
            languages = cube.rolled_up("lang")
            total = cube.total()
            cells = cube.cells()
            parts = cube.split("source")
    finally:
        engine.dispose()
    assert list(weeks) == [monday]
    assert total["posts"] == 3 and total["relevant"] == 2
    assert total["stance_pro_open"] == 1 and total["stance_pro_closed"] == 1
    assert total["safety_concern"] == 1 and total["aspect_safety"] == 1
    assert total["sentiment_n"] == 2 and total["sentiment_sum"] == pytest.approx(0.0)
    assert total["sentiment_sq"] == pytest.approx(0.5)
    assert languages["de"]["posts"] == 1 and languages["en"]["posts"] == 2
    # Relevant posts per stance, per (platform, language): what correction per community counts.
    assert cells == {("mastodon", "de"): {"pro_open": 1, "pro_closed": 0, "neutral": 0},
                     ("mastodon", "en"): {"pro_open": 0, "pro_closed": 1, "neutral": 0}}
    assert list(parts) == ["mastodon"] and parts["mastodon"].total() == total


def test_periods_start_on_monday_and_first_of_month_and_keep_empty_buckets():
    assert bucket_start(date(2025, 8, 10), "week") == date(2025, 8, 4)  # a Sunday
    assert bucket_start(date(2025, 8, 10), "month") == date(2025, 8, 1)
    assert buckets_between(date(2025, 1, 31), date(2025, 3, 1), "month") == [
        date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    assert len(buckets_between(date(2025, 8, 4), date(2025, 8, 31), "week")) == 4
    assert previous_window(date(2025, 8, 8), date(2025, 8, 14)) == (date(2025, 8, 1), date(2025, 8, 7))


def test_wilson_interval_brackets_the_share_and_handles_the_extremes():
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.2 < high < 0.35
    low, high = wilson_interval(50, 100)
    assert low < 0.5 < high and high - low == pytest.approx(0.19, abs=0.01)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_raw_shares_when_no_confusion_matrix():
    estimator = ShareEstimator(corrector=lambda *a, **k: pytest.fail("must not correct"), confusions=Confusions(None))
    shares = estimator.estimate({("x", "en"): {"pro_open": 4, "neutral": 1}, ("rss", "de"): {"pro_open": 2,
                                                                                            "pro_closed": 3}})
    assert shares["pro_open"].share == pytest.approx(0.6) and not shares["pro_open"].corrected
    assert "raw counts" in estimator.describe()


@pytest.mark.parametrize("metrics", [{}, {"stance_confusion": [[1, 2], [3, 4]]},
                                     {"stance_confusion": [[1, 0, 0], [0, 0, 0], [0, 0, 1]]},
                                     {"stance_confusion": "nope"}])
def test_malformed_confusion_matrices_are_ignored(metrics):
    assert confusion_from_metrics(metrics) is None


def test_tokenise_drops_stopwords_urls_mentions_and_keeps_hashtags_and_umlauts():
    words, tags = tokenise("Die Forschung braucht endlich Öffnung! @sama https://x.com/a #OpenWeights #KI")
    assert "forschung" in words and "öffnung" in words
    assert "die" not in words and "sama" not in words and not any("http" in w for w in words)
    assert tags == ["#openweights", "#ki"]


def test_distinctive_terms_rank_the_side_specific_word_first():
    counts = {
        "pro_open": Counter({"download": 40, "release": 20, "today": 20}),
        "pro_closed": Counter({"misuse": 40, "release": 20, "today": 20}),
        "neutral": Counter({"release": 30, "today": 30}),
    }
    result = distinctive_terms(counts)
    assert result["pro_open"][0][0] == "download"
    assert result["pro_closed"][0][0] == "misuse"
    assert "misuse" not in dict(result["pro_open"])


def test_drawable_text_keeps_umlauts_escapes_dollars_and_drops_undrawable_characters():
    text = drawable("Grüße\u200d aus Köln: $10M vs $5M \U000E0001\n\nneu")
    assert text.startswith("Grüße aus Köln") and r"\$10M" in text and "\U000E0001" not in text
    assert "\n" not in text
    assert shorten("ä" * 50, 10) == "ä" * 9 + "…"


def test_methods_page_reads_nested_and_flat_validation_metrics():
    from reports.methods import metrics_text

    nested = {"cross_validated": {"all": {"n": 3903, "stance": {"macro_f1": 0.6514}, "relevant": {"f1": 0.8373}},
                                  "web": {"n": 7}},
              "held_out": {"n": 761, "relevant": {"f1": 0.724}}}
    text = metrics_text(nested)
    assert "cross-validated: n 3903, stance macro-F1 0.651, relevance F1 0.837" in text
    assert "held-out real posts: n 761, relevance F1 0.724" in text
    assert metrics_text({"stance": {"macro_f1": 0.71}}) == "stance macro-F1 0.710"
    assert metrics_text(None) == "no validation metrics stored"


def test_each_platform_is_corrected_with_its_community_matrix_and_the_methods_page_lists_them():
    from reports.methods import confusion_lines

    reddit, web = [[9, 0, 1]] * 3, [[7, 0, 3]] * 3
    metrics = {"stance_confusion": [[8, 1, 1], [1, 8, 1], [1, 1, 8]],
               "stance_confusion_by_community": {"reddit": reddit, "web": web, "forum": [[1, 2]]}}
    confusions = Confusions.from_metrics(metrics)
    assert confusions.by_community == {"reddit": reddit, "web": web}  # the malformed one is left out
    assert confusions.for_posts("reddit") == ("reddit", reddit)
    assert confusions.for_posts("rss") == confusions.for_posts("hackernews") == ("web", web)
    assert confusions.for_posts("mastodon") == ("all real posts", metrics["stance_confusion"])
    assert Confusions.from_metrics({"stance_confusion_by_community": {"web": web}}).for_posts("x") is None
    # The user's own labelled posts of a platform come first for that platform.
    mine = Confusions.from_metrics({**metrics, "stance_confusion_by_community": {"reddit": reddit,
                                                                                "your reddit posts": web}})
    assert mine.for_posts("reddit") == ("your reddit posts", web) and mine.for_posts("x")[0] == "all real posts"

    lines = confusion_lines(metrics)
    headers = [line.split(" (rows")[0] for line in lines if not line.startswith("   ")]
    assert headers == ["all real posts", "reddit", "web"]  # no safety matrix stored
    lines = confusion_lines(metrics, {"web": [("rss", "de"), ("rss", "en")]})
    headers = [line.split(" (rows")[0] for line in lines if not line.startswith("   ")]
    assert headers == ["web; corrects rss de, rss en"]
    assert "7 (70%)" in lines[1]
    assert confusion_lines(None) == []


def test_the_estimator_corrects_each_matrix_group_once_and_weights_the_groups_by_their_posts():
    metrics = {"stance_confusion": [[8, 1, 1], [1, 8, 1], [1, 1, 8]],
               "stance_confusion_by_community": {"web": [[7, 0, 3]] * 3}}
    calls = []

    def corrector(groups, n_boot, seed):
        calls.append(groups)
        return combined_corrected_shares(groups, n_boot=0)

    estimator = ShareEstimator.from_metrics(metrics, corrector)
    cells = {("rss", "en"): {"pro_open": 3, "neutral": 1}, ("hackernews", "de"): {"neutral": 4},
             ("x", "en"): {"pro_closed": 2}}
    shares = estimator.estimate(cells)
    assert sorted(calls[0], key=str) == sorted([({"pro_open": 3, "pro_closed": 0, "neutral": 5}, [[7, 0, 3]] * 3),
                                                ({"pro_open": 0, "pro_closed": 2, "neutral": 0},
                                                 metrics["stance_confusion"])], key=str)
    assert estimator.matrices(cells) == {"web": [("hackernews", "de"), ("rss", "en")],
                                         "all real posts": [("x", "en")]}
    assert shares["pro_closed"].corrected and sum(s.share for s in shares.values()) == pytest.approx(1.0)


def test_the_safety_concern_share_is_corrected_only_by_a_matrix_that_can_correct():
    from reports.methods import confusion_lines
    from reports.shares import ShareEstimator, safety_confusion_from_metrics

    metrics = {"safety_confusion": [[920, 80], [30, 30]]}
    assert safety_confusion_from_metrics(metrics) == [[920, 80], [30, 30]]
    for broken in ([[1, 2, 3], [4, 5, 6]], [[10, 0], [0, 0]], [[50, 50], [60, 40]], "nope", None):
        assert safety_confusion_from_metrics({"safety_confusion": broken}) is None
    lines = confusion_lines(metrics)
    assert lines[0].startswith("safety concern") and "80 (8%)" in lines[1] and "30 (50%)" in lines[2]

    # 9 % flagged is what this classifier's false positives alone produce: the corrected share is about 2 %.
    corrected = ShareEstimator(None, Confusions(None), safety_confusion=metrics["safety_confusion"]).safety(54, 600)
    raw = ShareEstimator(None, Confusions(None)).safety(54, 600)
    assert raw[0] == pytest.approx(0.09) and raw[1] > 0.06
    assert corrected[0] < 0.04 and corrected[1] == 0.0 < corrected[2] < 0.1
