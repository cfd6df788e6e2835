"""Corrected stance shares: simulated classifiers with known error rates, so the truth is known."""

import math

import numpy as np
import pytest

from classifiers.labels import STANCES
from classifiers.prevalence import (
    ShareEstimate,
    combined_corrected_shares,
    corrected_shares,
    expected_shares,
    simplex_least_squares,
)

# A classifier that errs unevenly: it calls a fifth of neutral posts pro_closed, so raw counts inflate
# pro_closed whenever neutral news dominates.
ERROR_RATES = np.array([
    [0.80, 0.05, 0.15],  # true pro_open
    [0.10, 0.70, 0.20],  # true pro_closed
    [0.10, 0.20, 0.70],  # true neutral
])
TRUE_SHARES = np.array([0.30, 0.10, 0.60])


def simulate(rng, shares=TRUE_SHARES, posts=400, labelled=(150, 80, 250)):
    """(predicted counts of one period, confusion measured on a labelled set) for a known classifier."""
    confusion = [rng.multinomial(n, ERROR_RATES[i]).tolist() for i, n in enumerate(labelled)]
    truth = rng.choice(3, size=posts, p=shares)
    predicted = np.array([rng.choice(3, p=ERROR_RATES[t]) for t in truth])
    counts = {s: int((predicted == i).sum()) for i, s in enumerate(STANCES)}
    return counts, confusion


def as_array(estimates):
    return np.array([estimates[s].share for s in STANCES])


def test_corrected_shares_are_closer_to_the_truth_than_raw_counts_on_average():
    rng = np.random.default_rng(42)
    raw_errors, corrected_errors = [], []
    for _ in range(100):
        counts, confusion = simulate(rng)
        raw = np.array([counts[s] for s in STANCES]) / sum(counts.values())
        raw_errors.append(np.abs(raw - TRUE_SHARES).sum())
        corrected_errors.append(np.abs(as_array(corrected_shares(counts, confusion, n_boot=50)) - TRUE_SHARES).sum())
    # Raw counts miss by ~0.24 in total here (pro_closed nearly doubled), corrected ones by ~0.13: the
    # correction removes the bias and what is left is sampling noise.
    assert np.mean(corrected_errors) < 0.7 * np.mean(raw_errors)
    assert np.mean(raw_errors) > 0.15


def test_the_95_percent_interval_covers_the_truth_in_most_repetitions():
    rng = np.random.default_rng(7)
    covered = np.zeros(3)
    repetitions = 120
    for seed in range(repetitions):
        counts, confusion = simulate(rng)
        estimates = corrected_shares(counts, confusion, n_boot=300, seed=seed)
        covered += [estimates[s].low <= TRUE_SHARES[i] <= estimates[s].high for i, s in enumerate(STANCES)]
    rates = covered / repetitions
    assert (rates >= 0.85).all(), rates


def test_raw_interval_alone_would_rarely_cover_the_truth():
    """The point of the correction: a raw Wilson interval is confidently wrong about pro_closed."""
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(40):
        counts, _ = simulate(rng)
        raw = corrected_shares(counts, None)["pro_closed"]
        hits += raw.low <= TRUE_SHARES[1] <= raw.high
    assert hits < 10


def test_uncertain_error_rates_widen_the_interval():
    counts = {"pro_open": 120, "pro_closed": 60, "neutral": 220}
    few = [[8, 1, 1], [1, 7, 2], [1, 2, 7]]
    many = [[v * 100 for v in row] for row in few]
    narrow, wide = corrected_shares(counts, many), corrected_shares(counts, few)
    for s in STANCES:
        assert narrow[s].share == pytest.approx(wide[s].share, abs=1e-9)
        assert wide[s].high - wide[s].low > 1.5 * (narrow[s].high - narrow[s].low)


def test_shares_stay_on_the_simplex_when_the_counts_are_unreachable():
    # 30 % predicted pro_closed, but even all-pro_closed posts would only give 70 %... and neutral leaks
    # 20 %: the unconstrained inverse goes negative for pro_open here.
    estimates = corrected_shares({"pro_open": 0, "pro_closed": 30, "neutral": 70}, [[80, 5, 15], [10, 70, 20],
                                                                                   [10, 20, 70]])
    shares = as_array(estimates)
    assert (shares >= 0).all() and shares.sum() == pytest.approx(1.0)
    assert estimates["pro_open"].share == 0.0
    assert all(e.low <= e.share <= e.high and e.corrected for e in estimates.values())


