"""The labelling page: ``stance label`` in the browser, with the same posts, keys and storage.

Posts come from ``monitor.labeling.loop.choose_posts`` and labels go through its ``save_label`` and
``remove_label`` into ``HumanLabel``, one row per post and annotator, exactly as in the terminal. A sitting
(who labels, which posts they labelled and skipped in it) lives in the URL, so a reload, the back button or
closing the tab loses nothing, and coming back resumes where the annotator stopped: labelled posts are never
offered again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from monitor.labeling.loop import (
    ASPECT_KEYS,
    COMMANDS,
    CONCERN_KEYS,
    RELEVANT_KEYS,
    SENTIMENT_KEYS,
    STANCE_KEYS,
    Candidate,
    Label,
    candidate,
    choose_posts,
    labelled_by,
)
from monitor.web.filters import BadRequest

#: Candidates fetched per refill: choosing reads every classified post, so it is done once per batch.
BATCH = 50
MAX_SITTING = 1000


@dataclass(frozen=True)
class Question:
    name: str
    prompt: str
    #: key -> form value; the same keys as in the terminal.
    keys: dict[str, str]
    multiple: bool = False
    #: Asked of relevant posts only (off-topic posts get the sentiment question alone, as in the terminal).
    relevant_only: bool = False


def _values(keys: Mapping[str, object]) -> dict[str, str]:
    return {key: _form_value(value) for key, value in keys.items()}


def _form_value(value: object) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


QUESTIONS = (
    Question("relevant", "Is the post about the topic?", _values(RELEVANT_KEYS)),
    Question("stance", "Stance?", _values(STANCE_KEYS), relevant_only=True),
    Question("sentiment", "Sentiment?", _values(SENTIMENT_KEYS)),
    Question("aspects", "Aspects (toggle; Enter when done)", _values(ASPECT_KEYS), multiple=True,
             relevant_only=True),
    Question("safety_concern", "Worried about the risks of open release?", _values(CONCERN_KEYS),
             relevant_only=True),
)
#: s skip, u undo, q quit: the terminal's navigation keys.
NAVIGATION = dict(COMMANDS)


@dataclass(frozen=True)
class Sitting:
    annotator: str
    #: Posts labelled in this sitting, oldest first; undo takes back the last.
    done: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()

    def query(self, **extra: object) -> str:
        params = {"annotator": self.annotator, "done": _ids_text(self.done), "skipped": _ids_text(self.skipped)}
        params.update({key: str(value) for key, value in extra.items() if value is not None})
        return urlencode({key: value for key, value in params.items() if value})


def _ids_text(ids: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in ids)


def parse_sitting(params: Mapping[str, str | None]) -> Sitting | None:
    """The sitting in a query string or form; None when no annotator is named yet."""
    name = (params.get("annotator") or "").strip()
    if not name:
        return None
    if len(name) > 64:
        raise BadRequest("annotator: expected a name of 1 to 64 characters")
    return Sitting(name, _ids(params.get("done"), "done"), _ids(params.get("skipped"), "skipped"))


def _ids(value: str | None, name: str) -> tuple[int, ...]:
    parts = [p for p in (value or "").split(",") if p.strip()]
    if len(parts) > MAX_SITTING:
        raise BadRequest(f"{name}: more than {MAX_SITTING} posts in one sitting; start a new one")
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise BadRequest(f"{name}: expected post ids separated by commas") from None


def post_id_field(value: str | None, name: str = "post_id") -> int:
    try:
        return int(value or "")
    except ValueError:
        raise BadRequest(f"{name}: expected a post id, got {value!r}") from None


def label_from_form(form: Mapping[str, object], aspects: list[str]) -> Label:
    """The Label a submitted form describes; raises BadRequest naming the field that is wrong."""
    relevant = _choice(form, QUESTIONS[0])
    sentiment = _choice(form, QUESTIONS[2])
    try:
        if relevant == "no":
            return Label(False, "neutral", sentiment)
        stance = _choice(form, QUESTIONS[1])
        names = dict(_values(ASPECT_KEYS).items())
        unknown = [a for a in aspects if a not in names.values()]
        if unknown:
            raise BadRequest(f"aspects: unknown aspect {unknown[0]!r}")
        concern = _choice(form, QUESTIONS[4])
        return Label(True, stance, sentiment, tuple(a for a in names.values() if a in aspects), concern == "yes")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _choice(form: Mapping[str, object], question: Question) -> str:
    value = str(form.get(question.name) or "")
    if value not in question.keys.values():
        raise BadRequest(f"{question.name}: expected one of {', '.join(question.keys.values())}, got {value!r}")
    return value


class LabelQueue:
    """The posts to offer each annotator next, refilled from ``choose_posts`` a batch at a time."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, int], list[int]] = {}
        self._lock = threading.Lock()

    def next(self, session: Session, annotator: str, version_id: int, skipped: tuple[int, ...],
             first: int | None = None) -> Candidate | None:
        """``first`` (the post an undo took back) when it is unlabelled, else the next unlabelled, unskipped
        candidate. Raises MonitorError when the model version has classified nothing yet."""
        if first is not None and not labelled_by(session, annotator, [first]):
            found = candidate(session, first)
            if found is not None:
                return found
        key = (annotator, version_id)
        with self._lock:
            cached = self._ids.get(key)
        # A cached batch is used up first; when nothing in it is left, choose a fresh batch once.
        for ids in ([cached] if cached else []) + [None]:
            if ids is None:
                ids = [c.post_id for c in choose_posts(session, annotator, BATCH + len(skipped), version_id)]
            done = labelled_by(session, annotator, ids)
            ids = [i for i in ids if i not in done]
            with self._lock:
                self._ids[key] = ids
            for post_id in ids:
                if post_id not in skipped and (found := candidate(session, post_id)) is not None:
                    return found
        return None
