"""Training data and evaluation for the topic model: labelled examples from every community, held-out splits.

Where the labels come from (``classifiers/data``):

- ``seed_*.jsonl``: posts and web-style passages written and labelled for this project (texts included);
- ``pool_labels_*.jsonl``: ids and labels of real r/LocalLLaMA comments of ../shared/datasets (texts read
  from there at training time, never copied into the project);
- ``web_labels.jsonl``: ids and labels of the real web-debate passages (news, blogs, forums, GitHub; English
  and German), texts read from ../shared/datasets the same way;
- ``web_labels_second_annotator.jsonl``: a second, blind annotation of the same passages, never trained on:
  ``benchmarks/quality.py`` measures the agreement of the two and scores the held-out passages on which both
  agree;
- the labels users store with ``stance label`` (``monitor.model_registry.stored_labels``).

Every example carries a ``source`` (seed, pool, web, stored): its community, which the decision rules
balance and the metrics are broken down by. A quarter of the labelled Reddit threads and web pages
(``is_held_out``, by hash of thread or URL, so no thread or page is on both sides) is never trained or
tuned on: it is the real held-out test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from classifiers.decisions import MIN_OFFSET_GAIN, DecisionRule
from classifiers.labels import ASPECTS, STANCES, check_example, own_community

DATA_DIR = Path(__file__).parent / "data"
POOL_COMMENTS = Path("reddit-localllama") / "pool" / "comments.jsonl"
WEB_POOL = Path("web-debate") / "pool.jsonl"
WEB_LABELS = "web_labels.jsonl"
SECOND_WEB_LABELS = "web_labels_second_annotator.jsonl"
#: A blind second annotation of the held-out Reddit comments (evaluation only: never trained on, and its name
#: is outside the ``pool_labels_*`` files that training reads).
SECOND_POOL_LABELS = "pool_heldout_second_annotator.jsonl"
REAL_SOURCES = ("pool", "web", "stored")
#: The labelled communities whose classifier error is measured apart, by training source. The reports correct
#: each platform's posts with the confusion of the community its posts resemble (``reports.shares``).
COMMUNITIES = {"pool": "reddit", "web": "web"}


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


def is_held_out(group: str) -> bool:
    """A quarter of the labelled real threads and pages, chosen by hash, is never trained on."""
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % 4 == 0


def _split(examples: list[dict]) -> tuple[list[dict], list[dict]]:
    train = [x for x in examples if not is_held_out(x["group"])]
    return train, [x for x in examples if is_held_out(x["group"])]


def load_pool_examples(datasets_dir: Path, data_dir: Path = DATA_DIR) -> tuple[list[dict], list[dict]]:
    """(train, held_out) labelled real Reddit comments, texts joined from ../shared. Empty if absent."""
    comments_path = datasets_dir / POOL_COMMENTS
    label_files = sorted(data_dir.glob("pool_labels_*.jsonl"))
    if not comments_path.exists() or not label_files:
        return [], []
    labels = {row["id"]: row for path in label_files for row in read_jsonl(path)}
    examples = []
    for comment in read_jsonl(comments_path):
        label = labels.get(comment["id"])
        if label is not None:
            examples.append({**label, "text": comment["body"], "lang": "en", "created": comment.get("created"),
                             "source": "pool", "group": comment["link_id"]})
    return _split(examples)


def load_web_examples(datasets_dir: Path, data_dir: Path = DATA_DIR) -> tuple[list[dict], list[dict]]:
    """(train, held_out) labelled real web passages in English and German, grouped by page URL."""
    pool_path, labels_path = datasets_dir / WEB_POOL, data_dir / WEB_LABELS
    if not pool_path.exists() or not labels_path.exists():
        return [], []
    labels = {row["id"]: row for row in read_jsonl(labels_path)}
    examples = [
        {**labels[passage["id"]], "text": passage["text"], "lang": passage["lang"], "source": "web",
         "group": passage["url"], "created": passage.get("published")}
        for passage in read_jsonl(pool_path) if passage["id"] in labels
    ]
    return _split(examples)


def web_second_labels(data_dir: Path = DATA_DIR) -> dict[str, dict]:
    """The blind second annotation of the web passages by id; empty if absent."""
    return _labels_by_id(data_dir / SECOND_WEB_LABELS)


def pool_second_labels(data_dir: Path = DATA_DIR) -> dict[str, dict]:
    """The blind second annotation of the held-out Reddit comments by id; empty if absent."""
    return _labels_by_id(data_dir / SECOND_POOL_LABELS)


def _labels_by_id(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in read_jsonl(path)} if path.exists() else {}


@dataclass
class TrainingData:
    train: list[dict]
    held_out: list[dict]
    #: What could not be read, in words a user can act on (e.g. ../shared/datasets is absent).
    missing: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples per source and language, for metadata and the training summary."""
        table: dict[str, dict[str, int]] = {}
        for part, examples in (("train", self.train), ("held_out", self.held_out)):
            for x in examples:
                key = f"{part}:{x['source']}"
                table.setdefault(key, {})
                table[key][x.get("lang") or "en"] = table[key].get(x.get("lang") or "en", 0) + 1
        return table


