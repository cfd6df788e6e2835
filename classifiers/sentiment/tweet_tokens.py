"""Tokenising short social-media posts into the sparse features of the learned scorers.

Lexicon scorers miss what tweets use to carry sentiment; each rule below adds a token the linear model
can weigh: a negation flips every word up to the next punctuation mark (``nicht so gut`` gives
``so_NEG gut_NEG``, where textblob-de only looks one word ahead), elongations (``suuuper``) and
all-caps words are flagged, emoji and emoticons are kept as tokens, hashtags count as words, and URLs
and mentions collapse to placeholders so that no single account or link is learned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NEGATIONS = {
    "de": frozenset(
        "nicht nichts nie niemals kein keine keinen keinem keiner keines ohne weder nirgends niemand "
        "kaum nö nee".split()
    ),
    "en": frozenset(
        "not no never nothing nobody none neither nor without cannot cant dont doesnt didnt isnt arent "
        "wasnt werent wont wouldnt shouldnt couldnt hasnt havent hadnt aint".split()
    ),
}
INTENSIFIERS = {
    "de": frozenset(
        "sehr total extrem mega voll echt richtig so besonders ziemlich wirklich unglaublich absolut "
        "super ultra äußerst höchst zu viel".split()
    ),
    "en": frozenset(
        "very so really totally extremely absolutely super too completely utterly highly most "
        "incredibly quite".split()
    ),
}

_EMOTICON = r"(?:[<>]?[:;=8xX][\-o\*']?[\)\]\(\[dDpP/\\|@3*]+|[\)\]\(\[dDpP/\\|@]+[\-o\*']?[:;=8][<>]?|<3+|</3)"
_EMOJI = "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff]"
_TOKEN = re.compile(
    rf"(?P<url>https?://\S+|www\.\S+)"
    rf"|(?P<user>@\w+)"
    rf"|(?P<emoticon>{_EMOTICON})(?=\s|$|[.,!?\"'])"
    rf"|(?P<emoji>{_EMOJI})"
    rf"|(?P<hashtag>#\w+)"
    rf"|(?P<word>\w+(?:['’\-]\w+)*)"
    rf"|(?P<punct>[!?]+|\.{{2,}}|[.,;:])",
    re.UNICODE,
)
_ELONGATED = re.compile(r"(\w)\1{2,}")
_SCOPE_ENDS = frozenset(".,;:!?")


@dataclass
class TokenisedPost:
    """The tokens of one post plus the counts the dense features need."""

    tokens: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # original-case words, for lexicon lookups
    negated: list[bool] = field(default_factory=list)  # per word: inside a negation scope?
    emoji: list[str] = field(default_factory=list)
    emoticons: list[str] = field(default_factory=list)
    exclamations: int = 0
    questions: int = 0
    elongated: int = 0
    all_caps: int = 0
    hashtags: int = 0
    urls: int = 0
    users: int = 0
    intensifiers: int = 0
    negations: int = 0


def tokenise(text: str, lang: str) -> TokenisedPost:
    """Tokens for hashing and counts for dense features; ``lang`` picks negation and intensifier lists."""
    post = TokenisedPost()
    negations, intensifiers = NEGATIONS[lang], INTENSIFIERS[lang]
    in_scope = False
    tokens = post.tokens
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "word" or kind == "hashtag":
            if kind == "hashtag":
                post.hashtags += 1
                value = value[1:]
            if len(value) > 2 and value.isupper() and value.isalpha():
                post.all_caps += 1
            lowered = value.lower()
            if _ELONGATED.search(lowered):
                post.elongated += 1
                lowered = _ELONGATED.sub(r"\1\1", lowered)
            bare = lowered.replace("'", "").replace("’", "")
            if bare in intensifiers:
                post.intensifiers += 1
            post.words.append(value)
            post.negated.append(in_scope)
            tokens.append(lowered + "_NEG" if in_scope else lowered)
            if bare in negations or bare.endswith("n't"):
                post.negations += 1
                in_scope = True
        elif kind == "punct":
            post.exclamations += value.count("!")
            post.questions += value.count("?")
            tokens.append(value[:3])
            in_scope = False
        elif kind == "emoji":
            post.emoji.append(value)
            tokens.append(value)
        elif kind == "emoticon":
            post.emoticons.append(value)
            tokens.append(value.lower())
        elif kind == "url":
            post.urls += 1
            tokens.append("<url>")
        else:
            post.users += 1
            tokens.append("<user>")
    return post


def hashed_terms(post: TokenisedPost, prefix_length: int) -> list[str]:
    """Unigrams, bigrams and, for inflected languages, word prefixes as a crude stemmer."""
    tokens = post.tokens
    terms = list(tokens)
    terms.extend(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
    if prefix_length:
        terms.extend("p:" + token[:prefix_length] for token in tokens if len(token) > prefix_length + 2)
    return terms
