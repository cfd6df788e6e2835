"""The sentiment projection: its gradients are right, it learns, and the scorer reads it where it should."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import encoder
from classifiers.sentiment.projection import SentimentProjection, _gradients
from classifiers.use_network import OUTPUT_WEIGHTS, Pooled

SHAPES = {"cnn_W": (1280, 512), "cnn_b": (512,), "d0": (512, 320), "d1": (320, 320), "d2": (320, 512),
          "d3": (512, 512), "p1": (512, 320), "p3": (320, 512)}


def _random_layers(rng) -> dict[str, np.ndarray]:
    return {name: rng.normal(0, 0.05, shape) for name, shape in SHAPES.items()}


def test_gradients_match_finite_differences():
    rng = np.random.RandomState(0)
    params = _random_layers(rng)
    params["heads"], params["head_bias"] = rng.normal(0, 0.05, (2, 512, 3)), rng.normal(0, 0.1, (2, 3))
    features, sqrt_tokens = rng.normal(0, 1, (7, 1280)), rng.uniform(1, 5, 7)
    labels, groups, weight = rng.randint(0, 3, 7), rng.randint(0, 2, 7), rng.uniform(0.5, 2, 7)
    _, grads = _gradients(params, features, sqrt_tokens, labels, groups, weight)
    for name in params:
        for _ in range(3):
            index = tuple(rng.randint(0, size) for size in params[name].shape)
            old, step = params[name][index], 1e-6
            params[name][index] = old + step
            plus, _ = _gradients(params, features, sqrt_tokens, labels, groups, weight)
            params[name][index] = old - step
            minus, _ = _gradients(params, features, sqrt_tokens, labels, groups, weight)
            params[name][index] = old
            assert (plus - minus) / (2 * step) == pytest.approx(grads[name][index], rel=1e-4, abs=1e-9), name


def test_fit_moves_the_embedding_towards_the_labels():
    rng = np.random.RandomState(1)
    initial = {name: value.astype(np.float32) for name, value in _random_layers(rng).items()}
    direction = rng.normal(0, 1, 1280)
    features = rng.normal(0, 1, (300, 1280)).astype(np.float32)
    labels = np.where(features @ direction > 0, "positive", "negative")
    pooled = Pooled(features * 3, np.full(300, 9.0, dtype=np.float32))
    projection = SentimentProjection(initial=initial, epochs=40, learning_rate=1e-3).fit(pooled, labels)

    def separation(vectors: np.ndarray) -> float:
        centre = vectors[labels == "positive"].mean(0) - vectors[labels == "negative"].mean(0)
        return float(np.linalg.norm(centre))

    from classifiers.use_network import OutputLayers
    before, after = OutputLayers(initial)(pooled), projection.transform(pooled)
    assert after.shape == (300, 512)
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)
    assert separation(after) > 2 * separation(before)
    assert set(projection.weights_) == set(OUTPUT_WEIGHTS)
    assert projection.name.startswith("use-m3-sentiment-") and projection.name != SentimentProjection(
        initial=initial, epochs=1, learning_rate=1e-3).fit(pooled, labels).name


def test_the_shipped_german_scorer_reads_its_own_embedding_not_the_stored_one():
    from classifiers.sentiment import load_default_router

    router = load_default_router()
    german = router.scorers["de"]
    assert german.embedding_name.startswith("use-m3-sentiment-")
    assert router.scorers["en"].embedding_name == encoder.NAME
    texts = ["Endlich offene Gewichte, großartig!", "Das ist eine Katastrophe für die Sicherheit."]
    wrong = np.zeros((2, encoder.DIM), dtype=np.float32)  # what a scorer must never be handed
    with_stored = router.score(texts, ["de", "de"], wrong)
    assert with_stored == router.score(texts, ["de", "de"])
    labels, _ = german.label_and_polarity(texts, german.embed(texts))
    assert [r.label for r in with_stored] == list(labels)
