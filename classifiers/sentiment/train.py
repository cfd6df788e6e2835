"""Retrain the shipped sentiment scorers: ``python -m classifiers.sentiment.train``.

Two kinds of data per language. Public corpora, with each benchmark's training splits only (German: SB10k
train+dev, PotTS train+dev without "mixed", GermEval 2017 dev; English: TweetEval sentiment val and the
sentiment labels of the SemEval-2016 stance training file). And the project's own labelled posts on the
topic (seed posts, real Reddit comments and web passages of the training threads and pages, as in
``classifiers.training``; held-out threads and pages are never read): without them the English model,
trained on tweets about atheism and politics, called almost every sober news passage negative, and the
German one, trained on tweets and train-travel complaints, almost never said positive.

Each model reads a sentence embedding next to its n-gram and lexicon features: USE's network tuned for tone
(``classifiers.sentiment.network``) on the public corpora's training splits and the labelled topic posts, one
network for both languages. It is tuned twice: once without the validation topic posts, for the validation
below and the offsets, and once on every training topic post, for the final models. Before the
final fit, each language is validated on held-out data (German: fit on the train splits, half of GermEval
dev and 80% of the topic posts, scored on the dev splits, the other half and the other 20%; English: fit on
SemEval, 80% of TweetEval val and 80% of the topic posts, scored on the rest; topic posts split by thread or
page). The same held-out decision values choose the ``decision_offsets``: they maximise the mean of the
public benchmarks' own metric (German: SB10k and PotTS macro-F1(+/-), GermEval accuracy counted twice;
English: macro-recall) and the topic posts' three-class macro-F1, each half of the objective. Both the raw
and the offset numbers go into metadata.json; the offset numbers are measured on the data the offsets were
chosen on, so they are optimistic. Seeds are fixed, so two runs write the same model.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from classifiers.embedding_cache import CachedEmbedder
from classifiers.sentiment import corpora
from classifiers.sentiment.artefacts import default_artefact_dir, save_scorer
from classifiers.sentiment.base import LABELS
from classifiers.sentiment.corpora import LabelledTexts
from classifiers.sentiment.metrics import METRICS, macro_f1_pos_neg, macro_recall, micro_f1
from classifiers.sentiment.model import LearnedSentimentScorer
from classifiers.sentiment.network import TunedSentimentNetwork
from classifiers.sentiment.offsets import tune_offsets
from classifiers.sentiment.training_data import (
    GERMEVAL_WEIGHT,
    SEED,
    TOPIC_WEIGHT,
    by_community,
    concat,
    data_hash,
    final_parts,
    network_parts,
    split,
    topic_posts,
)
from classifiers.training import Embedder

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "datasets"
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".benchmark-cache"

#: Chosen on the held-out data described in the module docstring. "Out of fold on the training web passages"
#: below is ``benchmarks/sentiment_folds.py`` (written after most of these numbers; its fold assignment differs
#: from theirs). Version 3 adds the sentence embedding
#: (weight 2; German SB10k dev macro-F1(+/-) 0.578 -> 0.612 and topic posts 0.581 -> 0.752 with the topic
#: posts in training; weights 1 and 3 within 0.01) and the topic posts at weight 3 (English TweetEval val
#: macro-recall 0.586 -> 0.675, topic posts 0.406 -> 0.648). Kept from version 2: German NB scaling of the
#: n-grams, domain indicators and no character n-grams (4x slower for +0.005; measured again for German
#: version 7 in its validation, with offsets tuned for each: character 2-5-grams moved SB10k dev 0.596 -> 0.600,
#: PotTS dev 0.649 -> 0.653, GermEval dev-b 0.695 -> 0.696, the topic posts within 0.002); English character
#: n-grams.
#: English now uses the length and sentence indicators too: web passages 0.598 -> 0.637 macro-F1 in
#: validation for 0.01 of TweetEval macro-recall. Tried without gain: C 0.05/0.3, topic posts at weight 6
#: or 10, PotTS weighted twice, the other language's topic posts in training, unbalanced class weights.
#: German version 4 gives texts over 160 characters (longer than any SB10k or PotTS tweet) a second embedding
#: block of their own (``long_text_chars``). Out of fold on the 730 training web passages (5 folds grouped by
#: page, models refitted on the public corpora and every other topic post, no offsets): German passages
#: macro-F1 0.497 -> 0.524, English 0.589 -> 0.586, so English keeps one block. Tried there too: a
#: topic-only head on the embedding (German 0.536, English 0.528) and blends of it with this model
#: (0.51-0.55 German, 0.55-0.58 English, not monotonic in the blend weight); web passages weighted 10
#: (German 0.508, English 0.579); offsets tuned on the passages themselves, nested (German 0.460).
#: The tuned offsets (chosen half on the public corpora, mostly tweets) cost on long texts: out of fold on
#: the training web passages, no offsets beat the shipped ones (German 0.506 against 0.479, English
#: 0.589 against 0.575). English version 4 therefore applies its offsets to texts of at most 160
#: characters only (``offsets_max_chars``); in validation TweetEval stays at 0.692 macro-recall, Reddit
#: comments go 0.582 -> 0.591, web passages stay at 0.635, seed posts 0.702 -> 0.699. German kept its
#: offsets everywhere until version 8 (below), because its validation sets disagree: GermEval dev-b (41% long)
#: would fall 0.681 -> 0.668 micro-F1 and the German validation passages 0.502 -> 0.477. Measured again for version 7
#: (offsets tuned for each cut): offsets up to 160 characters only, GermEval dev-b 0.695 -> 0.690 and the validation
#: passages 0.592 -> 0.552 (objective 0.666 -> 0.656); up to 280, 0.689 and 0.578 (objective 0.662).
#: Version 5 is version 4 refitted on embeddings rounded to float16 as stored (``classifiers.embedding_cache``),
#: so that a retrain writes the same model whatever the cache held before; under version 4, a retrain from
#: a rebuilt cache changed the English model's label for 1 of 1,500 TweetEval test tweets.
#: Sentence-averaged embeddings: see ``classifiers.encoder``.
#: German version 6 reads an embedding tuned for sentiment (``classifiers.sentiment.projection``): USE's output
#: layers, tuned for two epochs on the public corpora's training splits and the seed posts of both languages
#: (one head per language), never on a real topic post. Measured with the scorer refitted on the tuned
#: embedding, against USE's own (public dev sets fitted on their train splits and every topic post; web
#: passages out of fold, 5 folds by page, as for version 4, no offsets), over three seeds of the tuning:
#: German web passages macro-F1 0.503 -> 0.563 / 0.563 / 0.560; SB10k dev 0.592 -> 0.584 / 0.588 / 0.608;
#: PotTS dev 0.642 -> 0.655 / 0.668 / 0.641; GermEval dev-b 0.669 -> 0.673 / 0.682 / 0.670. Tuning longer or
#: faster (4-8 epochs, learning rate 3e-4) or on German alone did worse on the web passages (0.52-0.54) and
#: SB10k (down to 0.546): the regression then trusts an embedding fitted to its own training texts. For
#: English the same projection moved TweetEval val-b 0.658 -> 0.667 but the web passages 0.581 -> 0.569, so
#: English keeps USE's own. Tuning the whole network (its CNN too, in torch) helped English (web passages
#: 0.612, TweetEval 0.684, Reddit 0.614 -> 0.627) but needs a second pass over the tokens at run time, and it
#: cost the topic heads relevance accuracy (web 0.826 -> 0.807, Reddit 0.779 -> 0.760) when they read it.
#: The evaluation sets, read once the choice was made (version 5 -> 6): SB10k test 0.560 -> 0.574, PotTS test
#: 0.644 -> 0.636, GermEval 2017 syn 0.676 -> 0.69992 (1,796 of 2,566), dia 0.675 -> 0.692; the held-out German
#: web passages 0.492 -> 0.492 (14 of 79 labels changed); the German challenge posts 0.696 -> 0.653.
#: German version 7 and English version 6 read USE tuned whole, its token pass too (``classifiers.sentiment.
#: network``), on the public training splits and the labelled topic posts of both languages (one head per
#: language and kind of text), at the cost of a second pass over the tokens at run time. Out of fold on the
#: training web passages (5 folds by page; the network tuned anew in each fold without that fold's topic posts,
#: the scorer refitted; no offsets), against versions 6 and 5 on the same folds: German 0.536 -> 0.560,
#: English 0.583 -> 0.608 macro-F1. Tuned on the public corpora and the seed posts alone, as version 6's output
#: layers were, the whole network gained nothing on the passages (German 0.536 and 0.515, English 0.594 and
#: 0.593 with token learning rates 2e-5 and 1e-4; public dev sets within 0.01): the gain comes from the topic
#: posts. Topic posts weighted 6 in the tuning instead of 3: German 0.558, English 0.597. With each version's
#: shipped offsets the German gain on the passages shrinks (0.535 -> 0.539): the offsets, chosen half on tweets,
#: still cost on long texts. In validation (before the final fit) the public dev sets moved SB10k 0.591 ->
#: 0.587, PotTS 0.653 -> 0.663, GermEval dev-b 0.683 -> 0.682 (no offsets), Reddit comments 0.586 -> 0.604.
#: The evaluation sets, read once the choice was made (German 6 -> 7, English 5 -> 6): SB10k test 0.574 ->
#: 0.583, PotTS test 0.636 -> 0.641, GermEval 2017 syn 0.6999 -> 0.6991, dia 0.692 -> 0.691, TweetEval test
#: macro-recall 0.615 -> 0.646; held-out Reddit comments 0.592 -> 0.615; held-out web passages en 0.577 ->
#: 0.568 (20 of 127 labels changed), de 0.492 -> 0.421 (4 of 79 changed; the rare positive class swings it);
#: the challenge posts 0.674 -> 0.679.
#: Measured for version 7 in its validation (no offsets) and not adopted: a soup of the validation network (the
#: weights of seeds 0, 1 and 2 averaged) scored the German objective 0.647 against 0.649 / 0.646 / 0.649 for the
#: seeds alone, English 0.659 against 0.656 / 0.656 / 0.664: the scorer's regression gains nothing from it.
#: GermEval at weight 1.5 / 5 / 8 in the regression instead of 3 (offsets tuned for each): GermEval dev-b
#: 0.689 / 0.700 / 0.705 against 0.695, the German validation passages 0.592 / 0.579 / 0.579 against 0.592,
#: objective 0.666 / 0.663 / 0.665 against 0.666.
#: Scoring a long text's sentences (pieces of at least 40 characters) and blending them into the whole text's
#: probabilities, measured twice and not adopted. In version 7's validation (offsets as tuned there): German web
#: passages 0.592 whole, 0.505 / 0.485 with the sentences' mean at a share of 0.25 / 0.5, 0.492 / 0.479 with the
#: most polar sentence; English web passages 0.619 -> 0.632 / 0.632 and 0.646 / 0.669, Reddit comments
#: 0.606 -> 0.609-0.621, seed posts within 0.01. Out of fold on the 730 training web passages (5 folds by page,
#: the network tuned anew in each fold without that fold's passages, the scorer refitted, shipped offsets):
#: German 0.494 -> 0.437 (mean at 0.5) and 0.498 (most polar sentence at 0.5), English 0.589 -> 0.599 and 0.610,
#: per fold +0.07, 0.00, -0.01, -0.01, +0.02: too uneven for a second pass over every long text. The same folds
#: measured German's offsets on long texts again: without them on texts over 160 characters, German passages
#: 0.494 -> 0.530 (per fold +0.03, +0.04, -0.01, +0.04, +0.08), as out of fold for version 4 (0.479 -> 0.506),
#: against version 7's validation passages (59: 0.592 -> 0.552) and GermEval dev-b (0.695 -> 0.690). Two
#: out-of-fold measurements over 300 passages now outweigh 59, so German version 8 takes ``offsets_max_chars``
#: 160 (decided before any evaluation set was read). Its validation (offsets retuned, unchanged): GermEval dev-b
#: 0.695 -> 0.690, the validation passages 0.592 -> 0.552, seed posts 0.753 -> 0.758, SB10k and PotTS dev
#: unchanged. The evaluation sets, read once the choice was made: the held-out German web passages 0.421 -> 0.456
#: (negative recall 8 -> 11 of 21), all web passages 0.519 -> 0.532; the German challenge posts 0.665 -> 0.647;
#: GermEval 2017 syn 0.6991 -> 0.6968, dia 0.6906 -> 0.6819; SB10k and PotTS test unchanged (tweets are short).
#: Offsets of their own for long texts, tuned on the same out-of-fold passages (nested: chosen on four folds,
#: applied to the fifth), not adopted: German 0.530 -> 0.547 (a positive offset of 0.4-0.5 chosen in every fold),
#: English 0.589 -> 0.571 (chosen offsets from -0.7 to 1.2): a second pair of offsets for +0.02 in one language.
#: ``benchmarks/sentiment_folds.py`` (another fold assignment by page) measured version 8 again: German passages
#: 0.525, English 0.583 with the shipped rule; long-text offsets of their own, nested, German 0.552 (per fold
#: +0.04, +0.14, +0.07, -0.06, -0.03) and English 0.595 (+0.01, +0.02, +0.02, 0.00, +0.01). Over the two fold
#: assignments German gains both times, unevenly by fold, and English once: still not adopted.
#: GermEval weighted 5 in the German regression instead of 3 (the network's tuning unchanged), not adopted:
#: out of fold on the passages, with version 8's offsets, German 0.525 -> 0.540; in validation the offsets
#: retuned to none (no pair gained 0.005), GermEval dev-b stayed at 0.690 micro-F1, SB10k dev fell 0.596 -> 0.579,
#: PotTS dev rose 0.649 -> 0.670, the validation passages fell 0.552 -> 0.528 (objective 0.656 -> 0.651):
#: no gain for GermEval, which was the point, and tweets scored without offsets. No evaluation set was read.
NETWORK: dict[str, Any] = {"epochs": 2, "token_learning_rate": 5e-5, "learning_rate": 1e-4, "weight_decay": 0.1}
PARAMS: dict[str, dict[str, Any]] = {
    "de": {"version": 8, "C": 0.1, "class_weight": "balanced", "char_ngrams": None, "domain_features": True,
           "nb_alpha": 1.0, "embedding_weight": 2.0, "long_text_chars": 160, "offsets_max_chars": 160},
    "en": {"version": 6, "C": 0.1, "class_weight": "balanced", "char_ngrams": (2, 5), "domain_features": True,
           "embedding_weight": 2.0, "offsets_max_chars": 160},
}


def _mean_macro_f1(communities: list[LabelledTexts], predicted: list[np.ndarray]) -> float:
    return float(np.mean([topic_macro_f1(c.labels, list(p)) for c, p in zip(communities, predicted, strict=True)]))


def topic_macro_f1(y_true: list[str], y_pred: list[str]) -> float:
    return float(f1_score(y_true, y_pred, labels=list(LABELS), average="macro", zero_division=0))


def _evaluate(scorer: LearnedSentimentScorer, data: LabelledTexts, embed: Embedder) -> dict[str, float]:
    predicted = list(scorer.predict(data.texts, embed(data.texts)))
    scores = {metric: round(fn(data.labels, predicted), 4) for metric, fn in METRICS.items()}
    scores["macro-F1"] = round(topic_macro_f1(data.labels, predicted), 4)
    return scores


def _fit(lang: str, parts: list[tuple[LabelledTexts, float]], embed: Embedder,
         offsets: tuple[float, float, float] = (0.0, 0.0, 0.0), network=None) -> LearnedSentimentScorer:
    data = concat([p for p, _ in parts])
    weights = np.concatenate([np.full(len(p), w) for p, w in parts])
    return LearnedSentimentScorer(lang=lang, random_state=SEED, decision_offsets=offsets, **PARAMS[lang]).fit(
        data.texts, data.labels, sample_weight=weights, embeddings=embed(data.texts), network=network
    )


def tuning_parts(root: Path, validation: bool) -> list[tuple[str, LabelledTexts, float]]:
    """What the network is tuned on: with ``validation``, without the validation topic posts, so that the
    scorers' validation and their offsets are measured on posts it never saw; else with every training topic post."""
    topic = {}
    for lang in ("de", "en"):
        fit, val = topic_posts(root, lang)
        topic[lang] = fit if validation else fit + val
    return network_parts(root, topic)


