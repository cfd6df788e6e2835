"""The one interface every sentiment scorer follows, lexicon-based or learned.

Scorers are scikit-learn estimators: ``__init__`` only stores parameters, ``fit(X, y)`` returns ``self``
(a no-op for lexicon scorers), ``predict`` returns labels from :data:`LABELS`, ``predict_proba`` an
``(n, 3)`` array ordered like ``classes_`` and ``polarity`` floats in [-1, 1]. ``name`` identifies the
scorer in stored classifications, so it must change whenever its behaviour does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

LABELS = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = range(3)


class SentimentScorer(ClassifierMixin, BaseEstimator):
    """Base class: subclasses implement :meth:`predict_proba` and :meth:`polarity`."""

    name = "abstract"

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Return one label per text, the class with the highest probability."""
        return np.array(LABELS)[self.predict_proba(texts).argmax(axis=1)]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def label_and_polarity(self, texts: Sequence[str], embeddings=None) -> tuple[np.ndarray, np.ndarray]:
        """Labels and polarities together. Subclasses whose two answers come from one computation override
        this to do it once: the pipeline needs both for every post. ``embeddings`` are the posts' sentence
        embeddings for scorers that read them; the others ignore them."""
        return self.predict(texts), self.polarity(texts)


class LexiconScorer(SentimentScorer):
    """A scorer whose only output is a polarity; labels and probabilities are derived from it.

    A polarity above ``neutral_band`` is positive, below ``-neutral_band`` negative, otherwise neutral
    (textblob-de uses 0, VADER's authors recommend 0.05 for ``compound``). The probabilities are not
    calibrated: they put ``(1 + |polarity|) / 2`` on the predicted class so that ``argmax`` always agrees
    with ``predict`` and a stronger polarity reads as more confident.
    """

    neutral_band = 0.0

    @property
    def classes_(self) -> np.ndarray:
        """Fixed label order; a lexicon needs no fit to know it."""
        return np.array(LABELS)

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None) -> LexiconScorer:
        """Learn nothing: the lexicon and rules are fixed."""
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return labels_from_polarity(self.polarity(texts), self.neutral_band)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return proba_from_polarity(self.polarity(texts), self.neutral_band)

    def label_and_polarity(self, texts: Sequence[str], embeddings=None) -> tuple[np.ndarray, np.ndarray]:
        polarity = self.polarity(texts)
        return labels_from_polarity(polarity, self.neutral_band), polarity


def labels_from_polarity(polarity: np.ndarray, neutral_band: float = 0.0) -> np.ndarray:
    """Map polarities onto labels, with ``[-neutral_band, neutral_band]`` counted as neutral."""
    classes = np.full(len(polarity), NEUTRAL)
    classes[polarity > neutral_band] = POSITIVE
    classes[polarity < -neutral_band] = NEGATIVE
    return np.array(LABELS)[classes]


def proba_from_polarity(polarity: np.ndarray, neutral_band: float = 0.0) -> np.ndarray:
    """Spread ``(1 + |p|) / 2`` on the label :func:`labels_from_polarity` picks, the rest evenly."""
    polarity = np.asarray(polarity, dtype=float)
    chosen = np.searchsorted(LABELS, labels_from_polarity(polarity, neutral_band))
    confidence = (1.0 + np.abs(polarity)) / 2.0
    proba = np.repeat(((1.0 - confidence) / 2.0)[:, None], 3, axis=1)
    proba[np.arange(len(polarity)), chosen] = confidence
    return proba


def polarity_from_proba(proba: np.ndarray) -> np.ndarray:
    """Expected value of the label on the scale negative=-1, neutral=0, positive=+1."""
    return proba[:, POSITIVE] - proba[:, NEGATIVE]
