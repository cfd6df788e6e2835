"""Training helpers (weights, grouped folds, thresholds), the shipped artefact and the SemEval-2016 reader."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from classifiers import DEFAULT_STANCE_ARTEFACT, artefacts
from classifiers.labels import STANCES
from classifiers.training import best_threshold, cv_groups, evaluate, load_seed_set, out_of_fold_heads, sample_weights

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def _benchmark():
    spec = importlib.util.spec_from_file_location("stance_benchmark", PROJECT_ROOT / "benchmarks" / "stance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_examples_are_marked_and_weighted():
    seed = load_seed_set()
    assert seed and all(x["source"] == "seed" for x in seed)
    examples = [seed[0], {"text": "real", "relevant": False, "stance": "neutral", "source": "pool"},
                {"text": "stored label", "relevant": False, "stance": "neutral"}]
    np.testing.assert_array_equal(sample_weights(examples, 3.0), [1.0, 3.0, 3.0])


def test_cv_groups_keep_threads_together():
    examples = [{"id": "a", "link_id": "t3_x"}, {"id": "b", "link_id": "t3_x"}, {"id": "seed-1"}, {}]
    groups = cv_groups(examples)
    assert groups[0] == groups[1] == "t3_x"
    assert len(set(groups)) == 3


def test_best_threshold_finds_the_separating_score():
    gold = [False] * 6 + [True] * 4
    scores = np.array([0.1, 0.2, 0.25, 0.3, 0.32, 0.34, 0.36, 0.6, 0.7, 0.9])
    threshold = best_threshold(gold, scores)
    assert 0.34 < threshold <= 0.36
    # Ties resolve towards 0.5: every threshold in (0.3, 0.7] separates these perfectly.
    assert best_threshold([False, True], np.array([0.3, 0.7])) == 0.5


class _Memoriser:
    """A stand-in model: predicts the stance it saw most for a text, to check the fold logic without fitting."""

    def __init__(self):
        pass

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y, sample_weight=None):
        self.seen_ = set(X)
        self.weights_ = np.asarray(sample_weight)
        return self

    def predict_heads(self, X):
        n = len(X)
        leaked = np.array([x in self.seen_ for x in X], dtype=float)
        return {"relevant": leaked, "stance": np.tile([1.0, 0.0, 0.0], (n, 1)), "safety_concern": np.zeros(n),
                **{a: np.zeros(n) for a in ("safety", "competition", "governance", "local_ai")}}


def test_out_of_fold_heads_never_predict_seen_texts():
    examples = [{"text": f"post {i}", "relevant": i % 2 == 0, "stance": STANCES[i % 3], "link_id": f"t{i // 4}"}
                for i in range(40)]
    heads = out_of_fold_heads(_Memoriser(), examples, folds=4, sample_weight=np.arange(40))
    assert heads["relevant"].sum() == 0  # no example was predicted by a model that saw it
    assert heads["stance"].shape == (40, 3)
    metrics = evaluate(examples, heads)
    assert metrics["n"] == 40 and metrics["relevant"]["f1"] == 0.0


def test_shipped_artefact_metadata_and_loading():
    model, metadata = artefacts.load(DEFAULT_STANCE_ARTEFACT)
    assert (DEFAULT_STANCE_ARTEFACT / artefacts.MODEL_FILE).stat().st_size < 10_000_000
    for key in ("name", "sha256", "metrics", "params", "data_hash"):
        assert key in metadata
    for key in ("cross_validated", "stance_confusion"):
        assert key in metadata["metrics"]
    assert np.array(metadata["metrics"]["stance_confusion"]).shape == (3, 3)
    assert metadata["params"]["relevance_threshold"] == model.relevance_threshold
    heads = model.predict_heads(["OpenAI finally released open weights, about time", "Tennis open results"])
    assert heads["stance"].shape == (2, 3)


def test_f_avg_is_the_official_metric():
    benchmark = _benchmark()
    gold = ["FAVOR", "AGAINST", "NONE", "AGAINST"]
    assert benchmark.f_avg(gold, gold) == 100.0
    # NONE only counts through the two classes' errors: F_FAVOR = 2/3 (p 1/2, r 1), F_AGAINST = 1.
    assert benchmark.f_avg(gold, ["FAVOR", "AGAINST", "FAVOR", "AGAINST"]) == pytest.approx(100 * (2 / 3 + 1) / 2)


def test_semeval_reader_on_shared_data():
    if not (SHARED_DATASETS / "semeval2016-stance").exists():
        pytest.skip(f"SemEval-2016 data not found under {SHARED_DATASETS} (only in the shared workspace)")
    benchmark = _benchmark()
    train = benchmark.read_semeval2016(SHARED_DATASETS, "train")
    test = benchmark.read_semeval2016(SHARED_DATASETS, "test")
    assert (len(train), len(test)) == (2914, 1249)  # counts in the dataset's SOURCE.md
    assert {label for _, _, label in test} == {"FAVOR", "AGAINST", "NONE"}
    assert sum(label == "AGAINST" for _, _, label in test) == 715
    assert len({target for target, _, _ in train}) == 5
    assert not any("#SemST" in text for _, text, _ in train + test)
