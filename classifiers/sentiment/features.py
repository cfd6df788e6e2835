"""The feature transformer of the learned scorers: hashed tokens next to dense lexicon features.

Hashing keeps the artefact small and the transformer stateless (nothing to learn, nothing to pickle
but parameters), so training and scoring see exactly the same features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer

from classifiers.sentiment.lexicon_features import LEXICON_FEATURES, shape_features
from classifiers.sentiment.tweet_tokens import hashed_terms, tokenise


class PostFeatures(TransformerMixin, BaseEstimator):
    """Turn posts into ``[hashed n-grams | dense_weight * dense lexicon and shape features]``.

    :param lang: ``"de"`` or ``"en"``: picks negation words, intensifiers and lexicons.
    :param n_features: width of the hashed block (a power of two keeps collisions rare).
    :param prefix_length: add word prefixes of this length as a crude stemmer (0 disables it).
    :param dense_weight: scale of the dense block relative to the binary n-gram features.
    :param char_ngrams: ``(min, max)`` lengths of L2-normalised character n-grams within words, which
        catch German compounds and misspellings; ``None`` skips them (they cost most of the time).
    :param char_weight: scale of the character n-gram block.
    """

    def __init__(
        self,
        lang: str = "de",
        n_features: int = 2**18,
        prefix_length: int = 5,
        dense_weight: float = 1.0,
        char_ngrams: tuple[int, int] | None = None,
        char_weight: float = 1.0,
    ):
        self.lang = lang
        self.n_features = n_features
        self.prefix_length = prefix_length
        self.dense_weight = dense_weight
        self.char_ngrams = char_ngrams
        self.char_weight = char_weight

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None) -> PostFeatures:
        """Check the parameters; hashing needs nothing learned."""
        if self.lang not in LEXICON_FEATURES:
            raise ValueError(f"unsupported language {self.lang!r}; expected one of {sorted(LEXICON_FEATURES)}")
        self.n_features_in_ = 1
        return self

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        """One sparse row per post."""
        lexicon_features = LEXICON_FEATURES[self.lang]
        terms, dense = [], []
        for text in X:
            post = tokenise(text, self.lang)
            terms.append(hashed_terms(post, self.prefix_length))
            dense.append(lexicon_features(post, text) + shape_features(post, text))
        hasher = FeatureHasher(n_features=self.n_features, input_type="string", alternate_sign=False)
        hashed = hasher.transform(terms)
        hashed.data = np.minimum(hashed.data, 1.0)  # presence, not counts: tweets are short
        blocks = [hashed, sp.csr_matrix(np.asarray(dense, dtype=float) * self.dense_weight)]
        if self.char_ngrams:
            characters = HashingVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.char_ngrams),
                n_features=self.n_features,
                alternate_sign=False,
                lowercase=True,
            )
            blocks.append(characters.transform(X) * self.char_weight)
        return sp.hstack(blocks, format="csr")
