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

    @property
    def encoder_name(self) -> str | None:
        """The name of the sentence encoder the models read, or None."""
        return getattr(self.topic_model, "encoder_", None)

    def embed(self, texts: Sequence[str]):
        """The sentence embeddings the models read (None if they read none); stored with each post so that
        re-scoring never encodes a post twice."""
        embed = getattr(self.topic_model, "embed", None)
        return embed(list(texts)) if embed is not None else None

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None], embeddings=None, known_sentiments=None
    ) -> list[PostLabels]:
        """Labels for each text. ``embeddings`` are the stored ones (computed here when None);
        ``known_sentiments`` (``SentimentResult`` or None per text) are results of the current sentiment
        scorers stored before: only the missing ones are scored."""
        texts = list(texts)
        if not texts:
            return []
        if embeddings is None:
            embeddings = self.embed(texts)
        heads, decided = self.topic_model.decide(texts, list(langs), embeddings)
        sentiments = self._sentiments(texts, langs, embeddings, known_sentiments)
        results = []
        for i, (lang, sentiment) in enumerate(zip(langs, sentiments)):
            proba = {stance: float(heads["stance"][i, j]) for j, stance in enumerate(STANCES)}
            # The topic heads were trained on German and English only: for any other language we do not
            # guess, and the post counts as not relevant.
            relevant = lang in self.languages and bool(decided["relevant"][i])
            results.append(
                PostLabels(
                    relevant=relevant,
                    relevance_score=float(heads["relevant"][i]) if lang in self.languages else 0.0,
                    stance=str(decided["stance"][i]) if relevant else "neutral",
                    stance_proba=proba,
                    aspects=frozenset(a for a in ASPECTS if relevant and decided[a][i]),
                    safety_concern=bool(relevant and decided["safety_concern"][i]),
                    sentiment=sentiment.label if sentiment else None,
                    sentiment_score=float(sentiment.polarity) if sentiment else None,
                    sentiment_model=sentiment.scorer if sentiment else None,
                )
            )
        return results

    def _sentiments(self, texts, langs, embeddings, known) -> list:
        known = list(known) if known is not None else [None] * len(texts)
        if self.sentiment is None:
            return known
        todo = [i for i, result in enumerate(known) if result is None]
        if todo:
            vectors = None if embeddings is None else embeddings[todo]
            scored = self.sentiment.score([texts[i] for i in todo], [langs[i] or "und" for i in todo], vectors)
            for i, result in zip(todo, scored):
                known[i] = result
        return known


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
