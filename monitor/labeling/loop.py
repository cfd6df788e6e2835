"""Human labels for active learning: which posts to label, and asking for labels one key at a time.

Posts worth a human's time are those the active model is least sure about, spread over months, sources
and languages so that one noisy week or platform does not eat the whole batch, and never near-duplicates
of posts already labelled (a second copy of a labelled retweet teaches the model nothing). Labels follow the
project's labelling rules and land in ``HumanLabel``, one row per post and annotator, which
``monitor.model_registry.stored_labels`` reads when ``stance train`` retrains. Spreadsheet round trips and
agreement between annotators live in ``monitor.labeling.spreadsheet``; the browser's labelling page in
``monitor.web.labeling``.

Functions taking a Session leave the transaction to the caller; ``annotate`` takes a session factory
because it commits after every post, so quitting (or a crash) keeps everything labelled so far.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.patterns import URL
from monitor.errors import MonitorError
from storage.models import ASPECTS, SENTIMENTS, STANCES, Classification, HumanLabel, Post
from storage.queries import utcnow

#: Two posts whose texts agree in their first this-many normalised characters count as near-duplicates.
PREFIX_CHARS = 60
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Label:
    """One human judgement of a post. Off-topic posts are neutral, with no aspects and no safety concern."""

    relevant: bool
    stance: str
    sentiment: str
    aspects: tuple[str, ...] = ()
    safety_concern: bool = False

    def __post_init__(self) -> None:
        if self.stance not in STANCES:
            raise ValueError(f"stance: expected one of {', '.join(STANCES)}, got {self.stance!r}")
        if self.sentiment not in SENTIMENTS:
            raise ValueError(f"sentiment: expected one of {', '.join(SENTIMENTS)}, got {self.sentiment!r}")
        unknown = [a for a in self.aspects if a not in ASPECTS]
        if unknown:
            raise ValueError(f"aspects: expected a subset of {', '.join(ASPECTS)}, got {', '.join(unknown)}")
        if not self.relevant and (self.stance != "neutral" or self.aspects or self.safety_concern):
            raise ValueError("off-topic posts (relevant=false) have stance neutral, no aspects, no safety concern")


@dataclass(frozen=True)
class Candidate:
    """A post offered for labelling; carries no author, which annotators must never see."""

    post_id: int
    source: str
    created_at: datetime
    lang: str | None
    text: str
    uncertainty: float


# --- choosing posts ----------------------------------------------------------------------------------


def uncertainty(relevance_score: float, stance_proba: Iterable[float]) -> float:
    """How unsure the model is, in [0, 1]: relevance near 0.5, or an even stance split on a relevant post.

    Stance entropy is weighted by the relevance score because the stance of a clearly off-topic post is
    ignored anyway; labelling it would not change any chart.
    """
    relevance_doubt = 1.0 - abs(2.0 * relevance_score - 1.0)
    proba = [max(p, 0.0) for p in stance_proba]
    total = sum(proba) or 1.0
    entropy = -sum(p / total * math.log(p / total) for p in proba if p > 0) / math.log(len(STANCES))
    return max(relevance_doubt, relevance_score * entropy)


def near_duplicate_key(text: str) -> str:
    """The first PREFIX_CHARS characters after case folding and dropping links and punctuation.

    Shared news headlines with different comments, or the same post with another short link, agree here.
    """
    return " ".join(_NOT_WORD.sub(" ", URL.sub(" ", text.casefold())).split())[:PREFIX_CHARS]


def choose_posts(session: Session, annotator: str, limit: int, model_version_id: int) -> list[Candidate]:
    """Up to ``limit`` posts worth labelling, most uncertain first within round-robin over buckets.

    Buckets are (month, source, language). Skips posts ``annotator`` labelled, and posts that are
    near-duplicates (same content hash or same normalised prefix) of a different labelled post or of one
    already chosen. Posts labelled only by other annotators stay eligible, so that agreement can be
    measured. Raises MonitorError when the model version has classified nothing yet.
    """
    if not session.scalar(select(func.count(Classification.id)).where(
            Classification.model_version_id == model_version_id)):
        raise MonitorError("the active model version has classified no posts yet; run `stance classify` first")
    mine = select(HumanLabel.post_id).where(HumanLabel.annotator == annotator)
    text_start = func.substr(Post.text, 1, PREFIX_CHARS * 4)  # enough raw text for 60 normalised characters
    rows = session.execute(
        select(Post.id, Post.source, Post.lang, Post.created_at, Post.content_hash, text_start,
               Classification.relevance_score, Classification.p_pro_open, Classification.p_pro_closed,
               Classification.p_neutral)
        .join(Classification, Classification.post_id == Post.id)
        .where(Classification.model_version_id == model_version_id, Post.id.not_in(mine))
    ).all()
    taken = _labelled_keys(session)
    buckets: dict[tuple, list] = defaultdict(list)
    for row in rows:
        score = uncertainty(row.relevance_score, (row.p_pro_open, row.p_pro_closed, row.p_neutral))
        buckets[(f"{row.created_at:%Y-%m}", row.source, row.lang or "?")].append((score, row))
    for bucket in buckets.values():
        bucket.sort(key=lambda item: (-item[0], item[1].id))
    # Buckets whose best post is most uncertain go first in every round.
    ordered = sorted(buckets.values(), key=lambda bucket: (-bucket[0][0], bucket[0][1].id))
    chosen: list[tuple[float, int]] = []
    for score, row in _round_robin(ordered):
        if len(chosen) >= limit:
            break
        prefix = near_duplicate_key(row[5])  # empty for emoji-only posts, which are not all alike
        keys = (("hash", row.content_hash),) + ((("prefix", prefix),) if prefix else ())
        if any(taken.get(key, row.id) != row.id for key in keys):
            continue
        for key in keys:
            taken[key] = row.id
        chosen.append((score, row.id))
    return _load_candidates(session, chosen)


def _round_robin(buckets: list[list]) -> Iterable:
    for layer in itertools.zip_longest(*buckets):
        yield from (item for item in layer if item is not None)


def _labelled_keys(session: Session) -> dict[tuple[str, str], int]:
    """Near-duplicate keys of every labelled post (any annotator) -> that post's id."""
    labelled = select(HumanLabel.post_id)
    rows = session.execute(
        select(Post.id, Post.content_hash, func.substr(Post.text, 1, PREFIX_CHARS * 4)).where(Post.id.in_(labelled))
    ).all()
    keys: dict[tuple[str, str], int] = {}
    for post_id, content_hash, text in (row[:] for row in rows):  # a slice: mypy reads a Row unpacked as objects
        keys.setdefault(("hash", content_hash), post_id)
        if near_duplicate_key(text):
            keys.setdefault(("prefix", near_duplicate_key(text)), post_id)
    return keys


