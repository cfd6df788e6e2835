"""Sentiment of German and English posts: lexicon baselines, learned scorers and a language router.

The pipeline needs only :func:`load_default_router`::

    router = load_default_router()
    router.score(["Das ist super!", "This is awful"], ["de", "en"])
    # [SentimentResult(label='positive', polarity=0.8, scorer='sm-sentiment-de-8'), ...]

Every scorer follows :class:`SentimentScorer` (scikit-learn style ``fit``/``predict``/``predict_proba``
plus ``polarity``) and carries a stable ``name`` recorded with each stored value.
"""

from classifiers.sentiment.artefacts import ArtefactError, load_scorer
from classifiers.sentiment.base import LABELS, LexiconScorer, SentimentScorer
from classifiers.sentiment.english_lexicons import TextBlobEnglishScorer, VaderScorer
from classifiers.sentiment.fast_textblob_german import FastTextBlobGermanScorer
from classifiers.sentiment.model import LearnedSentimentScorer
from classifiers.sentiment.router import SentimentResult, SentimentRouter, load_default_router
from classifiers.sentiment.textblob_german import TextBlobGermanScorer

__all__ = [
    "LABELS",
    "ArtefactError",
    "FastTextBlobGermanScorer",
    "LearnedSentimentScorer",
    "LexiconScorer",
    "SentimentResult",
    "SentimentRouter",
    "SentimentScorer",
    "TextBlobEnglishScorer",
    "TextBlobGermanScorer",
    "VaderScorer",
    "load_default_router",
    "load_scorer",
]
