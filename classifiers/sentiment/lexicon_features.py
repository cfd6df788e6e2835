"""Dense lexicon features for the learned scorers: what the lexicons know, with their blind spots fixed.

For German we look words up in textblob-de's own lexicon, but case-sensitively first (so that the
capitalised nouns it stores, "Katastrophe", finally match), through its lemma table, with the sign
flipped inside a negation scope and strengthened after an intensifier. For English VADER and TextBlob
already handle most of that, so their scores are used as they are. Emoji and emoticons get polarities
from VADER's lexicons in both languages: a smiley means the same in German.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from classifiers.sentiment.english_lexicons import textblob_analyzer, vader_analyzer
from classifiers.sentiment.fast_textblob_german import assess, lemmatise, load_german_lexicon
from classifiers.sentiment.tweet_tokens import TokenisedPost

#: VADER rates words from -4 to +4.
_VADER_SCALE = 4.0


@lru_cache(maxsize=1)
def emoji_polarity() -> dict[str, float]:
    """Emoji -> VADER compound score of its description (vaderSentiment's emoji_utf8_lexicon.txt)."""
    import vaderSentiment.vaderSentiment as vader_module

    analyzer = vader_analyzer()
    path = Path(vader_module.__file__).with_name("emoji_utf8_lexicon.txt")
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        emoji, _, description = line.partition("\t")
        if emoji and description:
            table[emoji] = analyzer.polarity_scores(description)["compound"]
    return table


@lru_cache(maxsize=1)
def emoticon_polarity() -> dict[str, float]:
    """Emoticons of VADER's lexicon (entries without letters, such as ``:)`` or ``<3``), on [-1, 1]."""
    return {
        token.lower(): score / _VADER_SCALE
        for token, score in vader_analyzer().lexicon.items()
        if not any(ch.isalpha() for ch in token.strip("xXDdPpOo"))
    }


def symbol_features(post: TokenisedPost) -> list[float]:
    """Summed emoji and emoticon polarity, split into positive and negative mass."""
    emoji, emoticons = emoji_polarity(), emoticon_polarity()
    scores = [emoji.get(e, 0.0) for e in post.emoji] + [emoticons.get(e.lower(), 0.0) for e in post.emoticons]
    return [sum(s for s in scores if s > 0), sum(-s for s in scores if s < 0)]


def shape_features(post: TokenisedPost, text: str) -> list[float]:
    """Counts that carry tone: ! and ?, elongations, shouting, hashtags, links, mentions, length."""
    return [
        min(post.exclamations, 5) / 5,
        min(post.questions, 5) / 5,
        min(post.elongated, 3) / 3,
        min(post.all_caps, 5) / 5,
        min(post.hashtags, 5) / 5,
        min(post.urls, 2) / 2,
        min(post.users, 3) / 3,
        min(post.intensifiers, 3) / 3,
        min(post.negations, 3) / 3,
        math.log1p(len(text)) / 8,
    ]


def domain_features(text: str) -> list[float]:
    """Where a text comes from, roughly: tweet-length or longer, one sentence or several, line breaks.

    GermEval's news snippets and customer feedback are long and mostly neutral while the tweet corpora
    are short and mostly polar; these indicators let the linear model learn a prior for each.
    """
    length = len(text)
    sentences = text.count(". ") + text.count("! ") + text.count("? ")
    return [
        float(length > 140),
        float(length > 280),
        float(length > 600),
        min(sentences, 10) / 10,
        float("\n" in text),
    ]


def german_lexicon_features(post: TokenisedPost, text: str) -> list[float]:
    """textblob-de's polarity, plus a negation-, case- and intensifier-aware re-scoring.

    The textblob-de polarity is computed on our own tokens (words, then emoticons) rather than by
    re-tokenising the text the way pattern does: that equals textblob-de's exact polarity on 98% of the
    SB10k + PotTS training texts (same sign on 98.7%) and takes a third of the time, which keeps the
    German scorer above its 20x throughput target.
    """
    lexicon = load_german_lexicon()
    textblob_polarity = assess(lemmatise(post.words + post.emoticons, lexicon), lexicon)
    positive = negative = 0.0
    hits = 0
    boost = 1.0
    for word, negated in zip(post.words, post.negated):
        lowered = word.lower()
        entry = lexicon.polarity.get(word) or lexicon.polarity.get(lexicon.lemmas.get(word, lowered))
        if entry is None:
            boost = 1.5 if lowered in _GERMAN_BOOSTERS else 1.0
            continue
        score = entry[0] * boost * (-0.7 if negated else 1.0)
        hits += 1
        boost = 1.0
        if score > 0:
            positive += score
        else:
            negative -= score
    scale = max(hits, 1)
    return [textblob_polarity, positive / scale, negative / scale, min(hits, 5) / 5, *symbol_features(post)]


def english_lexicon_features(post: TokenisedPost, text: str) -> list[float]:
    """VADER's four scores and TextBlob's polarity and subjectivity (both handle emoji/negation already)."""
    vader = vader_analyzer().polarity_scores(text)
    textblob = textblob_analyzer().analyze(text)
    return [
        vader["compound"],
        vader["pos"],
        vader["neg"],
        vader["neu"],
        textblob.polarity,
        textblob.subjectivity,
        *symbol_features(post),
    ]


_GERMAN_BOOSTERS = frozenset("sehr total extrem mega voll echt richtig besonders absolut wirklich".split())

LEXICON_FEATURES = {"de": german_lexicon_features, "en": english_lexicon_features}
