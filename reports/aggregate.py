"""The report's numbers, read from the rollup table the database keeps (``storage.models.Rollup``).

``count_cube`` reads ``rollups``: one row per (model version, day, source, language, label), kept equal to a
scan of the classifications by triggers, so a report costs the same on a million posts as on ten million.
``scan_cube`` counts the same cube from the posts themselves (the GROUP BY the rollup replaces); tests and
``stance status --check`` compare the two.

The scan groups by (UTC day, language, source, stance of relevant posts or "" for irrelevant ones) and sums
the boolean and sentiment columns. Grouping by stance instead of summing a CASE per stance keeps the
per-row work small, which matters on SQLite (it sorts every row for a GROUP BY). The result has a few
thousand rows at most; rolling it up to weeks, months, languages, sources or the previous period is then
arithmetic on that small table, never on posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, overload

import numpy as np
from sqlalchemy import Date, case, cast, false, func, literal, or_, select
from sqlalchemy.orm import Session

from reports.periods import as_date, bucket_start, start_of_day
from storage.models import ASPECTS, STANCES, Classification, Post, Rollup

DEMO_URL_PREFIX = "https://demo.stance-monitor.invalid/"
IRRELEVANT = ""

#: Summed columns of a query row, in SELECT order.
SUMMED = ("posts", *(f"aspect_{a}" for a in ASPECTS), "safety_concern", "sentiment_n", "sentiment_sum",
          "sentiment_sq", "demo")
_ONE_DAY = timedelta(days=1)
#: Posts dated more than this many days ahead of today are left out of every count.
FUTURE_DAYS = 2


def _ceiling() -> date:
    """The first day left out. A post dated in the future is a typo or a placeholder (9999-12-31); stored
    before import checked dates, it would stretch every period series to that year (or past the last date
    Python knows)."""
    return date.today() + timedelta(days=FUTURE_DAYS + 1)


@dataclass(frozen=True)
class Scope:
    """Which classifications a query sees: one model version, a UTC day range and optional filters."""

    #: None when no stance model is active yet: the scope then matches nothing.
    model_version_id: int | None
    first_day: date | None = None
    last_day: date | None = None
    langs: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None

    def where(self) -> list:
        if self.model_version_id is None:
            return [false()]
        conditions = [Classification.model_version_id == self.model_version_id,
                      Post.created_at < start_of_day(_ceiling())]
        if self.first_day is not None:
            conditions.append(Post.created_at >= start_of_day(self.first_day))
        if self.last_day is not None:
            conditions.append(Post.created_at < start_of_day(self.last_day) + _ONE_DAY)
        if self.langs:
            conditions.append(func.coalesce(Post.lang, "und").in_(self.langs))
        if self.sources:
            conditions.append(Post.source.in_(self.sources))
        return conditions

    def rollup_where(self) -> list:
        """The same scope on the rollup table (every filter of a Scope is one of its keys)."""
        if self.model_version_id is None:
            return [false()]
        conditions = [Rollup.model_version_id == self.model_version_id, Rollup.posts != 0,
                      Rollup.day < _ceiling()]
        if self.first_day is not None:
            conditions.append(Rollup.day >= self.first_day)
        if self.last_day is not None:
            conditions.append(Rollup.day <= self.last_day)
        if self.langs:
            conditions.append(Rollup.lang.in_(self.langs))
        if self.sources:
            conditions.append(Rollup.source.in_(self.sources))
        return conditions


def day_expression(dialect: str, column):
    """The UTC calendar day of a timestamp: a date on PostgreSQL, 'YYYY-MM-DD' text on SQLite."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    # SQLAlchemy stores SQLite DateTimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here): the first ten
    # characters are the day, and slicing is several times cheaper than date() on a million rows.
    return func.substr(column, 1, 10)