def candidate(session: Session, post_id: int) -> Candidate | None:
    """The post ``post_id`` as a Candidate (to ask it again after an undo), None when it does not exist."""
    found = _load_candidates(session, [(0.0, post_id)]) if session.get(Post, post_id) else []
    return found[0] if found else None


def labelled_by(session: Session, annotator: str, post_ids: Iterable[int]) -> set[int]:
    """Which of ``post_ids`` ``annotator`` has labelled."""
    ids = list(post_ids)
    if not ids:
        return set()
    return set(session.scalars(select(HumanLabel.post_id).where(HumanLabel.annotator == annotator,
                                                                HumanLabel.post_id.in_(ids))))


def _load_candidates(session: Session, chosen: list[tuple[float, int]]) -> list[Candidate]:
    ids = [post_id for _, post_id in chosen]
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(ids)))} if ids else {}
    return [
        Candidate(post_id, posts[post_id].source, posts[post_id].created_at, posts[post_id].lang,
                  posts[post_id].text, round(score, 4))
        for score, post_id in chosen
    ]


# --- storing labels ----------------------------------------------------------------------------------


def save_label(session: Session, post_id: int, annotator: str, label: Label, at: datetime | None = None) -> None:
    """Insert or replace ``annotator``'s label of ``post_id`` (one row per post and annotator)."""
    row = session.scalar(select(HumanLabel).where(HumanLabel.post_id == post_id, HumanLabel.annotator == annotator))
    if row is None:
        row = HumanLabel(post_id=post_id, annotator=annotator)
        session.add(row)
    row.labelled_at = at or utcnow()
    row.relevant, row.stance, row.sentiment = label.relevant, label.stance, label.sentiment
    row.aspects, row.safety_concern = list(label.aspects), label.safety_concern
    session.flush()


def remove_label(session: Session, post_id: int, annotator: str) -> bool:
    row = session.scalar(select(HumanLabel).where(HumanLabel.post_id == post_id, HumanLabel.annotator == annotator))
    if row is not None:
        session.delete(row)
        session.flush()
    return row is not None


# --- labelling in the terminal -----------------------------------------------------------------------

#: One key per answer. "s", "u" and "q" are taken by skip, undo and quit, hence sa[f]ety and neu[t]ral.
COMMANDS = {"s": "skip", "u": "undo", "q": "quit"}
RELEVANT_KEYS = {"y": True, "n": False}
STANCE_KEYS = {"o": "pro_open", "c": "pro_closed", "n": "neutral"}
SENTIMENT_KEYS = {"p": "positive", "n": "negative", "t": "neutral"}
ASPECT_KEYS = {"f": "safety", "c": "competition", "g": "governance", "l": "local_ai"}
CONCERN_KEYS = {"y": True, "n": False}
ENTER = ("\r", "\n", "")
HELP = "keys: s skip post, u undo (back to the previous post), q quit (resume later)"


