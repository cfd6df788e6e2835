"""The posts behind a number: the same Scope as the aggregation, narrowed to a stance, aspect or concern.

A chart's point counts the classifications of one model version in a day range with some filters
(``reports.aggregate.Scope``); listing the posts behind it uses that very Scope, so the list and the number
can never disagree about which posts they mean. Pages are keyset-paginated on (created_at, id), newest
first: a page costs the same however deep it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from reports.aggregate import Scope
from storage.models import ASPECTS, STANCES, Classification, HumanLabel, ModelVersion, Post

#: Which posts of the scope: all of them, the relevant ones, or the irrelevant ones.
RELEVANCE = ("all", "yes", "no")


@dataclass(frozen=True)
class PostSelection:
    """A Scope and what a chart's point or bar adds to it."""

    scope: Scope
    relevant: str = "all"
    #: Relevant posts of this predicted stance (implies relevant="yes").
    stance: str | None = None
    aspect: str | None = None
    safety_concern: bool | None = None

    def __post_init__(self) -> None:
        if self.relevant not in RELEVANCE:
            raise ValueError(f"relevant: expected one of {', '.join(RELEVANCE)}, got {self.relevant!r}")
        if self.stance is not None and self.stance not in STANCES:
            raise ValueError(f"stance: expected one of {', '.join(STANCES)}, got {self.stance!r}")
        if self.aspect is not None and self.aspect not in ASPECTS:
            raise ValueError(f"aspect: expected one of {', '.join(ASPECTS)}, got {self.aspect!r}")

    def where(self) -> list:
        conditions = self.scope.where()
        if self.relevant == "yes" or self.stance or self.aspect or self.safety_concern is not None:
            conditions.append(Classification.relevant.is_(True))
        elif self.relevant == "no":
            conditions.append(Classification.relevant.is_(False))
        if self.stance:
            conditions.append(Classification.stance == self.stance)
        if self.aspect:
            conditions.append(getattr(Classification, self.aspect).is_(True))
        if self.safety_concern is not None:
            conditions.append(Classification.safety_concern.is_(self.safety_concern))
        return conditions


@dataclass(frozen=True)
class ModelLabel:
    """What one model version said about a post, with its confidence."""

    model: str
    relevant: bool
    relevance_score: float
    stance: str
    stance_probabilities: dict[str, float]
    sentiment: str | None
    sentiment_score: float | None
    sentiment_model: str | None
    aspects: list[str]
    safety_concern: bool


@dataclass(frozen=True)
class PersonLabel:
    """A human label (``stance label`` or the dashboard's labelling page)."""

    annotator: str
    labelled_at: datetime
    relevant: bool | None
    stance: str | None
    sentiment: str | None
    aspects: list[str]
    safety_concern: bool | None


@dataclass(frozen=True)
class ListedPost:
    id: int
    created_at: datetime
    source: str
    lang: str | None
    #: As stored: a pseudonym, never a handle.
    author: str | None
    url: str | None
    text: str
    labels: list[ModelLabel]
    human_labels: list[PersonLabel] = field(default_factory=list)


@dataclass(frozen=True)
class PostPage:
    posts: list[ListedPost]
    #: (created_at, id) of the last post when more follow, else None.
    after: tuple[datetime, int] | None


def list_posts(session: Session, selection: PostSelection, limit: int = 25,
               after: tuple[datetime, int] | None = None) -> PostPage:
    """One page of the selected posts, newest first, with the scope's model label and every human label."""
    stmt = (
        select(Post, Classification, ModelVersion.name)
        .join(Classification, Classification.post_id == Post.id)
        .join(ModelVersion, ModelVersion.id == Classification.model_version_id)
        .where(*selection.where())
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(tuple_(Post.created_at, Post.id) < tuple_(*after))
    rows = session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    humans = _human_labels(session, [post.id for post, _, _ in rows])
    posts = [_listed(post, [_model_label(label, name)], humans.get(post.id, [])) for post, label, name in rows]
    last = rows[-1][0] if rows else None
    return PostPage(posts, (_utc(last.created_at), last.id) if more and last is not None else None)


def post_detail(session: Session, post_id: int) -> ListedPost | None:
    """A post with the labels of every model version that classified it and every human label."""
    post = session.get(Post, post_id)
    if post is None:
        return None
    rows = session.execute(
        select(Classification, ModelVersion.name)
        .join(ModelVersion, ModelVersion.id == Classification.model_version_id)
        .where(Classification.post_id == post_id)
        .order_by(ModelVersion.created_at.desc())
    ).all()
    return _listed(post, [_model_label(label, name) for label, name in rows],
                   _human_labels(session, [post_id]).get(post_id, []))


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _listed(post: Post, labels: list[ModelLabel], humans: list[PersonLabel]) -> ListedPost:
    return ListedPost(post.id, _utc(post.created_at), post.source, post.lang, post.author, post.url, post.text, labels,
                      humans)


def _model_label(label: Classification, model: str) -> ModelLabel:
    return ModelLabel(
        model=model,
        relevant=bool(label.relevant),
        relevance_score=float(label.relevance_score),
        stance=label.stance,
        stance_probabilities={"pro_open": float(label.p_pro_open), "pro_closed": float(label.p_pro_closed),
                              "neutral": float(label.p_neutral)},
        sentiment=label.sentiment,
        sentiment_score=label.sentiment_score,
        sentiment_model=label.sentiment_model,
        aspects=[a for a in ASPECTS if getattr(label, a)],
        safety_concern=bool(label.safety_concern),
    )


def _human_labels(session: Session, post_ids: list[int]) -> dict[int, list[PersonLabel]]:
    if not post_ids:
        return {}
    found: dict[int, list[PersonLabel]] = {}
    for row in session.scalars(select(HumanLabel).where(HumanLabel.post_id.in_(post_ids))
                               .order_by(HumanLabel.labelled_at)):
        found.setdefault(row.post_id, []).append(PersonLabel(
            row.annotator, _utc(row.labelled_at), row.relevant, row.stance, row.sentiment, list(row.aspects or []),
            row.safety_concern))
    return found
