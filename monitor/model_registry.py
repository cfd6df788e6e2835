"""Training, registering, activating and rolling back model versions (``stance train``, ``stance models``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers import artefacts, encoder
from classifiers.embedding_cache import CachedEmbedder
from classifiers.recipe import metadata, train_topic_model
from classifiers.text_classifier import make_text_classifier
from classifiers.training import data_hash, load_training_data
from monitor.errors import MonitorError
from monitor.tables import read_rows
from storage import queries
from storage.models import HumanLabel, ModelVersion, Post


@dataclass
class TrainResult:
    name: str
    path: Path
    examples: int
    metrics: dict
    activated: bool
    #: Training data that could not be read (e.g. ../shared/datasets absent), for the user to see.
    missing: list[str] = field(default_factory=list)


def stored_labels(session: Session) -> list[dict]:
    """The newest complete human label of every labelled post, as training examples."""
    rows = session.execute(
        select(HumanLabel, Post.text, Post.lang, Post.source).join(Post, Post.id == HumanLabel.post_id)
        .order_by(HumanLabel.labelled_at)
    ).all()
    latest: dict[int, dict] = {}
    for label, text, lang, platform in rows:
        if label.relevant is None or label.stance is None:
            continue
        latest[label.post_id] = {
            "id": f"post-{label.post_id}",
            "group": f"post-{label.post_id}",
            "text": text,
            "lang": lang,
            # The platform the post came from: the confusion measured on a platform's labelled posts corrects
            # that platform's shares in reports.
            "platform": platform,
            "relevant": label.relevant,
            "stance": label.stance if label.relevant else "neutral",
            "sentiment": label.sentiment,
            "aspects": list(label.aspects or []) if label.relevant else [],
            "safety_concern": bool(label.safety_concern) if label.relevant else False,
        }
    return list(latest.values())


def train_topic_version(
    session: Session, models_dir: Path, activate: bool = False, folds: int = 5,
    datasets_dir: Path = Path("../shared/datasets"), embed=None, on_step=None,
) -> TrainResult:
    """Retrain the topic model with the shipped recipe (``classifiers.recipe``) from the seed set, the real
    labelled posts under ``datasets_dir`` and every stored label; register it (inactive unless asked).

    ``on_step(description, done, total)`` hears about each stage (encoding, each fold, fitting, scoring)."""
    if on_step:
        on_step("reading the training data")
    data = load_training_data(datasets_dir, stored_labels(session))
    embed = embed or CachedEmbedder(encoder.encode, models_dir / f".embeddings-{encoder.NAME}.npz")
    trained = train_topic_model(data, embed, folds=folds, on_step=on_step)
    if on_step:
        on_step("saving the model")
    digest = data_hash(data.train)
    name = f"stance-{queries.utcnow():%Y%m%d-%H%M%S}-{digest[:8]}"
    path = models_dir / name
    meta = metadata(trained, data, name, "stance train")
    sha256 = artefacts.save(trained.model, path, meta)
    version = ModelVersion(name=name, kind="stance", created_at=queries.utcnow(), artefact=str(path.resolve()),
                           artefact_sha256=sha256, data_hash=digest, metrics=trained.metrics,
                           params={**meta["params"], "decision_rule": meta["decision_rule"],
                                   "git_commit": meta["git_commit"],
                                   "library_versions": artefacts.library_versions()})
    session.add(version)
    session.flush()
    if activate:
        queries.activate_model_version(session, version)
    return TrainResult(name, path, len(data.train), trained.metrics, activate, data.missing)


def train_single_label(
    data: Path, label_col: str, text_col: str, out: Path, folds: int = 5, group_col: str | None = None,
    on_step=None,
) -> TrainResult:
    """Train a text classifier for any label column of a CSV/JSONL file and save it to ``out``.

    With ``group_col`` (e.g. the target of a stance), the labels are read relative to that column: one model
    learns from every group at once, on features shared by all groups plus a copy per group.
    """
    from sklearn.metrics import classification_report, confusion_matrix
    from sklearn.model_selection import cross_val_predict

    rows = read_rows(data)
    texts, labels = [], []
    for number, row in enumerate(rows, start=1):
        text, label = row.get(text_col), row.get(label_col)
        if not isinstance(text, str) or not text.strip():
            raise MonitorError(f"{data}: row {number}: column {text_col!r} is missing or empty")
        if label in (None, ""):
            raise MonitorError(f"{data}: row {number}: column {label_col!r} is missing or empty")
        if group_col is not None:
            group = row.get(group_col)
            if group in (None, ""):
                raise MonitorError(f"{data}: row {number}: column {group_col!r} is missing or empty")
            text = (str(group), text)
        texts.append(text)
        labels.append(str(label))
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or counts.min() < folds:
        raise MonitorError(f"{data}: {label_col!r} needs at least two classes with {folds} examples each")
    model = make_text_classifier()
    if on_step:
        on_step(f"cross-validating on {len(texts):,} rows ({folds} folds)")
    predicted = cross_val_predict(model, texts, labels, cv=folds)
    metrics = {
        "cross_validated": classification_report(labels, predicted, output_dict=True, zero_division=0),
        "confusion": confusion_matrix(labels, predicted, labels=list(classes)).tolist(),
        "classes": list(classes),
    }
    if on_step:
        on_step("fitting on all rows")
    model.fit(texts, labels)
    name = f"{label_col}-{out.name}"
    artefacts.save(model, out, {"name": name, "kind": "text-classifier", "label_col": label_col,
                                "text_col": text_col, "group_col": group_col, "metrics": metrics,
                                "training_data": {"rows": len(texts)}})
    return TrainResult(name, out, len(texts), metrics, False)


def list_versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.created_at, ModelVersion.id)))


def activate(session: Session, name: str) -> ModelVersion:
    version = queries.model_version_by_name(session, name)
    if version is None:
        raise MonitorError(f"no model version named {name!r} (see `stance models list`)")
    queries.activate_model_version(session, version)
    return version


def rollback(session: Session) -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    current = queries.active_model_version(session)
    previous = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.kind == "stance", ModelVersion.activated_at.is_not(None),
               ModelVersion.id != (current.id if current else -1))
        .order_by(ModelVersion.activated_at.desc())
    ).first()
    if previous is None:
        raise MonitorError("no earlier active model version to roll back to")
    queries.activate_model_version(session, previous)
    return previous

