"""Text features shared by every head of the stance model: word n-grams and in-word character n-grams, TF-IDF.

Character n-grams carry German compounds ("Open-Weight-Modelle"), misspellings and code-switching that word
tokens miss; word bigrams carry negation ("nicht offen", "not open").

Why not ``FeatureUnion([TfidfVectorizer(analyzer="word"), TfidfVectorizer(analyzer="char_wb")])``, which this
module used to build: both vectorizers preprocess and tokenise every text again, and ``char_wb`` builds and looks
up every n-gram of every word occurrence in Python, so on real Reddit comments (210 characters on average) it
managed about 800 posts/s. In-word character n-grams depend only on the word, so ``TextFeatures`` tokenises once
and looks the n-grams up once per distinct word of a batch; the rest (counting, sublinear TF, IDF, L2 norm per
block, as the two ``TfidfVectorizer`` did) runs in numpy/scipy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from classifiers import encoder
from classifiers.patterns import URL

_MENTION = re.compile(r"@\w+")
_ELONGATION = re.compile(r"(\w)\1{2,}")
_WORD_TOKEN = r"(?u)#?\b\w[\w'\-]*\b|[!?]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]"
_TOKEN = re.compile(_WORD_TOKEN)


def preprocess(text: str) -> str:
    """Lower-case, replace links and mentions by placeholders, shorten elongations ("sooo" -> "soo")."""
    text = URL.sub(" httpurl ", text.lower())
    text = _MENTION.sub(" @user ", text)
    return _ELONGATION.sub(r"\1\1", text)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(preprocess(text))


def word_ngrams(tokens: Sequence[str], ngram_range: tuple[int, int]) -> list[str]:
    low, high = ngram_range
    terms = list(tokens) if low == 1 else []
    for n in range(max(low, 2), high + 1):
        terms += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return terms


def char_ngrams(token: str, ngram_range: tuple[int, int]) -> list[str]:
    """The n-grams of one token padded with spaces, so that prefixes and suffixes are marked (as ``char_wb``)."""
    padded = f" {token} "
    low, high = ngram_range
    grams = [padded[i:i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]
    # A token shorter than the lowest order still says something: keep it whole (as ``char_wb`` does).
    return grams or [padded]


class TextFeatures(TransformerMixin, BaseEstimator):
    """Sublinear TF-IDF of word n-grams and of in-word character n-grams, each block L2-normalised.

    ``max_char_features`` keeps the character n-grams with the highest document frequency; it bounds the
    artefact size (the vocabulary is most of it) more than it changes accuracy.
    """

    def __init__(
        self,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 2,
        max_char_features: int | None = None,
    ):
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_char_features = max_char_features

    def fit(self, X: Iterable[str], y=None) -> TextFeatures:
        docs = [tokenize(text) for text in _texts(X)]
        if not docs:
            raise ValueError("TextFeatures needs at least one text to fit")
        word_range, char_range = _pair(self.word_ngram_range), _pair(self.char_ngram_range)
        word_df: Counter = Counter()
        char_df: Counter = Counter()
        grams_of: dict[str, list[str]] = {}
        for tokens in docs:
            word_df.update(set(word_ngrams(tokens, word_range)))
            grams: set[str] = set()
            for token in set(tokens):
                if token not in grams_of:
                    grams_of[token] = char_ngrams(token, char_range)
                grams.update(grams_of[token])
            char_df.update(grams)
        self.word_vocabulary_, self.word_idf_ = _vocabulary(word_df, len(docs), self.min_df, None)
        self.char_vocabulary_, self.char_idf_ = _vocabulary(char_df, len(docs), self.min_df, self.max_char_features)
        self.n_features_out_ = len(self.word_vocabulary_) + len(self.char_vocabulary_)
        return self

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        check_is_fitted(self, "word_vocabulary_")
        word_range, char_range = _pair(self.word_ngram_range), _pair(self.char_ngram_range)
        word_get, char_get = self.word_vocabulary_.get, self.char_vocabulary_.get
        # Character n-gram counts of a text are the sum over its tokens, so they are computed as the product
        # (texts x distinct tokens of the batch) @ (distinct tokens x n-grams) in scipy, and each distinct token
        # is cut into n-grams once per call. Per call, not on self: transform must not change the fitted model.
        token_ids: dict[str, int] = {}
        word_idx: list[int] = []
        token_idx: list[int] = []
        word_ptr, token_ptr = [0], [0]
        for text in _texts(X):
            tokens = tokenize(text)
            terms = word_ngrams(tokens, word_range)
            word_idx.extend(map(word_get, terms, repeat(-1, len(terms))))
            word_ptr.append(len(word_idx))
            # setdefault(token, len(token_ids)) numbers new tokens 0, 1, 2, ... (map evaluates len first).
            token_idx.extend(map(token_ids.setdefault, tokens, map(len, repeat(token_ids, len(tokens)))))
            token_ptr.append(len(token_idx))
        gram_idx: list[int] = []
        gram_ptr = [0]
        for token in token_ids:  # dicts keep insertion order, i.e. the numbering above
            grams = char_ngrams(token, char_range)
            gram_idx.extend(map(char_get, grams, repeat(-1, len(grams))))
            gram_ptr.append(len(gram_idx))
        per_token = _counts(token_idx, token_ptr, len(token_ids))
        grams = _counts(gram_idx, gram_ptr, self.char_idf_.size)
        word = _tfidf(_counts(word_idx, word_ptr, self.word_idf_.size), self.word_idf_)
        char = _tfidf((per_token @ grams).tocsr(), self.char_idf_)
        return sp.hstack([word, char], format="csr")

    # A saved model stores each vocabulary as one string, its terms in column order joined by newlines (no term
    # holds one: tokens are runs of word characters, "!?" or an emoji). As a dict, skops wrote each of its
    # ~200,000 entries as a node of its own, and checking and unpacking that tree took 5.8 of the 8.8 s a cold
    # ``stance predict`` spent loading its models (now 0.1 of 3.2 s). Models saved with dicts still load.

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: Python's default returns the instance's own __dict__
        for name in _VOCABULARIES:
            if isinstance(state.get(name), dict):
                state[name] = _joined_terms(state[name])
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        for name in _VOCABULARIES:
            if isinstance(state.get(name), str):
                terms = state[name].split("\n") if state[name] else []
                state[name] = dict(zip(terms, range(len(terms))))
        super().__setstate__(state)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "word_vocabulary_")
        words = sorted(self.word_vocabulary_, key=self.word_vocabulary_.__getitem__)
        chars = sorted(self.char_vocabulary_, key=self.char_vocabulary_.__getitem__)
        return np.array([f"word__{t}" for t in words] + [f"char__{t}" for t in chars], dtype=object)


class GroupedTextFeatures(TextFeatures):
    """``TextFeatures`` shared by all groups plus a private copy per group, for texts labelled per target.

    Each item of ``X`` is a text or a ``(group, text)`` pair, e.g. the SemEval target and the tweet. The output
    is ``[shared_weight * F, F if group == g1 else 0, F if group == g2 else 0, ...]``: one linear model then
    learns cues common to every group (hashtags of protest, "we need ...") and cues that flip between groups,
    with the shared ones regularised less (Daume, "Frustratingly easy domain adaptation", 2007). A group not
    seen in ``fit`` (or a plain text) gets the shared block only. If ``fit`` saw no groups at all, the output is
    ``TextFeatures`` with the character block scaled by ``char_weight`` (exactly ``TextFeatures`` at 1).

    ``char_weight`` scales the character n-gram block against the word block; with an L2-penalised linear model
    that is a weaker penalty on character n-grams, which suit short, hashtag-laden, misspelt texts.

    ``embedding_weight`` (0: off) appends each text's multilingual sentence embedding (``classifiers.encoder``),
    scaled by it, to ``F`` before the blocks are crossed with the groups: the argument a text makes is then
    read per target as well.
    """

    def __init__(
        self,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 2,
        max_char_features: int | None = None,
        shared_weight: float = 0.5,
        char_weight: float = 1.0,
        embedding_weight: float = 0.0,
    ):
        super().__init__(word_ngram_range=word_ngram_range, char_ngram_range=char_ngram_range, min_df=min_df,
                         max_char_features=max_char_features)
        self.shared_weight = shared_weight
        self.char_weight = char_weight
        self.embedding_weight = embedding_weight

    def fit(self, X: Iterable, y=None) -> GroupedTextFeatures:
        groups, texts = _split_groups(X)
        super().fit(texts)
        self.groups_ = sorted({g for g in groups if g is not None})
        if self.embedding_weight:
            self.n_features_out_ += encoder.DIM
        self.n_features_out_ *= 1 + len(self.groups_)
        return self

    def transform(self, X: Iterable) -> sp.csr_matrix:
        check_is_fitted(self, "groups_")
        groups, texts = _split_groups(X)
        shared = super().transform(texts)
        if self.char_weight != 1.0:
            shared.data[shared.indices >= len(self.word_vocabulary_)] *= self.char_weight
        if self.embedding_weight:
            vectors = encoder.encode(texts) * self.embedding_weight
            shared = sp.hstack([shared, sp.csr_matrix(vectors)], format="csr")
        if not self.groups_:
            return shared
        width = shared.shape[1]
        block_of: dict[str | None, int] = {g: i + 1 for i, g in enumerate(self.groups_)}
        block = np.array([block_of.get(g, -1) for g in groups], dtype=np.int64)
        rows = np.repeat(np.arange(shared.shape[0]), np.diff(shared.indptr))
        keep = block[rows] > 0
        private = sp.csr_matrix(
            (shared.data[keep], (rows[keep], shared.indices[keep] + width * block[rows[keep]])),
            shape=(shared.shape[0], width * (1 + len(self.groups_))),
        )
        scaled = sp.csr_matrix((shared.data * self.shared_weight, shared.indices, shared.indptr),
                               shape=(shared.shape[0], private.shape[1]))
        return (scaled + private).tocsr()

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        names = super().get_feature_names_out()
        if self.embedding_weight:
            names = np.concatenate([names, np.array([f"embedding__{i}" for i in range(encoder.DIM)], dtype=object)])
        return np.concatenate([names] + [np.array([f"{g}__{n}" for n in names], dtype=object) for g in self.groups_])


def _pair(value) -> tuple[int, int]:
    """An n-gram range as a pair (skops and JSON hand tuples back as lists)."""
    low, high = value
    return int(low), int(high)


def _split_groups(X: Iterable) -> tuple[list[str | None], list[str]]:
    groups: list[str | None] = []
    texts: list[str] = []
    for item in _texts(X):
        if isinstance(item, str):
            groups.append(None)
            texts.append(item)
        else:
            group, text = item
            groups.append(None if group is None else str(group))
            texts.append(text)
    return groups, texts


def make_text_features(
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 5),
    max_char_features: int | None = None,
    min_df: int = 2,
) -> TextFeatures:
    return TextFeatures(word_ngram_range=word_ngrams, char_ngram_range=char_ngrams, min_df=min_df,
                        max_char_features=max_char_features)


def _texts(X: Iterable[str]) -> list[str]:
    if isinstance(X, str):
        raise ValueError("expected an iterable of texts, got a single string")
    return list(X)


_VOCABULARIES = ("word_vocabulary_", "char_vocabulary_")


def _joined_terms(vocabulary: dict[str, int]) -> str:
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    if any("\n" in term for term in terms) or [vocabulary[t] for t in terms] != list(range(len(terms))):
        raise ValueError("a vocabulary must number its terms 0..n-1 and no term may hold a newline")
    return "\n".join(terms)


def _vocabulary(df: Counter, n_docs: int, min_df: int, max_features: int | None) -> tuple[dict[str, int], np.ndarray]:
    kept = [(term, count) for term, count in df.items() if count >= min_df]
    if max_features is not None and len(kept) > max_features:
        kept = sorted(kept, key=lambda item: (-item[1], item[0]))[:max_features]
    kept.sort()
    # Plain ints: skops stores numpy integers one file each, which would bloat the artefact.
    vocabulary = {term: index for index, (term, _) in enumerate(kept)}
    counts = np.array([count for _, count in kept], dtype=np.float64)
    idf = np.log((1.0 + n_docs) / (1.0 + counts)) + 1.0  # smooth IDF, as TfidfVectorizer's default
    return vocabulary, idf


def _counts(indices: list[int], indptr: list[int], n_columns: int) -> sp.csr_matrix:
    """Rows of column indices (-1 = unknown, dropped) as a count matrix."""
    index = np.asarray(indices, dtype=np.int64)
    ptr = np.asarray(indptr, dtype=np.int64)
    known = index >= 0
    if not known.all():
        ptr = np.concatenate([[0], np.cumsum(known)])[ptr]
        index = index[known]
    counts = sp.csr_matrix((np.ones(index.size), index, ptr), shape=(ptr.size - 1, n_columns))
    counts.sum_duplicates()
    return counts


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    return normalize(counts, copy=False)
