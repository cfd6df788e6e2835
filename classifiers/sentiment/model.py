"""The learned sentiment scorer: :class:`PostFeatures` feeding a multinomial logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from classifiers.sentiment.base import LABELS, SentimentScorer, polarity_from_proba
from classifiers.sentiment.features import PostFeatures


class LearnedSentimentScorer(SentimentScorer):
    """A linear model over hashed n-grams and lexicon features, one per language.

    :param lang: ``"de"`` or ``"en"``.
    :param version: bumped whenever features or training data change, so stored scores stay traceable.
    :param C: inverse regularisation strength of the logistic regression.
    :param class_weight: passed to ``LogisticRegression`` (``"balanced"`` favours the rarer polar classes).
    :param char_ngrams: character n-gram range, see :class:`PostFeatures`.
    :param dense_weight: scale of the lexicon features, see :class:`PostFeatures`.
    :param random_state: seed of the solver, for reproducible artefacts.
    """

    def __init__(
        self,
        lang: str = "de",
        version: int = 1,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        char_ngrams: tuple[int, int] | None = None,
        dense_weight: float = 1.0,
        random_state: int = 0,
    ):
        self.lang = lang
        self.version = version
        self.C = C
        self.class_weight = class_weight
        self.char_ngrams = char_ngrams
        self.dense_weight = dense_weight
        self.random_state = random_state

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"sm-sentiment-{self.lang}-{self.version}"

    def fit(
        self, X: Sequence[str], y: Sequence[str], sample_weight: Sequence[float] | None = None
    ) -> LearnedSentimentScorer:
        """Fit features and classifier; ``y`` must use the labels negative/neutral/positive only."""
        unknown = set(y) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown labels {sorted(unknown)}; expected {LABELS}")
        self.pipeline_ = Pipeline(
            [
                (
                    "features",
                    PostFeatures(lang=self.lang, char_ngrams=self.char_ngrams, dense_weight=self.dense_weight),
                ),
                (
                    "classifier",
                    LogisticRegression(
                        C=self.C, class_weight=self.class_weight, max_iter=3000, random_state=self.random_state
                    ),
                ),
            ]
        )
        self.pipeline_.fit(list(X), list(y), classifier__sample_weight=sample_weight)
        self.classes_ = np.array(LABELS)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities in the column order of ``classes_`` (negative, neutral, positive)."""
        proba = self.pipeline_.predict_proba(list(texts))
        order = [list(self.pipeline_.classes_).index(label) for label in LABELS]
        return proba[:, order]

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) - P(negative)."""
        return polarity_from_proba(self.predict_proba(texts))
