"""Accuracy checks on the shared datasets; skipped when ../shared/datasets is absent (a fresh clone)."""

from pathlib import Path

import pytest

from classifiers.sentiment import FastTextBlobGermanScorer, TextBlobEnglishScorer, load_default_router
from classifiers.sentiment import corpora
from classifiers.sentiment.metrics import macro_f1_pos_neg, macro_recall

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"shared datasets not found at {DATA}")


def test_german_default_beats_textblob_on_potts_test_sample():
    data = corpora.read_potts(DATA, "test")
    texts, labels = data.texts[:400], data.labels[:400]
    ours = macro_f1_pos_neg(labels, list(load_default_router().scorers["de"].predict(texts)))
    baseline = macro_f1_pos_neg(labels, list(FastTextBlobGermanScorer().predict(texts)))
    assert ours >= 0.55
    assert ours > baseline + 0.03


def test_english_default_beats_textblob_on_tweeteval_test_sample():
    data = corpora.read_tweeteval_sentiment(DATA, "test")
    texts, labels = data.texts[:600], data.labels[:600]
    ours = macro_recall(labels, list(load_default_router().scorers["en"].predict(texts)))
    assert ours >= 0.55
    assert ours > macro_recall(labels, list(TextBlobEnglishScorer().predict(texts)))


def test_readers_map_labels_and_drop_potts_mixed():
    potts = corpora.read_potts(DATA, "test")
    assert len(potts) == 1529 and set(potts.labels) == {"negative", "neutral", "positive"}
    assert not any("&amp;" in text for text in corpora.read_sb10k(DATA, "test").texts)
