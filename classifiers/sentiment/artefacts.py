"""Saving and loading trained sentiment scorers: ``model.skops`` plus ``metadata.json`` per directory.

Loading is guarded twice: the file's sha256 must equal the one recorded in the metadata at training
time (a swapped or edited file is refused before it is parsed), and skops may only instantiate the
types listed in :data:`TRUSTED_TYPES`, so even a matching file cannot run arbitrary code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classifiers import artefacts
from classifiers.artefacts import METADATA_FILE, MODEL_FILE, file_sha256, library_versions
from classifiers.errors import ModelError
from classifiers.sentiment.model import LearnedSentimentScorer

ARTEFACTS_ROOT = Path(__file__).resolve().parent.parent / "artefacts"

#: Types the shipped artefacts consist of, beyond those skops trusts by default.
TRUSTED_TYPES = frozenset(
    {
        "classifiers.sentiment.model.LearnedSentimentScorer",
        "classifiers.sentiment.features.PostFeatures",
        "classifiers.sentiment.network.TunedSentimentNetwork",
        "sklearn.linear_model._logistic.LogisticRegression",
        "numpy.dtype",
        "numpy.ndarray",
        "builtins.tuple",
    }
)

__all__ = ["METADATA_FILE", "MODEL_FILE", "ArtefactError", "library_versions", "sha256_of"]

sha256_of = file_sha256


class ArtefactError(ModelError):
    "A model artefact is missing, tampered with or holds untrusted types"


def save_scorer(scorer: LearnedSentimentScorer, directory: Path, extra_metadata: dict[str, Any]) -> dict[str, Any]:
    """Write ``model.skops`` and ``metadata.json`` (hash, versions, parameters, created-at + extras)."""
    artefacts.save(scorer, directory, {
        "name": scorer.name,
        "lang": scorer.lang,
        "labels": list(scorer.classes_),
        "params": dict(scorer.get_params()),
        **extra_metadata,
    })
    return read_metadata(directory)


def read_metadata(directory: Path) -> dict[str, Any]:
    """The metadata.json of an artefact directory."""
    try:
        return artefacts.read_metadata(directory)
    except ModelError as exc:
        raise ArtefactError(str(exc)) from None


def load_scorer(directory: Path) -> LearnedSentimentScorer:
    """Load a scorer after checking its sha256 and the types it contains; raise :class:`ArtefactError`."""
    try:
        scorer, _ = artefacts.load(directory, trusted=TRUSTED_TYPES)
    except ModelError as exc:
        raise ArtefactError(str(exc)) from None
    if not isinstance(scorer, LearnedSentimentScorer):
        raise ArtefactError(f"{directory / MODEL_FILE} holds a {type(scorer).__name__}, not a LearnedSentimentScorer")
    return scorer


def default_artefact_dir(lang: str) -> Path:
    """Where the shipped scorer for ``lang`` lives: ``classifiers/artefacts/sentiment_<lang>/``."""
    return ARTEFACTS_ROOT / f"sentiment_{lang}"
