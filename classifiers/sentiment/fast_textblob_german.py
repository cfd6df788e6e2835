"""textblob-de's polarity without textblob-de's tagger: same lexicon, same rules, >20x faster.

textblob-de spends most of its time tagging every token with pattern's Brill tagger, only to lemmatise
it, then looks the lemmas up in ``de-sentiment.xml``. We replace the tagger by each word's most frequent
tag in pattern's own tagger lexicon, precomputing ``form -> lemma`` once per process, and keep the
scoring rules of ``pattern.text.Sentiment.assessments`` as they are, including their quirks (capitalised
nouns never match because lemmas are looked up lower-cased; a negation only flips the word right after
it). The lexicons are read from the installed textblob-de package, never copied into the project.
"""

from __future__ import annotations

import re
import string
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from classifiers.sentiment.base import LexiconScorer

# textblob-de drops every lemma that is a substring of string.punctuation ("!" too, so its
# exclamation-mark boost never fires).
_DROPPED_PUNCTUATION = string.punctuation


@dataclass(frozen=True)
class GermanLexicon:
    """Everything the fast scorer needs, derived once from textblob-de's data files."""

    polarity: dict[str, tuple[float, float]]  # lemma -> (polarity, intensity), averaged over POS
    modifiers: frozenset[str]  # lemmas with an adjective/adverb sense: they modify the next known word
    negations: frozenset[str]
    lemmas: dict[str, str]  # surface form -> lemma, where tagging by the most frequent tag changes it
    emoticons: dict[str, float]
    emoticon_pattern: re.Pattern[str]  # an emoticon glued to a word or quote still counts
    split_punctuation: str  # characters pattern's tokenizer splits off a token's ends


@lru_cache(maxsize=1)
def load_german_lexicon() -> GermanLexicon:
    """Build the lexicon tables from the installed textblob-de (about a second, once per process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from textblob_de.packages import pattern_de, pattern_text
        from textblob_de.sentiments import sentiment
    sentiment.load()
    polarity = {word: (float(scores[None][0]), float(scores[None][2])) for word, scores in sentiment.items()}
    modifiers = frozenset(
        word for word, scores in sentiment.items() if any(tag in scores for tag in sentiment.modifiers)
    )
    return GermanLexicon(
        polarity=polarity,
        modifiers=modifiers,
        negations=frozenset(sentiment.negations),
        lemmas=_lemma_table(pattern_de),
        emoticons={e.lower(): p for (_, p), faces in pattern_text.EMOTICONS.items() for e in faces},
        emoticon_pattern=_emoticon_pattern(face for faces in pattern_text.EMOTICONS.values() for face in faces),
        split_punctuation=pattern_text.PUNCTUATION,
    )


def _emoticon_pattern(faces: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(face) for face in sorted(faces, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})(?=$|[\s\"'.,!?])")


def _lemma_table(pattern_de: Any) -> dict[str, str]:
    """Lemmatise every word of pattern's tagger lexicon with its most frequent tag, as textblob-de would."""
    from textblob_de.ext._pattern.text.de import find_lemmata, stts2penntreebank

    lexicon = pattern_de.parser.lexicon
    lexicon.load()
    table = {}
    for word, stts_tag in dict.items(lexicon):
        _, tag = stts2penntreebank(word, stts_tag)
        lemma = find_lemmata([[word, tag]])[0][2].replace("ß", "ss")
        if lemma != word.lower():
            table[word] = lemma
    return table


def tokenize(text: str, lexicon: GermanLexicon) -> list[str]:
    """Split like pattern's tokenizer: on whitespace and "/", punctuation peeled off both ends."""
    tokens: list[str] = []
    split = lexicon.split_punctuation
    text = lexicon.emoticon_pattern.sub(lambda match: f" {match.group()} ", text)
    for chunk in text.replace("/", " ").split():
        if chunk.lower() in lexicon.emoticons:
            tokens.append(chunk)
            continue
        head = chunk.lstrip(split)
        tokens.extend(chunk[: len(chunk) - len(head)])
        word = head.rstrip(split)
        if word:
            tokens.append(word)
        tokens.extend(head[len(word) :])
    return tokens


def lemmatise(tokens: Iterable[str], lexicon: GermanLexicon) -> list[str]:
    """Lower-cased lemmas; punctuation dropped as textblob-de's lemmatiser drops it."""
    lemmas = []
    table = lexicon.lemmas
    for position, token in enumerate(tokens):
        if token in _DROPPED_PUNCTUATION:
            continue
        lemma = table.get(token)
        if lemma is None and position == 0:
            lemma = table.get(token.lower())
        if lemma is None:
            # Unknown to the tagger lexicon: pattern tags it as a noun and keeps the word. (Guessing
            # adjective lemmas here was tried and agreed less often with textblob-de.)
            lemma = token.lower().replace("ß", "ss")
        lemmas.append(lemma)
    return lemmas


def assess(lemmas: Sequence[str], lexicon: GermanLexicon) -> float:
    """Average polarity of the known lemmas, per ``pattern.text.Sentiment.assessments``."""
    scores: list[list[float]] = []  # [polarity, intensity, negated]
    modifier: str | None = None
    negation: str | None = None
    polarity, negations = lexicon.polarity, lexicon.negations
    for word in lemmas:
        known = polarity.get(word)
        if known is not None:
            p, intensity = known
            if modifier is None:
                scores.append([p, intensity, 1.0])
            else:  # "really good": the modifier's intensity scales this word, one assessment for both.
                previous = scores[-1]
                previous[0] = max(-1.0, min(p * previous[1], 1.0))
                previous[1] = intensity
            if negation is not None:
                scores[-1][1] = 1.0 / scores[-1][1]
                scores[-1][2] = -1.0
            modifier = word if word in lexicon.modifiers else None
            negation = word if word in negations else None
            continue
        if word in negations:
            negation = word
        elif negation and len(word.strip("'")) > 1:
            negation = None
        if negation is not None and modifier is not None and lexicon_modifier_suffix(modifier):
            scores[-1][2] = -1.0
            negation = None
        elif modifier and len(word) > 2:
            modifier = None
        if not word.isalpha() and len(word) <= 5:
            face = lexicon.emoticons.get(word)
            if face is not None:
                scores.append([face, 1.0, 1.0])
    if not scores:
        return 0.0
    # "not good" is slightly bad, "not bad" slightly good.
    return sum(p * -0.5 if negated < 0 else p for p, _, negated in scores) / len(scores)


def lexicon_modifier_suffix(word: str) -> bool:
    """textblob-de's rule for adverbs the lexicon lacks: words ending in -lich modify the next word."""
    return word.endswith("lich")


class FastTextBlobGermanScorer(LexiconScorer):
    """textblob-de's polarity from its lexicon and rules, with a lookup table instead of the tagger."""

    name = "fast-textblob-de"

    def polarity(self, texts: Sequence[str]) -> np.ndarray:
        lexicon = load_german_lexicon()
        return np.array([assess(lemmatise(tokenize(text, lexicon), lexicon), lexicon) for text in texts])