def tune_network(parts: list[tuple[str, LabelledTexts, float]]) -> TunedSentimentNetwork:
    """The network of ``NETWORK``, tuned on ``parts`` (group, texts, weight)."""
    return TunedSentimentNetwork(random_state=SEED, **NETWORK).fit(
        [text for _, part, _ in parts for text in part.texts],
        [label for _, part, _ in parts for label in part.labels],
        sample_weight=np.concatenate([np.full(len(part), weight) for _, part, weight in parts]),
        groups=np.array([group for group, part, _ in parts for _ in range(len(part))]))


class Networks:
    """The validation and the final network, each tuned once when first asked for and shared by both languages;
    their embeddings cached on disk under their names in ``cache_dir`` (None: not cached)."""

    def __init__(self, root: Path, cache_dir: Path | None):
        self.root, self.cache_dir = root, cache_dir
        self._tuned: dict[bool, tuple[TunedSentimentNetwork, Embedder]] = {}
        self._tuned_on: dict[bool, dict[str, float]] = {}

    def get(self, validation: bool) -> tuple[TunedSentimentNetwork, Embedder]:
        if validation not in self._tuned:
            parts = tuning_parts(self.root, validation)
            network = tune_network(parts)
            path = None if self.cache_dir is None else self.cache_dir / f"embeddings-{network.name}.npz"
            # No bundled vectors: those are USE's own embeddings of the seed posts.
            self._tuned[validation] = network, CachedEmbedder(network.embed, path, bundled=None)
            self._tuned_on[validation] = {f"{group}:{part.name}": weight for group, part, weight in parts}
        return self._tuned[validation]

    def metadata(self) -> dict[str, Any]:
        final, _ = self.get(validation=False)
        return {"name": final.name, "params": NETWORK, "validation_network": self.get(validation=True)[0].name,
                "tuned_on": self._tuned_on[False]}


