"""USE's output layers tuned for sentiment: a second embedding from the same pass over the tokens.

The sentence embedding was trained for meaning, not tone. Tuning the dense layers after the pooling
(``classifiers.use_network``) on labelled sentiment, starting from USE's own weights, gives an embedding that
keeps what USE knows and leans towards tone, at the price of a few small matrix products per post: the
expensive token pass is shared with the embedding the topic heads read.

:class:`SentimentProjection` follows scikit-learn's conventions: ``fit(pooled, y, sample_weight, groups)``
trains the layers together with one linear softmax head per group (a language, whose corpora label tone
their own way); ``transform(pooled)`` returns the tuned embeddings; the heads are thrown away, the
sentiment scorer fits its own regression on the result. Plain numpy: AdamW with a linear warm-up and decay,
backpropagation written out in :func:`_gradients` (``tests/test_sentiment_projection.py`` checks it against
finite differences). Why this and not more is measured in ``classifiers.sentiment.train``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from classifiers.sentiment.base import LABELS
from classifiers.use_network import OUTPUT_WEIGHTS, OutputLayers, Pooled

#: The embedding is scaled by this before the softmax heads: unit vectors alone give logits too flat to learn.
TEMPERATURE = 10.0
WARMUP_STEPS = 100


class SentimentProjection(TransformerMixin, BaseEstimator):
    """Tune USE's output layers on sentiment labels.

    :param initial: the output layers to start from; None for USE's own.
    :param epochs: passes over the data. Few: the layers should lean towards tone, not learn the corpora.
    :param learning_rate: of the layers; the heads learn at ``head_learning_rate``.
    :param weight_decay: decoupled (AdamW), pulling the layers towards zero as in the experiments.
    """

    def __init__(self, initial: dict[str, np.ndarray] | None = None, epochs: int = 2, learning_rate: float = 1e-4,
                 head_learning_rate: float = 3e-3, weight_decay: float = 0.1, batch_size: int = 64,
                 random_state: int = 0):
        self.initial = initial
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Pooled, y: Sequence[str], sample_weight=None, groups=None) -> SentimentProjection:
        """``groups`` (one per row, e.g. the language) get a head each; classes are balanced within a group."""
        initial = self.initial
        if initial is None:
            from classifiers import encoder

            initial = encoder.default_encoder().output_weights()
        labels = np.array([LABELS.index(label) for label in y])
        groups = np.zeros(len(labels), dtype=int) if groups is None else np.unique(groups, return_inverse=True)[1]
        given = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        weight = _balanced(labels, groups, given)
        self.__dict__.pop("name", None)  # a refit changes the weights, so their name
        rng = np.random.RandomState(self.random_state)
        params = {name: np.array(initial[name], dtype=np.float64) for name in OUTPUT_WEIGHTS}
        bound = 1 / np.sqrt(512)
        n_groups = groups.max() + 1
        params["heads"] = rng.uniform(-bound, bound, (n_groups, 512, 3))
        params["head_bias"] = rng.uniform(-bound, bound, (n_groups, 3))
        optimiser = _AdamW(params, self.learning_rate, self.head_learning_rate, self.weight_decay)
        total = self.epochs * int(np.ceil(len(labels) / self.batch_size))
        # The layers see the token sum over sqrt(tokens) and sqrt(tokens), as OutputLayers computes it.
        sqrt_tokens = np.sqrt(X.tokens.astype(np.float64))
        features = X.features.astype(np.float64) / sqrt_tokens[:, None]
        step = 0
        for _ in range(self.epochs):
            order = rng.permutation(len(labels))
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                _, grads = _gradients(params, features[rows], sqrt_tokens[rows], labels[rows], groups[rows],
                                      weight[rows])
                optimiser.step(params, grads, min(1.0, (step + 1) / WARMUP_STEPS) * max(0.0, 1 - step / total))
                step += 1
        self.weights_ = {name: params[name].astype(np.float32) for name in OUTPUT_WEIGHTS}
        return self

    @cached_property
    def name(self) -> str:
        """``use-m3-sentiment-`` and the first 10 hex digits of the sha256 of the tuned weights (hashed once:
        the router asks for it with every batch)."""
        check_is_fitted(self, "weights_")
        digest = hashlib.sha256()
        for key in OUTPUT_WEIGHTS:
            digest.update(np.ascontiguousarray(self.weights_[key]).tobytes())
        return f"use-m3-sentiment-{digest.hexdigest()[:10]}"

    def transform(self, X: Pooled) -> np.ndarray:
        check_is_fitted(self, "weights_")
        return OutputLayers(self.weights_)(X).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The tuned embeddings of ``texts`` as stored (float16 values), from the encoder's token pass, which
        the embeddings of USE's own output layers share (``classifiers.encoder.pooled``)."""
        from classifiers import encoder

        return encoder.as_stored(self.transform(encoder.pooled(texts)))


