"""Embeddings of training texts kept on disk between training runs, keyed by the text's sha1.

Training encodes every labelled text (about 12,000) before cross-validation: half a minute on two cores.
Retraining, benchmarks and ``stance train`` read the same texts again, so they keep the vectors in one
``.npz`` file per encoder. The cache holds vectors only (and hashes); texts never go into it.

The embeddings of the seed posts written for the project ship with it (``BUNDLED``, float16, rebuilt by
``python -m classifiers.train_default``), so a user's first ``stance train`` does not encode them again.

Every vector handed out is rounded to float16, as posts' embeddings are stored (``encoder.STORED_DTYPE``),
whether it was just encoded, read from the bundle or read from an older float32 cache. Without that, a
retrain gave a different model depending on where its vectors came from: the last digits moved a threshold
on the 0.01 grid (the relevance threshold 0.40 against 0.39), and with it the artefact's name.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from classifiers.encoder import STORED_DTYPE, as_stored

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).parent / "artefacts" / "seed_embeddings.npz"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """``embedder(texts)`` returns embeddings, encoding only texts not seen before and saving them to ``path``."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray], path: Path | None,
                 bundled: Path | None = BUNDLED):
        self.encode = encode
        self.path = Path(path) if path else None
        self.bundled = bundled
        self._vectors: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            for path in (self.bundled, self.path):
                if path and path.exists():
                    self._vectors.update(read_vectors(path))
        return self._vectors

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._load()
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in vectors}
        if missing:
            encoded = self.encode(list(missing.values()))
            vectors.update(zip(missing, as_stored(encoded)))
            self._save()
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([vectors[k] for k in keys])

    def _save(self) -> None:
        if not self.path or not self._vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vectors)
        temporary = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(temporary, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        temporary.replace(self.path)


def read_vectors(path: Path) -> dict[str, np.ndarray]:
    """``sha1(text) -> float32 vector`` (float16 values) from a cache file; an unreadable file counts as empty."""
    try:
        with np.load(path) as stored:
            return dict(zip(stored["keys"].tolist(), as_stored(stored["vectors"])))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable embedding cache %s: %s", path, exc)
        return {}


def write_bundle(texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray], path: Path = BUNDLED) -> None:
    """Ship the embeddings of ``texts`` (float16, as posts' embeddings are stored) with the package."""
    vectors = np.asarray(embed(list(texts)), dtype=STORED_DTYPE)
    np.savez_compressed(path, keys=np.array([text_key(t) for t in texts]), vectors=vectors)