def _validate(lang: str, fit_parts, held_out: list[LabelledTexts], objective, networks: Networks):
    """Fit on ``fit_parts`` with the validation network, score ``held_out``, tune offsets there; returns
    (offsets, validation metrics)."""
    network, embed = networks.get(validation=True)
    model = _fit(lang, fit_parts, embed, network=network)
    validation = {f"{d.name} (no offsets)": _evaluate(model, d, embed) for d in held_out}
    decisions = [model.decision_function(d.texts, embed(d.texts)) for d in held_out]
    offsets, _ = tune_offsets(decisions, objective, [model.offsets_apply(d.texts) for d in held_out])
    model.set_params(decision_offsets=offsets)
    validation.update({f"{d.name} (tuned offsets)": _evaluate(model, d, embed) for d in held_out})
    return offsets, validation


def train_german(root: Path, networks: Networks) -> tuple[LearnedSentimentScorer, dict[str, Any]]:
    sb_train, sb_dev = corpora.read_sb10k(root, "train"), corpora.read_sb10k(root, "dev")
    potts_train, potts_dev = corpora.read_potts(root, "train"), corpora.read_potts(root, "dev")
    germeval_a, germeval_b = split(corpora.read_germeval2017(root, "dev"))
    topic_fit, topic_val = topic_posts(root, "de")
    communities = by_community(topic_val)

    def objective(predicted: list[np.ndarray]) -> float:
        public = (macro_f1_pos_neg(sb_dev.labels, list(predicted[0]))
                  + macro_f1_pos_neg(potts_dev.labels, list(predicted[1]))
                  + 2 * micro_f1(germeval_b.labels, list(predicted[2]))) / 4
        return (public + _mean_macro_f1(communities, predicted[3:])) / 2

    offsets, validation = _validate(
        "de", [(sb_train, 1.0), (potts_train, 1.0), (germeval_a, GERMEVAL_WEIGHT), (topic_fit, TOPIC_WEIGHT)],
        [sb_dev, potts_dev, germeval_b, *communities], objective, networks,
    )
    return _final("de", root, networks, offsets, validation)


