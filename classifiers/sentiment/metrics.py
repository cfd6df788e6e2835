"""Each benchmark's own metric, so training reports and the benchmark table speak the same language."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sklearn.metrics import f1_score, recall_score


def macro_f1_pos_neg(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Mean of F1(positive) and F1(negative) over a 3-class prediction (SB10k, PotTS: Sidarenka 2019)."""
    return float(f1_score(y_true, y_pred, labels=["positive", "negative"], average="macro", zero_division=0))


def micro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Micro-averaged F1 over the three classes, i.e. accuracy (GermEval 2017 subtask B)."""
    return float(sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / max(len(y_true), 1))


def macro_recall(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Recall averaged over negative/neutral/positive (SemEval-2017 4A, TweetEval sentiment)."""
    labels = ["negative", "neutral", "positive"]
    return float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


Metric = Callable[[Sequence[str], Sequence[str]], float]
METRICS: dict[str, Metric] = {
    "macro-F1(+/-)": macro_f1_pos_neg,
    "micro-F1": micro_f1,
    "macro-recall": macro_recall,
}
