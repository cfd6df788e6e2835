"""Saving, loading and refusing sentiment artefacts; training on sentences we wrote ourselves."""

import json

import numpy as np
import pytest
import skops.io as sio
from scipy.special import softmax
from sklearn.base import clone

from classifiers.sentiment import ArtefactError, LearnedSentimentScorer, load_scorer
from classifiers.sentiment.artefacts import (
    METADATA_FILE,
    MODEL_FILE,
    default_artefact_dir,
    save_scorer,
    sha256_of,
)
from classifiers.sentiment.features import PostFeatures
from classifiers.sentiment.offsets import tune_offsets

TEXTS = [
    "Das ist großartig, ich freue mich sehr!",
    "Wunderbar, einfach toll :)",
    "Was für ein schöner Tag 😀",
    "Das ist furchtbar, ich bin enttäuscht.",
    "Schrecklich, nie wieder :(",
    "So ein Mist, alles kaputt 😡",
    "Der Zug fährt um acht Uhr.",
    "Die Sitzung beginnt morgen.",
    "Hier ist der Link zum Artikel.",
]
LABELS = ["positive"] * 3 + ["negative"] * 3 + ["neutral"] * 3


@pytest.fixture(scope="module")
def trained():
    return LearnedSentimentScorer(lang="de", C=10.0).fit(TEXTS, LABELS)


def test_fit_learns_the_training_sentences(trained):
    assert list(trained.predict(TEXTS)) == LABELS
    assert trained.name == "sm-sentiment-de-1"


def test_fit_rejects_unknown_labels():
    with pytest.raises(ValueError):
        LearnedSentimentScorer(lang="de").fit(TEXTS[:2], ["positive", "mixed"])


def test_round_trip_keeps_predictions_and_writes_metadata(trained, tmp_path):
    metadata = save_scorer(trained, tmp_path, {"training_data": {"sha256": "x"}})
    loaded = load_scorer(tmp_path)
    assert np.allclose(loaded.predict_proba(TEXTS), trained.predict_proba(TEXTS))
    on_disk = json.loads((tmp_path / METADATA_FILE).read_text())
    assert on_disk == metadata
    assert on_disk["sha256"] == sha256_of(tmp_path / MODEL_FILE)
    assert {"scikit-learn", "skops", "numpy"} <= set(on_disk["library_versions"])
    assert on_disk["name"] == "sm-sentiment-de-1" and on_disk["created_at"]


def test_tampered_model_file_is_refused(trained, tmp_path):
    save_scorer(trained, tmp_path, {})
    model = tmp_path / MODEL_FILE
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(ArtefactError, match="sha256"):
        load_scorer(tmp_path)


class NotTrusted:
    """A type no artefact of ours contains."""


def test_untrusted_types_are_refused_even_with_matching_hash(trained, tmp_path):
    save_scorer(trained, tmp_path, {})
    model = tmp_path / MODEL_FILE
    sio.dump({"payload": NotTrusted()}, model)
    metadata = json.loads((tmp_path / METADATA_FILE).read_text())
    metadata["sha256"] = sha256_of(model)
    (tmp_path / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(ArtefactError, match="untrusted"):
        load_scorer(tmp_path)


def test_missing_artefact_is_reported(tmp_path):
    with pytest.raises(ArtefactError):
        load_scorer(tmp_path)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_shipped_artefacts_load_and_are_small(lang):
    directory = default_artefact_dir(lang)
    scorer = load_scorer(directory)
    metadata = json.loads((directory / METADATA_FILE).read_text())
    assert scorer.lang == lang and metadata["name"] == scorer.name
    assert (directory / MODEL_FILE).stat().st_size < 15e6
    assert metadata["validation_metrics"] and len(metadata["training_data"]["sha256"]) == 64


def test_decision_offsets_shift_probabilities_and_labels_consistently(trained):
    shifted = clone(trained).set_params(decision_offsets=(0.0, 0.0, 50.0)).fit(TEXTS, LABELS)
    proba = shifted.predict_proba(TEXTS)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert set(shifted.predict(TEXTS)) == {"positive"}
    assert np.allclose(trained.predict_proba(TEXTS), softmax(trained.decision_function(TEXTS), axis=1))


def test_tune_offsets_finds_the_shift_the_objective_rewards():
    decisions = [np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])]
    offsets, score = tune_offsets(decisions, lambda predicted: float(np.mean(predicted[0] == "positive")))
    assert score == 1.0 and offsets[2] > 1.0 and offsets[1] == 0.0


def test_tune_offsets_scores_rows_the_offsets_skip_without_them():
    # Row 0 takes offsets, row 1 does not. Pushing positive wins row 0 but can never win row 1, so the best
    # objective is 0.5 when row 1's gold is positive, and the tuner must not pretend otherwise.
    decisions = [np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])]
    applies = [np.array([True, False])]
    offsets, score = tune_offsets(decisions, lambda p: float(np.mean(p[0] == "positive")), applies)
    assert score == 0.5 and offsets[2] > 1.0
    _, everywhere = tune_offsets(decisions, lambda p: float(np.mean(p[0] == "positive")))
    assert everywhere == 1.0


