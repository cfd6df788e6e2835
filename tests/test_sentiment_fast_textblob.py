"""The fast scorer must reproduce textblob-de's polarity, quirks included, on sentences we wrote."""

import numpy as np
import pytest

from classifiers.sentiment import FastTextBlobGermanScorer, TextBlobGermanScorer

SENTENCES = [
    "Das ist gut.",
    "Das ist nicht gut.",  # negation directly before the word: halved and flipped
    "Das war keine gute Idee.",
    "Das Problem ist nicht schlimm.",
    "Die Idee ist sehr gut.",  # "sehr" is no intensifier in textblob-de
    "Wirklich schön und toll.",
    "Das Essen war schlecht und der Service furchtbar.",
    "Die Katastrophe ist schlimm.",
    "Eine Freude, ein Erfolg und ein Genuss.",  # nouns are stored capitalised, looked up lower-case: 0
    "Ich liebe dieses Wetter :)",
    "Er hat das Spiel verloren :(",
    "Der Zug ist wieder zu spät, ärgerlich.",
    "Heute ist Montag.",
    "Sie ist glücklich.",
    "Das ist leider falsch.",
]


@pytest.fixture(scope="module")
def both():
    return TextBlobGermanScorer().polarity(SENTENCES), FastTextBlobGermanScorer().polarity(SENTENCES)


def test_fast_scorer_reproduces_textblob_de_exactly(both):
    textblob, fast = both
    assert np.allclose(textblob, fast, atol=1e-9), list(zip(SENTENCES, textblob, fast, strict=True))


def test_textblob_quirks_are_kept(both):
    _, fast = both
    by_text = dict(zip(SENTENCES, fast, strict=True))
    assert by_text["Das ist nicht gut."] == pytest.approx(-0.5)
    assert by_text["Eine Freude, ein Erfolg und ein Genuss."] == 0.0
    assert by_text["Die Idee ist sehr gut."] == by_text["Das ist gut."]
