"""Model artefacts: a directory holding ``model.skops`` and ``metadata.json``.

skops refuses to instantiate types it was not told to trust, so a tampered or foreign file cannot run code
on load; the sha256 in the metadata (and in the database's model version row) catches any other change.
"""

from __future__ import annotations

import hashlib
import json
import platform
import threading
import zipfile
from collections import OrderedDict
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import skops.io as sio

from classifiers.errors import ModelError

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"

#: Non-builtin types our models are made of. Anything else in a file is refused.
TRUSTED_TYPES = frozenset(
    {
        "classifiers.features.preprocess",
        "classifiers.features.TextFeatures",
        "classifiers.features.GroupedTextFeatures",
        "classifiers.stance.TopicClassifier",
        "numpy.float32",
        "builtins.bool",
    }
)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: Libraries whose behaviour a model depends on; their versions are recorded with every artefact.
VERSIONED_PACKAGES = (
    "scikit-learn", "numpy", "scipy", "skops", "vaderSentiment", "textblob", "textblob-de",
)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            pass
    return versions


def save(model: Any, directory: Path, metadata: dict[str, Any]) -> str:
    """Write ``model`` and its metadata to ``directory``; returns the model file's sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    sio.dump(model, model_path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    sha256 = file_sha256(model_path)
    full = {
        **metadata,
        "sha256": sha256,
        "created_at": metadata.get("created_at") or datetime.now(UTC).isoformat(timespec="seconds"),
        "library_versions": library_versions(),
    }
    (directory / METADATA_FILE).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sha256


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model metadata not found") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid JSON: {exc}") from None


#: Models loaded in this process, by the sha256 of their file (so a changed file is never served stale). Checking
#: and unpacking a skops file takes seconds; a scheduler, a worker or the dashboard loads the same model again and
#: again. Loaded models are shared: callers only predict with them.
KEEP_LOADED = 4
_LOADED: OrderedDict[tuple[str, frozenset[str]], Any] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def load(
    directory: Path, expected_sha256: str | None = None, trusted: frozenset[str] = TRUSTED_TYPES
) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by ``save``, refusing changed files and types outside ``trusted``."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    model_path = directory / MODEL_FILE
    if not model_path.exists():
        raise ModelError(f"{model_path}: model file not found")
    actual = file_sha256(model_path)
    for expected in (metadata.get("sha256"), expected_sha256):
        if expected is not None and expected != actual:
            raise ModelError(f"{model_path}: sha256 mismatch (expected {expected[:12]}…, got {actual[:12]}…)")
    key = (actual, trusted)
    with _LOADED_LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key], metadata
    untrusted = set(sio.get_untrusted_types(file=model_path)) - trusted
    if untrusted:
        raise ModelError(f"{model_path}: refusing untrusted types: {', '.join(sorted(untrusted))}")
    model = sio.load(model_path, trusted=sorted(trusted))
    with _LOADED_LOCK:
        _LOADED[key] = model
        while len(_LOADED) > KEEP_LOADED:
            _LOADED.popitem(last=False)
    return model, metadata
