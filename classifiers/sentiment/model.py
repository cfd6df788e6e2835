"""The learned sentiment scorer: :class:`PostFeatures` and the sentence embedding feeding a logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from classifiers import encoder
from classifiers.sentiment.base import LABELS, SentimentScorer, polarity_from_proba
from classifiers.sentiment.features import PostFeatures


class LearnedSentimentScorer(SentimentScorer):
    """A linear model over hashed n-grams, lexicon features and the sentence embedding, one per language.

    :param lang: ``"de"`` or ``"en"``.
    :param version: bumped whenever features or training data change, so stored scores stay traceable.
    :param C: inverse regularisation strength of the logistic regression.
    :param class_weight: passed to ``LogisticRegression`` (``"balanced"`` favours the rarer polar classes).
    :param char_ngrams: character n-gram range, see :class:`PostFeatures`.
    :param dense_weight: scale of the lexicon features, see :class:`PostFeatures`.
    :param domain_features: add the length/sentence indicators of :class:`PostFeatures`.
    :param nb_alpha: NB log-count-ratio scaling of the hashed n-grams, see :class:`PostFeatures`.
    :param decision_offsets: added to the (negative, neutral, positive) decision values before the
        softmax: a decision rule tuned on held-out data by ``train.py`` (the benchmarks' metrics reward
        another balance of the classes than the log-loss the regression minimises).
    :param offsets_max_chars: if set, the offsets apply only to texts of at most this many characters;
        longer ones keep the regression's own balance. The offsets are tuned half on public tweet corpora,
        whose benchmark metrics want another balance than news and forum passages do.
    :param embedding_weight: scale of the multilingual sentence embedding (``classifiers.encoder``) next to
        the other features; 0 leaves it out. The embedding knows tone beyond the lexicons ("nicht schlecht",
        irony) and carries what the project's labelled posts teach across languages.
    :param long_text_chars: if set, texts longer than this many characters get a second copy of the embedding
        block (zero for shorter texts): feature augmentation for two domains (Daume III, 2007), so the
        regression can weigh meaning differently in news and forum passages than in the short tweets that
        make up most of the public corpora, while both still share the first copy.
    :param random_state: seed of the solver, for reproducible artefacts.

    ``fit(..., network=...)`` takes a fitted :class:`~classifiers.sentiment.network.TunedSentimentNetwork`:
    the scorer then reads the embedding tuned for sentiment instead of USE's own (``embedding_name`` says
    which), and keeps the network's weights. Embeddings passed in must be the ones it reads; ``SentimentRouter``
    passes the stored USE embeddings only to scorers that read them.
    """

    #: Artefacts saved before these parameters existed load without them (skops restores ``__dict__``).
    long_text_chars: int | None = None
    offsets_max_chars: int | None = None
    network_ = None

    def __init__(
        self,
        lang: str = "de",
        version: int = 1,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        char_ngrams: tuple[int, int] | None = None,
        dense_weight: float = 1.0,
        domain_features: bool = False,
        nb_alpha: float | None = None,
        decision_offsets: tuple[float, float, float] = (0.0, 0.0, 0.0),
        embedding_weight: float = 0.0,
        long_text_chars: int | None = None,
        offsets_max_chars: int | None = None,
        random_state: int = 0,
    ):
        self.lang = lang
        self.version = version
        self.C = C
        self.class_weight = class_weight
        self.char_ngrams = char_ngrams
        self.dense_weight = dense_weight
        self.domain_features = domain_features
        self.nb_alpha = nb_alpha
        self.decision_offsets = decision_offsets
        self.embedding_weight = embedding_weight
        self.long_text_chars = long_text_chars
        self.offsets_max_chars = offsets_max_chars
        self.random_state = random_state

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"sm-sentiment-{self.lang}-{self.version}"

    def fit(
        self, X: Sequence[str], y: Sequence[str], sample_weight: Sequence[float] | np.ndarray | None = None,
        embeddings=None, network=None,
    ) -> LearnedSentimentScorer:
        """Fit features and classifier; ``y`` must use the labels negative/neutral/positive only."""
        unknown = set(y) - set(LABELS)
        if unknown:
            raise ValueError(f"unknown labels {sorted(unknown)}; expected {LABELS}")
        texts, labels = list(X), list(y)
        self.network_ = network
        self.features_ = PostFeatures(
            lang=self.lang,
            char_ngrams=self.char_ngrams,
            dense_weight=self.dense_weight,
            domain_features=self.domain_features,
            nb_alpha=self.nb_alpha,
        )
        features = self._with_embeddings(self.features_.fit_transform(texts, labels), texts, embeddings)
        self.classifier_ = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=3000, random_state=self.random_state
        ).fit(features, labels, sample_weight=sample_weight)
        self.classes_ = np.array(LABELS)
        return self

    @property
    def embedding_name(self) -> str | None:
        """The embedding this scorer reads: ``encoder.NAME``, a tuned network's name, or None."""
        if not self.embedding_weight:
            return None
        return encoder.NAME if self.network_ is None else self.network_.name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The embeddings this scorer reads, as stored (float16 values)."""
        if self.network_ is None:
            return encoder.encode(texts)
        return self.network_.embed(texts)

    def _with_embeddings(self, features: sp.csr_matrix, texts: list[str], embeddings) -> sp.csr_matrix:
        if not self.embedding_weight:
            return features
        vectors = self.embed(texts) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        weighted = vectors * self.embedding_weight
        blocks = [features, sp.csr_matrix(weighted)]
        if self.long_text_chars is not None:
            is_long = np.array([len(text) > self.long_text_chars for text in texts], dtype=np.float32)
            blocks.append(sp.csr_matrix(weighted * is_long[:, None]))
        return sp.hstack(blocks, format="csr")

    def decision_function(self, texts: Sequence[str], embeddings=None) -> np.ndarray:
        """The regression's decision values in the column order of ``classes_``, without the offsets."""
        check_is_fitted(self, "classifier_")
        texts = list(texts)
        decision = self.classifier_.decision_function(
            self._with_embeddings(self.features_.transform(texts), texts, embeddings)
        )
        order = [list(self.classifier_.classes_).index(label) for label in LABELS]
        return decision[:, order]

    def predict_proba(self, texts: Sequence[str], embeddings=None) -> np.ndarray:
        """Softmax of the decision values plus ``decision_offsets`` (negative, neutral, positive), where
        they apply (``offsets_max_chars``).

        With zero offsets this is the regression's own multinomial probability."""
        texts = list(texts)
        decision = self.decision_function(texts, embeddings)
        return softmax(decision + self.offsets_for(texts), axis=1)

    def offsets_for(self, texts: Sequence[str]) -> np.ndarray:
        """The offsets added to each text's decision values, one row per text."""
        offsets = np.asarray(self.decision_offsets, dtype=float)
        return self.offsets_apply(texts)[:, None] * offsets

    def offsets_apply(self, texts: Sequence[str]) -> np.ndarray:
        """Whether the offsets apply to each text (``offsets_max_chars``)."""
        if self.offsets_max_chars is None:
            return np.ones(len(texts), dtype=bool)
        return np.array([len(text) <= self.offsets_max_chars for text in texts], dtype=bool)

    def predict(self, texts: Sequence[str], embeddings=None) -> np.ndarray:
        return np.array(LABELS)[self.predict_proba(texts, embeddings).argmax(axis=1)]

    def polarity(self, texts: Sequence[str], embeddings=None) -> np.ndarray:
        """P(positive) - P(negative)."""
        return polarity_from_proba(self.predict_proba(texts, embeddings))

    def label_and_polarity(self, texts: Sequence[str], embeddings=None) -> tuple[np.ndarray, np.ndarray]:
        proba = self.predict_proba(texts, embeddings)
        return np.array(LABELS)[proba.argmax(axis=1)], polarity_from_proba(proba)
