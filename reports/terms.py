"""What each side says: top hashtags and distinctive terms per stance, from a sample of relevant posts.

Distinctiveness is the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
"Fightin' Words"), stance vs. the other two stances, as a z-score. The prior (all stances pooled) shrinks
rare words towards zero, so a word used twice by one side does not top the list.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from classifiers.patterns import URL
from reports.stopwords import STOPWORDS
from storage.models import STANCES

PRIOR_STRENGTH = 500.0
MIN_TERM_COUNT = 3

_HASHTAG = re.compile(r"#(\w[\w-]*\w|\w)")
_MENTION = re.compile(r"[@＠]\w[\w.-]*")
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]")


@dataclass(frozen=True)
class StanceTerms:
    stance: str
    posts: int
    hashtags: list[tuple[str, int]]
    distinctive: list[tuple[str, float]]


def tokenise(text: str) -> tuple[list[str], list[str]]:
    """(words, hashtags) of one post: lower-cased, URLs and mentions removed, stopwords dropped."""
    text = _MENTION.sub(" ", URL.sub(" ", text.lower()))
    hashtags = ["#" + tag for tag in _HASHTAG.findall(text)]
    text = _HASHTAG.sub(" ", text)
    words = [w.strip("'’-") for w in _WORD.findall(text)]
    return [w for w in words if len(w) > 2 and w not in STOPWORDS], hashtags


def stance_terms(samples: list[tuple[str, str]], top: int = 10) -> list[StanceTerms]:
    words: dict[str, Counter] = {s: Counter() for s in STANCES}
    tags: dict[str, Counter] = {s: Counter() for s in STANCES}
    posts: Counter[str] = Counter()
    for stance, text in samples:
        if stance not in words:
            continue
        post_words, post_tags = tokenise(text)
        words[stance].update(post_words)
        tags[stance].update(post_tags)
        posts[stance] += 1
    scores = distinctive_terms(words)
    return [
        StanceTerms(s, posts[s], tags[s].most_common(top), scores[s][:top])
        for s in STANCES
    ]


def distinctive_terms(counts: dict[str, Counter]) -> dict[str, list[tuple[str, float]]]:
    """Per group, terms with positive z-scores of log-odds vs. all other groups, best first."""
    pooled: Counter[str] = Counter()
    for counter in counts.values():
        pooled.update(counter)
    pooled_total = sum(pooled.values())
    result: dict[str, list[tuple[str, float]]] = {}
    for group, counter in counts.items():
        n_group = sum(counter.values())
        n_rest = pooled_total - n_group
        scored = []
        if n_group and n_rest:
            for term, y_group in counter.items():
                if y_group < MIN_TERM_COUNT:
                    continue
                prior = PRIOR_STRENGTH * pooled[term] / pooled_total
                y_rest = pooled[term] - y_group
                other_group = n_group + PRIOR_STRENGTH - y_group - prior
                other_rest = n_rest + PRIOR_STRENGTH - y_rest - prior
                if other_group <= 0 or other_rest <= 0:
                    continue  # a term that is (nearly) every token of a side has no odds to compare
                delta = (math.log((y_group + prior) / other_group) - math.log((y_rest + prior) / other_rest))
                z = delta / math.sqrt(1 / (y_group + prior) + 1 / (y_rest + prior))
                if z > 1e-9:  # a term used alike by every side scores 0 up to rounding: not distinctive
                    scored.append((term, z))
        result[group] = sorted(scored, key=lambda item: (-item[1], item[0]))
    return result
