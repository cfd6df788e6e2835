"""Language detection on short posts we wrote ourselves."""

import pytest

from classifiers.language import UNDETERMINED, LanguageDetector, strip_noise


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("OpenAI sollte seine Modelle endlich offenlegen, das wäre ein wichtiger Schritt.", "de"),
        ("Ich finde die Entscheidung von OpenAI richtig gut @sama #gptoss https://example.org/x", "de"),
        ("Open weights are great news for researchers and hobbyists alike.", "en"),
        ("@openai when will you release the weights? #opensource", "en"),
        ("OpenAI devrait publier ses modèles, ce serait une bonne nouvelle.", "fr"),
        ("OpenAI debería publicar sus modelos, sería una gran noticia para todos.", "es"),
    ],
)
def test_detects_language(detector, text, lang):
    assert detector.detect(text).lang == lang


@pytest.mark.parametrize("text", ["", "https://example.org @someone #tag 2025", "👍🔥"])
def test_texts_without_words_are_undetermined(detector, text):
    detected = detector.detect(text)
    assert detected.lang == UNDETERMINED and detected.confidence == 0.0


def test_strip_noise_removes_urls_mentions_and_hashtags():
    assert strip_noise("hallo @bob #tag https://x.org/a welt").split() == ["hallo", "welt"]


def test_detect_many_keeps_order(detector):
    langs = [d.lang for d in detector.detect_many(["Das ist ein schöner Tag heute.", "This is a lovely day today."])]
    assert langs == ["de", "en"]


def test_unsure_guesses_fall_back_to_a_followed_language(detector):
    # Short mixed posts: py3langid is unsure among ten languages, but they are in a language we follow.
    detected = [detector.detect(text) for text in ("lol ok", "Na ja, mal sehen", "so true tbh")]
    assert all(d.lang in ("de", "en") for d in detected)
    assert any(d.confidence < detector.min_confidence for d in detected)


def test_detect_many_gives_what_detect_gives_one_text_at_a_time(detector):
    """The batched detector (one sparse product for many texts) answers exactly as py3langid per text."""
    import json
    from pathlib import Path

    corpus = Path(__file__).resolve().parents[1] / "monitor" / "demo" / "corpus.jsonl"
    lines = corpus.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()][:300]
    texts += ["", "lol ok", "Na ja, mal sehen", "ALLES IN GROSSBUCHSTABEN HIER", "½ ² 3", "x" * 3000, "👍 ok"]
    one_by_one = [detector.detect(text) for text in texts]
    batched = detector.detect_many(texts)
    assert [d.lang for d in batched] == [d.lang for d in one_by_one]
    assert [d.confidence for d in batched] == pytest.approx([d.confidence for d in one_by_one], abs=1e-5)
