"""Stance model: one shared feature space, one calibrated linear head per field.

``TopicClassifier`` follows scikit-learn conventions: ``__init__`` stores hyper-parameters only, ``fit``
learns everything (attributes ending in ``_``), ``predict``/``predict_proba`` answer for the stance head, and
``predict_heads`` answers for all heads at once so the features are computed once per post.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from classifiers.features import make_text_features
from classifiers.labels import ASPECTS, STANCES


def _calibrated_head(C: float, y: np.ndarray, calibration_folds: int):
    base = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ValueError("a head needs at least two classes in its training labels")
    if counts.min() < calibration_folds:
        # Too few examples of a class to calibrate by cross-validation; the balanced LR alone is used.
        return base
    # ensemble=False: one model fitted on all data, calibrated on cross-validated predictions; keeps the
    # artefact one model large instead of one per fold.
    return CalibratedClassifierCV(base, method="sigmoid", cv=calibration_folds, ensemble=False)


def make_text_classifier(C: float = 4.0, calibration_folds: int = 3, **feature_params) -> Pipeline:
    """A single-label text classifier for any label column (``stance train --label-col``)."""
    return Pipeline(
        [
            ("features", make_text_features(**feature_params)),
            ("clf", CalibratedClassifierCV(
                LogisticRegression(C=C, class_weight="balanced", max_iter=3000),
                method="sigmoid", cv=calibration_folds, ensemble=False,
            )),
        ]
    )


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Relevance, stance, aspects and safety concern for the default topic.

    ``fit(X, y)`` takes texts and a sequence of label dicts with keys ``relevant`` (bool), ``stance``,
    ``aspects`` (list) and ``safety_concern`` (bool), as in ../shared/LABELING.md.
    """

    def __init__(
        self,
        C: float = 4.0,
        C_aspects: float = 2.0,
        char_ngrams: tuple[int, int] = (2, 5),
        max_char_features: int | None = 150_000,
        min_df: int = 2,
        calibration_folds: int = 3,
        relevance_threshold: float = 0.5,
    ):
        self.C = C
        self.C_aspects = C_aspects
        self.char_ngrams = char_ngrams
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.calibration_folds = calibration_folds
        self.relevance_threshold = relevance_threshold

    def fit(self, X: Sequence[str], y: Sequence[dict]) -> TopicClassifier:
        texts = list(X)
        labels = list(y)
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"X and y must be non-empty and of equal length, got {len(texts)} and {len(labels)}")
        self.features_ = make_text_features(
            char_ngrams=tuple(self.char_ngrams), max_char_features=self.max_char_features, min_df=self.min_df
        )
        features = self.features_.fit_transform(texts)
        for _, vectorizer in self.features_.transformer_list:
            # The terms cut by min_df/max_features are kept only for introspection and would make the
            # artefact several times larger; scikit-learn documents that they can be dropped.
            vectorizer.stop_words_ = None
            # numpy integers would be stored one file each by skops; plain ints keep the artefact small.
            vectorizer.vocabulary_ = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
        relevant = np.array([bool(label["relevant"]) for label in labels])
        stance = np.array([label["stance"] if label["relevant"] else "neutral" for label in labels])
        self.classes_ = np.array(STANCES)
        self.relevance_head_ = _calibrated_head(self.C, relevant, self.calibration_folds).fit(features, relevant)
        self.stance_head_ = _calibrated_head(self.C, stance, self.calibration_folds).fit(features, stance)
        # Aspects and safety concern are only defined for relevant posts; learning them there keeps
        # off-topic keyword traps from teaching the heads that e.g. "safety" in a job ad is an aspect.
        on_topic = features[relevant]
        self.aspect_heads_ = {}
        for aspect in ASPECTS:
            target = np.array([aspect in label.get("aspects", []) for label, r in zip(labels, relevant) if r])
            self.aspect_heads_[aspect] = self._binary_head(self.C_aspects, on_topic, target)
        concern = np.array([bool(label.get("safety_concern")) for label, r in zip(labels, relevant) if r])
        self.safety_head_ = self._binary_head(self.C_aspects, on_topic, concern)
        return self

    def _binary_head(self, C: float, features, target: np.ndarray):
        if target.size == 0 or target.all() or not target.any():
            return bool(target.any()) if target.size else False  # constant answer when one class only
        return _calibrated_head(C, target, self.calibration_folds).fit(features, target)

    @staticmethod
    def _positive_proba(head, features) -> np.ndarray:
        if isinstance(head, bool):
            return np.full(features.shape[0], 1.0 if head else 0.0)
        column = list(head.classes_).index(True)
        return head.predict_proba(features)[:, column]

    def predict_heads(self, X: Sequence[str]) -> dict[str, np.ndarray]:
        """Probabilities of every head: ``relevant`` (n,), ``stance`` (n, 3) in STANCES order,
        one (n,) array per aspect, and ``safety_concern`` (n,)."""
        features = self.features_.transform(list(X))
        stance_proba = self.stance_head_.predict_proba(features)
        order = [list(self.stance_head_.classes_).index(s) for s in STANCES]
        heads = {
            "relevant": self._positive_proba(self.relevance_head_, features),
            "stance": stance_proba[:, order],
            "safety_concern": self._positive_proba(self.safety_head_, features),
        }
        for aspect, head in self.aspect_heads_.items():
            heads[aspect] = self._positive_proba(head, features)
        return heads

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self.predict_heads(X)["stance"]

    def predict(self, X: Sequence[str]) -> np.ndarray:
        heads = self.predict_heads(X)
        stance = self.classes_[heads["stance"].argmax(axis=1)]
        return np.where(heads["relevant"] >= self.relevance_threshold, stance, "neutral")
