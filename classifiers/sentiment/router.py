"""Route each post to the sentiment scorer of its language; other languages get no sentiment at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from classifiers import encoder
from classifiers.language import LanguageDetector
from classifiers.sentiment.artefacts import default_artefact_dir, load_scorer
from classifiers.sentiment.base import SentimentScorer


@dataclass(frozen=True)
class SentimentResult:
    """One post's sentiment: its label, a polarity in [-1, 1] and the name of the scorer that made it."""

    label: str
    polarity: float
    scorer: str


class SentimentRouter:
    """Scores texts with ``scorers[lang]``; a language without a scorer yields ``None``, never a guess."""

    def __init__(self, scorers: Mapping[str, SentimentScorer]):
        self.scorers = dict(scorers)

    @property
    def scorer_names(self) -> dict[str, str]:
        """Language code -> name of the scorer used for it."""
        return {lang: scorer.name for lang, scorer in self.scorers.items()}

    def score(self, texts: Sequence[str], langs: Sequence[str], embeddings=None) -> list[SentimentResult | None]:
        """One result per text, in order; texts of the same language are scored in one batch. ``embeddings``
        (USE's own, one row per text) are passed on to scorers that read them, so nothing is encoded twice; a
        scorer reading an embedding tuned for tone (``classifiers.sentiment.network``) computes its own."""
        if len(texts) != len(langs):
            raise ValueError(f"{len(texts)} texts but {len(langs)} languages")
        results: list[SentimentResult | None] = [None] * len(texts)
        for lang, scorer in self.scorers.items():
            positions = [i for i, text_lang in enumerate(langs) if text_lang == lang]
            if not positions:
                continue
            batch = [texts[i] for i in positions]
            reads_stock = getattr(scorer, "embedding_name", encoder.NAME) == encoder.NAME
            vectors = None if embeddings is None or not reads_stock else embeddings[positions]
            labels, polarities = scorer.label_and_polarity(batch, vectors)
            for i, label, polarity in zip(positions, labels, polarities, strict=True):
                results[i] = SentimentResult(str(label), float(polarity), scorer.name)
        return results

    def score_detected(
        self, texts: Sequence[str], detector: LanguageDetector | None = None
    ) -> list[SentimentResult | None]:
        """Detect each text's language first (undetermined and unsupported languages get ``None``)."""
        detector = detector or LanguageDetector(supported=tuple(self.scorers))
        return self.score(texts, [detected.lang for detected in detector.detect_many(list(texts))])


@lru_cache(maxsize=1)
def load_default_router() -> SentimentRouter:
    """The shipped learned scorers for German and English (the best on every benchmark; see
    ``benchmarks/sentiment.py``). Cached: the second call returns the same router."""
    return SentimentRouter({lang: load_scorer(default_artefact_dir(lang)) for lang in ("de", "en")})
