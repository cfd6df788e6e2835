"""The one training recipe of the topic model: the shipped model, ``stance train`` and the nightly retrain.

1. Encode every training text once (``CachedEmbedder``).
2. Cross-validate ``TopicClassifier`` with folds grouped by thread or page: out-of-fold head scores.
3. Tune the ``DecisionRule`` on those scores, balancing the communities (``classifiers.decisions``).
4. Measure honestly: each fold's labels come from a rule tuned on the other folds (``cross_fitted_labels``);
   the same labels give the stance and safety-concern confusions among real relevant posts that prevalence
   correction inverts (``smoothed_confusion``: rows with few real posts borrow 30 examples' worth from all
   posts).
5. Fit on all training data, adopt the rule, and score the real held-out threads and pages once.

Every caller stores the same metadata (``metadata``): data counts, parameters, the rule, cross-validated
metrics by community and language, held-out metrics with a hash of the held-out set (so versions are only
compared on the same data), the confusion matrices and the git commit.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.decisions import DecisionRule
from classifiers.prevalence import smoothed_confusion
from classifiers.stance import TopicClassifier
from classifiers.training import (
    Embedder,
    TrainingData,
    cross_fitted_labels,
    data_hash,
    evaluate_by_slice,
    out_of_fold_heads,
    safety_confusion,
    source_weights,
    stance_confusion,
)

#: Weight of an example by community. Web passages count twice: they are the community least like the
#: others and the smallest real one. Chosen by grouped cross-validation on the training data
#: (``benchmarks/quality.py --choose``). Seed posts at half weight were no better on real text (stance
#: macro-F1 over three fold assignments: web en 0.533 -> 0.527, de 0.373 -> 0.386, Reddit 0.454 -> 0.457)
#: and worse on posts like them (seed en 0.811 -> 0.786, de 0.838 -> 0.812). Reddit comments at weight 2 or 4
#: did not move Reddit stance among relevant comments (two fold assignments: 0.600 / 0.592 at 1, 0.607 / 0.590
#: at 2, 0.598 / 0.596 at 4); German web-passage relevance accuracy swung (0.786 / 0.740 -> 0.720 / 0.757 at 4).
SOURCE_WEIGHTS = {"seed": 1.0, "pool": 1.0, "web": 2.0, "stored": 2.0}
FOLDS = 5


@dataclass
class TrainedTopicModel:
    model: TopicClassifier
    rule: DecisionRule
    metrics: dict
    out_of_fold: dict[str, np.ndarray]


def train_topic_model(
    data: TrainingData, embed: Embedder, folds: int = FOLDS, params: dict | None = None,
    weights: dict[str, float] | None = None, seed: int = 0,
    on_step: Callable[..., None] | None = None,
) -> TrainedTopicModel:
    """Steps 1-5 of the module docstring; ``on_step(description, done, total)`` hears about each stage."""
    step = on_step or (lambda *args: None)
    examples = data.train
    texts = [x["text"] for x in examples]
    step(f"encoding {len(texts):,} texts")
    embeddings = embed(texts)
    model = TopicClassifier(**(params or {}))
    weight = source_weights(examples, SOURCE_WEIGHTS if weights is None else weights)
    heads = out_of_fold_heads(model, examples, embeddings, folds=folds, seed=seed, sample_weight=weight,
                              on_fold=lambda done: step("cross-validating, fold", done, folds))
    step("tuning the decision rule")
    rule = DecisionRule.tune(heads, examples)
    step("measuring the tuned rule out of fold")
    honest = cross_fitted_labels(heads, examples, folds=folds)
    confusion = stance_confusion(examples, honest)
    concern = safety_confusion(examples, honest)
    metrics = {
        "cross_validated": evaluate_by_slice(examples, honest),
        # What prevalence correction inverts: real posts, thin rows steadied by the rows of all posts.
        "stance_confusion": smoothed_confusion(confusion["all"], confusion["all_sources"]),
        "stance_confusion_by_lang": {lang: smoothed_confusion(rows, confusion["all_sources"])
                                     for lang, rows in confusion["by_lang"].items()},
        "stance_confusion_by_community": {community: smoothed_confusion(rows, confusion["all_sources"])
                                          for community, rows in confusion["by_community"].items()},
        "stance_confusion_real": confusion["all"],
        "stance_confusion_all_sources": confusion["all_sources"],
        # The same for the share voicing a safety concern, a rare label whose false positives swamp it.
        "safety_confusion": smoothed_confusion(concern["all"], concern["all_sources"]),
        "safety_confusion_real": concern["all"],
    }
    step(f"fitting on all {len(texts):,} examples")
    model.fit(texts, examples, sample_weight=weight, embeddings=embeddings).set_decision_rule(rule)
    if data.held_out:
        step(f"scoring {len(data.held_out):,} held-out real posts")
        held_texts = [x["text"] for x in data.held_out]
        _, labels = model.decide(held_texts, [x.get("lang") for x in data.held_out], embed(held_texts))
        metrics["held_out"] = evaluate_by_slice(data.held_out, labels)
        metrics["held_out_hash"] = evaluation_hash(data.held_out)
    return TrainedTopicModel(model, rule, metrics, heads)


def evaluation_hash(examples) -> str:
    """Identifies a held-out set by its texts' ids and labels: metrics are comparable only under one hash."""
    digest = hashlib.sha256()
    for x in sorted(examples, key=lambda x: str(x.get("id"))):
        digest.update(json.dumps([x.get("id"), x["relevant"], x["stance"], bool(x.get("safety_concern"))]).encode())
    return digest.hexdigest()[:16]


_HERE = Path(__file__).resolve().parent


def git_commit(directory: Path = _HERE) -> str | None:
    """The commit the code was trained from, with "-dirty" when tracked files outside the artefacts differ from
    it (the metadata would otherwise name a commit that did not produce the model); None outside a checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                              timeout=5, check=False).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":/",
                                  ":(exclude,top)classifiers/artefacts"], cwd=directory, capture_output=True,
                                 text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (f"{head}-dirty" if changed else head) or None


def metadata(trained: TrainedTopicModel, data: TrainingData, name: str, trained_by: str) -> dict:
    """The metadata every caller stores with a topic model artefact (and in its model version row)."""
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in trained.model.get_params().items()}
    return {
        "name": name,
        "kind": "stance",
        "data_hash": data_hash(data.train),
        "training_data": {"counts": data.counts(), "missing": data.missing, "source_weights": SOURCE_WEIGHTS},
        "params": params,
        "decision_rule": trained.rule.to_dict(),
        "metrics": trained.metrics,
        "git_commit": git_commit(),
        "trained_by": trained_by,
    }


def headline(metrics: dict) -> dict:
    """A few numbers for a terminal summary."""
    cv = metrics.get("cross_validated", {})
    held = metrics.get("held_out", {})

    def pick(section: dict, name: str, *path):
        value = section.get(name, {})
        for key in path:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        return value if isinstance(value, float) else None

    return {
        "cv_stance_macro_f1": pick(cv, "all", "stance", "macro_f1"),
        "cv_web_stance_macro_f1": pick(cv, "web", "stance", "macro_f1"),
        "cv_relevant_f1": pick(cv, "all", "relevant", "f1"),
        "cv_safety_concern_f1": pick(cv, "all", "safety_concern", "f1"),
        "held_out_stance_macro_f1": pick(held, "all", "stance", "macro_f1"),
        "held_out_relevant_f1": pick(held, "all", "relevant", "f1"),
    }
