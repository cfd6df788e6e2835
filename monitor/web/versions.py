"""The model page: every stance model version's scores on held-out real posts, side by side.

Versions are only comparable when they were measured on the same held-out posts (``held_out_hash``); the
others are shown, flagged, as ``stance models list`` does with brackets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from reports.lookups import model_versions

#: Per held-out group (all posts, a community, a community and language): these scores.
SCORES = (("stance_macro_f1", ("stance", "macro_f1")), ("relevance_f1", ("relevant", "f1")),
          ("safety_concern_f1", ("safety_concern", "f1")))


@dataclass(frozen=True)
class HeldOutScores:
    group: str
    posts: int | None
    stance_macro_f1: float | None
    relevance_f1: float | None
    safety_concern_f1: float | None


@dataclass(frozen=True)
class VersionScores:
    id: int
    name: str
    active: bool
    created_at: datetime
    activated_at: datetime | None
    #: Measured on the same held-out posts as the active version.
    comparable: bool
    held_out_hash: str | None
    cross_validated_stance_macro_f1: float | None
    held_out: list[HeldOutScores]


@dataclass(frozen=True)
class ModelComparison:
    active: str | None
    #: Held-out groups in a fixed order, so the table's columns line up across versions.
    groups: list[str]
    versions: list[VersionScores]


def compare_versions(session: Session) -> ModelComparison:
    versions = model_versions(session)
    active = next((v for v in versions if v.active), None)
    reference = (active.metrics or {}).get("held_out_hash") if active else None
    groups: list[str] = []
    rows = []
    for version in reversed(versions):
        metrics = version.metrics or {}
        held_out = metrics.get("held_out") or {}
        for group in held_out:
            if group not in groups:
                groups.append(group)
        cross_validated = metrics.get("cross_validated") or {}
        rows.append(VersionScores(
            id=version.id, name=version.name, active=bool(version.active), created_at=version.created_at,
            activated_at=version.activated_at,
            comparable=reference is not None and metrics.get("held_out_hash") == reference,
            held_out_hash=metrics.get("held_out_hash"),
            cross_validated_stance_macro_f1=_score(cross_validated.get("all", cross_validated), ("stance", "macro_f1")),
            held_out=[_scores(group, section) for group, section in held_out.items() if isinstance(section, dict)],
        ))
    return ModelComparison(active.name if active else None, groups, rows)


def _scores(group: str, section: dict) -> HeldOutScores:
    posts = section.get("n")
    return HeldOutScores(group, posts if isinstance(posts, int) else None,
                         *(_score(section, path) for _, path in SCORES))


def _score(section: dict, path: tuple[str, str]) -> float | None:
    value = (section.get(path[0]) or {}).get(path[1]) if isinstance(section, dict) else None
    return float(value) if isinstance(value, (int, float)) else None
