"""Sentiment out of fold on the training web passages: the measurement behind ``classifiers.sentiment.train``.

Usage: ``python benchmarks/sentiment_folds.py [--data ../shared/datasets] [--folds 5] [--variants shipped,...]
[--save decisions.npz | --load decisions.npz]``

The 730 labelled web passages of the training pages (never the held-out ones) are split into folds by page.
For each fold the sentiment network is tuned anew on everything the final network is tuned on, less that
fold's passages; each language's scorer is refitted on its final training data, less the fold, and scores the
fold. So every passage is scored by a model that never saw it or its page, and the numbers are pooled over the
folds: macro-F1 per language, under each decision rule, with the per-fold gains against the shipped rule.

Decision rules, on the same decision values: no offsets; the shipped offsets on every text; the shipped offsets
on texts up to ``offsets_max_chars`` only (as shipped); and, on top of that, offsets of their own for longer texts,
tuned nested (on the other folds' passages, applied to this fold's). Variants refit the scorer otherwise
(``VARIANTS``); each shares the fold's tuned network with the shipped recipe. Takes about 8 minutes a fold on
two cores, most of it tuning the network. ``--save`` keeps the out-of-fold decision values (with passage ids,
never texts), so that ``--load`` reports them again, under other rules, in about a minute.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from classifiers.embedding_cache import CachedEmbedder  # noqa: E402
from classifiers.sentiment.artefacts import default_artefact_dir, load_scorer  # noqa: E402
from classifiers.sentiment.base import LABELS  # noqa: E402
from classifiers.sentiment.corpora import LabelledTexts  # noqa: E402
from classifiers.sentiment.model import LearnedSentimentScorer  # noqa: E402
from classifiers.sentiment.offsets import tune_offsets  # noqa: E402
from classifiers.sentiment.train import PARAMS, topic_macro_f1, tune_network  # noqa: E402
from classifiers.sentiment.training_data import SEED, concat, final_parts, network_parts, topic_posts  # noqa: E402
from classifiers.training import load_training_data  # noqa: E402

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "datasets"
LANGS = ("de", "en")

Parts = list[tuple[LabelledTexts, float]]
#: Other recipes for the scorer, by name: each changes a language's final training parts or parameters.
VARIANTS: dict[str, dict[str, Callable[[Parts, dict], tuple[Parts, dict]]]] = {
    "shipped": {},
    # GermEval weighted 5 in the German regression instead of 3 (``classifiers.sentiment.train``: not adopted).
    "germeval-weight-5": {"de": lambda parts, params: (
        [(p, 5.0 if p.name.startswith("germeval") else w) for p, w in parts], params)},
}


def web_passages(root: Path) -> list[dict]:
    """The labelled web passages of the training pages, with a sentiment label."""
    return [x for x in load_training_data(root).train if x.get("source") == "web" and x.get("sentiment")]


def without(data: LabelledTexts, texts: set[str]) -> LabelledTexts:
    keep = [i for i, text in enumerate(data.texts) if text not in texts]
    return type(data)(data.name, [data.texts[i] for i in keep], [data.labels[i] for i in keep])


def fold_decisions(root: Path, held: list[dict], variants: list[str]) -> dict[tuple[str, str], np.ndarray]:
    """Decision values of ``held`` (one fold) by (variant, language), from models that never saw them."""
    texts = {x["text"] for x in held}
    topic = {}
    for lang in LANGS:
        fit, val = topic_posts(root, lang)
        topic[lang] = without(fit + val, texts)
    started = time.perf_counter()
    network = tune_network(network_parts(root, topic))
    embed = CachedEmbedder(network.embed, None, bundled=None)
    print(f"    network tuned in {time.perf_counter() - started:.0f} s", flush=True)
    decisions = {}
    for lang in LANGS:
        fold = [x["text"] for x in held if x["lang"] == lang]
        for variant in variants:
            change = VARIANTS[variant].get(lang)
            if variant != "shipped" and change is None:
                continue
            parts = [(without(p, texts), w) for p, w in final_parts(lang, root)]
            params = dict(PARAMS[lang])
            if change is not None:
                parts, params = change(parts, params)
            data = concat([p for p, _ in parts])
            weights = np.concatenate([np.full(len(p), w) for p, w in parts])
            scorer = LearnedSentimentScorer(lang=lang, random_state=SEED, **params).fit(
                data.texts, data.labels, sample_weight=weights, embeddings=embed(data.texts), network=network)
            decisions[variant, lang] = scorer.decision_function(fold, embed(fold))
    return decisions


def rule_labels(decision: np.ndarray, texts: list[str], offsets: np.ndarray, max_chars: int | None,
                long_offsets: np.ndarray | None = None) -> np.ndarray:
    short = np.array([max_chars is None or len(t) <= max_chars for t in texts])[:, None]
    shifted = decision + short * offsets
    if long_offsets is not None:
        shifted = shifted + ~short * long_offsets
    return np.array(LABELS)[shifted.argmax(axis=1)]


def nested_long_offsets(decision, texts, labels, fold_of, fold, offsets, max_chars) -> np.ndarray:
    """Offsets for texts over ``max_chars``, tuned on every fold but ``fold``."""
    rows = (fold_of != fold) & np.array([len(t) > max_chars for t in texts])
    if not rows.any():
        return np.zeros(3)
    truth = [labels[i] for i in np.flatnonzero(rows)]
    chosen, _ = tune_offsets([decision[rows]], lambda predicted: topic_macro_f1(truth, predicted[0]))
    return np.asarray(chosen)


def rules(lang: str, decision, texts, labels, fold_of, folds: int) -> dict[str, np.ndarray]:
    """Each decision rule's labels for the out-of-fold ``decision`` values; the shipped rule comes third."""
    shipped = load_scorer(default_artefact_dir(lang))
    offsets, max_chars = np.asarray(shipped.decision_offsets, dtype=float), shipped.offsets_max_chars
    labelled = {
        "no offsets": rule_labels(decision, texts, np.zeros(3), None),
        "offsets on every text": rule_labels(decision, texts, offsets, None),
        f"offsets up to {max_chars} chars (shipped)": rule_labels(decision, texts, offsets, max_chars),
    }
    if max_chars is not None:
        nested = np.empty(len(texts), dtype=object)
        for fold in range(folds):
            rows = fold_of == fold
            long = nested_long_offsets(decision, texts, labels, fold_of, fold, offsets, max_chars)
            nested[rows] = rule_labels(decision[rows], [t for t, r in zip(texts, rows, strict=True) if r], offsets,
                                       max_chars, long)
        labelled["+ long-text offsets, nested"] = nested.astype(str)
    return labelled


