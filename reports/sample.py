"""An evenly spread sample of relevant posts, for the term statistics and the representative posts.

Reading every post's text would make the report's cost grow with the corpus. The sample is systematic on the
post id, which spreads it over the whole period because ids grow with collection time, and needs no sort
(unlike ORDER BY random()). Where the scope holds many more relevant posts than the sample needs, the sample
probes evenly spaced ids through the primary key, so its cost does not grow with the corpus; small scopes are
read whole (every post, or every stride-th one by a modulo on the id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reports.aggregate import Scope
from storage.models import STANCES, Classification, Post

SAMPLE_SIZE = 20_000
#: A representative post must fit a few lines on the page, and say something.
SHORT_POST_CHARS = 280
MIN_POST_CHARS = 30


@dataclass(frozen=True)
class SampledPost:
    stance: str
    probability: float
    created_at: datetime | str
    lang: str | None
    source: str
    author: str | None
    text: str


def sample_posts(session: Session, scope: Scope, relevant_total: int) -> list[SampledPost]:
    """About SAMPLE_SIZE relevant posts of the scope, with the probability of their predicted stance."""
    if relevant_total <= 0:
        return []
    stride = max(1, relevant_total // SAMPLE_SIZE)
    stmt = (
        select(Classification.stance, Classification.p_pro_open, Classification.p_pro_closed,
               Classification.p_neutral, Post.created_at, Post.lang, Post.source, Post.author, Post.text)
        .join(Post, Classification.post_id == Post.id)
        .where(*scope.where(), Classification.relevant.is_(True))
    )
    probes = _probe_ids(session, scope, relevant_total) if stride > 1 else None
    if probes is not None:
        rows = [row for start in range(0, len(probes), _PROBE_CHUNK)
                for row in session.execute(stmt.where(Post.id.in_(probes[start : start + _PROBE_CHUNK])))]
    else:
        if stride > 1:
            stmt = stmt.where(Post.id % stride == 0)
        rows = list(session.execute(stmt.limit(SAMPLE_SIZE * 2)))
    posts = []
    for stance, p_open, p_closed, p_neutral, created_at, lang, source, author, text in rows:
        probability = {"pro_open": p_open, "pro_closed": p_closed, "neutral": p_neutral}.get(stance, 0.0)
        posts.append(SampledPost(stance, float(probability or 0.0), created_at, lang, source, author, text))
    return posts


_PROBE_CHUNK = 5000


def _probe_ids(session: Session, scope: Scope, relevant_total: int) -> list[int] | None:
    """Evenly spaced ids of the version's classified posts, as many as should hold about SAMPLE_SIZE
    relevant posts of the scope; None where that would be most of the ids (then a scan is as cheap)."""
    # Two queries: SQLite answers a lone min() or max() from the index's ends, both together by a scan.
    of_version = Classification.model_version_id == scope.model_version_id
    first = session.scalar(select(func.min(Classification.post_id)).where(of_version))
    last = session.scalar(select(func.max(Classification.post_id)).where(of_version))
    if first is None or last is None:
        return None
    span = last - first + 1
    wanted = int(SAMPLE_SIZE * span / relevant_total)
    if wanted * 2 >= span:
        return None
    step = span / wanted
    return [first + int(i * step) for i in range(wanted)]


def representative_posts(sample: list[SampledPost], per_stance: int = 3) -> list[SampledPost]:
    """The short posts of each stance the model was most confident about (authors as stored: pseudonyms)."""
    chosen = []
    for stance in STANCES:
        candidates = [p for p in sample if p.stance == stance
                      and MIN_POST_CHARS <= len(p.text.strip()) <= SHORT_POST_CHARS]
        candidates.sort(key=lambda p: (-p.probability, str(p.created_at)), reverse=False)
        seen: set[str] = set()
        for post in candidates:
            # Reposts and copy-paste campaigns repeat the same text; show it once.
            key = " ".join(post.text.lower().split())
            if key in seen:
                continue
            seen.add(key)
            chosen.append(post)
            if len(seen) == per_stance:
                break
    return chosen
