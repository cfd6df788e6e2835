"""textblob-de 0.4.3 exactly as customers run it, but offline, behind our scorer interface.

``TextBlobDE(text).sentiment`` defaults to NLTK's punkt tokenizer, whose data must be downloaded; we
pass textblob-de's own ``PatternTokenizer`` instead. The polarity is otherwise textblob-de's: pattern's
tagger and lemmatiser, then the ``de-sentiment.xml`` lexicon. Kept as the baseline in every benchmark.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from classifiers.sentiment.base import LexiconScorer


@lru_cache(maxsize=1)
def _pattern_analyzer() -> Any:
    # textblob-de's vendored pattern emits DeprecationWarning/SyntaxWarning on import.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from textblob_de import PatternTokenizer
        from textblob_de.sentiments import PatternAnalyzer
    return PatternAnalyzer(tokenizer=PatternTokenizer())


class TextBlobGermanScorer(LexiconScorer):
    """textblob-de's ``PatternAnalyzer`` polarity; positive above 0, negative below 0."""

    name = "textblob-de"

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        analyzer = _pattern_analyzer()
        return np.array([analyzer.analyze(text).polarity if text.strip() else 0.0 for text in texts], dtype=float)