class _Navigate(Exception):
    """Leaves the questions of the current post: skip, undo or quit."""


@dataclass
class AnnotationSummary:
    labelled: int = 0
    skipped: int = 0
    undone: int = 0
    offered: int = 0
    quit: bool = False
    post_ids: list[int] = field(default_factory=list)


def annotate(
    sessions: sessionmaker[Session],
    annotator: str,
    model_version_id: int,
    ask: Callable[[str], str],
    show: Callable[[str], None],
    limit: int = 50,
) -> AnnotationSummary:
    """Ask ``annotator`` for labels until ``limit`` posts are labelled or they quit; commits every post.

    Posts come from ``choose_posts`` (with spares for skipped ones), so running again resumes where the
    last run stopped. ``ask(prompt)`` returns one key and raises EOFError when input ends (treated as
    quit); ``show(text)`` displays text. Undo deletes the previous post's label and asks it again.
    """
    with sessions() as session:
        candidates = choose_posts(session, annotator, 2 * limit + 10, model_version_id)
    summary = AnnotationSummary(offered=len(candidates))
    queue = deque(candidates)
    history: list[Candidate] = []
    show(HELP)
    while queue and summary.labelled < limit:
        candidate = queue.popleft()
        show(render(candidate, summary.labelled + 1, limit))
        try:
            label = ask_label(ask, show)
        except (_Navigate, EOFError) as exc:
            command = str(exc) if isinstance(exc, _Navigate) else "quit"
            if command == "quit":
                summary.quit = True
                break
            if command == "skip":
                summary.skipped += 1
                continue
            queue.appendleft(candidate)
            if not history:
                show("nothing to undo")
                continue
            previous = history.pop()
            with sessions.begin() as session:
                remove_label(session, previous.post_id, annotator)
            queue.appendleft(previous)
            summary.labelled, summary.undone = summary.labelled - 1, summary.undone + 1
            summary.post_ids.remove(previous.post_id)
            continue
        with sessions.begin() as session:
            save_label(session, candidate.post_id, annotator, label)
        history.append(candidate)
        summary.labelled += 1
        summary.post_ids.append(candidate.post_id)
    return summary


def render(candidate: Candidate, position: int, limit: int) -> str:
    lang = candidate.lang or "unknown language"
    return (f"\n── {position}/{limit} · post {candidate.post_id} · {candidate.source} · "
            f"{candidate.created_at:%Y-%m-%d} · {lang} ──\n{candidate.text}\n")


def ask_label(ask: Callable[[str], str], show: Callable[[str], None]) -> Label:
    """The questions for one post, in LABELING.md's order; off-topic posts get only the sentiment question."""
    relevant = _choose(ask, show, "relevant? [y]es [n]o", RELEVANT_KEYS)
    if not relevant:
        return Label(False, "neutral", _choose(ask, show, "sentiment? [p]ositive [n]egative neu[t]ral", SENTIMENT_KEYS))
    stance = _choose(ask, show, "stance? pro_[o]pen pro_[c]losed [n]eutral", STANCE_KEYS)
    sentiment = _choose(ask, show, "sentiment? [p]ositive [n]egative neu[t]ral", SENTIMENT_KEYS)
    aspects = _choose_aspects(ask, show)
    concern = _choose(ask, show, "worried about the risks of open release? [y]es [n]o", CONCERN_KEYS)
    return Label(True, stance, sentiment, aspects, concern)


def _choose(ask: Callable[[str], str], show: Callable[[str], None], prompt: str, keys: dict):
    while True:
        key = ask(prompt).strip().lower()[:1]
        if not key:  # a stray Enter
            continue
        if key in keys:
            return keys[key]
        if key in COMMANDS:
            raise _Navigate(COMMANDS[key])
        show(f"unknown key {key!r}; {prompt}  ({HELP})")


def _choose_aspects(ask: Callable[[str], str], show: Callable[[str], None]) -> tuple[str, ...]:
    selected: set[str] = set()
    while True:
        marks = " ".join(f"[{'x' if name in selected else ' '}] {key}={name}" for key, name in ASPECT_KEYS.items())
        key = ask(f"aspects (toggle, Enter when done): {marks}")
        if key in ENTER:
            return tuple(a for a in ASPECTS if a in selected)
        key = key.strip().lower()[:1]
        if key in ASPECT_KEYS:
            selected ^= {ASPECT_KEYS[key]}
        elif key in COMMANDS:
            raise _Navigate(COMMANDS[key])
        else:
            show(f"unknown key {key!r}; toggle with {', '.join(ASPECT_KEYS)}, finish with Enter")


# --- spreadsheet round trip --------------------------------------------------------------------------
