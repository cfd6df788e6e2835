"""The share of posts with a yes/no label (voicing a safety concern), corrected for classifier error.

The stance shares' reasoning (``classifiers.prevalence``) for a label with two values. A rare label makes the
correction matter more, not less: out of fold, the shipped recipe flags about 8 % of the Reddit comments it
decides relevant as voicing a safety concern, where under 1 % do, because a false-positive rate of a few
percent on the many posts without a concern outweighs the few with one. Counting flags reports the
false-positive rate as the share.

With the true-positive rate ``tpr`` and false-positive rate ``fpr`` measured out of fold (a 2x2 confusion,
rows true no / yes, columns decided no / yes), ``flagged / total = fpr + p * (tpr - fpr)`` for the true share
``p``; the point estimate solves it for ``p`` and clips it to [0, 1] (Rogan and Gladen 1978; for two classes
this is the least squares on the simplex of the stance shares). The interval comes from the posterior of ``p``
on a grid under a flat prior, averaged over error rates drawn from each row's Beta posterior, as for stance:
it widens when the rates rest on few labelled posts, and it keeps every share the counts do not rule out.

The matrix is the one training measures on real posts, its thin "yes" row steadied by the seed posts
(``classifiers.recipe``). Measured on the training data: out-of-fold labels of four fold assignments, each
split five times into halves by thread or page, the matrix measured on one half and applied to each community
of the other (40 splits). Mean absolute error of the share among decided-relevant posts, in points, counted
-> corrected (how often the 95 % interval covered the truth): Reddit 5.3 -> 0.9 (0 % -> 90 %), English web
passages 3.4 -> 3.3 (70 % -> 100 %), German web passages 13.3 -> 11.9 (0 % -> 42 %: the model flags far more
German passages than English ones, and no German matrix can be measured on 4 labelled concerns). The real
posts' matrix alone did worse on the web (English 9.6, German 21.7). On the seed posts written for the
project, which the model finds easier than real ones, the correction overshoots (English 11.5 -> 25.3): it
is for the real posts a user collects. ``benchmarks/quality.py --only prevalence`` checks it on the
held-out split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from classifiers.prevalence import ALPHA, ShareEstimate, wilson_interval

#: Shares are resolved to a quarter of a percentage point.
GRID = np.linspace(0.0, 1.0, 401)


def corrected_binary_share(flagged: int, total: int, confusion: Sequence[Sequence[int]] | None,
                           n_boot: int = 200, seed: int = 0) -> ShareEstimate:
    """The true share behind ``flagged`` of ``total`` posts labelled yes, corrected by ``confusion``.

    Without a confusion, the share as labelled with a Wilson interval (``corrected=False``). With no posts,
    NaN. Raises ValueError for a malformed confusion or one whose classifier is no better than chance (its
    true-positive rate does not exceed its false-positive rate: nothing can be inverted).
    """
    if flagged < 0 or total < 0 or flagged > total:
        raise ValueError(f"need 0 <= flagged <= total, got {flagged} of {total}")
    if confusion is None:
        low, high = wilson_interval(flagged, total)
        return ShareEstimate(flagged / total if total else math.nan, low, high, corrected=False)
    fpr, tpr = error_rates(confusion)
    if total == 0:
        return ShareEstimate(math.nan, math.nan, math.nan, corrected=True)
    point = float(np.clip((flagged / total - fpr) / (tpr - fpr), 0.0, 1.0))
    matrix = tuple(tuple(int(v) for v in row) for row in confusion)
    low, high = _posterior_interval(flagged, total, matrix, n_boot, seed) if n_boot > 0 else (point, point)
    return ShareEstimate(point, min(low, point), max(high, point), corrected=True)


def error_rates(confusion: Sequence[Sequence[int]]) -> tuple[float, float]:
    """(false-positive rate, true-positive rate) of a 2x2 confusion, rows true no / yes."""
    matrix = _checked(confusion)
    fpr, tpr = matrix[0, 1] / matrix[0].sum(), matrix[1, 1] / matrix[1].sum()
    if tpr <= fpr:
        raise ValueError(f"true-positive rate {tpr:.3f} does not exceed false-positive rate {fpr:.3f}: "
                         "the classifier's flags carry no information to correct with")
    return float(fpr), float(tpr)


def _posterior_interval(flagged: int, total: int, matrix: tuple, n_boot: int, seed: int) -> tuple[float, float]:
    log_yes, log_no = _log_rates(matrix, n_boot, seed)
    loglik = flagged * log_yes + (total - flagged) * log_no
    loglik -= loglik.max(axis=1, keepdims=True)
    weights = np.exp(loglik)
    posterior = (weights / weights.sum(axis=1, keepdims=True)).mean(axis=0)
    # The highest-density 95 %, not the 2.5th to 97.5th percentile: a concern is often voiced by almost
    # nobody, and at a true share of 0 the percentile interval (which must leave 2.5 % below it) missed the
    # truth in 19 % of 300 simulated periods (the classifier of tests/test_binary_prevalence.py), this one in
    # 6 %, and it is narrower.
    order = np.argsort(-posterior, kind="stable")
    kept = order[: np.searchsorted(np.cumsum(posterior[order]), 1 - ALPHA) + 1]
    return float(GRID[kept].min()), float(GRID[kept].max())


@lru_cache(maxsize=8)
def _log_rates(matrix: tuple, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """log P(flagged) and log P(not flagged) per drawn error rates (rows) and grid share (columns). The draws
    depend only on the matrix and seed, so a report's many periods reuse them."""
    rows = np.asarray(matrix, dtype=float)
    rng = np.random.default_rng(seed)
    # Jeffreys prior on each row's rate, as for the stance confusion.
    fpr = rng.beta(rows[0, 1] + 0.5, rows[0, 0] + 0.5, size=n_boot)
    tpr = rng.beta(rows[1, 1] + 0.5, rows[1, 0] + 0.5, size=n_boot)
    flagged = np.clip(fpr[:, None] + GRID[None] * (tpr - fpr)[:, None], 1e-12, 1 - 1e-12)
    return np.log(flagged), np.log1p(-flagged)


def _checked(confusion: Sequence[Sequence[int]]) -> np.ndarray:
    matrix = np.asarray(confusion, dtype=float)
    if matrix.shape != (2, 2):
        raise ValueError(f"confusion must be 2x2 (rows true no / yes, columns decided no / yes), got shape "
                         f"{matrix.shape}")
    if (matrix < 0).any() or not np.array_equal(matrix, np.round(matrix)):
        raise ValueError("confusion must hold non-negative counts")
    if (matrix.sum(axis=1) == 0).any():
        raise ValueError("confusion needs labelled posts with and without the label; its error rates are unknown")
    return matrix
