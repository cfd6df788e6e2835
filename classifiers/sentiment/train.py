"""Retrain the shipped sentiment scorers from ``shared/datasets``: ``python -m classifiers.sentiment.train``.

German: SB10k train+dev, PotTS train+dev (without "mixed") and GermEval 2017 dev. English: TweetEval
sentiment val and the sentiment labels of the SemEval-2016 stance training file. No test split is read.
Before the final fit, each model is validated on held-out training data (German: fit on the train
splits and half of GermEval dev, scored on the dev splits and the other half; English: 5-fold
cross-validation over TweetEval val with SemEval always in training). The same held-out decision
values choose the ``decision_offsets`` of the final model: one set per language, from a grid search
that maximises the benchmarks' own metrics (German: the mean of SB10k and PotTS macro-F1(+/-) and of
GermEval accuracy counted twice, as it stands for two test sets; English: macro-recall), kept only if
it gains at least MIN_OFFSET_GAIN. Both the raw and the offset numbers go into metadata.json; the
offset numbers are measured on the data the offsets were chosen on, so they are optimistic. Hyper-parameters below were chosen on the same held-out data. Seeds are
fixed, so two runs write the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.sentiment import corpora
from classifiers.sentiment.artefacts import default_artefact_dir, save_scorer
from classifiers.sentiment.base import LABELS
from classifiers.sentiment.corpora import LabelledTexts
from classifiers.sentiment.metrics import METRICS, macro_f1_pos_neg, macro_recall, micro_f1
from classifiers.sentiment.model import LearnedSentimentScorer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "datasets"
SEED = 0

#: Chosen on the held-out data described in the module docstring (objective as for the offsets).
#: German: NB log-count-ratio scaling (nb_alpha 1) raised the objective from 0.621 to 0.641 (SB10k dev
#: macro-F1(+/-) 0.547 -> 0.584) and wants stronger regularisation (C 0.1 over 0.03/0.3/1); the domain
#: indicators gave about +0.005 on GermEval dev; character n-grams (2-5) added only about +0.005 but cost
#: about 4x throughput, so they are off. English: no throughput target; character n-grams gain about
#: +0.01 macro-recall in cross-validation, NB scaling gained nothing there (0.587 vs 0.594 raw).
PARAMS: dict[str, dict[str, Any]] = {
    "de": {
        "version": 2,
        "C": 0.1,
        "class_weight": "balanced",
        "char_ngrams": None,
        "domain_features": True,
        "nb_alpha": 1.0,
    },
    "en": {"version": 2, "C": 0.1, "class_weight": "balanced", "char_ngrams": (2, 5), "domain_features": False},
}
#: Offsets searched for the negative and positive decision values (neutral stays at 0).
OFFSET_GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)
#: Offsets are kept only if they beat zero offsets by this much on the held-out data they were chosen
#: on: smaller gains did not survive tuning on one half of the dev data and scoring on the other.
MIN_OFFSET_GAIN = 0.005
#: GermEval is the only non-tweet domain and has the fewest texts; weighting it up keeps news and
#: customer feedback from being scored like tweets.
GERMEVAL_WEIGHT = 3.0


def data_hash(data: LabelledTexts) -> str:
    """sha256 over the (label, text) pairs in order, to identify the training snapshot."""
    digest = hashlib.sha256()
    for text, label in zip(data.texts, data.labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def _halves(data: LabelledTexts) -> tuple[LabelledTexts, LabelledTexts]:
    order = np.random.RandomState(SEED).permutation(len(data))
    half = len(data) // 2

    def pick(indices: np.ndarray, suffix: str) -> LabelledTexts:
        return LabelledTexts(f"{data.name}-{suffix}", [data.texts[i] for i in indices], [data.labels[i] for i in indices])

    return pick(order[:half], "a"), pick(order[half:], "b")


def _evaluate(scorer: LearnedSentimentScorer, data: LabelledTexts) -> dict[str, float]:
    predicted = list(scorer.predict(data.texts))
    return {metric: round(fn(data.labels, predicted), 4) for metric, fn in METRICS.items()}


def _fit(
    lang: str, data: LabelledTexts, weights: np.ndarray | None, offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> LearnedSentimentScorer:
    return LearnedSentimentScorer(lang=lang, random_state=SEED, decision_offsets=offsets, **PARAMS[lang]).fit(
        data.texts, data.labels, sample_weight=weights
    )


def tune_offsets(
    decisions: list[np.ndarray], objective: Callable[[list[np.ndarray]], float]
) -> tuple[tuple[float, float, float], float]:
    """The (negative, 0, positive) offsets on :data:`OFFSET_GRID` that maximise ``objective``.

    ``decisions`` are held-out decision values (one array per evaluation set, columns in LABELS order);
    ``objective`` receives the predicted labels of each set. Ties keep the offsets closest to zero,
    and a gain below :data:`MIN_OFFSET_GAIN` over zero offsets returns zero offsets.
    """
    labels = np.array(LABELS)
    best: tuple[float, tuple[float, float, float], float] = (-1.0, (0.0, 0.0, 0.0), 0.0)
    for negative in OFFSET_GRID:
        for positive in OFFSET_GRID:
            offsets = np.array([negative, 0.0, positive])
            score = objective([labels[(d + offsets).argmax(axis=1)] for d in decisions])
            size = abs(negative) + abs(positive)
            if score > best[0] + 1e-12 or (abs(score - best[0]) <= 1e-12 and size < best[2]):
                best = (score, (float(negative), 0.0, float(positive)), size)
    baseline = objective([labels[d.argmax(axis=1)] for d in decisions])
    if best[0] < baseline + MIN_OFFSET_GAIN:
        return (0.0, 0.0, 0.0), baseline
    return best[1], best[0]


def _german_objective(sets: list[LabelledTexts]) -> Callable[[list[np.ndarray]], float]:
    """Mean of the four German targets' metrics: SB10k and PotTS macro-F1(+/-), GermEval accuracy twice."""
    sb10k, potts, germeval = sets

    def objective(predicted: list[np.ndarray]) -> float:
        germeval_accuracy = micro_f1(germeval.labels, list(predicted[2]))
        return (
            macro_f1_pos_neg(sb10k.labels, list(predicted[0]))
            + macro_f1_pos_neg(potts.labels, list(predicted[1]))
            + 2 * germeval_accuracy
        ) / 4

    return objective