def test_nb_scaled_scorer_learns_round_trips_and_needs_labels(tmp_path):
    scorer = LearnedSentimentScorer(lang="de", C=10.0, nb_alpha=1.0).fit(TEXTS, LABELS)
    assert list(scorer.predict(TEXTS)) == LABELS
    scale = scorer.features_.feature_scale_
    assert scale.min() >= 0 and scale.max() > 0
    save_scorer(scorer, tmp_path, {})
    assert np.allclose(load_scorer(tmp_path).predict_proba(TEXTS), scorer.predict_proba(TEXTS))
    with pytest.raises(ValueError, match="labels"):
        PostFeatures(lang="de", nb_alpha=1.0).fit(TEXTS)


def test_scorer_with_embeddings_reads_given_vectors_or_encodes(tmp_path):
    from classifiers import encoder

    vectors = encoder.encode(TEXTS)
    scorer = LearnedSentimentScorer(lang="de", C=10.0, embedding_weight=2.0).fit(TEXTS, LABELS, embeddings=vectors)
    assert list(scorer.predict(TEXTS, vectors)) == LABELS
    np.testing.assert_allclose(scorer.predict_proba(TEXTS), scorer.predict_proba(TEXTS, vectors), rtol=1e-5)
    # A text the n-grams have never seen still gets the tone its embedding carries.
    assert scorer.predict(["Herrlich, ich bin begeistert!"])[0] == "positive"
    save_scorer(scorer, tmp_path, {})
    reloaded = load_scorer(tmp_path)
    np.testing.assert_allclose(reloaded.predict_proba(TEXTS, vectors), scorer.predict_proba(TEXTS, vectors))


def test_long_texts_get_an_embedding_block_of_their_own(tmp_path):
    from classifiers import encoder

    long_text = "Die Zeitung berichtet ausführlich über das neue Modell und die Reaktionen darauf. " * 3
    texts = [*TEXTS, long_text]
    vectors = encoder.encode(texts)
    scorer = LearnedSentimentScorer(lang="de", C=10.0, embedding_weight=2.0, long_text_chars=160).fit(
        texts, [*LABELS, "neutral"], embeddings=vectors)
    features = scorer.features_.transform(texts)
    blocks = scorer._with_embeddings(features, texts, vectors).toarray()[:, features.shape[1]:]
    dim = vectors.shape[1]
    # The first copy is the same for every text; the second is zero unless the text is over 160 characters.
    np.testing.assert_allclose(blocks[:, :dim], 2.0 * vectors, rtol=1e-6)
    assert not blocks[:-1, dim:].any()
    np.testing.assert_allclose(blocks[-1, dim:], 2.0 * vectors[-1], rtol=1e-6)
    save_scorer(scorer, tmp_path, {})
    reloaded = load_scorer(tmp_path)
    np.testing.assert_allclose(reloaded.predict_proba(texts, vectors), scorer.predict_proba(texts, vectors))


def test_artefacts_saved_before_the_newer_parameters_still_load(tmp_path):
    # An artefact written before long_text_chars and offsets_max_chars existed has neither in its state.
    scorer = LearnedSentimentScorer(lang="de", C=10.0, decision_offsets=(0.0, 0.0, 1.0)).fit(TEXTS, LABELS)
    del scorer.long_text_chars, scorer.offsets_max_chars
    save_scorer(scorer, tmp_path, {})
    reloaded = load_scorer(tmp_path)
    assert "long_text_chars" not in vars(reloaded) and "offsets_max_chars" not in vars(reloaded)
    assert reloaded.long_text_chars is None and reloaded.offsets_max_chars is None
    texts = [TEXTS[0] * 8, TEXTS[6]]
    np.testing.assert_allclose(reloaded.predict_proba(texts), scorer.predict_proba(texts))
    # ... and the offsets reach every text, long or short, as they did then.
    np.testing.assert_allclose(reloaded.offsets_for(texts), [[0.0, 0.0, 1.0]] * 2)


def test_offsets_apply_only_up_to_offsets_max_chars():
    long_text = "Der Bericht beschreibt das neue Modell, seine Lizenz und die Reaktionen darauf sehr genau. " * 2
    texts = [TEXTS[6], long_text]
    plain = LearnedSentimentScorer(lang="de", C=10.0).fit(TEXTS, LABELS)
    shifted = clone(plain).set_params(decision_offsets=(0.0, 0.0, 2.0), offsets_max_chars=160).fit(TEXTS, LABELS)
    assert len(texts[0]) <= 160 < len(texts[1])
    np.testing.assert_array_equal(shifted.offsets_apply(texts), [True, False])
    decision = plain.decision_function(texts)
    np.testing.assert_allclose(shifted.predict_proba(texts)[1], softmax(decision[1]))
    np.testing.assert_allclose(shifted.predict_proba(texts)[0], softmax(decision[0] + [0.0, 0.0, 2.0]))
