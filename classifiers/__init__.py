"""Classifiers: what a post is about (relevance, stance, aspects, safety concern) and its sentiment.

``PostClassifier`` is what the pipeline, ``stance classify`` and ``stance predict`` use: a trained
``TopicClassifier`` for the topic heads plus the language-routed sentiment scorers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.labels import ASPECTS, STANCES, PostLabels

DEFAULT_STANCE_ARTEFACT = Path(__file__).parent / "artefacts" / "stance_default"

__all__ = ["PostClassifier", "PostLabels", "load_post_classifier", "DEFAULT_STANCE_ARTEFACT"]


@dataclass
class PostClassifier:
    """Classifies batches of posts. ``name`` is the stance model version recorded with each result."""

    name: str
    topic_model: Any
    sentiment: Any | None = None
    languages: tuple[str, ...] = ("de", "en")
    aspect_threshold: float = 0.5
    safety_threshold: float = 0.5

    def classify(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[PostLabels]:
        texts = list(texts)
        if not texts:
            return []
        heads = self.topic_model.predict_heads(texts)
        threshold = getattr(self.topic_model, "relevance_threshold", 0.5)
        sentiments = (
            self.sentiment.score(texts, [lang or "und" for lang in langs])
            if self.sentiment is not None
            else [None] * len(texts)
        )
        results = []
        for i, (lang, sentiment) in enumerate(zip(langs, sentiments)):
            proba = {stance: float(heads["stance"][i, j]) for j, stance in enumerate(STANCES)}
            # The topic heads were trained on German and English only: for any other language we do not
            # guess, and the post counts as not relevant.
            supported = lang in self.languages
            relevant = supported and heads["relevant"][i] >= threshold
            results.append(
                PostLabels(
                    relevant=bool(relevant),
                    relevance_score=float(heads["relevant"][i]) if supported else 0.0,
                    stance=max(proba, key=proba.get) if relevant else "neutral",
                    stance_proba=proba,
                    aspects=frozenset(
                        a for a in ASPECTS if relevant and heads[a][i] >= self.aspect_threshold
                    ),
                    safety_concern=bool(relevant and heads["safety_concern"][i] >= self.safety_threshold),
                    sentiment=sentiment.label if sentiment else None,
                    sentiment_score=float(sentiment.polarity) if sentiment else None,
                    sentiment_model=sentiment.scorer if sentiment else None,
                )
            )
        return results


def load_sentiment_router():
    """The shipped sentiment scorers routed by language, or None if they cannot be loaded."""
    from classifiers.sentiment import load_default_router

    return load_default_router()


def load_post_classifier(
    artefact: Path = DEFAULT_STANCE_ARTEFACT,
    name: str | None = None,
    expected_sha256: str | None = None,
    languages: tuple[str, ...] = ("de", "en"),
) -> PostClassifier:
    from classifiers import artefacts

    model, metadata = artefacts.load(artefact, expected_sha256)
    return PostClassifier(
        name=name or metadata.get("name", artefact.name),
        topic_model=model,
        sentiment=load_sentiment_router(),
        languages=languages,
    )