def _germeval_weights(parts: list[LabelledTexts]) -> np.ndarray:
    return np.concatenate(
        [np.full(len(p), GERMEVAL_WEIGHT if p.name.startswith("germeval") else 1.0) for p in parts]
    )


def train_german(root: Path) -> tuple[LearnedSentimentScorer, dict[str, Any]]:
    """Validate on dev splits and half of GermEval dev, then fit on all German training data."""
    sb_train, sb_dev = corpora.read_sb10k(root, "train"), corpora.read_sb10k(root, "dev")
    potts_train, potts_dev = corpora.read_potts(root, "train"), corpora.read_potts(root, "dev")
    germeval_a, germeval_b = _halves(corpora.read_germeval2017(root, "dev"))
    held_out_parts = [sb_train, potts_train, germeval_a]
    validation_model = _fit("de", _concat(held_out_parts), _germeval_weights(held_out_parts))
    held_out = [sb_dev, potts_dev, germeval_b]
    validation = {f"{d.name} (no offsets)": _evaluate(validation_model, d) for d in held_out}
    offsets, _ = tune_offsets([validation_model.decision_function(d.texts) for d in held_out], _german_objective(held_out))
    validation_model.set_params(decision_offsets=offsets)
    validation.update({f"{d.name} (tuned offsets)": _evaluate(validation_model, d) for d in held_out})
    parts = [sb_train, sb_dev, potts_train, potts_dev, germeval_a, germeval_b]
    data = _concat(parts)
    return _fit("de", data, _germeval_weights(parts), offsets), _training_metadata(data, validation)


def train_english(root: Path, folds: int = 5) -> tuple[LearnedSentimentScorer, dict[str, Any]]:
    """Cross-validate over TweetEval val (SemEval-2016 always in training), then fit on both."""
    semeval = corpora.read_semeval2016_sentiment(root)
    tweeteval = corpora.read_tweeteval_sentiment(root, "val")
    fold_of = np.random.RandomState(SEED).permutation(len(tweeteval)) % folds
    decisions = np.zeros((len(tweeteval), len(LABELS)))
    for fold in range(folds):
        train_idx, test_idx = np.where(fold_of != fold)[0], np.where(fold_of == fold)[0]
        subset = LabelledTexts("cv", [tweeteval.texts[i] for i in train_idx], [tweeteval.labels[i] for i in train_idx])
        model = _fit("en", semeval + subset, None)
        decisions[test_idx] = model.decision_function([tweeteval.texts[i] for i in test_idx])
    truth = tweeteval.labels
    offsets, _ = tune_offsets([decisions], lambda predicted: macro_recall(truth, list(predicted[0])))
    validation = {}
    for suffix, shift in (("no offsets", (0.0, 0.0, 0.0)), ("tuned offsets", offsets)):
        predicted = list(np.array(LABELS)[(decisions + np.array(shift)).argmax(axis=1)])
        scores = {m: round(fn(truth, predicted), 4) for m, fn in METRICS.items()}
        validation[f"{tweeteval.name} {folds}-fold CV ({suffix})"] = scores
    data = semeval + tweeteval
    return _fit("en", data, None, offsets), _training_metadata(data, validation)


def _concat(parts: list[LabelledTexts]) -> LabelledTexts:
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _training_metadata(data: LabelledTexts, validation: dict[str, Any]) -> dict[str, Any]:
    return {
        "training_data": {"name": data.name, "n": len(data), "sha256": data_hash(data)},
        "validation_metrics": validation,
        "seed": SEED,
        "trained_by": "python -m classifiers.sentiment.train",
    }


TRAINERS: dict[str, Callable[[Path], tuple[LearnedSentimentScorer, dict[str, Any]]]] = {
    "de": train_german,
    "en": train_english,
}


def main(argv: list[str] | None = None) -> None:
    """Train the requested languages and write their artefacts; print the validation metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="datasets folder (default: %(default)s)")
    parser.add_argument("--lang", choices=sorted(TRAINERS), action="append", help="language(s) to train (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="write artefacts under this folder instead")
    args = parser.parse_args(argv)
    for lang in args.lang or sorted(TRAINERS):
        started = time.perf_counter()
        scorer, extra = TRAINERS[lang](args.data)
        directory = args.out / f"sentiment_{lang}" if args.out else default_artefact_dir(lang)
        metadata = save_scorer(scorer, directory, {**extra, "train_seconds": round(time.perf_counter() - started, 1)})
        size = (directory / "model.skops").stat().st_size / 1e6
        print(f"{metadata['name']}: {metadata['training_data']['n']} texts, {size:.1f} MB, "
              f"{metadata['train_seconds']} s -> {directory}")
        for name, scores in metadata["validation_metrics"].items():
            print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
