"""The corrected share voicing a safety concern: simulated classifiers with known error rates."""

import math

import numpy as np
import pytest

from classifiers.binary_prevalence import corrected_binary_share, error_rates

# Like the shipped safety-concern head on real posts: it finds about half of the concerns and flags 8 % of
# the posts without one, so on a forum where 2 % voice a concern it reports about 9 %.
FPR, TPR = 0.08, 0.5
TRUE_SHARE = 0.02


def simulate(rng, share=TRUE_SHARE, posts=600, labelled=(1500, 60)):
    """(flagged posts of one period, confusion measured on a labelled set) for the classifier above."""
    false_flags = rng.binomial(labelled[0], FPR)
    found = rng.binomial(labelled[1], TPR)
    confusion = [[labelled[0] - false_flags, false_flags], [labelled[1] - found, found]]
    truth = rng.random(posts) < share
    flagged = np.where(truth, rng.random(posts) < TPR, rng.random(posts) < FPR)
    return int(flagged.sum()), posts, confusion


def test_the_corrected_share_is_far_closer_to_the_truth_than_the_flagged_share():
    rng = np.random.default_rng(1)
    raw_errors, corrected_errors = [], []
    for _ in range(100):
        flagged, posts, confusion = simulate(rng)
        raw_errors.append(abs(flagged / posts - TRUE_SHARE))
        corrected_errors.append(abs(corrected_binary_share(flagged, posts, confusion, n_boot=50).share - TRUE_SHARE))
    assert np.mean(raw_errors) > 0.06
    assert np.mean(corrected_errors) < 0.3 * np.mean(raw_errors)


@pytest.mark.parametrize("share", [0.0, 0.02, 0.3])
def test_the_interval_covers_the_truth_in_most_repetitions(share):
    rng = np.random.default_rng(5)
    repetitions = 100
    covered = 0
    for seed in range(repetitions):
        flagged, posts, confusion = simulate(rng, share=share)
        estimate = corrected_binary_share(flagged, posts, confusion, n_boot=200, seed=seed)
        assert estimate.low <= estimate.share <= estimate.high and estimate.corrected
        covered += estimate.low <= share <= estimate.high
    assert covered / repetitions >= 0.9


def test_the_flagged_share_as_a_wilson_interval_would_rarely_cover_a_small_truth():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(40):
        flagged, posts, _ = simulate(rng)
        raw = corrected_binary_share(flagged, posts, None)
        assert not raw.corrected and raw.share == flagged / posts
        hits += raw.low <= TRUE_SHARE <= raw.high
    assert hits == 0


def test_fewer_flags_than_the_false_positive_rate_gives_zero_with_an_interval_that_admits_a_few_percent():
    estimate = corrected_binary_share(10, 500, [[920, 80], [30, 30]])
    assert estimate.share == 0.0 and estimate.low == 0.0
    assert 0.01 < estimate.high < 0.15


def test_few_labelled_concerns_widen_the_interval():
    steady = corrected_binary_share(120, 600, [[9200, 800], [300, 300]])
    shaky = corrected_binary_share(120, 600, [[920, 80], [6, 6]])
    assert steady.share == pytest.approx(shaky.share)
    assert (shaky.high - shaky.low) > 1.5 * (steady.high - steady.low)


def test_a_perfect_classifier_changes_nothing():
    estimate = corrected_binary_share(30, 300, [[1000, 0], [0, 1000]])
    assert estimate.share == pytest.approx(0.1)


def test_no_posts_is_nan_and_useless_or_malformed_matrices_are_refused():
    assert math.isnan(corrected_binary_share(0, 0, [[90, 10], [50, 50]]).share)
    with pytest.raises(ValueError, match="does not exceed"):
        error_rates([[50, 50], [60, 40]])
    with pytest.raises(ValueError, match="2x2"):
        corrected_binary_share(1, 10, [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="with and without"):
        corrected_binary_share(1, 10, [[10, 1], [0, 0]])
    with pytest.raises(ValueError, match="flagged <= total"):
        corrected_binary_share(11, 10, [[90, 10], [50, 50]])
