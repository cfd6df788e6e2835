"""The feature transformer of the learned scorers: hashed tokens next to dense lexicon features.

Hashing keeps the artefact small and the transformer nearly stateless (its only learned state is the
optional NB scale of the hashed block, one float32 per column), so training and scoring see exactly the
same features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer

from classifiers.sentiment.lexicon_features import LEXICON_FEATURES, domain_features, shape_features
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
    :param domain_features: add length-bucket and sentence-count indicators, so one model can keep a
        separate prior for long news or customer-feedback texts (mostly neutral) and short tweets.
    :param nb_alpha: if set, scale each hashed n-gram by how strongly it separates one class from the
        others in the training data: ``max over classes |log-count ratio|`` with add-``nb_alpha``
        smoothing (NB-SVM, Wang & Manning 2012, taken one-vs-rest for three classes). This is the only
        learned state (``feature_scale_``); ``None`` keeps the transformer stateless.
    """

    def __init__(
        self,
        lang: str = "de",
        n_features: int = 2**18,
        prefix_length: int = 5,
        dense_weight: float = 1.0,
        char_ngrams: tuple[int, int] | None = None,
        char_weight: float = 1.0,
        domain_features: bool = False,
        nb_alpha: float | None = None,
    ):
        self.lang = lang
        self.n_features = n_features
        self.prefix_length = prefix_length
        self.dense_weight = dense_weight
        self.char_ngrams = char_ngrams
        self.char_weight = char_weight
        self.domain_features = domain_features
        self.nb_alpha = nb_alpha

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None) -> PostFeatures:
        """Check the parameters; learn the n-gram scale if ``nb_alpha`` is set (which needs ``y``)."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Sequence[str], y: Sequence[str] | None = None, **fit_params: object) -> sp.csr_matrix:
        """:meth:`fit` and :meth:`transform` in one pass over the texts."""
        if self.lang not in LEXICON_FEATURES:
            raise ValueError(f"unsupported language {self.lang!r}; expected one of {sorted(LEXICON_FEATURES)}")
        self.n_features_in_ = 1
        hashed, rest = self._blocks(X)
        if self.nb_alpha is not None:
            if y is None:
                raise ValueError("nb_alpha needs the labels y to learn the n-gram scale")
            self.feature_scale_ = log_count_ratio_scale(hashed, np.asarray(y), self.nb_alpha)
        return self._assemble(hashed, rest)

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        """One sparse row per post."""
        return self._assemble(*self._blocks(X))

    def _assemble(self, hashed: sp.csr_matrix, rest: list[sp.csr_matrix]) -> sp.csr_matrix:
        scale = getattr(self, "feature_scale_", None)
        if self.nb_alpha is not None and scale is not None:
            hashed.data *= scale[hashed.indices]
        return sp.hstack([hashed, *rest], format="csr")

    def _blocks(self, X: Sequence[str]) -> tuple[sp.csr_matrix, list[sp.csr_matrix]]:
        """The binary hashed n-grams, and the dense (plus optional character n-gram) blocks."""
        lexicon_features = LEXICON_FEATURES[self.lang]
        terms, dense = [], []
        for text in X:
            post = tokenise(text, self.lang)
            terms.append(hashed_terms(post, self.prefix_length))
            row = lexicon_features(post, text) + shape_features(post, text)
            if self.domain_features:
                row += domain_features(text)
            dense.append(row)
        hasher = FeatureHasher(n_features=self.n_features, input_type="string", alternate_sign=False)
        hashed = hasher.transform(terms).tocsr()
        hashed.data = np.minimum(hashed.data, 1.0)  # presence, not counts: tweets are short
        rest = [sp.csr_matrix(np.asarray(dense, dtype=float) * self.dense_weight)]
        if self.char_ngrams:
            characters = HashingVectorizer(
                analyzer="char_wb",
                ngram_range=tuple(self.char_ngrams),
                n_features=self.n_features,
                alternate_sign=False,
                lowercase=True,
            )
            rest.append(characters.transform(X) * self.char_weight)
        return hashed, rest


def log_count_ratio_scale(hashed: sp.csr_matrix, y: np.ndarray, alpha: float) -> np.ndarray:
    """Per column, the largest |log((p_c + alpha) / |p_c| / ((q_c + alpha) / |q_c|))| over classes c,
    where p_c counts the column in texts of class c and q_c in all other texts (float32, one per column)."""
    ratios = []
    for label in np.unique(y):
        inside = np.asarray(hashed[y == label].sum(axis=0)).ravel() + alpha
        outside = np.asarray(hashed[y != label].sum(axis=0)).ravel() + alpha
        ratios.append(np.log((inside / inside.sum()) / (outside / outside.sum())))
    return np.abs(np.array(ratios)).max(axis=0).astype(np.float32)