@dataclass(frozen=True)
class Cube:
    """Summed counts per (day, lang, source, stance-or-irrelevant) key."""

    days: np.ndarray  # datetime64[D]
    langs: np.ndarray
    sources: np.ndarray
    kinds: np.ndarray  # a stance, or IRRELEVANT
    values: np.ndarray  # shape (rows, len(SUMMED))

    @property
    def empty(self) -> bool:
        return len(self.days) == 0

    def first_day(self) -> date | None:
        return None if self.empty else self.days.min().astype(object)

    def last_day(self) -> date | None:
        return None if self.empty else self.days.max().astype(object)

    def within(self, first: date | None, last: date | None) -> Cube:
        mask = np.ones(len(self.days), dtype=bool)
        if first is not None:
            mask &= self.days >= np.datetime64(first, "D")
        if last is not None:
            mask &= self.days <= np.datetime64(last, "D")
        return self._rows(mask)

    def total(self) -> dict[str, float]:
        return _counts(self.kinds, self.values)

    def cells(self) -> dict[tuple[str, str], dict[str, int]]:
        """Decided-relevant posts per stance, per (source, language): the groups that prevalence correction
        treats apart, since the classifier errs at different rates on different communities."""
        result: dict[tuple[str, str], dict[str, int]] = {}
        for source, lang, kind, posts in zip(self.sources, self.langs, self.kinds, self.values[:, 0]):
            if kind != IRRELEVANT:
                cell = result.setdefault((str(source), str(lang)), dict.fromkeys(STANCES, 0))
                cell[kind] += int(posts)
        return result

    @overload
    def split(self, dimension: Literal["bucket"], freq: str) -> dict[date, Cube]: ...
    @overload
    def split(self, dimension: Literal["lang", "source"]) -> dict[str, Cube]: ...
    def split(self, dimension: str, freq: str | None = None) -> dict[Any, Cube]:
        """One cube per language ("lang"), source ("source") or period start ("bucket", with ``freq``), in
        order of first appearance."""
        if dimension == "bucket":
            assert freq is not None, "splitting into periods needs freq"
            labels = [bucket_start(d, freq) for d in self.days.astype(object)]
        else:
            labels = {"lang": self.langs, "source": self.sources}[dimension].tolist()
        rows: dict[Any, list[int]] = {}
        for index, label in enumerate(labels):
            rows.setdefault(label, []).append(index)
        return {label: self._rows(np.array(indices)) for label, indices in rows.items()}

    @overload
    def rolled_up(self, dimension: Literal["bucket"], freq: str) -> dict[date, dict[str, float]]: ...
    @overload
    def rolled_up(self, dimension: Literal["lang", "source"]) -> dict[str, dict[str, float]]: ...
    def rolled_up(self, dimension: str, freq: str | None = None) -> dict[Any, dict[str, float]]:
        """Counts per language ("lang"), source ("source") or period start ("bucket", with ``freq``)."""
        return {label: part.total() for label, part in self.split(dimension, freq).items()}  # type: ignore[call-overload]

    def _rows(self, index: np.ndarray) -> Cube:
        return Cube(self.days[index], self.langs[index], self.sources[index], self.kinds[index], self.values[index])


EMPTY_CUBE = Cube(np.array([], dtype="datetime64[D]"), np.array([], dtype=object), np.array([], dtype=object),
                  np.array([], dtype=object), np.zeros((0, len(SUMMED))))


def _counts(kinds: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """The report's count fields: all posts, relevant posts per stance, and sums over relevant posts."""
    column = {name: values[:, i] for i, name in enumerate(SUMMED)}
    relevant = kinds != IRRELEVANT
    counts = {"posts": float(column["posts"].sum()), "relevant": float(column["posts"][relevant].sum()),
              "demo": float(column["demo"].sum())}
    for stance in STANCES:
        counts[f"stance_{stance}"] = float(column["posts"][kinds == stance].sum())
    for name in SUMMED[1:-1]:
        counts[name] = float(column[name][relevant].sum())
    return counts


def _touches(aspect: str):
    """A post touches an aspect when the aspect head says so; a post voicing a safety concern touches
    safety whatever that head says, so the share voicing a concern never exceeds the share touching safety."""
    touched = getattr(Classification, aspect).is_(True)
    return or_(touched, Classification.safety_concern.is_(True)) if aspect == "safety" else touched


def count_cube(session: Session, scope: Scope) -> Cube:
    """The scope's counts, from the rollup table (see the module docstring)."""
    sums = [Rollup.posts, *(getattr(Rollup, f"aspect_{a}") for a in ASPECTS), Rollup.safety_concern,
            Rollup.sentiment_n, Rollup.sentiment_sum, Rollup.sentiment_sq, Rollup.demo]
    stmt = select(Rollup.day, Rollup.lang, Rollup.source, Rollup.label, *sums).where(*scope.rollup_where())
    return _cube(session.execute(stmt).all())


def scan_cube(session: Session, scope: Scope) -> Cube:
    """The scope's counts by one GROUP BY over classifications and posts: what the rollup must equal."""
    dialect = session.get_bind().dialect.name
    day = day_expression(dialect, Post.created_at)
    kind = case((Classification.relevant.is_(True), Classification.stance), else_=literal(IRRELEVANT))
    is_demo = case((func.substr(Post.url, 1, len(DEMO_URL_PREFIX)) == DEMO_URL_PREFIX, 1), else_=0)
    score = Classification.sentiment_score
    keys = [day, func.coalesce(Post.lang, "und"), Post.source, kind]
    stmt = (
        select(
            *keys,
            func.count(),
            *(func.sum(case((_touches(a), 1), else_=0)) for a in ASPECTS),
            func.sum(case((Classification.safety_concern.is_(True), 1), else_=0)),
            func.count(score),
            func.coalesce(func.sum(score), 0.0),
            func.coalesce(func.sum(score * score), 0.0),
            func.sum(is_demo),
        )
        .select_from(Classification)
        .join(Post, Classification.post_id == Post.id)
        .where(*scope.where())
        .group_by(*keys)
    )
    return _cube(session.execute(stmt).all())


def _cube(rows) -> Cube:
    width = len(SUMMED)
    return Cube(
        days=np.array([np.datetime64(as_date(r[0]), "D") for r in rows], dtype="datetime64[D]"),
        langs=np.array([r[1] for r in rows], dtype=object),
        sources=np.array([r[2] for r in rows], dtype=object),
        kinds=np.array([r[3] or IRRELEVANT for r in rows], dtype=object),
        values=np.array([[float(v or 0) for v in r[4:]] for r in rows], dtype=float).reshape(len(rows), width),
    )
