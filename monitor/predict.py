"""Classify a file of posts without storing it (``stance predict``).

It reads what ``stance import`` reads: the simple schema, X API v2 responses (twarc2 JSONL) and other tools'
CSV exports through a column map (``--preset``, ``--map``), plus Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from classifiers import PostClassifier, load_post_classifier
from classifiers.artefacts import load as load_artefact
from classifiers.language import NEIGHBOURS, LanguageDetector
from monitor.collectors import ItemError
from monitor.collectors.file import read_items
from monitor.collectors.x_payload import tweet_to_record
from monitor.errors import MonitorError
from monitor.ingest.columns import SIMPLE, X_URL, ColumnMap, column_hint
from monitor.ingest.records import InvalidRecord
from monitor.tables import format_of, read_rows, write_rows

BATCH = 2000
#: Parquet types of the columns predict adds (monitor.tables.TYPES).
PREDICTED_TYPES = {"lang": "string", "relevant": "bool", "stance": "string", "stance_confidence": "float",
                   "safety_concern": "bool", "aspects": "list", "sentiment": "string", "sentiment_score": "float"}


def predict_file(
    source: Path,
    out: Path,
    text_col: str | None = None,
    model: Path | None = None,
    languages: tuple[str, ...] = ("de", "en"),
    lang_col: str | None = None,
    mapping: ColumnMap = SIMPLE,
    on_batch: Callable[[int, int], None] | None = None,
) -> int:
    """Add predictions to every row of ``source`` and write them to ``out``. Returns the row count.

    With the default topic model the added columns are lang, relevant, stance, stance_confidence,
    safety_concern, aspects, sentiment and sentiment_score; a single-label model from
    ``stance train --label-col COL`` adds COL and COL_confidence. A row's language is taken from its
    language column when that holds a language code the detector knows (platforms such as X send one), and
    detected from the text otherwise. ``text_col`` and ``lang_col`` override the map's text and lang columns.
    """
    if text_col or lang_col:
        from monitor.ingest.columns import column_map

        mapping = column_map(spec=",".join(f"{k}={v}" for k, v in (("text", text_col), ("lang", lang_col)) if v))
    rows, texts, hints = [], [], []
    for position, row in input_rows(source, mapping):
        text = mapping.text(row) if not row.get("__x") else row["text"]
        if not isinstance(text, str) or not text.strip():
            raise MonitorError(f"{position}: column {mapping.column('text')!r} is missing or empty"
                               + _text_hint(row, mapping))
        rows.append({k: v for k, v in row.items() if k != "__x"})
        texts.append(text)
        hints.append(row.get("lang") if row.get("__x") else mapping.lang(row))
    if model is not None and _is_single_label(model):
        return write_rows(out, _single_label(model, rows, texts))
    classifier = (load_post_classifier(model, languages=languages) if model
                  else load_post_classifier(languages=languages))
    labelled = _topic_rows(classifier, LanguageDetector(languages), rows, texts, hints, on_batch)
    return write_rows(out, labelled, types=PREDICTED_TYPES)


def _text_hint(row: dict[str, Any], mapping: ColumnMap) -> str:
    """Where the text probably is, when the row lacks the text column altogether (a Reddit dump's ``body``)."""
    hint = column_hint(row, "text", mapping.columns.get("text"))
    return f"; this row has a {hint!r} column: pass --text-col {hint}" if hint else ""


def input_rows(source: Path, mapping: ColumnMap = SIMPLE) -> Iterator[tuple[str, dict[str, Any]]]:
    """(position, row) of every post in ``source``; X API payloads become one flat row per post (marked
    ``__x``). A line that cannot be read raises MonitorError naming it."""
    if format_of(source) == "parquet":
        for number, row in enumerate(read_rows(source), start=1):
            yield f"{source.name}: row {number}", row
        return
    try:
        items = list(read_items(source, mapping))
    except MonitorError:
        raise
    for position, item in items:
        if isinstance(item, ItemError):
            raise MonitorError(f"{item.position}: {item.reason}")
        kind, payload, users, _ = item
        if kind == "simple":
            yield position, payload
            continue
        try:
            record = tweet_to_record(payload, users)
        except InvalidRecord as exc:
            raise MonitorError(f"{position}: {exc}") from None
        yield position, {
            "__x": True, "id": record.source_id, "created_at": record.created_at, "lang": record.lang_hint,
            "text": record.text,
            **{name: record.metrics.get(name) for name in ("likes", "reposts", "replies", "quotes")},
            "url": X_URL.format(id=record.source_id),
        }


def _is_single_label(model: Path) -> bool:
    from classifiers.artefacts import read_metadata

    return read_metadata(model).get("kind") == "text-classifier"


def _single_label(model: Path, rows: list[dict], texts: list[str]) -> list[dict]:
    estimator, metadata = load_artefact(model)
    column = metadata.get("label_col", "label")
    group_col = metadata.get("group_col")
    inputs: list[str] | list[tuple[str, str]] = texts
    if group_col:
        # A model trained with --group-col reads each text relative to its group (e.g. the stance target).
        missing = [n for n, row in enumerate(rows, start=1) if row.get(group_col) in (None, "")]
        if missing:
            raise MonitorError(f"row {missing[0]}: column {group_col!r} is missing or empty (the model needs it)")
        inputs = [(str(row[group_col]), text) for row, text in zip(rows, texts)]
    proba = estimator.predict_proba(inputs) if inputs else []
    classes = list(estimator.classes_)
    return [
        {**row, column: classes[p.argmax()], f"{column}_confidence": round(float(p.max()), 4)}
        for row, p in zip(rows, proba)
    ]


def _topic_rows(classifier: PostClassifier, detector: LanguageDetector, rows: list[dict], texts: list[str],
                hints: list[str | None], on_batch: Callable[[int, int], None] | None = None) -> list[dict]:
    known = set(detector.supported) | set(NEIGHBOURS)
    langs = [hint if isinstance(hint, str) and hint in known else detector.detect(text).lang
             for hint, text in zip(hints, texts)]
    labels = []
    for start in range(0, len(texts), BATCH):  # bounded memory on large files
        labels += classifier.classify(texts[start:start + BATCH], langs[start:start + BATCH])
        if on_batch:
            on_batch(len(labels), len(texts))
    return [
        {
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
        for row, lang, label in zip(rows, langs, labels)
    ]