def _final(lang: str, root: Path, networks: Networks, offsets, validation) -> tuple[LearnedSentimentScorer, dict]:
    parts = final_parts(lang, root)
    network, embed = networks.get(validation=False)
    metadata = {**_training_metadata(parts, validation), "network": networks.metadata()}
    return _fit(lang, parts, embed, offsets, network), metadata


def train_english(root: Path, networks: Networks) -> tuple[LearnedSentimentScorer, dict[str, Any]]:
    semeval = corpora.read_semeval2016_sentiment(root)
    tweeteval_a, tweeteval_b = split(corpora.read_tweeteval_sentiment(root, "val"), 0.8)
    topic_fit, topic_val = topic_posts(root, "en")
    communities = by_community(topic_val)

    def objective(predicted: list[np.ndarray]) -> float:
        return (macro_recall(tweeteval_b.labels, list(predicted[0])) + _mean_macro_f1(communities, predicted[1:])) / 2

    offsets, validation = _validate(
        "en", [(semeval, 1.0), (tweeteval_a, 1.0), (topic_fit, TOPIC_WEIGHT)], [tweeteval_b, *communities],
        objective, networks,
    )
    return _final("en", root, networks, offsets, validation)


def _training_metadata(parts: list[tuple[LabelledTexts, float]], validation: dict[str, Any]) -> dict[str, Any]:
    data = concat([p for p, _ in parts])
    return {
        "training_data": {"name": data.name, "n": len(data), "sha256": data_hash(data),
                          "weights": {p.name: w for p, w in parts}},
        "validation_metrics": validation,
        "seed": SEED,
        "trained_by": "python -m classifiers.sentiment.train",
    }


