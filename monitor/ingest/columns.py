"""Other tools' exports as our simple schema: a column map (``--map``) and presets for 4CAT, minet and twarc2.

Our simple schema has the fields ``id``, ``text``, ``created_at`` (required for import), ``author``, ``lang``,
``url``, ``source``, ``likes``, ``reposts``, ``replies`` and ``quotes``. A ``ColumnMap`` says in which column
of someone else's file each field is: ``text=body,created_at=timestamp``; ``author=author.username|author_id``
takes the first non-empty of several columns, and a dotted name also reaches into nested JSON objects.

The presets follow each tool's documented CSV export:

- ``4cat``: 4CAT's dataset CSV (``id``, ``body``, ``author``, ``timestamp``; engagement where the data
  source has it). 4CAT does not name the platform: pass ``--source``.
- ``minet``: minet's tweet CSV (twitwi's columns: ``id``, ``timestamp_utc``, ``user_screen_name``, ``text``,
  ``like_count``, ``retweet_count``, ``reply_count``, ``lang``).
- ``twarc2``: ``twarc2 csv`` (twarc-csv: ``id``, ``created_at``, ``text``, ``author.username``, ``lang``,
  ``public_metrics.*_count``), whose text has newlines escaped as ``\\n`` or, with ``--json-encode-text``,
  is a JSON string.

Presets for X build the handle-free post URL ``https://x.com/i/status/<id>`` instead of reading the
export's URL column, which names the author.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

FIELDS = ("id", "text", "created_at", "author", "lang", "url", "source", "likes", "reposts", "replies", "quotes")
X_URL = "https://x.com/i/status/{id}"
_LANG = re.compile(r"^[a-z]{2,3}$")


#: Columns other tools keep our fields in: named in the error when a row lacks the field's own column.
LIKELY_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("body", "content", "full_text", "selftext", "message", "tweet", "post", "comment"),
    "created_at": ("created_utc", "created", "timestamp", "timestamp_utc", "published", "date", "time"),
}


def column_hint(row: Mapping[str, Any], name: str, columns: Sequence[str] | None = None) -> str | None:
    """The first of ``LIKELY_COLUMNS[name]`` that ``row`` has a value in, or None. Only for a row that lacks the
    field's own ``columns`` (default: ``name``) altogether: a column that is there but empty needs no hint."""
    if any(column in row for column in columns or (name,)):
        return None
    for column in LIKELY_COLUMNS.get(name, ()):
        value = row.get(column)
        if value is not None and str(value).strip():
            return column
    return None


class MapError(ValueError):
    """A ``--map`` or ``--preset`` value that cannot be used; the message says why."""


