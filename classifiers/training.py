"""Training data and evaluation for the topic model: seed set, real pool labels, cross-validation.

The seed set (``classifiers/data/seed_*.jsonl``) was written and labelled for this project. Pool labels
(``classifiers/data/pool_labels_*.jsonl``) hold only ids and labels of real r/LocalLLaMA comments; their
texts are read from ../shared/datasets at training time and never stored in the project.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedGroupKFold

from classifiers.labels import ASPECTS, STANCES, check_example

DATA_DIR = Path(__file__).parent / "data"
POOL_COMMENTS = Path("reddit-localllama") / "pool" / "comments.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
    return rows


def load_seed_set(data_dir: Path = DATA_DIR) -> list[dict]:
    """Every seed example, validated; raises ValueError naming file, line and field."""
    examples = []
    for path in sorted(data_dir.glob("seed_*.jsonl")):
        for number, example in enumerate(read_jsonl(path), start=1):
            check_example(example, f"{path.name}:{number}")
            examples.append({**example, "source": "seed"})
    return examples


def is_held_out(link_id: str) -> bool:
    """A quarter of the labelled pool threads, chosen by hash, is never trained on: the in-domain test."""
    return int(hashlib.sha1(link_id.encode()).hexdigest(), 16) % 4 == 0


def load_pool_examples(datasets_dir: Path, data_dir: Path = DATA_DIR) -> tuple[list[dict], list[dict]]:
    """(train, held_out) labelled real comments, texts joined from ../shared. Empty if absent."""
    comments_path = datasets_dir / POOL_COMMENTS
    label_files = sorted(data_dir.glob("pool_labels_*.jsonl"))
    if not comments_path.exists() or not label_files:
        return [], []
    labels = {row["id"]: row for path in label_files for row in read_jsonl(path)}
    train, held_out = [], []
    with open(comments_path, encoding="utf-8") as handle:
        for line in handle:
            comment = json.loads(line)
            label = labels.get(comment["id"])
            if label is None:
                continue
            example = {**label, "text": comment["body"], "lang": "en", "created": comment.get("created"),
                       "source": "pool"}
            (held_out if is_held_out(comment["link_id"]) else train).append(example)
    return train, held_out


def data_hash(examples: Sequence[dict]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        fields = (example["text"], example["relevant"], example["stance"], sorted(example.get("aspects", [])),
                  example.get("safety_concern", False))
        digest.update(json.dumps(fields, ensure_ascii=False).encode())
    return digest.hexdigest()


def evaluate(labels: Sequence[dict], heads: dict[str, np.ndarray], relevance_threshold: float = 0.5) -> dict:
    """Per-head metrics of predicted head probabilities against gold label dicts."""
    gold_relevant = np.array([bool(x["relevant"]) for x in labels])
    pred_relevant = heads["relevant"] >= relevance_threshold
    gold_stance = np.array([x["stance"] if x["relevant"] else "neutral" for x in labels])
    raw_stance = np.array(STANCES)[heads["stance"].argmax(axis=1)]
    pred_stance = np.where(pred_relevant, raw_stance, "neutral")
    metrics = {
        "n": len(labels),
        "relevant": _binary_report(gold_relevant, pred_relevant),
        "stance": _multiclass_report(gold_stance, pred_stance),
        # The confusion among relevant posts, which is what prevalence correction needs.
        "stance_confusion": confusion_matrix(
            gold_stance[gold_relevant], raw_stance[gold_relevant], labels=list(STANCES)
        ).tolist(),
    }
    relevant_idx = gold_relevant
    for aspect in ASPECTS:
        gold = np.array([aspect in x.get("aspects", []) for x in labels])[relevant_idx]
        metrics[f"aspect_{aspect}"] = _binary_report(gold, (heads[aspect] >= 0.5)[relevant_idx])
    gold_concern = np.array([bool(x.get("safety_concern")) for x in labels])[relevant_idx]
    metrics["safety_concern"] = _binary_report(gold_concern, (heads["safety_concern"] >= 0.5)[relevant_idx])
    return metrics


def _binary_report(gold: np.ndarray, pred: np.ndarray) -> dict:
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
            "support": int(gold.sum())}


def _multiclass_report(gold: np.ndarray, pred: np.ndarray) -> dict:
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(STANCES), zero_division=0)
    present = s > 0
    return {
        "per_class": {
            stance: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                     "f1": round(float(f[i]), 4), "support": int(s[i])}
            for i, stance in enumerate(STANCES)
        },
        "macro_f1": round(float(f.mean()), 4),
        # Over the classes that occur in the gold labels: a class with no gold example has no F1.
        "macro_f1_present": round(float(f[present].mean()), 4) if present.any() else 0.0,
        "accuracy": round(float((gold == pred).mean()), 4),
        "confusion": confusion_matrix(gold, pred, labels=list(STANCES)).tolist(),
    }


def sample_weights(examples: Sequence[dict], real_weight: float = 1.0) -> np.ndarray:
    """Weight ``real_weight`` for real posts, 1 for the seed posts written for the project.

    The seed set is clean and balanced but its style is not Reddit's; real comments are what the model
    meets, so they may count more. Anything not marked ``source: seed`` is real (pool, stored human labels).
    """
    return np.array([1.0 if x.get("source") == "seed" else float(real_weight) for x in examples])


def cv_groups(examples: Sequence[dict]) -> np.ndarray:
    """Cross-validation groups: comments of one thread share context and wording, so a thread stays in one fold."""
    return np.array([x.get("link_id") or x.get("id") or f"#{i}" for i, x in enumerate(examples)])


def out_of_fold_heads(
    model, examples: Sequence[dict], folds: int = 5, seed: int = 0, sample_weight=None
) -> dict[str, np.ndarray]:
    """Head probabilities of every example predicted by a clone of ``model`` not trained on its fold."""
    from sklearn.base import clone

    texts = [x["text"] for x in examples]
    strata = np.array([(x["stance"] if x["relevant"] else "off_topic") for x in examples])
    weight = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    out_of_fold: dict[str, np.ndarray] = {}
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(texts, strata, cv_groups(examples)):
        fitted = clone(model).fit([texts[i] for i in train_idx], [examples[i] for i in train_idx],
                                  sample_weight=weight[train_idx])
        heads = fitted.predict_heads([texts[i] for i in test_idx])
        for name, values in heads.items():
            if name not in out_of_fold:
                out_of_fold[name] = np.zeros((len(texts),) + values.shape[1:])
            out_of_fold[name][test_idx] = values
    return out_of_fold


def cross_validate(model, examples: Sequence[dict], folds: int = 5, seed: int = 0, sample_weight=None) -> dict:
    """Out-of-fold metrics of ``model`` (a TopicClassifier, cloned per fold) on ``examples``."""
    heads = out_of_fold_heads(model, examples, folds, seed, sample_weight)
    return evaluate(examples, heads, getattr(model, "relevance_threshold", 0.5))


def best_threshold(gold: Sequence[bool], scores: np.ndarray) -> float:
    """The score threshold with the highest F1 (ties: the one closest to 0.5), for out-of-fold scores."""
    gold = np.asarray(gold, dtype=bool)
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    predicted = np.asarray(scores)[None, :] >= candidates[:, None]
    true_positives = (predicted & gold).sum(axis=1)
    # F1 = 2 TP / (predicted positives + gold positives), 0 where both are 0
    denominator = predicted.sum(axis=1) + gold.sum()
    f1 = list(np.where(denominator > 0, 2 * true_positives / np.maximum(denominator, 1), 0.0))
    best = max(f1)
    return float(min((t for t, f in zip(candidates, f1) if f >= best - 1e-9), key=lambda t: abs(t - 0.5)))
