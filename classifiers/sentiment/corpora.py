"""Readers for the labelled sentiment corpora in ``shared/datasets`` (training and evaluation only).

Every reader returns a :class:`LabelledTexts` with labels mapped onto our three classes
(``negative``/``neutral``/``positive``). The corpora are never copied into the project: the training
script and the benchmark read them from the ``--data`` folder at run time. Each SOURCE.md next to the
data explains the quirks handled here (HTML entities, encodings, the organisers' ``#SemST`` tag).
"""

from __future__ import annotations

import csv
import html
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class LabelledTexts:
    """A named list of texts with one label from :data:`LABELS` each."""

    name: str
    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: LabelledTexts) -> LabelledTexts:
        return LabelledTexts(f"{self.name}+{other.name}", self.texts + other.texts, self.labels + other.labels)


class CorpusMissing(FileNotFoundError):
    "A dataset folder or file is not present under the data root"


def _require(path: Path) -> Path:
    if not path.exists():
        raise CorpusMissing(f"{path} not found")
    return path


def _read_tsv_with_header(path: Path, name: str, text_column: int, drop_labels: tuple[str, ...] = ()) -> LabelledTexts:
    texts, labels = [], []
    with _require(path).open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for row in rows:
            label = row[1]
            if label in drop_labels:
                continue
            # Both Sidarenka corpora keep HTML entities (&amp;, &gt;) from the Twitter API.
            texts.append(html.unescape(row[text_column]))
            labels.append(label)
    return LabelledTexts(name, texts, labels)


def read_sb10k(root: Path, split: str) -> LabelledTexts:
    """SB10k split ``train``/``dev``/``test`` with raw tweet text."""
    return _read_tsv_with_header(root / "sb10k" / f"sb10k_{split}_id_label_text.tsv", f"sb10k-{split}", 2)


def read_potts(root: Path, split: str) -> LabelledTexts:
    """PotTS split without its "mixed" class, as in Sidarenka's evaluation (see potts/SOURCE.md)."""
    path = root / "potts" / f"potts_{split}_id_label_text.tsv"
    return _read_tsv_with_header(path, f"potts-{split}", 2, drop_labels=("mixed",))


GERMEVAL_FILES = {
    "dev": "fixed_dev-2017-09-15.xml",
    "test_syn": "fixed_test_syn-2017-09-15.xml",
    "test_dia": "fixed_test_dia-2017-09-15.xml",
}


def read_germeval2017(root: Path, split: str) -> LabelledTexts:
    """GermEval 2017 document-level sentiment (subtask B) for ``dev``, ``test_syn`` or ``test_dia``."""
    tree = ElementTree.parse(_require(root / "germeval2017" / GERMEVAL_FILES[split]))
    texts, labels = [], []
    for document in tree.getroot().iter("Document"):
        texts.append((document.findtext("text") or "").strip())
        labels.append((document.findtext("sentiment") or "").strip())
    return LabelledTexts(f"germeval2017-{split}", texts, labels)


def read_tweeteval_sentiment(root: Path, split: str) -> LabelledTexts:
    """TweetEval sentiment (SemEval-2017 4A) ``val`` or ``test``; label ids follow mapping.txt."""
    folder = root / "tweeteval" / "sentiment"
    with _require(folder / "mapping.txt").open(encoding="utf-8") as handle:
        names = dict(line.rstrip("\n").split("\t") for line in handle if line.strip())
    with _require(folder / f"{split}_text.txt").open(encoding="utf-8") as handle:
        texts = [line.rstrip("\n") for line in handle]
    with _require(folder / f"{split}_labels.txt").open(encoding="utf-8") as handle:
        labels = [names[line.strip()] for line in handle if line.strip()]
    if len(texts) != len(labels):
        raise ValueError(f"tweeteval {split}: {len(texts)} texts but {len(labels)} labels")
    return LabelledTexts(f"tweeteval-sentiment-{split}", texts, labels)


_SEMEVAL_SENTIMENT = {"NEGATIVE": "negative", "NEITHER": "neutral", "POSITIVE": "positive"}
SEMEVAL_TRAINING_FILES = ("trialdata-all-annotations.txt", "trainingdata-all-annotations.txt")


def read_semeval2016_sentiment(root: Path) -> LabelledTexts:
    """Sentiment labels of the official SemEval-2016 stance *training* data (trial + train), never test."""
    texts, labels = [], []
    for filename in SEMEVAL_TRAINING_FILES:
        path = _require(root / "semeval2016-stance" / filename)
        # cp1252 and no quoting: two training tweets hold bytes that are not UTF-8, and tweets contain quotes.
        with path.open(encoding="cp1252", errors="replace", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(rows)
            for row in rows:
                texts.append(row[2].replace("#SemST", "").strip())
                labels.append(_SEMEVAL_SENTIMENT[row[5].strip()])
    return LabelledTexts("semeval2016-sentiment-train", texts, labels)
