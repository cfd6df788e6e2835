"""Contract of every sentiment scorer and of the router the pipeline uses (offline, no datasets)."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from sklearn.base import clone

from classifiers.sentiment import (
    LABELS,
    FastTextBlobGermanScorer,
    SentimentResult,
    SentimentRouter,
    TextBlobEnglishScorer,
    TextBlobGermanScorer,
    VaderScorer,
    load_default_router,
)

GERMAN = ["Das ist ein wunderbarer Tag!", "Der Zug ist schon wieder zu spät, furchtbar.", "Heute ist Montag.", ""]
ENGLISH = ["What a wonderful day!", "The train is late again, awful.", "Today is Monday.", ""]


def _scorers():
    router = load_default_router()
    return [
        pytest.param(TextBlobGermanScorer(), GERMAN, id="textblob-de"),
        pytest.param(FastTextBlobGermanScorer(), GERMAN, id="fast-textblob-de"),
        pytest.param(VaderScorer(), ENGLISH, id="vader"),
        pytest.param(TextBlobEnglishScorer(), ENGLISH, id="textblob-en"),
        pytest.param(router.scorers["de"], GERMAN, id="learned-de"),
        pytest.param(router.scorers["en"], ENGLISH, id="learned-en"),
    ]


@pytest.mark.parametrize(("scorer", "texts"), _scorers())
def test_scorer_contract(scorer, texts):
    # Fit a clone: refitting the router's cached scorer would change it for every later test.
    fresh = clone(scorer)
    assert fresh.fit(texts, ["positive", "negative", "neutral", "neutral"]) is fresh
    assert fresh.name == scorer.name
    assert list(scorer.classes_) == list(LABELS)
    proba = scorer.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    labels = scorer.predict(texts)
    assert labels.shape == (len(texts),)
    assert set(labels) <= set(LABELS)
    assert list(labels) == [LABELS[i] for i in proba.argmax(axis=1)]
    polarity = scorer.polarity(texts)
    assert polarity.dtype == float and polarity.shape == (len(texts),)
    assert np.all((polarity >= -1) & (polarity <= 1))
    assert labels[0] == "positive" and labels[1] == "negative"
    assert polarity[0] > 0 > polarity[1]


def test_scorer_names_are_distinct_and_stable():
    scorers = (TextBlobGermanScorer(), FastTextBlobGermanScorer(), VaderScorer(), TextBlobEnglishScorer())
    names = [scorer.name for scorer in scorers]
    assert names == ["textblob-de", "fast-textblob-de", "vader", "textblob-en"]
    assert load_default_router().scorer_names == {"de": "sm-sentiment-de-8", "en": "sm-sentiment-en-6"}


def test_default_router_is_cached():
    assert load_default_router() is load_default_router()


def test_router_gives_none_for_unsupported_and_undetermined_languages():
    router = load_default_router()
    results = router.score(
        ["Ich liebe das!", "C'est une catastrophe.", "I love this!", "👍", "Das ist furchtbar."],
        ["de", "fr", "en", "und", "de"],
    )
    assert results[1] is None and results[3] is None
    assert results[0].label == "positive" and results[0].scorer == "sm-sentiment-de-8"
    assert results[2].label == "positive" and results[2].scorer == "sm-sentiment-en-6"
    assert results[4].label == "negative" and results[4].polarity < 0
    assert all(-1 <= r.polarity <= 1 for r in results if r is not None)


def test_router_detects_languages_itself():
    results = load_default_router().score_detected(
        ["Das ist wirklich eine großartige Nachricht für alle!", "Ceci est une très mauvaise nouvelle pour nous."]
    )
    assert results[0] is not None and results[0].label == "positive"
    assert results[1] is None


def test_router_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        SentimentRouter({"de": FastTextBlobGermanScorer()}).score(["a", "b"], ["de"])


def test_sentiment_result_is_frozen():
    result = SentimentResult("positive", 0.5, "vader")
    with pytest.raises(FrozenInstanceError):
        result.label = "negative"


def test_label_and_polarity_agree_with_predict_and_polarity():
    from classifiers.sentiment import load_default_router

    texts = ["This is great, I love it!", "Das ist eine Katastrophe.", "The meeting is at noon.",
             "Nicht schlecht, wirklich gut gemacht"]
    for scorer in load_default_router().scorers.values():
        labels, polarity = scorer.label_and_polarity(texts)
        assert list(labels) == list(scorer.predict(texts))
        assert np.allclose(polarity, scorer.polarity(texts))