TRAINERS: dict[str, Callable[[Path, Networks], tuple[LearnedSentimentScorer, dict[str, Any]]]] = {
    "de": train_german,
    "en": train_english,
}


def main(argv: list[str] | None = None) -> None:
    """Train the requested languages and write their artefacts; print the validation metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="datasets folder (default: %(default)s)")
    parser.add_argument("--lang", choices=sorted(TRAINERS), action="append", help="language(s) to train (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="write artefacts under this folder instead")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE_DIR,
                        help="folder of embedding caches (default: %(default)s)")
    args = parser.parse_args(argv)
    networks = Networks(args.data, args.cache)  # tuned once for both languages
    for lang in args.lang or sorted(TRAINERS):
        started = time.perf_counter()
        scorer, extra = TRAINERS[lang](args.data, networks)
        directory = args.out / f"sentiment_{lang}" if args.out else default_artefact_dir(lang)
        metadata = save_scorer(scorer, directory, {**extra, "train_seconds": round(time.perf_counter() - started, 1)})
        size = (directory / "model.skops").stat().st_size / 1e6
        print(f"{metadata['name']}: {metadata['training_data']['n']} texts, {size:.1f} MB, "
              f"{metadata['train_seconds']} s -> {directory}")
        for name, scores in metadata["validation_metrics"].items():
            print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