@dataclass(frozen=True)
class ColumnMap:
    """Where each of our fields is in a row of someone else's file."""

    name: str
    #: Our field -> the columns holding it, tried in order (the first non-empty value wins).
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {f: (f,) for f in FIELDS})
    #: The source of rows that name none (a preset's platform, or ``--source``); None means "file".
    source: str | None = None
    #: A post URL built from the row's id (``{id}``), used instead of any URL column.
    url_template: str | None = None
    #: twarc2 CSV text: ``\\n`` escapes and JSON-encoded strings are decoded.
    decode_text: bool = False

    def column(self, name: str) -> str:
        """The column that holds ``name``, for messages ("column 'body'")."""
        return " or ".join(self.columns.get(name, (name,)))

    def value(self, row: Mapping[str, Any], name: str) -> Any:
        """The first non-empty value of ``name``'s columns in ``row``, or None."""
        for column in self.columns.get(name, ()):
            value = lookup(row, column)
            if value not in (None, ""):
                return value
        return None

    def text(self, row: Mapping[str, Any]) -> Any:
        value = self.value(row, "text")
        return decode_twarc_text(value) if self.decode_text and isinstance(value, str) else value

    def lang(self, row: Mapping[str, Any]) -> str | None:
        """A language code from the row ('en', 'de'), or None for 'und', 'N/A' or a list of several."""
        value = self.value(row, "lang")
        if not isinstance(value, str):
            return None
        code = value.split(",")[0].split("-")[0].strip().lower()
        return code if _LANG.match(code) and code != "und" else None

    def to_simple(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` in our simple schema; fields the row does not have are left out."""
        simple = {name: value for name in FIELDS if (value := self.value(row, name)) is not None}
        if "text" in simple:
            simple["text"] = self.text(row)
        if "lang" in simple:
            simple["lang"] = self.lang(row)
        if self.url_template:
            simple["url"] = self.url_template.format(id=simple.get("id", "")) if simple.get("id") else None
        simple.setdefault("source", self.source or "file")
        return simple

    def explain(self, message: str) -> str:
        """An InvalidRecord message ("created_at: unparseable ...") with the column it came from."""
        name, _, rest = message.partition(":")
        if name in self.columns and self.columns[name] != (name,) and rest:
            return f"{name} (column {self.column(name)}):{rest}"
        return message

    def missing_header(self, header: Sequence[str], name: str = "text") -> bool:
        """True when no column of ``name`` is in ``header`` (dotted names into JSON are not checked)."""
        return not any(column in header for column in self.columns.get(name, ()))

    @property
    def is_default(self) -> bool:
        return self == SIMPLE


def lookup(row: Mapping[str, Any], column: str) -> Any:
    """``row[column]``, or for a dotted name absent as a key, the value at that path in nested objects."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def decode_twarc_text(value: str) -> str:
    """Text as twarc-csv wrote it: a JSON string with --json-encode-text, else newlines escaped as ``\\n``."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, str):
            return decoded
    return value.replace("\\n", "\n")


SIMPLE = ColumnMap("simple schema")

PRESETS: dict[str, ColumnMap] = {
    "4cat": ColumnMap("4CAT CSV", {
        "id": ("id",), "text": ("body",), "created_at": ("timestamp", "unix_timestamp", "created_at"),
        "author": ("author", "author_id"), "lang": ("language", "languages", "lang"),
        "likes": ("like_count", "likes"), "reposts": ("repost_count", "retweet_count", "reposts"),
        "replies": ("reply_count", "replies"), "quotes": ("quote_count",),
    }),
    "minet": ColumnMap("minet tweet CSV", {
        "id": ("id",), "text": ("text",), "created_at": ("timestamp_utc", "local_time"),
        "author": ("user_screen_name", "user_id"), "lang": ("lang",), "likes": ("like_count",),
        "reposts": ("retweet_count",), "replies": ("reply_count",), "quotes": ("quote_count",),
    }, source="x", url_template=X_URL),
    "twarc2": ColumnMap("twarc2 CSV", {
        "id": ("id",), "text": ("text",), "created_at": ("created_at",),
        "author": ("author.username", "author_id"), "lang": ("lang",),
        "likes": ("public_metrics.like_count",), "reposts": ("public_metrics.retweet_count",),
        "replies": ("public_metrics.reply_count",), "quotes": ("public_metrics.quote_count",),
    }, source="x", url_template=X_URL, decode_text=True),
}

#: Columns that only a preset's files have, to suggest the preset when a header has no text column.
SIGNATURES = {"4cat": ("body", "thread_id", "timestamp"), "minet": ("timestamp_utc", "user_screen_name"),
              "twarc2": ("author.username", "public_metrics.like_count")}


def suggest_preset(header: Sequence[str]) -> str | None:
    """The preset whose signature columns are all in ``header``, if any."""
    return next((name for name, needed in SIGNATURES.items() if all(c in header for c in needed)), None)


def parse_map(spec: str) -> dict[str, tuple[str, ...]]:
    """``"text=body,created_at=timestamp,author=a|b"`` as ``{field: columns}``; raises MapError."""
    parsed: dict[str, tuple[str, ...]] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, equals, columns = part.partition("=")
        name = name.strip()
        if not equals or not columns.strip():
            raise MapError(f"expected FIELD=COLUMN pairs separated by commas, got {part!r}")
        if name not in FIELDS:
            raise MapError(f"unknown field {name!r}; expected one of {', '.join(FIELDS)}")
        parsed[name] = tuple(c.strip() for c in columns.split("|") if c.strip())
    return parsed


def column_map(preset: str | None = None, spec: str | None = None, source: str | None = None,
               text_column: str | None = None, lang_column: str | None = None) -> ColumnMap:
    """The map for ``--preset``, ``--map``, ``--source`` (and predict's ``--text-col``/``--lang-col``)."""
    if preset is not None and preset not in PRESETS:
        raise MapError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    base = PRESETS[preset] if preset else SIMPLE
    overrides = parse_map(spec) if spec else {}
    if text_column:
        overrides.setdefault("text", (text_column,))
    if lang_column:
        overrides.setdefault("lang", (lang_column,))
    if not overrides and source is None:
        return base
    columns = {**base.columns, **overrides}
    name = base.name + (f" with --map {spec}" if spec else "")
    url_template = None if "url" in overrides else base.url_template
    return replace(base, name=name, columns=columns, source=source or base.source, url_template=url_template)
