"""English lexicon scorers: VADER and TextBlob's pattern analyzer, behind our scorer interface."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from classifiers.sentiment.base import LexiconScorer


@lru_cache(maxsize=1)
def vader_analyzer() -> Any:
    """One shared VADER analyzer: it loads its lexicon files on construction."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def textblob_analyzer() -> Any:
    """TextBlob's default ``PatternAnalyzer``; it needs no NLTK data."""
    from textblob.en.sentiments import PatternAnalyzer

    return PatternAnalyzer()


class VaderScorer(LexiconScorer):
    """VADER's ``compound`` score; |compound| < 0.05 is neutral, as its authors recommend."""

    name = "vader"
    neutral_band = 0.05

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        analyzer = vader_analyzer()
        return np.array([analyzer.polarity_scores(text)["compound"] for text in texts], dtype=float)


class TextBlobEnglishScorer(LexiconScorer):
    """TextBlob 0.17's pattern polarity; positive above 0, negative below 0."""

    name = "textblob-en"

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        analyzer = textblob_analyzer()
        return np.array([analyzer.analyze(text).polarity for text in texts], dtype=float)
