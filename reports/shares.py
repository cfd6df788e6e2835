"""Stance and safety-concern shares with intervals: corrected for classifier error when we can, plainly raw
when we cannot.

A classifier that confuses "neutral" with "pro_closed" biases raw shares; classifiers.prevalence (another
module) inverts the cross-validated confusion matrix to correct that, and classifiers.binary_prevalence does
the same for the share voicing a safety concern. When a module or the matrix is missing, we fall back to raw
shares with Wilson intervals and say so on the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from classifiers.binary_prevalence import corrected_binary_share, error_rates
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
    """classifiers.prevalence.corrected_shares if that module exists, else None."""
    try:
        from classifiers.prevalence import corrected_shares
    except ImportError:
        return None
    return corrected_shares


def confusion_from_metrics(metrics: Mapping | None, lang: str | None = None) -> list[list[int]] | None:
    """The 3x3 stance confusion (rows true, columns predicted) from ModelVersion.metrics, if well-formed: the
    one measured on posts in ``lang`` when training stored one, else the one over all languages."""
    by_lang = (metrics or {}).get("stance_confusion_by_lang") or {}
    if lang and isinstance(by_lang, Mapping) and (own := _checked(by_lang.get(lang))) is not None:
        return own
    return _checked((metrics or {}).get("stance_confusion"))


def confusions_by_lang(metrics: Mapping | None) -> dict[str, list[list[int]]]:
    """Every well-formed per-language confusion stored with the model."""
    by_lang = (metrics or {}).get("stance_confusion_by_lang") or {}
    if not isinstance(by_lang, Mapping):
        return {}
    return {lang: rows for lang, matrix in by_lang.items() if (rows := _checked(matrix)) is not None}


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


@dataclass(frozen=True)
class ShareEstimator:
    """Estimates stance shares from predicted counts, the same way for every period and group."""

    corrector: Corrector | None
    confusion: list[list[int]] | None
    n_boot: int = 200
    #: Confusions measured per language; ``for_lang`` uses them for one language's shares.
    by_lang: Mapping[str, list[list[int]]] = field(default_factory=dict)
    #: The safety-concern confusion (2x2, rows true no / yes); None leaves that share as classified.
    safety_confusion: list[list[int]] | None = None

    def for_lang(self, lang: str) -> ShareEstimator:
        """The estimator for posts in ``lang``: that language's confusion where one was measured."""
        own = self.by_lang.get(lang)
        return replace(self, confusion=own) if own is not None else self

    @property
    def corrects(self) -> bool:
        return self.corrector is not None and self.confusion is not None

    def estimate(self, counts: Mapping[str, int]) -> dict[str, Share]:
        counts = {s: int(counts.get(s, 0)) for s in STANCES}
        if self.corrector is None or self.confusion is None or sum(counts.values()) == 0:
            return raw_shares(counts)
        estimates = self.corrector(counts, self.confusion, n_boot=self.n_boot, seed=0)
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
