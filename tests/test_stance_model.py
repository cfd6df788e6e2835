"""TextFeatures and TopicClassifier: estimator contract, behaviour on tiny data, artefact round trip."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers import PostClassifier, artefacts, encoder
from classifiers.decisions import DecisionRule
from classifiers.features import GroupedTextFeatures, TextFeatures, char_ngrams, preprocess, tokenize, word_ngrams
from classifiers.labels import STANCES
from classifiers.stance import TopicClassifier
from classifiers.text_classifier import make_text_classifier

OPEN = ["release the weights now", "open weights are the only way", "please open source the model",
        "gpt-oss weights are finally out, great for local use", "openai should release the weights"]
CLOSED = ["keep the frontier models closed", "releasing weights is too dangerous", "closed models are safer",
          "do not release the weights, misuse risk", "frontier weights must stay closed"]
NEUTRAL = ["the weights were released on tuesday", "which licence do the weights use?",
           "openai published a blog post about weights", "the model card lists the licence",
           "weights and licence details are in the repo"]
OFF = ["the tennis open starts today", "our office opens in berlin", "api outage again this morning",
       "job post: backend engineer", "the shop is open on sunday", "football results from the weekend"]


def _labelled():
    texts, labels = [], []
    for group, stance in ((OPEN, "pro_open"), (CLOSED, "pro_closed"), (NEUTRAL, "neutral")):
        for text in group:
            texts.append(text)
            labels.append({"relevant": True, "stance": stance, "aspects": ["safety"] if "danger" in text else [],
                           "safety_concern": stance == "pro_closed"})
    for text in OFF:
        texts.append(text)
        labels.append({"relevant": False, "stance": "neutral", "aspects": [], "safety_concern": False})
    return texts, labels


def test_char_and_word_ngrams():
    assert char_ngrams("ab", (2, 3)) == [" a", "ab", "b ", " ab", "ab "]
    assert char_ngrams("a", (4, 5)) == [" a "]  # shorter than the lowest order: kept whole
    assert word_ngrams(["not", "open", "now"], (1, 2)) == ["not", "open", "now", "not open", "open now"]
    assert word_ngrams(["a"], (2, 2)) == []
    assert tokenize("Sooo OPEN!! https://x.y @sam") == ["soo", "open", "!!", "httpurl", "user"]
    assert preprocess("@sam Sooo") == " @user  soo"


def test_text_features_match_tfidf_vectorizer_on_words():
    # The word block must be what TfidfVectorizer computes with the same tokens (sublinear TF, smooth IDF, L2).
    texts = OPEN + CLOSED + NEUTRAL
    ours = TextFeatures(word_ngram_range=(1, 1), char_ngram_range=(2, 2), min_df=1).fit(texts)
    reference = TfidfVectorizer(analyzer=tokenize, min_df=1, sublinear_tf=True).fit(texts)
    words = ours.transform(texts)[:, : len(ours.word_vocabulary_)].toarray()
    order = [ours.word_vocabulary_[t] for t in reference.get_feature_names_out()]
    np.testing.assert_allclose(words[:, order], reference.transform(texts).toarray(), rtol=1e-6)


def test_text_features_transform_is_stable_and_ignores_unknown_terms():
    features = TextFeatures(min_df=1).fit(OPEN + CLOSED)
    matrix = features.transform(["release the weights", "zzzz qqqq", "release the weights"])
    assert matrix.shape == (3, features.n_features_out_) == (3, len(features.get_feature_names_out()))
    np.testing.assert_allclose(matrix[0].toarray(), matrix[2].toarray())
    # Each block is L2-normalised: a text with known words and n-grams has squared norm 2.
    assert matrix[0].multiply(matrix[0]).sum() == pytest.approx(2.0)
    # Character n-grams of unknown words still match known ones (" q" is not known, "zz" neither).
    assert matrix[1].nnz < matrix[0].nnz
    with pytest.raises(ValueError):
        features.transform("a single string")


def test_text_features_estimator_contract():
    from sklearn.exceptions import NotFittedError

    features = TextFeatures(min_df=1)
    with pytest.raises(NotFittedError):
        features.transform(["x"])
    assert features.fit(OPEN) is features
    first = dict(features.word_vocabulary_)
    features.fit(OFF)  # a second fit forgets the first
    assert set(features.word_vocabulary_).isdisjoint(set(first) - set(features.word_vocabulary_)) is True
    assert "weights" not in features.word_vocabulary_
    assert clone(features).get_params() == features.get_params()
    assert not hasattr(clone(features), "word_vocabulary_")


def test_text_features_max_char_features_keeps_most_frequent():
    capped = TextFeatures(min_df=1, max_char_features=10).fit(OPEN + CLOSED)
    assert len(capped.char_vocabulary_) == 10
    assert " w" in capped.char_vocabulary_  # "weights" occurs in most texts
    assert all(isinstance(i, int) for i in capped.char_vocabulary_.values())  # plain ints keep skops small


def test_text_features_save_their_vocabularies_as_one_string_each_and_read_old_dicts_too(tmp_path):
    import skops.io as sio

    features = GroupedTextFeatures(min_df=1).fit([("a", t) for t in OPEN] + [("b", t) for t in CLOSED])
    state = features.__getstate__()
    assert isinstance(state["word_vocabulary_"], str) and isinstance(state["char_vocabulary_"], str)
    assert isinstance(features.word_vocabulary_, dict)  # saving leaves the fitted object as it was
    path = tmp_path / "features.skops"
    sio.dump(features, path)
    loaded = sio.load(path, trusted=["classifiers.features.GroupedTextFeatures"])
    assert loaded.word_vocabulary_ == features.word_vocabulary_
    assert loaded.char_vocabulary_ == features.char_vocabulary_
    texts = [("a", "release the weights!"), ("b", "keep it closed 🔒")]
    assert (loaded.transform(texts) != features.transform(texts)).nnz == 0
    # A model saved before kept the dicts in its state; it still loads.
    old = clone(features)
    old.__setstate__({**features.__dict__})
    assert old.word_vocabulary_ == features.word_vocabulary_
    empty = TextFeatures(min_df=1)
    empty.__setstate__({**empty.__dict__, "word_vocabulary_": "", "char_vocabulary_": "a\nb"})
    assert empty.word_vocabulary_ == {} and empty.char_vocabulary_ == {"a": 0, "b": 1}


def test_grouped_text_features_blocks():
    texts = OPEN + CLOSED
    groups = ["a"] * len(OPEN) + ["b"] * len(CLOSED)
    plain = TextFeatures(min_df=1).fit(texts).transform(texts).toarray()
    # Plain texts: exactly TextFeatures.
    np.testing.assert_allclose(GroupedTextFeatures(min_df=1).fit(texts).transform(texts).toarray(), plain)
    features = GroupedTextFeatures(min_df=1, shared_weight=0.5).fit(list(zip(groups, texts)))
    assert features.groups_ == ["a", "b"]
    matrix = features.transform([("a", texts[0]), ("b", texts[0]), ("unseen", texts[0]), texts[0]]).toarray()
    width = plain.shape[1]
    assert matrix.shape == (4, 3 * width) == (4, features.n_features_out_)
    assert len(features.get_feature_names_out()) == 3 * width
    np.testing.assert_allclose(matrix[:, :width], 0.5 * np.tile(plain[0], (4, 1)))
    np.testing.assert_allclose(matrix[0, width:2 * width], plain[0])  # group a's private block
    np.testing.assert_allclose(matrix[0, 2 * width:], 0.0)
    np.testing.assert_allclose(matrix[1, width:2 * width], 0.0)
    np.testing.assert_allclose(matrix[1, 2 * width:], plain[0])  # group b's private block
    np.testing.assert_allclose(matrix[2:, width:], 0.0)  # unknown group or plain text: shared block only


def test_make_text_classifier_on_group_text_pairs(tmp_path):
    # The same words mean opposite labels in two groups: only the group-crossed features can learn that.
    texts = ["we must ban it now", "it is great and good", "ban it forever", "so good, great"] * 4
    pairs = [("x", t) for t in texts] + [("y", t) for t in texts]
    labels = ["AGAINST", "FAVOR"] * 8 + ["FAVOR", "AGAINST"] * 8
    model = make_text_classifier(C=10.0, min_df=1).fit(pairs, labels)
    probe = [("x", "ban it"), ("y", "ban it"), ("x", "great"), ("y", "great")]
    assert list(model.predict(probe)) == ["AGAINST", "FAVOR", "FAVOR", "AGAINST"]
    sha = artefacts.save(model, tmp_path / "m", {"name": "grouped"})
    loaded, _ = artefacts.load(tmp_path / "m", sha)
    np.testing.assert_allclose(loaded.predict_proba(probe), model.predict_proba(probe))


def test_a_model_loaded_again_comes_from_memory_until_its_file_changes(tmp_path):
    texts = ["we must ban it now", "it is great and good", "ban it forever", "so good, great"] * 4
    labels = ["AGAINST", "FAVOR"] * 8
    first = make_text_classifier(C=10.0, min_df=1).fit([("x", t) for t in texts], labels)
    artefacts.save(first, tmp_path / "m", {"name": "one"})
    loaded, _ = artefacts.load(tmp_path / "m")
    assert artefacts.load(tmp_path / "m")[0] is loaded  # no second unpacking of the same file

    second = make_text_classifier(C=0.01, min_df=1).fit([("x", t) for t in texts], labels[::-1])
    artefacts.save(second, tmp_path / "m", {"name": "two"})  # the same folder, a different model
    reloaded, metadata = artefacts.load(tmp_path / "m")
    assert reloaded is not loaded and metadata["name"] == "two"
    probe = [("x", "ban it")]
    np.testing.assert_allclose(reloaded.predict_proba(probe), second.predict_proba(probe))


def _tiny(**params) -> TopicClassifier:
    """A model of n-grams only: the tiny tests check the estimator, not the encoder."""
    return TopicClassifier(**{"min_df": 1, "embedding_weight": 0.0, **params})


def test_topic_classifier_learns_tiny_task_and_gates_by_relevance():
    texts, labels = _labelled()
    model = _tiny(C=10.0, C_stance=10.0).fit(texts, labels)
    heads = model.predict_heads(["release the weights now please", "the tennis open on sunday"])
    assert heads["stance"].shape == (2, 3)
    np.testing.assert_allclose(heads["stance"].sum(axis=1), 1.0)
    assert heads["relevant"][0] > heads["relevant"][1]
    assert STANCES[heads["stance"][0].argmax()] == "pro_open"
    assert list(model.predict(["release the weights now please", "the tennis open on sunday"])) == [
        "pro_open", "neutral"]
    assert set(heads) == {"relevant", "stance", "safety_concern", "safety", "competition", "governance", "local_ai"}
    # Aspects never seen as positive are a constant "no".
    assert (heads["competition"] < 1e-9).all()
    assert model.embed(["x"]) is None  # embedding_weight 0: nothing is encoded


def test_topic_classifier_reads_given_embeddings_and_encodes_otherwise():
    texts, labels = _labelled()
    vectors = encoder.encode(texts)
    model = TopicClassifier(min_df=1, embedding_weight=1.0).fit(texts, labels, embeddings=vectors)
    probe = ["keep the frontier weights closed", "tennis on sunday"]
    np.testing.assert_allclose(model.predict_heads(probe)["stance"],
                               model.predict_heads(probe, embeddings=encoder.encode(probe))["stance"], rtol=1e-5)
    with pytest.raises(ValueError):
        model.predict_heads(probe, embeddings=vectors[:1])
    # The embedding carries meaning that the n-grams of this tiny English vocabulary cannot: German.
    german = model.predict_heads(["Die Gewichte sollten veröffentlicht werden", "Geschlossene Modelle sind sicherer"])
    open_, closed = STANCES.index("pro_open"), STANCES.index("pro_closed")
    assert german["stance"][0, open_] > german["stance"][1, open_]
    assert german["stance"][1, closed] > german["stance"][0, closed]


def test_decision_rule_moves_the_labels():
    texts, labels = _labelled()
    model = _tiny().fit(texts, labels)
    probe = ["release the weights now please", "the tennis open on sunday"]
    assert model.decide(probe, ["en", "en"])[1]["relevant"].tolist() == [True, False]
    model.set_decision_rule(DecisionRule(relevance_threshold={"*": 0.0, "de": 1.01}))
    decided = model.decide(probe, ["en", "de"])[1]
    assert decided["relevant"].tolist() == [True, False]  # German cut above every score
    assert decided["stance"][1] == "neutral"
    model.set_decision_rule(DecisionRule(relevance_threshold={"*": 0.0}, stance_offsets={"*": [-50.0, 50.0, 0.0]}))
    assert model.predict(probe).tolist() == ["pro_closed", "pro_closed"]


def test_topic_classifier_sample_weight_and_validation():
    texts, labels = _labelled()
    model = _tiny()
    with pytest.raises(ValueError):
        clone(model).fit(texts, labels[:-1])
    with pytest.raises(ValueError):
        clone(model).fit(texts, labels, sample_weight=np.ones(3))
    weight = np.array([0.0 if not x["relevant"] else 1.0 for x in labels])
    fitted = clone(model).fit(texts, labels, sample_weight=weight + (weight == 0) * 1e-6)
    assert fitted.predict_heads(["tennis"])["relevant"].shape == (1,)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(clone(fitted), "weights_")


def test_stance_head_missing_class_gets_zero_probability():
    texts, labels = _labelled()
    keep = [i for i, x in enumerate(labels) if x["stance"] != "pro_closed"]
    model = _tiny().fit([texts[i] for i in keep], [labels[i] for i in keep])
    stance = model.predict_heads(["keep it closed"])["stance"]
    assert stance[0, STANCES.index("pro_closed")] < 1e-12
    assert stance.sum() == pytest.approx(1.0)


def test_make_text_classifier_on_any_labels():
    texts, labels = _labelled()
    y = [x["stance"] if x["relevant"] else "off" for x in labels]
    model = make_text_classifier(C=10.0, calibration_folds=2, min_df=1).fit(texts, y)
    assert set(model.classes_) == {"pro_open", "pro_closed", "neutral", "off"}
    assert model.predict(["release the weights now"])[0] == "pro_open"


def test_artefact_round_trip_and_post_classifier(tmp_path):
    texts, labels = _labelled()
    model = _tiny().fit(texts, labels).set_decision_rule(DecisionRule(relevance_threshold={"*": 0.4}))
    sha = artefacts.save(model, tmp_path / "m", {"name": "tiny"})
    loaded, metadata = artefacts.load(tmp_path / "m", sha)
    assert metadata["name"] == "tiny" and loaded.decision_rule.relevance_threshold == {"*": 0.4}
    probe = ["release the weights", "tennis on sunday", "keep them closed"]
    for name, values in model.predict_heads(probe).items():
        np.testing.assert_allclose(loaded.predict_heads(probe)[name], values)
    result = PostClassifier(name="tiny", topic_model=loaded).classify(probe, ["en", "en", "fr"])
    assert result[0].relevant and result[0].stance == "pro_open"
    assert not result[2].relevant  # unsupported language
