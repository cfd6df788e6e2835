"""The label set of the default topic (../shared/LABELING.md) and the result type of classification."""

from __future__ import annotations

from dataclasses import dataclass

STANCES = ("pro_open", "pro_closed", "neutral")
ASPECTS = ("safety", "competition", "governance", "local_ai")
SENTIMENTS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class PostLabels:
    relevant: bool
    relevance_score: float
    stance: str
    stance_proba: dict[str, float]
    aspects: frozenset[str]
    safety_concern: bool
    sentiment: str | None
    sentiment_score: float | None
    sentiment_model: str | None


def check_example(example: dict, where: str) -> None:
    """Validate one labelled example; raises ValueError naming the field."""
    if not isinstance(example.get("text"), str) or not example["text"].strip():
        raise ValueError(f"{where}: text: missing or empty")
    if not isinstance(example.get("relevant"), bool):
        raise ValueError(f"{where}: relevant: expected true or false, got {example.get('relevant')!r}")
    if example.get("stance") not in STANCES:
        raise ValueError(f"{where}: stance: expected one of {', '.join(STANCES)}, got {example.get('stance')!r}")
    aspects = example.get("aspects", [])
    if not isinstance(aspects, list) or any(a not in ASPECTS for a in aspects):
        raise ValueError(f"{where}: aspects: expected a subset of {', '.join(ASPECTS)}, got {aspects!r}")
    if not isinstance(example.get("safety_concern", False), bool):
        raise ValueError(f"{where}: safety_concern: expected true or false")


def own_community(platform: str) -> str:
    """The community of the posts a user labelled (``stance label``) on one platform: the posts most like the
    ones that platform's reports count, so its confusion, where measured, corrects them first."""
    return f"your {platform} posts"
