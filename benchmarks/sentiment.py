"""Sentiment benchmark: every test set x every scorer with each dataset's own metric, plus throughput.

Usage: ``python benchmarks/sentiment.py [--data ../shared/datasets] [--throughput-texts 2000] [--throughput-rounds 3]``

Scorers: textblob-de (the customer's baseline), our fast re-implementation of it, VADER, TextBlob
(English) and our learned default scorers ("ours", as served by ``load_default_router``). Test splits
are only scored here, never trained or tuned on. Throughput runs every German scorer on the same SB10k
texts in this process, on one core (BLAS threads pinned to 1 before numpy loads), in interleaved rounds so
that load from other processes hits the baseline and our scorer alike.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from classifiers.sentiment import (  # noqa: E402
    FastTextBlobGermanScorer,
    SentimentScorer,
    TextBlobEnglishScorer,
    TextBlobGermanScorer,
    VaderScorer,
    corpora,  # noqa: E402
    load_default_router,
)
from classifiers.sentiment.corpora import CorpusMissing, LabelledTexts  # noqa: E402
from classifiers.sentiment.metrics import macro_f1_pos_neg, macro_recall, micro_f1  # noqa: E402


@dataclass(frozen=True)
class TestSet:
    label: str
    lang: str
    load: Callable[[Path], LabelledTexts]
    metric_name: str
    metric: Callable[[list[str], list[str]], float]
    target: float


TEST_SETS = [
    TestSet("SB10k test", "de", lambda r: corpora.read_sb10k(r, "test"), "macro-F1(+/-)", macro_f1_pos_neg, 0.62),
    TestSet("PotTS test", "de", lambda r: corpora.read_potts(r, "test"), "macro-F1(+/-)", macro_f1_pos_neg, 0.72),
    TestSet("GermEval17 syn", "de", lambda r: corpora.read_germeval2017(r, "test_syn"), "micro-F1", micro_f1, 0.72),
    TestSet("GermEval17 dia", "de", lambda r: corpora.read_germeval2017(r, "test_dia"), "micro-F1", micro_f1, 0.72),
    TestSet(
        "TweetEval sent.", "en", lambda r: corpora.read_tweeteval_sentiment(r, "test"), "macro-recall", macro_recall,
        0.64
    ),
]
COLUMNS = ["textblob-de", "fast-textblob-de", "vader", "textblob-en", "ours"]
TARGET_SPEEDUP = 20.0


def build_scorers() -> dict[str, dict[str, SentimentScorer]]:
    """Column name -> language -> scorer (a scorer is only run on its own language)."""
    router = load_default_router()
    return {
        "textblob-de": {"de": TextBlobGermanScorer()},
        "fast-textblob-de": {"de": FastTextBlobGermanScorer()},
        "vader": {"en": VaderScorer()},
        "textblob-en": {"en": TextBlobEnglishScorer()},
        "ours": dict(router.scorers),
    }


def quality_table(data_root: Path, scorers: dict[str, dict[str, SentimentScorer]]) -> list[str]:
    header = f"{'test set':<16} {'n':>6} {'metric':<14} {'target':>7} " + " ".join(f"{c:>16}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    for test_set in TEST_SETS:
        try:
            data = test_set.load(data_root)
        except CorpusMissing as missing:
            lines.append(f"{test_set.label:<16} skipped: {missing}")
            continue
        cells = []
        for column in COLUMNS:
            scorer = scorers[column].get(test_set.lang)
            if scorer is None:
                cells.append(f"{'-':>16}")
                continue
            score = test_set.metric(data.labels, list(scorer.predict(data.texts)))
            mark = "*" if column == "ours" and score >= test_set.target else " "
            cells.append(f"{score:>15.3f}{mark}")
        lines.append(
            f"{test_set.label:<16} {len(data):>6} {test_set.metric_name:<14} {test_set.target:>7.2f} " + " ".join(cells)
        )
    lines.append("* = ours meets the target; '-' = scorer not built for that language")
    return lines


def _posts_per_second(scorer: SentimentScorer, texts: list[str]) -> float:
    scorer.predict(texts[:20])  # load lexicons/models outside the timed run
    started = time.perf_counter()
    scorer.predict(texts)
    return len(texts) / (time.perf_counter() - started)


def throughput_table(
    data_root: Path, scorers: dict[str, dict[str, SentimentScorer]], n: int, rounds: int = 3
) -> list[str]:
    """Posts per second of every German scorer on the same texts, timed in ``rounds`` interleaved rounds.

    Other work on the machine slows every scorer of a round alike, so each round yields a ratio to
    textblob-de timed right next to it; the table shows the median rate and the median of those ratios.
    """
    try:
        german = (corpora.read_sb10k(data_root, "train").texts * 2)[:n]
    except CorpusMissing as missing:
        return [f"throughput skipped: {missing}"]
    columns = ("textblob-de", "fast-textblob-de", "ours")
    rates: dict[str, list[float]] = {column: [] for column in columns}
    for _ in range(rounds):
        for column in columns:
            rates[column].append(_posts_per_second(scorers[column]["de"], german))
    baseline_rates = np.array(rates["textblob-de"])
    baseline = float(np.median(baseline_rates))
    lines = [
        f"Throughput, one core, same {len(german)} SB10k train texts for every German scorer "
        f"(median of {rounds} interleaved rounds; ratio = median of per-round ratios):"
    ]
    for column in columns:
        ratios = np.array(rates[column]) / baseline_rates
        ratio = float(np.median(ratios))
        verdict = ""
        if column != "textblob-de":
            verdict = "  (meets >= 20x)" if ratio >= TARGET_SPEEDUP else "  (below 20x)"
            verdict += f"  rounds: {', '.join(f'{r:.1f}x' for r in ratios)}"
        lines.append(
            f"  {column:<18} {float(np.median(rates[column])):>10,.0f} posts/s  {ratio:>6.1f}x textblob-de{verdict}"
        )
    try:
        english = corpora.read_tweeteval_sentiment(data_root, "test").texts[:n]
    except CorpusMissing as missing:
        return lines + [f"English throughput skipped: {missing}"]
    lines.append(f"English scorers on {len(english)} TweetEval test texts (ratio to textblob-de above):")
    for column in ("vader", "textblob-en", "ours"):
        rate = _posts_per_second(scorers[column]["en"], english)
        lines.append(f"  {column + ' (en)':<18} {rate:>10,.0f} posts/s  {rate / baseline:>6.1f}x textblob-de")
    return lines


def agreement_lines(data_root: Path, scorers: dict[str, dict[str, SentimentScorer]]) -> list[str]:
    """How often fast-textblob-de gives textblob-de's polarity on every SB10k and PotTS text."""
    texts: list[str] = []
    try:
        for split in ("train", "dev", "test"):
            texts += corpora.read_sb10k(data_root, split).texts + corpora.read_potts(data_root, split).texts
    except CorpusMissing as missing:
        return [f"agreement skipped: {missing}"]
    original = scorers["textblob-de"]["de"].polarity(texts)
    fast = scorers["fast-textblob-de"]["de"].polarity(texts)
    same_sign = float(np.mean(np.sign(original) == np.sign(fast)))
    exact = float(np.mean(np.abs(original - fast) < 1e-9))
    return [
        f"fast-textblob-de vs textblob-de on all {len(texts)} SB10k + PotTS texts: "
        f"same sign (label) {same_sign:.1%}, exact polarity {exact:.1%}"
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sentiment benchmark")
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "datasets")
    parser.add_argument("--throughput-texts", type=int, default=2000)
    parser.add_argument("--throughput-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"datasets folder {args.data} not found: nothing to benchmark")
        return
    started = time.perf_counter()
    scorers = build_scorers()
    print("Default scorers:", load_default_router().scorer_names)
    print("\n".join(quality_table(args.data, scorers)))
    print()
    print("\n".join(throughput_table(args.data, scorers, args.throughput_texts, args.throughput_rounds)))
    print()
    print("\n".join(agreement_lines(args.data, scorers)))
    print(f"\nbenchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
