"""The learned sentiment scorer: :class:`PostFeatures` feeding a multinomial logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import softmax
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
    :param domain_features: add the length/sentence indicators of :class:`PostFeatures`.
    :param nb_alpha: NB log-count-ratio scaling of the hashed n-grams, see :class:`PostFeatures`.
    :param decision_offsets: added to the (negative, neutral, positive) decision values before the
        softmax: a decision rule tuned on held-out data by ``train.py`` (the benchmarks' metrics reward
        another balance of the classes than the log-loss the regression minimises).
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
        domain_features: bool = False,
        nb_alpha: float | None = None,
        decision_offsets: tuple[float, float, float] = (0.0, 0.0, 0.0),
        random_state: int = 0,
    ):
        self.lang = lang
        self.version = version
        self.C = C
        self.class_weight = class_weight
        self.char_ngrams = char_ngrams
        self.dense_weight = dense_weight
        self.domain_features = domain_features
        self.nb_alpha = nb_alpha
        self.decision_offsets = decision_offsets
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
                    PostFeatures(
                        lang=self.lang,
                        char_ngrams=self.char_ngrams,
                        dense_weight=self.dense_weight,
                        domain_features=self.domain_features,
                        nb_alpha=self.nb_alpha,
                    ),
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

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """The regression's decision values in the column order of ``classes_``, without the offsets."""
        decision = self.pipeline_.decision_function(list(texts))
        order = [list(self.pipeline_.classes_).index(label) for label in LABELS]
        return decision[:, order]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax of the decision values plus ``decision_offsets`` (negative, neutral, positive).

        With zero offsets this is the regression's own multinomial probability."""
        return softmax(self.decision_function(texts) + np.asarray(self.decision_offsets, dtype=float), axis=1)

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) - P(negative)."""
        return polarity_from_proba(self.predict_proba(texts))

    def label_and_polarity(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        proba = self.predict_proba(texts)
        return np.array(LABELS)[proba.argmax(axis=1)], polarity_from_proba(proba)
