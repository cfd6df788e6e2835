"""Classify a file of posts without storing it (``stance predict``)."""

from __future__ import annotations

from pathlib import Path

from classifiers import PostClassifier, load_post_classifier
from classifiers.artefacts import load as load_artefact
from classifiers.language import NEIGHBOURS, LanguageDetector
from monitor.errors import MonitorError
from monitor.tables import read_rows, write_rows

BATCH = 2000


def predict_file(
    source: Path,
    out: Path,
    text_col: str = "text",
    model: Path | None = None,
    languages: tuple[str, ...] = ("de", "en"),
    lang_col: str = "lang",
) -> int:
    """Add predictions to every row of ``source`` and write them to ``out``. Returns the row count.

    With the default topic model the added columns are lang, relevant, stance, stance_confidence,
    safety_concern, aspects, sentiment and sentiment_score; a single-label model from
    ``stance train --label-col COL`` adds COL and COL_confidence. A row's language is taken from its
    ``lang_col`` when that holds a language code the detector knows (platforms such as X send one), and
    detected from the text otherwise.
    """
    rows = read_rows(source)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row.get(text_col), str) or not row[text_col].strip():
            raise MonitorError(f"{source}: row {number}: column {text_col!r} is missing or empty")
    texts = [row[text_col] for row in rows]
    if model is not None and _is_single_label(model):
        return write_rows(out, _single_label(model, rows, texts))
    classifier = load_post_classifier(model, languages=languages) if model else load_post_classifier(languages=languages)
    return write_rows(out, _topic_rows(classifier, LanguageDetector(languages), rows, texts, lang_col))


def _is_single_label(model: Path) -> bool:
    from classifiers.artefacts import read_metadata

    return read_metadata(model).get("kind") == "text-classifier"


def _single_label(model: Path, rows: list[dict], texts: list[str]) -> list[dict]:
    estimator, metadata = load_artefact(model)
    column = metadata.get("label_col", "label")
    group_col = metadata.get("group_col")
    if group_col:
        # A model trained with --group-col reads each text relative to its group (e.g. the stance target).
        missing = [n for n, row in enumerate(rows, start=1) if row.get(group_col) in (None, "")]
        if missing:
            raise MonitorError(f"row {missing[0]}: column {group_col!r} is missing or empty (the model needs it)")
        texts = [(str(row[group_col]), text) for row, text in zip(rows, texts)]
    proba = estimator.predict_proba(texts) if texts else []
    classes = list(estimator.classes_)
    return [
        {**row, column: classes[p.argmax()], f"{column}_confidence": round(float(p.max()), 4)}
        for row, p in zip(rows, proba)
    ]


def _topic_rows(classifier: PostClassifier, detector: LanguageDetector, rows: list[dict], texts: list[str],
                lang_col: str):
    known = set(detector.supported) | set(NEIGHBOURS)
    langs = [
        given if isinstance(given := row.get(lang_col), str) and given in known else detector.detect(text).lang
        for row, text in zip(rows, texts)
    ]
    labels = []
    for start in range(0, len(texts), BATCH):  # bounded memory on large files
        labels += classifier.classify(texts[start:start + BATCH], langs[start:start + BATCH])
    for row, lang, label in zip(rows, langs, labels):
        yield {
            **row,
            "lang": lang,
            "relevant": label.relevant,
            "stance": label.stance,
            "stance_confidence": round(label.stance_proba[label.stance], 4),
            "safety_concern": label.safety_concern,
            "aspects": sorted(label.aspects),
            "sentiment": label.sentiment,
            "sentiment_score": None if label.sentiment_score is None else round(label.sentiment_score, 4),
        }
