"""Pure normalisation: text clean-up, content hashing and the mapping from a record to a database row."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import datetime
from typing import Any

from monitor.ingest.records import PostRecord
from storage.clock import as_utc

MAX_TEXT_CHARS = 20_000

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_HASH_NOISE = re.compile(r"https?://\S+|[@#]|[^\w\s]", re.UNICODE)


def normalise_text(text: str) -> str:
    """Unicode NFC, HTML entities decoded (twice-escaped ``&amp;amp;`` too), whitespace collapsed."""
    for _ in range(2):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def content_hash(text: str) -> str:
    """A hash that is equal for posts differing only in case, punctuation, links and spacing."""
    folded = " ".join(_HASH_NOISE.sub(" ", text.casefold()).split())
    return hashlib.sha1(folded.encode()).hexdigest()


def matches_keywords(text: str, keywords: tuple[str, ...]) -> bool:
    """True when ``text`` mentions any keyword (case-insensitive); an empty keyword list matches all."""
    if not keywords:
        return True
    folded = text.casefold()
    return any(keyword.casefold() in folded for keyword in keywords)


def record_to_row(
    record: PostRecord,
    *,
    topic: str,
    lang: str,
    lang_confidence: float,
    author: str | None,
    raw: dict[str, Any] | None,
    collected_at: datetime,
) -> dict[str, Any]:
    text = normalise_text(record.text)
    return {
        "source": record.source,
        "source_id": record.source_id,
        "topic": topic,
        "text": text,
        "lang": lang,
        "lang_confidence": lang_confidence,
        "created_at": as_utc(record.created_at),
        "author": author,
        "url": record.url,
        "metrics": dict(record.metrics),
        "raw": raw,
        "content_hash": content_hash(text),
        "collected_at": collected_at,
    }