def report(title: str, labelled: dict[str, np.ndarray], reference: np.ndarray, labels, fold_of,
           folds: int) -> list[str]:
    """Macro-F1 of each rule, and its gain in each fold over ``reference`` (the shipped recipe and rule)."""
    lines = [title]
    for name, predicted in labelled.items():
        gains = [topic_macro_f1([labels[i] for i in np.flatnonzero(fold_of == f)], predicted[fold_of == f])
                 - topic_macro_f1([labels[i] for i in np.flatnonzero(fold_of == f)], reference[fold_of == f])
                 for f in range(folds)]
        lines.append(f"    {name:<42} macro-F1 {topic_macro_f1(labels, predicted):.3f}   per fold vs shipped: "
                     + " ".join(f"{g:+.2f}" for g in gains))
    return lines


Collected = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


def collect(root: Path, passages: list[dict], fold_of: np.ndarray, variants: list[str]) -> Collected:
    """Out-of-fold decision values by (variant, language): the passages' row numbers and their values."""
    pieces: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for fold in range(fold_of.max() + 1):
        rows = np.flatnonzero(fold_of == fold)
        print(f"  fold {fold + 1}/{fold_of.max() + 1}: {len(rows)} passages", flush=True)
        for (variant, lang), decision in fold_decisions(root, [passages[i] for i in rows], variants).items():
            in_lang = np.array([passages[i]["lang"] == lang for i in rows])
            pieces.setdefault((variant, lang), []).append((rows[in_lang], decision))
    return {key: (np.concatenate([r for r, _ in parts]), np.concatenate([d for _, d in parts]))
            for key, parts in pieces.items()}


def load(path: Path, passages: list[dict], fold_of: np.ndarray) -> Collected:
    """What ``--save`` wrote, checked against the passages and folds of this run."""
    saved = np.load(path)
    if list(saved["ids"]) != [x["id"] for x in passages] or not np.array_equal(saved["fold_of"], fold_of):
        raise SystemExit(f"{path}: saved for other passages or folds than these; run without --load")
    keys = {tuple(name.split("|")[:2]) for name in saved.files if name.count("|") == 2}
    return {(variant, lang): (saved[f"{variant}|{lang}|rows"], saved[f"{variant}|{lang}|decision"])
            for variant, lang in sorted(keys)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="datasets folder (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=5, help="folds by page (default: %(default)s)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--save", type=Path, help="write the out-of-fold decision values to this .npz file")
    parser.add_argument("--load", type=Path, help="report the decision values of a --save file; tune nothing")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    passages = web_passages(args.data)
    fold_of = np.empty(len(passages), dtype=int)
    splitter = GroupKFold(n_splits=args.folds, shuffle=True, random_state=SEED)
    for fold, (_, rows) in enumerate(splitter.split(passages, groups=[x["group"] for x in passages])):
        fold_of[rows] = fold
    print(f"Sentiment out of fold: {len(passages)} training web passages, {args.folds} folds by page", flush=True)
    collected = load(args.load, passages, fold_of) if args.load else collect(args.data, passages, fold_of, variants)
    if args.save:
        np.savez_compressed(args.save, ids=[x["id"] for x in passages], fold_of=fold_of, **{
            f"{variant}|{lang}|{part}": value for (variant, lang), (rows, decision) in collected.items()
            for part, value in (("rows", rows), ("decision", decision))})
    shipped_rule: dict[str, np.ndarray] = {}
    for (variant, lang), (rows, decision) in sorted(collected.items(), key=lambda item: item[0][0] != "shipped"):
        labels = [passages[i]["sentiment"] for i in rows]
        labelled = rules(lang, decision, [passages[i]["text"] for i in rows], labels, fold_of[rows], args.folds)
        reference = shipped_rule.setdefault(lang, list(labelled.values())[2])
        print("\n".join(report(f"  {variant}, {lang} ({len(rows)} passages)", labelled, reference, labels,
                               fold_of[rows], args.folds)), flush=True)


if __name__ == "__main__":
    main()
