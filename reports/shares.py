"""Stance and safety-concern shares with intervals: corrected for classifier error when we can, plainly raw
when we cannot.

A classifier that confuses "neutral" with "pro_closed" biases raw shares; classifiers.prevalence (another
module) inverts the cross-validated confusion matrix to correct that, and classifiers.binary_prevalence does
the same for the share voicing a safety concern. When a module or the matrix is missing, we fall back to raw
shares with Wilson intervals and say so on the chart.

The classifier errs at different rates on different communities: it calls far more neutral Reddit comments
pro_open than neutral news passages. A matrix pooled over the labelled communities corrected the stance
shares of web passages to 0 % pro_open where the truth was 22 to 30 % (``classifiers.prevalence``). So each
platform's posts are corrected with the confusion measured on the labelled community they resemble
(``COMMUNITY_OF_SOURCE``), and the corrected shares of the groups are combined weighted by their posts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from classifiers.binary_prevalence import corrected_binary_share, error_rates
from classifiers.labels import own_community
from classifiers.prevalence import ShareEstimate, wilson_interval
from reports.style import CORRECTED_SHARES_NOTE, RAW_SHARES_NOTE
from storage.models import STANCES


@dataclass(frozen=True)
class Share:
    share: float
    low: float
    high: float
    corrected: bool


Corrector = Callable[..., Mapping[str, ShareEstimate]]


def find_corrector() -> Corrector | None:
    """classifiers.prevalence.combined_corrected_shares if that module exists, else None."""
    try:
        from classifiers.prevalence import combined_corrected_shares
    except ImportError:
        return None
    return combined_corrected_shares


#: The labelled community (``classifiers.training.COMMUNITIES``) whose confusion corrects a platform's posts.
#: Hacker News comments and news-feed items are corrected as web passages, which include news, blogs and Hacker
#: News threads. X, Mastodon, Bluesky and imported files resemble neither community more than the other, so
#: they take the matrix of all real posts. A platform whose posts the user labelled takes the matrix of those
#: labels first (``Confusions.for_posts``).
COMMUNITY_OF_SOURCE = {"reddit": "reddit", "hackernews": "web", "rss": "web"}


def confusion_from_metrics(metrics: Mapping | None) -> list[list[int]] | None:
    """The 3x3 stance confusion over all real posts (rows true, columns predicted) from ModelVersion.metrics,
    if well-formed."""
    return _checked((metrics or {}).get("stance_confusion"))


def confusions_by_community(metrics: Mapping | None) -> dict[str, list[list[int]]]:
    """Every well-formed stance confusion measured on one labelled community."""
    stored = (metrics or {}).get("stance_confusion_by_community") or {}
    if not isinstance(stored, Mapping):
        return {}
    return {str(community): rows for community, matrix in stored.items() if (rows := _checked(matrix)) is not None}


def _checked(matrix) -> list[list[int]] | None:
    if not isinstance(matrix, list) or len(matrix) != len(STANCES):
        return None
    if not all(isinstance(row, list) and len(row) == len(STANCES) for row in matrix):
        return None
    try:
        rows = [[int(v) for v in row] for row in matrix]
    except (TypeError, ValueError):
        return None
    # Every true class needs examples, or its row says nothing about how the classifier errs.
    return rows if all(sum(row) > 0 for row in rows) else None


def safety_confusion_from_metrics(metrics: Mapping | None) -> list[list[int]] | None:
    """The 2x2 safety-concern confusion (rows true no / yes) from ModelVersion.metrics, if it can correct:
    well-formed, both rows measured, and a true-positive rate above the false-positive rate."""
    matrix = (metrics or {}).get("safety_confusion")
    if not isinstance(matrix, list):
        return None
    try:
        rows = [[int(v) for v in row] for row in matrix]
        error_rates(rows)  # checks the shape and the counts too
    except (TypeError, ValueError):
        return None
    return rows


def raw_shares(counts: Mapping[str, int]) -> dict[str, Share]:
    total = sum(counts.values())
    result = {}
    for stance in STANCES:
        k = counts.get(stance, 0)
        low, high = wilson_interval(k, total)
        result[stance] = Share(k / total if total else math.nan, low, high, corrected=False)
    return result


Cells = Mapping[tuple[str, str], Mapping[str, int]]


@dataclass(frozen=True)
class Confusions:
    """The stance confusions a model stored: over all real posts, and per labelled community."""

    pooled: list[list[int]] | None
    by_community: Mapping[str, list[list[int]]] = field(default_factory=dict)

    @classmethod
    def from_metrics(cls, metrics: Mapping | None) -> Confusions:
        return cls(confusion_from_metrics(metrics), confusions_by_community(metrics))

    def for_posts(self, source: str) -> tuple[str, list[list[int]]] | None:
        """The name and matrix that correct posts from ``source``: the one measured on the user's own labelled
        posts of that platform, else their community's, else the one over all real posts. Not one per
        language: that would split a month's posts into groups of a handful, and the German web passages
        alone are too few to measure one."""
        if (own := own_community(source)) in self.by_community:
            return own, self.by_community[own]
        community = COMMUNITY_OF_SOURCE.get(source)
        if community is not None and community in self.by_community:
            return community, self.by_community[community]
        return ("all real posts", self.pooled) if self.pooled is not None else None


@dataclass(frozen=True)
class ShareEstimator:
    """Estimates stance shares from predicted counts, the same way for every period and group."""

    corrector: Corrector | None
    confusions: Confusions
    n_boot: int = 200
    #: The safety-concern confusion (2x2, rows true no / yes); None leaves that share as classified.
    safety_confusion: list[list[int]] | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping | None, corrector: Corrector | None) -> ShareEstimator:
        return cls(corrector, Confusions.from_metrics(metrics), safety_confusion=safety_confusion_from_metrics(metrics))

    @property
    def corrects(self) -> bool:
        return self.corrector is not None and self.confusions.pooled is not None

    def matrices(self, cells: Cells) -> dict[str, list[tuple[str, str]]]:
        """Which matrix corrects which (source, language) cells, by the matrix's name; empty when raw."""
        return {name: keys for name, (_, keys) in self._by_matrix(cells).items()}

    def _by_matrix(self, cells: Cells) -> dict[str, tuple[list[list[int]], list[tuple[str, str]]]]:
        """The cells each matrix corrects, with the matrix, by its name; empty when raw."""
        grouped: dict[str, tuple[list[list[int]], list[tuple[str, str]]]] = {}
        for source, lang in sorted(cells):
            chosen = self.confusions.for_posts(source) if self.corrects else None
            if chosen is not None:
                grouped.setdefault(chosen[0], (chosen[1], []))[1].append((source, lang))
        return grouped

    def estimate(self, cells: Cells) -> dict[str, Share]:
        """Stance shares of the decided-relevant posts counted in ``cells`` ((source, language) -> counts per
        stance): each community's posts corrected with its matrix, then combined by their number."""
        counts = {s: sum(int(cell.get(s, 0)) for cell in cells.values()) for s in STANCES}
        if self.corrector is None or not self.corrects or sum(counts.values()) == 0:
            return raw_shares(counts)
        groups = [({s: sum(int(cells[key].get(s, 0)) for key in keys) for s in STANCES}, matrix)
                  for matrix, keys in self._by_matrix(cells).values()]
        estimates = self.corrector(groups, n_boot=self.n_boot, seed=0)
        return {
            s: Share(float(e.share), float(e.low), float(e.high), bool(e.corrected))
            for s, e in ((s, estimates[s]) for s in STANCES)
        }

    def safety(self, flagged: float, relevant: float) -> tuple[float, float, float]:
        """The share of relevant posts voicing a safety concern with its 95% interval, corrected when the
        model stored a safety confusion."""
        estimate = corrected_binary_share(int(flagged), int(relevant), self.safety_confusion, self.n_boot)
        return (estimate.share, estimate.low, estimate.high)

    def describe(self) -> str:
        return CORRECTED_SHARES_NOTE if self.corrects else RAW_SHARES_NOTE
