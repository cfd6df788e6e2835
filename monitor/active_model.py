"""Which stance model version is active, and loading it: the shipped default is registered on first use.

A shipped model's version row names its artefact ``builtin:<folder>`` rather than a path: it is found in the
installed package wherever that is, and an upgrade that ships a new default replaces it (``ensure_active_model``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classifiers import DEFAULT_STANCE_ARTEFACT, PostClassifier, load_post_classifier
from classifiers.artefacts import read_metadata
from monitor.config import Settings
from monitor.errors import ModelError
from storage import queries
from storage.models import ModelVersion

BUILTIN_PREFIX = "builtin:"


def resolve_artefact(location: str) -> Path:
    if location.startswith(BUILTIN_PREFIX):
        return DEFAULT_STANCE_ARTEFACT.parent / location[len(BUILTIN_PREFIX) :]
    return Path(location)


def ensure_active_model(session: Session) -> ModelVersion:
    """The active stance model version; registers and activates the shipped default on first use, and again
    when the active version is an earlier shipped default that an upgrade of the package replaced (its file
    is gone, so keeping it active would only fail; a model the user trained stays active)."""
    active = queries.active_model_version(session)
    if active is not None and not active.artefact.startswith(BUILTIN_PREFIX):
        return active
    metadata = read_metadata(DEFAULT_STANCE_ARTEFACT)
    name = metadata.get("name", "stance-default")
    if active is not None and (active.name == name or active.artefact_sha256 == metadata.get("sha256")):
        # The same shipped model re-measured by a newer release (its safety-concern confusion, say): reports
        # read the stored metrics, so they follow the package's.
        if metadata.get("metrics") and active.metrics != metadata["metrics"]:
            active.metrics = metadata["metrics"]
        return active
    version = queries.model_version_by_name(session, name)
    if version is None:
        version = ModelVersion(
            name=name,
            kind="stance",
            created_at=queries.utcnow(),
            artefact=BUILTIN_PREFIX + DEFAULT_STANCE_ARTEFACT.name,
            artefact_sha256=metadata.get("sha256"),
            data_hash=metadata.get("data_hash"),
            metrics=metadata.get("metrics", {}),
            params=metadata.get("params", {}),
        )
        # Two processes on a fresh database may both get here; the loser reads the winner's row.
        try:
            with session.begin_nested():
                session.add(version)
        except IntegrityError:
            version = queries.model_version_by_name(session, name)
            if version is None:
                raise
    queries.activate_model_version(session, version)
    return version


def load_classifier(version: ModelVersion, settings: Settings) -> PostClassifier:
    try:
        return load_post_classifier(
            resolve_artefact(version.artefact), version.name, version.artefact_sha256, settings.topic.languages
        )
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"model {version.name}: cannot load {version.artefact}: {exc}") from exc
