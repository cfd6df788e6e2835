"""Text features shared by every head of the stance model: word and character n-gram TF-IDF.

Character n-grams carry German compounds ("Open-Weight-Modelle"), misspellings and code-switching that word
tokens miss; word bigrams carry negation ("nicht offen", "not open").
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_ELONGATION = re.compile(r"(\w)\1{2,}")
_WORD_TOKEN = r"(?u)#?\b\w[\w'\-]*\b|[!?]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]"


def preprocess(text: str) -> str:
    """Lower-case, replace links and mentions by placeholders, shorten elongations ("sooo" -> "soo")."""
    text = _URL.sub(" httpurl ", text.lower())
    text = _MENTION.sub(" @user ", text)
    return _ELONGATION.sub(r"\1\1", text)


def make_text_features(
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 5),
    max_char_features: int | None = 150_000,
    min_df: int = 2,
) -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    preprocessor=preprocess,
                    token_pattern=_WORD_TOKEN,
                    ngram_range=word_ngrams,
                    min_df=min_df,
                    sublinear_tf=True,
                    dtype=_float32(),
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    preprocessor=preprocess,
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    min_df=min_df,
                    max_features=max_char_features,
                    sublinear_tf=True,
                    dtype=_float32(),
                ),
            ),
        ]
    )


def _float32():
    import numpy as np

    return np.float32