def test_simplex_least_squares_matches_a_grid_search():
    rng = np.random.default_rng(0)
    grid = np.array([[a, b, 1 - a - b] for a in np.linspace(0, 1, 201) for b in np.linspace(0, 1, 201) if a + b <= 1])
    rates = rng.dirichlet(np.ones(3), size=(50, 3)) + np.eye(3)
    rates[::5, :, 1] = 0  # some classifiers never predict pro_closed: a singular problem
    rates /= rates.sum(axis=2, keepdims=True)
    observed = rng.dirichlet(np.ones(3), size=50)
    solved = simplex_least_squares(rates, observed)
    for p, m, q in zip(solved, rates, observed):
        best = ((grid @ m - q) ** 2).sum(axis=1).min()
        assert ((p @ m - q) ** 2).sum() <= best + 1e-9
        assert p.min() >= 0 and p.sum() == pytest.approx(1.0)


def test_a_perfect_classifier_changes_nothing():
    counts = {"pro_open": 30, "pro_closed": 10, "neutral": 60}
    estimates = corrected_shares(counts, [[50, 0, 0], [0, 20, 0], [0, 0, 90]])
    assert as_array(estimates) == pytest.approx([0.3, 0.1, 0.6])


def test_without_confusion_raw_shares_with_wilson_intervals():
    estimates = corrected_shares({"pro_open": 3, "pro_closed": 0, "neutral": 7}, None)
    assert isinstance(estimates["pro_open"], ShareEstimate)
    assert as_array(estimates) == pytest.approx([0.3, 0.0, 0.7])
    assert not any(e.corrected for e in estimates.values())
    assert estimates["pro_closed"].low == 0.0 and 0.2 < estimates["pro_closed"].high < 0.35  # Wilson, n=10
    assert estimates["pro_open"].low < 0.3 < estimates["pro_open"].high


def test_no_posts_gives_nan_and_bad_matrices_are_refused():
    assert all(math.isnan(e.share) for e in corrected_shares({}, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]).values())
    assert all(math.isnan(e.share) for e in corrected_shares({}, None).values())
    with pytest.raises(ValueError, match="3x3"):
        corrected_shares({"pro_open": 1}, [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="no labelled examples of pro_closed"):
        corrected_shares({"pro_open": 1}, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_same_seed_same_interval():
    counts, confusion = simulate(np.random.default_rng(1))
    assert corrected_shares(counts, confusion, seed=5) == corrected_shares(counts, confusion, seed=5)
    assert corrected_shares(counts, confusion, seed=5) != corrected_shares(counts, confusion, seed=6)


def test_expected_shares_average_the_probabilities():
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.2, 0.6], [0.5, 0.0, 0.5], [0.1, 0.1, 0.8]])
    estimates = expected_shares(proba, n_boot=500)
    assert as_array(estimates) == pytest.approx(proba.mean(axis=0))
    assert all(e.low <= e.share <= e.high and not e.corrected for e in estimates.values())
    with pytest.raises(ValueError, match="shape"):
        expected_shares(np.ones((3, 2)))


def test_smoothed_confusion_steadies_thin_rows_only():
    from classifiers.prevalence import smoothed_confusion

    real = [[500, 0, 500], [1, 1, 1], [0, 0, 1000]]
    prior = [[100, 0, 100], [0, 90, 10], [0, 0, 100]]
    rows = smoothed_confusion(real, prior, strength=30)
    assert rows[0] == [515, 0, 515] and rows[2] == [0, 0, 1030]  # thick rows keep their rates
    assert rows[1] == [1, 28, 4]  # 3 real posts: the prior's 90% recall dominates
    assert smoothed_confusion(real, [[0, 0, 0]] * 3, strength=3)[1] == [2, 2, 2]  # no prior: spread evenly


# The English matrix the August 2025 report was corrected with (rows true, columns decided).
EN_MATRIX = [[401, 30, 295], [15, 36, 20], [250, 29, 667]]


@pytest.mark.parametrize("counts, stance, at_least", [
    # 16 of 81 decided pro_open: the error rates alone explain them, so the point is 0, yet a true share of
    # 20 % would give such counts often enough; the old bootstrap interval stopped at about 7 %.
    ({"pro_open": 16, "pro_closed": 8, "neutral": 57}, "pro_open", 0.2),
    # No post decided pro_closed out of 17: with a pro_closed recall of 51 % that is quite possible at a true
    # share of 15 %; the old interval was [0, 0].
    ({"pro_open": 7, "pro_closed": 0, "neutral": 10}, "pro_closed", 0.15),
    # 5 of 27 decided neutral, fewer than the matrix expects even from pro_open posts alone: neutral sits
    # at 0, and the old interval was [0, 0] again.
    ({"pro_open": 18, "pro_closed": 4, "neutral": 5}, "neutral", 0.15),
])
def test_a_share_at_zero_keeps_an_interval_that_admits_what_the_counts_do_not_rule_out(counts, stance, at_least):
    estimate = corrected_shares(counts, EN_MATRIX)[stance]
    assert estimate.share < 0.05 and estimate.low == 0.0
    assert estimate.high >= at_least


