"""Saving and loading trained sentiment scorers: ``model.skops`` plus ``metadata.json`` per directory.

Loading is guarded twice: the file's sha256 must equal the one recorded in the metadata at training
time (a swapped or edited file is refused before it is parsed), and skops may only instantiate the
types listed in :data:`TRUSTED_TYPES`, so even a matching file cannot run arbitrary code.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import skops.io as sio

from classifiers.sentiment.model import LearnedSentimentScorer

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
ARTEFACTS_ROOT = Path(__file__).resolve().parent.parent / "artefacts"

#: Types the shipped artefacts consist of, beyond those skops trusts by default.
TRUSTED_TYPES = [
    "classifiers.sentiment.model.LearnedSentimentScorer",
    "classifiers.sentiment.features.PostFeatures",
    "sklearn.pipeline.Pipeline",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.dtype",
    "numpy.ndarray",
    "builtins.tuple",
]

_VERSIONED_PACKAGES = ("scikit-learn", "skops", "numpy", "scipy", "vaderSentiment", "textblob", "textblob-de")


class ArtefactError(Exception):
    "A model artefact is missing, tampered with or holds untrusted types"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries whose behaviour the artefact depends on."""
    versions = {"python": platform.python_version()}
    for package in _VERSIONED_PACKAGES:
        versions[package] = package_metadata.version(package)
    return versions


def save_scorer(scorer: LearnedSentimentScorer, directory: Path, extra_metadata: dict[str, Any]) -> dict[str, Any]:
    """Write ``model.skops`` and ``metadata.json`` (hash, versions, parameters, created-at + extras)."""
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    sio.dump(scorer, model_path, compression=8)  # zip deflate: the hashed weights are mostly zeros
    metadata = {
        "name": scorer.name,
        "lang": scorer.lang,
        "labels": list(scorer.classes_),
        "params": {key: value for key, value in scorer.get_params().items()},
        "model_sha256": sha256_of(model_path),
        "library_versions": library_versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra_metadata,
    }
    text = json.dumps(metadata, indent=2, ensure_ascii=False)
    (directory / METADATA_FILE).write_text(text + "\n", encoding="utf-8")
    return json.loads(text)  # as read back: tuples such as decision_offsets become lists


def read_metadata(directory: Path) -> dict[str, Any]:
    """The metadata.json of an artefact directory."""
    path = directory / METADATA_FILE
    if not path.exists():
        raise ArtefactError(f"{path} not found")
    return json.loads(path.read_text(encoding="utf-8"))


def load_scorer(directory: Path) -> LearnedSentimentScorer:
    """Load a scorer after checking its sha256 and the types it contains; raise :class:`ArtefactError`."""
    metadata = read_metadata(directory)
    model_path = directory / MODEL_FILE
    if not model_path.exists():
        raise ArtefactError(f"{model_path} not found")
    digest = sha256_of(model_path)
    if digest != metadata.get("model_sha256"):
        raise ArtefactError(f"{model_path}: sha256 {digest} does not match metadata; refusing to load")
    untrusted = set(sio.get_untrusted_types(file=model_path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ArtefactError(f"{model_path} holds untrusted types {sorted(untrusted)}")
    scorer = sio.load(model_path, trusted=TRUSTED_TYPES)
    if not isinstance(scorer, LearnedSentimentScorer):
        raise ArtefactError(f"{model_path} holds a {type(scorer).__name__}, not a LearnedSentimentScorer")
    return scorer


def default_artefact_dir(lang: str) -> Path:
    """Where the shipped scorer for ``lang`` lives: ``classifiers/artefacts/sentiment_<lang>/``."""
    return ARTEFACTS_ROOT / f"sentiment_{lang}"