def _balanced(labels: np.ndarray, groups: np.ndarray, weight: np.ndarray) -> np.ndarray:
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


def _gradients(p: dict[str, np.ndarray], features, sqrt_tokens, labels, groups, weight):
    """Weighted mean cross-entropy of the heads on the output layers, and its gradient for every parameter.

    ``features`` are the token sums over sqrt(tokens), ``sqrt_tokens`` the sqrt(tokens), per row."""
    n = len(labels)
    mean = features @ p["cnn_W"] + sqrt_tokens[:, None] * p["cnn_b"]
    a0 = mean @ p["d0"]
    y0 = np.maximum(a0, 0)
    a1 = mean @ p["p1"] + y0 @ p["d1"]
    y1 = np.maximum(a1, 0)
    a2 = y1 @ p["d2"]
    y2 = np.maximum(a2, 0)
    z = np.tanh(y1 @ p["p3"] + y2 @ p["d3"])
    norm = np.sqrt(np.maximum((z * z).sum(1), 1e-12))[:, None]
    unit = z / norm
    scaled = TEMPERATURE * unit
    logits = np.einsum("nd,ndk->nk", scaled, p["heads"][groups]) + p["head_bias"][groups]
    logits -= logits.max(1, keepdims=True)
    proba = np.exp(logits)
    proba /= proba.sum(1, keepdims=True)
    loss = float(np.mean(weight * -np.log(proba[np.arange(n), labels] + 1e-300)))

    d_logits = proba.copy()
    d_logits[np.arange(n), labels] -= 1
    d_logits *= (weight / n)[:, None]
    grads = {"heads": np.zeros_like(p["heads"]), "head_bias": np.zeros_like(p["head_bias"])}
    np.add.at(grads["heads"], groups, scaled[:, :, None] * d_logits[:, None, :])
    np.add.at(grads["head_bias"], groups, d_logits)
    d_unit = TEMPERATURE * np.einsum("nk,ndk->nd", d_logits, p["heads"][groups])
    d_z = (d_unit - unit * (d_unit * unit).sum(1, keepdims=True)) / norm
    d_a3 = d_z * (1 - z * z)
    grads["p3"], grads["d3"] = y1.T @ d_a3, y2.T @ d_a3
    d_a2 = (d_a3 @ p["d3"].T) * (a2 > 0)
    grads["d2"] = y1.T @ d_a2
    d_a1 = (d_a3 @ p["p3"].T + d_a2 @ p["d2"].T) * (a1 > 0)
    grads["p1"], grads["d1"] = mean.T @ d_a1, y0.T @ d_a1
    d_a0 = (d_a1 @ p["d1"].T) * (a0 > 0)
    grads["d0"] = mean.T @ d_a0
    d_mean = d_a1 @ p["p1"].T + d_a0 @ p["d0"].T
    grads["cnn_W"], grads["cnn_b"] = features.T @ d_mean, sqrt_tokens @ d_mean
    return loss, grads


class _AdamW:
    """Adam with decoupled weight decay on the layers (not the heads), as ``torch.optim.AdamW`` does it."""

    def __init__(self, params, learning_rate: float, head_learning_rate: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.rates = {name: head_learning_rate if name.startswith("head") else learning_rate for name in params}
        self.decay = {name: 0.0 if name.startswith("head") else weight_decay for name in params}
        self.betas, self.eps, self.t = betas, eps, 0
        self.m = {name: np.zeros_like(value) for name, value in params.items()}
        self.v = {name: np.zeros_like(value) for name, value in params.items()}

    def step(self, params, grads, schedule: float) -> None:
        self.t += 1
        b1, b2 = self.betas
        for name, grad in grads.items():
            rate = self.rates[name] * schedule
            params[name] *= 1 - rate * self.decay[name]
            self.m[name] = b1 * self.m[name] + (1 - b1) * grad
            self.v[name] = b2 * self.v[name] + (1 - b2) * grad * grad
            m_hat = self.m[name] / (1 - b1 ** self.t)
            v_hat = self.v[name] / (1 - b2 ** self.t)
            params[name] -= rate * m_hat / (np.sqrt(v_hat) + self.eps)