def test_intervals_cover_small_true_shares_that_often_show_zero_posts():
    """A pro_closed share of 5 % among 30 posts is often decided zero times; the interval must still cover
    it (the bootstrap around a zero count covered it in under 80 % of the periods)."""
    rates = np.array(EN_MATRIX, dtype=float)
    rates /= rates.sum(axis=1, keepdims=True)
    truth = np.array([0.75, 0.05, 0.20])
    rng = np.random.default_rng(11)
    covered = np.zeros(3)
    repetitions = 150
    for seed in range(repetitions):
        decided = rng.multinomial(30, truth @ rates)
        estimates = corrected_shares(dict(zip(STANCES, decided.tolist())), EN_MATRIX, n_boot=100, seed=seed)
        covered += [estimates[s].low <= truth[i] <= estimates[s].high for i, s in enumerate(STANCES)]
    assert (covered / repetitions >= 0.9).all(), covered / repetitions


# Two communities on which one classifier errs differently: it calls 40 % of neutral forum comments pro_open,
# but only 5 % of neutral news passages.
FORUM_RATES = np.array([[0.70, 0.05, 0.25], [0.30, 0.50, 0.20], [0.40, 0.05, 0.55]])
NEWS_RATES = np.array([[0.65, 0.05, 0.30], [0.10, 0.60, 0.30], [0.05, 0.05, 0.90]])


def test_one_group_is_corrected_exactly_as_alone_and_empty_groups_are_left_out():
    counts, confusion = {"pro_open": 30, "pro_closed": 10, "neutral": 60}, EN_MATRIX
    alone = corrected_shares(counts, confusion, n_boot=50)
    assert combined_corrected_shares([(counts, confusion), ({}, NEWS_RATES.tolist())], n_boot=50) == alone
    assert all(math.isnan(e.share) for e in combined_corrected_shares([], n_boot=10).values())


def test_correcting_each_community_with_its_own_matrix_beats_one_pooled_matrix():
    """Forum comments and news passages at known true shares, each decided by the community's own error rates:
    corrected per community, the combined pro-open share is near the truth; a matrix pooled over the labelled
    posts of both (mostly forum comments) is far off, and the interval covers the truth."""
    rng = np.random.default_rng(3)
    forum_matrix = (FORUM_RATES * 2000).round().astype(int).tolist()
    news_matrix = (NEWS_RATES * 400).round().astype(int).tolist()
    pooled = (np.array(forum_matrix) + np.array(news_matrix)).tolist()
    own_errors, pooled_errors, covered = [], [], 0
    for _ in range(20):
        groups, truth = [], 0.0
        for rates, matrix, n, shares in ((FORUM_RATES, forum_matrix, 300, [0.3, 0.05, 0.65]),
                                         (NEWS_RATES, news_matrix, 300, [0.2, 0.1, 0.7])):
            true = rng.choice(3, size=n, p=shares)
            decided = [rng.choice(3, p=rates[t]) for t in true]
            groups.append(({s: decided.count(i) for i, s in enumerate(STANCES)}, matrix))
            truth += np.mean(true == 0) / 2
        own = combined_corrected_shares(groups, n_boot=50)["pro_open"]
        together = corrected_shares({s: sum(g[0][s] for g in groups) for s in STANCES}, pooled, n_boot=0)
        own_errors.append(abs(own.share - truth))
        pooled_errors.append(abs(together["pro_open"].share - truth))
        covered += own.low <= truth <= own.high
    # 300 forum comments at a separation of 0.30 leave about 4 points of noise; the pooled matrix is ~20 off.
    assert np.mean(own_errors) < 0.06 and np.mean(pooled_errors) > 3 * np.mean(own_errors)
    assert covered >= 17


def test_the_combined_interval_keeps_the_point_inside_when_groups_are_small():
    """Six groups of a handful of posts: adding the groups' posterior draws as they are pulled the interval
    toward equal shares, away from the point (neutral 71 %, interval 26 to 71 %)."""
    groups = [({"pro_open": 0, "pro_closed": 0, "neutral": n}, EN_MATRIX) for n in (6, 2, 4)]
    groups += [({"pro_open": 11, "pro_closed": 3, "neutral": 10}, EN_MATRIX),
               ({"pro_open": 7, "pro_closed": 0, "neutral": 8}, EN_MATRIX)]
    estimates = combined_corrected_shares(groups, n_boot=100)
    for estimate in estimates.values():
        assert estimate.low < estimate.share < estimate.high or estimate.share in (estimate.low, 0.0)
    neutral = estimates["neutral"]
    assert neutral.high - neutral.share > 0.05 and neutral.share - neutral.low > 0.05