def load_training_data(datasets_dir: Path, stored: Sequence[dict] = (), data_dir: Path = DATA_DIR) -> TrainingData:
    """Seed posts, real pool and web labels, and stored user labels (``source: stored``, all trained on)."""
    pool_train, pool_held = load_pool_examples(datasets_dir, data_dir)
    web_train, web_held = load_web_examples(datasets_dir, data_dir)
    missing = []
    if not pool_train:
        missing.append(f"{datasets_dir / POOL_COMMENTS} not found: the Reddit pool labels are left out")
    if not web_train:
        missing.append(f"{datasets_dir / WEB_POOL} not found: the web passage labels are left out")
    stored_examples = [{**x, "source": "stored"} for x in stored]
    return TrainingData(
        train=load_seed_set(data_dir) + pool_train + web_train + stored_examples,
        held_out=pool_held + web_held,
        missing=missing,
    )


def data_hash(examples: Sequence[dict]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        fields = (example["text"], example["relevant"], example["stance"], sorted(example.get("aspects", [])),
                  example.get("safety_concern", False))
        digest.update(json.dumps(fields, ensure_ascii=False).encode())
    return digest.hexdigest()


def cv_groups(examples: Sequence[dict]) -> np.ndarray:
    """Cross-validation groups: a thread or a page stays in one fold (its texts share context and wording)."""
    return np.array([x.get("group") or x.get("link_id") or x.get("id") or f"#{i}" for i, x in enumerate(examples)])


def out_of_fold_heads(
    model, examples: Sequence[dict], embeddings: np.ndarray | None = None, folds: int = 5, seed: int = 0,
    sample_weight=None, on_fold: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Head probabilities of every example predicted by a clone of ``model`` not trained on its fold;
    ``on_fold(n)`` is called after the n-th fold."""
    texts = [x["text"] for x in examples]
    strata = np.array([(x["stance"] if x["relevant"] else "off_topic") for x in examples])
    weight = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    out_of_fold: dict[str, np.ndarray] = {}
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(texts, strata, cv_groups(examples)), start=1):
        extra = {} if embeddings is None else {"embeddings": embeddings[train_idx]}
        fitted = clone(model).fit([texts[i] for i in train_idx], [examples[i] for i in train_idx],
                                  sample_weight=weight[train_idx], **extra)
        extra = {} if embeddings is None else {"embeddings": embeddings[test_idx]}
        heads = fitted.predict_heads([texts[i] for i in test_idx], **extra)
        for name, values in heads.items():
            if name not in out_of_fold:
                out_of_fold[name] = np.zeros((len(texts),) + values.shape[1:])
            out_of_fold[name][test_idx] = values
        if on_fold:
            on_fold(fold)
    return out_of_fold


def cross_fitted_labels(heads: dict[str, np.ndarray], examples: Sequence[dict], folds: int = 5,
                        min_offset_gain: float = MIN_OFFSET_GAIN) -> dict:
    """Labels for out-of-fold ``heads`` where each fold's decision rule was tuned on the other folds only.

    Tuning the rule on the same scores it is measured on would flatter it; this is the honest estimate of
    the recipe as a whole (features, heads and rule)."""
    n = len(examples)
    labels: dict[str, np.ndarray] = {}
    splitter = GroupKFold(n_splits=folds)
    for tune_idx, apply_idx in splitter.split(np.zeros(n), groups=cv_groups(examples)):
        rule = DecisionRule.tune({k: v[tune_idx] for k, v in heads.items()}, [examples[i] for i in tune_idx],
                                 min_offset_gain)
        decided = rule.apply({k: v[apply_idx] for k, v in heads.items()},
                             [examples[i].get("lang") for i in apply_idx])
        for name, values in decided.items():
            labels.setdefault(name, np.empty(n, dtype=values.dtype))[apply_idx] = values
    return labels


def evaluate(examples: Sequence[dict], labels: dict[str, np.ndarray]) -> dict:
    """Metrics of decided ``labels`` (``DecisionRule.apply``) against gold label dicts."""
    gold_relevant = np.array([bool(x["relevant"]) for x in examples])
    gold_stance = np.array([x["stance"] if x["relevant"] else "neutral" for x in examples])
    metrics = {
        "n": len(examples),
        "relevant": _binary_report(gold_relevant, labels["relevant"]),
        "stance": _multiclass_report(gold_stance, labels["stance"]),
        "safety_concern": _binary_report(
            np.array([bool(x.get("safety_concern")) for x in examples]) & gold_relevant, labels["safety_concern"]
        ),
    }
    for aspect in ASPECTS:
        gold = np.array([aspect in x.get("aspects", ()) for x in examples]) & gold_relevant
        metrics[f"aspect_{aspect}"] = _binary_report(gold, labels[aspect])
    return metrics


def evaluate_by_slice(examples: Sequence[dict], labels: dict[str, np.ndarray]) -> dict:
    """``evaluate`` on everything, on each source, and on each source x language with at least 20 examples."""
    report = {"all": evaluate(examples, labels)}
    keys = [(x["source"], x.get("lang") or "en") for x in examples]
    for source in sorted({s for s, _ in keys}):
        slices = [(source, np.array([s == source for s, _ in keys]))]
        slices += [(f"{source}-{lang}", np.array([k == (source, lang) for k in keys]))
                   for lang in sorted({g for s, g in keys if s == source})]
        for name, mask in slices:
            if mask.sum() >= 20 and name not in report:
                chosen = [x for x, m in zip(examples, mask) if m]
                report[name] = evaluate(chosen, {k: v[mask] for k, v in labels.items()})
    return report


def stance_confusion(examples: Sequence[dict], labels: dict[str, np.ndarray], langs: Sequence[str] = ("de", "en"),
                     min_row: int = 10) -> dict:
    """The stance confusion that prevalence correction inverts (rows true, columns decided, STANCES order).

    Reports count the stances of the posts the model *decided* relevant, so the matrix is measured on the same
    population: decided-relevant posts, with the true stance of an off-topic one counted as neutral (what the
    report's neutral share then also holds). ``all`` is over real posts, ``all_sources`` with the seed posts
    too, and ``by_lang`` over real posts per language where every true stance has ``min_row`` real examples.
    ``by_community`` holds the matrix of each labelled community (``COMMUNITIES``, and the user's own
    labelled posts per platform, ``own_community``) where every true stance has ``min_row`` examples: the
    model errs at different rates on Reddit comments and on web passages, and a matrix pooled over both
    corrects neither (``classifiers.prevalence``). It is not split by language: the German web passages alone
    lack pro-open and pro-closed examples, and a report corrected per community and language would split a
    month's posts into groups of a handful.
    """
    relevant = np.asarray(labels["relevant"], dtype=bool)
    real = np.array([x["source"] in REAL_SOURCES for x in examples])
    gold = np.array([x["stance"] if x["relevant"] else "neutral" for x in examples])
    decided = np.asarray(labels["stance"])
    lang = np.array([x.get("lang") or "en" for x in examples])
    source = np.array([x["source"] for x in examples])

    def matrix(mask):
        if not mask.any():
            return [[0] * len(STANCES) for _ in STANCES]
        return confusion_matrix(gold[mask], decided[mask], labels=list(STANCES)).tolist()

    def measured(mask) -> list[list[int]] | None:
        rows = matrix(mask)
        return rows if min(sum(row) for row in rows) >= min_row else None

    result: dict = {"all": matrix(relevant & real), "all_sources": matrix(relevant), "by_lang": {},
                    "by_community": {}}
    for code in langs:
        if (rows := measured(relevant & real & (lang == code))) is not None:
            result["by_lang"][code] = rows
    for training_source, community in COMMUNITIES.items():
        if (rows := measured(relevant & (source == training_source))) is not None:
            result["by_community"][community] = rows
    platform = np.array([x.get("platform") if x["source"] == "stored" else None for x in examples])
    for name in sorted({p for p in platform if p}):
        if (rows := measured(relevant & (platform == name))) is not None:
            result["by_community"][own_community(name)] = rows
    return result


def safety_confusion(examples: Sequence[dict], labels: dict[str, np.ndarray]) -> dict:
    """The 2x2 safety-concern confusion (rows true no / yes, columns decided no / yes) that the reports'
    correction inverts, on the population they count: decided-relevant posts, where an off-topic post has no
    concern. ``all`` is over real posts, ``all_sources`` with the seed posts too."""
    relevant = np.asarray(labels["relevant"], dtype=bool)
    real = np.array([x["source"] in REAL_SOURCES for x in examples])
    gold = np.array([bool(x["relevant"] and x.get("safety_concern")) for x in examples])
    decided = np.asarray(labels["safety_concern"], dtype=bool)

    def matrix(mask):
        return confusion_matrix(gold[mask], decided[mask], labels=[False, True]).tolist()

    return {"all": matrix(relevant & real), "all_sources": matrix(relevant)}


def _binary_report(gold: np.ndarray, pred: np.ndarray) -> dict:
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
            "accuracy": round(float((gold == pred).mean()), 4) if len(gold) else 0.0, "support": int(gold.sum())}


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
        "accuracy": round(float((gold == pred).mean()), 4) if len(gold) else 0.0,
        "confusion": confusion_matrix(gold, pred, labels=list(STANCES)).tolist(),
    }


def source_weights(examples: Sequence[dict], weights: dict[str, float]) -> np.ndarray:
    """One training weight per example, by its source (missing sources weigh 1)."""
    return np.array([float(weights.get(x.get("source", ""), 1.0)) for x in examples])


Embedder = Callable[[list[str]], np.ndarray]
