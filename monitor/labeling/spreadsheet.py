"""Labels through a spreadsheet (CSV export and import) and agreement between annotators (Cohen's kappa)."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import MonitorError
from monitor.labeling.loop import Label, choose_posts, save_label
from monitor.tables import neutralise_formula
from storage.models import ASPECTS, SENTIMENTS, STANCES, HumanLabel, Post
from storage.queries import utcnow

POST_COLUMNS = ("post_id", "source", "created", "lang", "text")
LABEL_COLUMNS = ("relevant", "stance", "sentiment", "aspects", "safety_concern")
_TRUE, _FALSE = {"true", "yes", "y", "1", "ja", "j", "x"}, {"false", "no", "n", "0", "nein"}


def export_csv(session: Session, annotator: str, limit: int, model_version_id: int, path: Path) -> int:
    """Write the posts ``choose_posts`` picks, with empty label columns, for labelling in a spreadsheet.

    Returns the number of rows. Texts that a spreadsheet would run as a formula get a leading apostrophe.
    """
    candidates = choose_posts(session, annotator, limit, model_version_id)
    try:
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:  # the BOM makes Excel read UTF-8
            writer = csv.writer(handle)
            writer.writerow(POST_COLUMNS + LABEL_COLUMNS)
            for c in candidates:
                writer.writerow([c.post_id, c.source, f"{c.created_at:%Y-%m-%d}", c.lang or "",
                                 neutralise_formula(c.text)]
                                + [""] * len(LABEL_COLUMNS))
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write: {exc.strerror}") from None
    return len(candidates)


@dataclass
class LabelImport:
    stored: int = 0
    blank: int = 0
    errors: list[str] = field(default_factory=list)


def import_csv(session: Session, path: Path, annotator: str) -> LabelImport:
    """Store the labels of a filled-in export as ``annotator``'s; re-importing replaces, never duplicates.

    Rows with every label column empty are counted as blank and skipped. Each bad value becomes one error
    "FILE:LINE: COLUMN: problem"; the good rows are stored anyway. Blank aspects mean none and a blank
    safety_concern means false; a blank stance is allowed (as neutral) on off-topic rows only.
    """
    result, labels, lines, problems = LabelImport(), {}, {}, []
    for line, row in _read_rows(path):
        if not any((row.get(column) or "").strip() for column in LABEL_COLUMNS):
            result.blank += 1
            continue
        try:
            post_id = _parse_post_id(row)
            labels[post_id], lines[post_id] = _parse_label(row), line  # a later row for a post wins
        except ValueError as exc:
            problems.append((line, str(exc)))
    known = set(session.scalars(select(Post.id).where(Post.id.in_(list(labels))))) if labels else set()
    now = utcnow()
    for post_id, label in labels.items():
        if post_id not in known:
            problems.append((lines[post_id], f"post_id: no stored post has id {post_id}"))
            continue
        save_label(session, post_id, annotator, label, now)
        result.stored += 1
    result.errors = [f"{path.name}:{line}: {problem}" for line, problem in sorted(problems)]
    return result


def _read_rows(path: Path) -> Iterable[tuple[int, dict]]:
    """(line where the record starts, row) for each record; the delimiter is sniffed (German Excel uses ;)."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise MonitorError(f"{path}: not UTF-8 (byte {exc.start}); save the sheet as CSV UTF-8") from None
    try:
        dialect = csv.Sniffer().sniff(content.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": split records on \r and \n only, so line numbers match what a text editor shows.
    reader = csv.DictReader(io.StringIO(content, newline=""), dialect=dialect)
    missing = [c for c in ("post_id", "relevant", "sentiment") if c not in (reader.fieldnames or [])]
    if missing:
        raise MonitorError(f"{path}: missing column(s) {', '.join(missing)}; expected the columns of --export")
    start = reader.line_num + 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _parse_post_id(row: dict) -> int:
    value = (row.get("post_id") or "").strip()
    if not value.isdigit():
        raise ValueError(f"post_id: expected a post number, got {value!r}")
    return int(value)


def _parse_label(row: dict) -> Label:
    relevant = _parse_bool(row, "relevant", required=True)
    stance = (row.get("stance") or "").strip().lower() or ("neutral" if not relevant else "")
    if stance not in STANCES:
        raise ValueError(f"stance: expected one of {', '.join(STANCES)}, got {stance!r}")
    sentiment = (row.get("sentiment") or "").strip().lower()
    if sentiment not in SENTIMENTS:
        raise ValueError(f"sentiment: expected one of {', '.join(SENTIMENTS)}, got {sentiment!r}")
    aspects = [a for a in re.split(r"[\s,;|]+", (row.get("aspects") or "").strip().lower()) if a]
    unknown = [a for a in aspects if a not in ASPECTS]
    if unknown:
        raise ValueError(f"aspects: expected a subset of {', '.join(ASPECTS)}, got {', '.join(map(repr, unknown))}")
    concern = _parse_bool(row, "safety_concern", required=False)
    if not relevant and (stance != "neutral" or aspects or concern):
        column = "stance" if stance != "neutral" else "aspects" if aspects else "safety_concern"
        raise ValueError(f"{column}: off-topic rows (relevant=false) are neutral, with no aspects and no concern")
    return Label(relevant, stance, sentiment, tuple(a for a in ASPECTS if a in aspects), concern)


def _parse_bool(row: dict, column: str, required: bool) -> bool:
    value = (row.get(column) or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE or (value == "" and not required):
        return False
    raise ValueError(f"{column}: expected true or false, got {value!r}")


# --- agreement between annotators --------------------------------------------------------------------

AGREEMENT_FIELDS = ("relevant", "stance", "sentiment", "safety_concern")


@dataclass(frozen=True)
class Agreement:
    """Cohen's kappa per field for two annotators over the posts both labelled (NaN when undefined)."""

    first: str
    second: str
    posts: int
    kappa: dict[str, float]
    observed: dict[str, float]


def agreement(session: Session) -> list[Agreement]:
    """One Agreement per pair of annotators that labelled at least one post in common."""
    from sklearn.metrics import cohen_kappa_score

    by_annotator: dict[str, dict[int, HumanLabel]] = defaultdict(dict)
    for label in session.scalars(select(HumanLabel)):
        by_annotator[label.annotator][label.post_id] = label
    results = []
    for first, second in itertools.combinations(sorted(by_annotator), 2):
        shared = sorted(by_annotator[first].keys() & by_annotator[second].keys())
        if not shared:
            continue
        kappa, observed = {}, {}
        for name in AGREEMENT_FIELDS:
            pairs = [(getattr(by_annotator[first][p], name), getattr(by_annotator[second][p], name)) for p in shared]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
            a, b = [str(x) for x, _ in pairs], [str(y) for _, y in pairs]
            observed[name] = sum(x == y for x, y in zip(a, b)) / len(a) if a else math.nan
            # Kappa is 0/0 when both annotators gave one and the same value throughout.
            kappa[name] = float(cohen_kappa_score(a, b)) if len(set(a) | set(b)) > 1 else math.nan
        results.append(Agreement(first, second, len(shared), kappa, observed))
    return results
