"""Files: JSONL and CSV, in a simple schema or as X API v2 responses (twarc2 output), plus the demo corpus.

Simple schema: ``id``, ``text``, ``created_at`` (required), ``author``, ``lang``, ``url``, ``source``, and
optionally ``likes``, ``reposts``, ``replies``. Other tools' exports are read through a column map
(``monitor.ingest.columns``: ``--map`` and the 4CAT, minet and twarc2 presets). A line that cannot be used
becomes an ``ItemError`` naming the file, line and field (and the column it was read from); the other lines
still land.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any, ClassVar

from monitor.collectors import FetchWindow, ItemError, Page
from monitor.collectors.x_payload import tweet_to_record, users_by_id
from monitor.config import SourceSettings, Topic
from monitor.errors import ConfigError, ImportFailed
from monitor.ingest.columns import SIMPLE, ColumnMap, column_hint, suggest_preset
from monitor.ingest.normalise import MAX_TEXT_CHARS
from monitor.ingest.records import InvalidRecord, PostRecord, id_field, time_field

DEMO = "builtin:demo"
PAGE_SIZE = 1000
MAX_ID_CHARS = 256
MAX_URL_CHARS = 2048
#: The longest CSV field read at all; longer texts than MAX_TEXT_CHARS are still rejected, row by row.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
#: Deeper JSON is rejected: no real post nests this far, and the pipeline walks payloads recursively.
MAX_NESTING = 64
#: How much of a rejected line is kept in the rejects file.
MAX_REJECT_CHARS = 10_000
_METRICS = ("likes", "reposts", "replies", "quotes")


def resolve(path: str) -> Path:
    """A user path, or the demo corpus shipped inside the package for ``builtin:demo``."""
    if path == DEMO:
        return Path(str(resources.files("monitor").joinpath("demo/corpus.jsonl")))
    return Path(path).expanduser()


class FileCollector:
    name: ClassVar[str] = "file"
    filter_by_keywords: ClassVar[bool] = False

    def __init__(self, paths: list[str], mapping: ColumnMap = SIMPLE):
        self.paths = paths
        self.mapping = mapping

    @classmethod
    def from_settings(
        cls, settings: SourceSettings, topic: Topic, environ: Mapping[str, str]
    ) -> FileCollector:
        paths = settings.options.get("paths", [DEMO])
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"[sources.file] paths: expected a list of file paths, got {paths!r}")
        return cls(paths)

    def queries(self) -> list[str]:
        return list(self.paths)

    @staticmethod
    def original(raw: Any) -> str:
        """The input line a raw item was read from, as the rejects file keeps it (fix it and import it again)."""
        return raw[3]

    def fetch(self, query: str, cursor: dict[str, Any] | None, window: FetchWindow) -> Iterator[Page]:
        positions: list[str] = []
        page = Page(items=[], positions=positions)
        for position, item in read_items(resolve(query), self.mapping):
            if isinstance(item, ItemError):
                page.errors.append(item)
            else:
                page.items.append(item)
                positions.append(position)
            if len(page.items) + len(page.errors) >= PAGE_SIZE:
                yield page
                positions = []
                page = Page(items=[], positions=positions)
        yield page

    def to_post(self, raw: Any) -> PostRecord:
        kind, payload, extra, _ = raw
        if kind == "x":
            return tweet_to_record(payload, extra)
        try:
            return simple_row_to_record(self.mapping.to_simple(payload), raw=payload)
        except InvalidRecord as exc:
            raise InvalidRecord(self.mapping.explain(str(exc))) from None


def read_items(path: Path, mapping: ColumnMap = SIMPLE) -> Iterator[tuple[str, Any]]:
    """(position, item) for every row of a CSV or JSONL file: ``("simple", row, None, line)``, ``("x", tweet,
    users, line)`` for X API payloads, or an ItemError naming the line. ``line`` is the row as it stands in
    the file (for CSV, with the header's columns), so a rejected row can be fixed and imported again. Raises
    ImportFailed if the file is unreadable. The file is read as it is consumed, never whole, so memory does
    not grow with the file."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".csv":
        return _closing(handle, _csv_rows(path, handle, mapping))
    return _closing(handle, _jsonl_rows(path, handle, mapping.is_default or mapping.source == "x"))


def _closing(handle: IO[bytes], rows: Iterator[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    with handle:
        yield from rows


def _jsonl_rows(path: Path, lines: Iterable[bytes], detect_x: bool = True) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith(codecs.BOM_UTF8):  # written by some Windows tools
            line = line[len(codecs.BOM_UTF8):]
        line = line.rstrip(b"\r\n")
        position = f"{path.name}:{number}"
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield (
                position,
                ItemError(position, f"invalid UTF-8 at byte {exc.start}", line.decode("utf-8", "replace")),
            )
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield position, ItemError(position, f"malformed JSON: {exc.msg} (column {exc.colno})", _clip(text))
            continue
        except RecursionError:
            yield position, ItemError(position, "malformed JSON: nested too deeply", _clip(text))
            continue
        if not isinstance(obj, dict):
            yield position, ItemError(position, f"expected a JSON object, got {type(obj).__name__}", _clip(text))
            continue
        if _depth(obj) > MAX_NESTING:
            # Checked here, not left to the recursion limit: that limit is process-wide and libraries raise it.
            yield position, ItemError(position, "malformed JSON: nested too deeply", _clip(text))
            continue
        yield from _expand(position, obj, text, detect_x)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (iteratively: the point is not to recurse)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict):
            current = list(current.values())
        if isinstance(current, list):
            deepest = max(deepest, depth)
            pending.extend((item, depth + 1) for item in current if isinstance(item, (dict, list)))
    return deepest


def _expand(position: str, obj: dict[str, Any], line: str, detect_x: bool = True) -> Iterator[tuple[str, Any]]:
    """An X API page holds many tweets; everything else is one row (a bare tweet object is recognised
    unless a column map says how to read the rows)."""
    if isinstance(obj.get("data"), list):
        users = users_by_id(obj.get("includes"))
        for tweet in obj["data"]:
            yield position, ("x", tweet, users, line)
    elif isinstance(obj.get("data"), dict):
        yield position, ("x", obj["data"], users_by_id(obj.get("includes")), line)
    elif detect_x and ("author_id" in obj or "edit_history_tweet_ids" in obj or "public_metrics" in obj):
        yield position, ("x", obj, None, line)
    else:
        yield position, ("simple", obj, None, line)


def _csv_rows(path: Path, data: IO[bytes], mapping: ColumnMap = SIMPLE) -> Iterator[tuple[str, Any]]:
    # surrogateescape keeps undecodable bytes visible so that only the rows holding them are rejected.
    text = io.TextIOWrapper(data, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # csv's default field limit (131,072 chars) ends the whole file at the first long field; allow longer
    # fields so that the row is read and rejected by the text length check, naming its line.
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.DictReader(text)
    if not reader.fieldnames or mapping.missing_header(reader.fieldnames):
        yield f"{path.name}:1", ItemError(f"{path.name}:1", _header_problem(reader.fieldnames or [], mapping))
        return
    failed_at = -1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            position = f"{path.name}:{reader.line_num}"
            yield position, ItemError(position, f"malformed CSV: {exc}")
            if reader.line_num == failed_at:  # no progress: the reader cannot get past this point
                return
            failed_at = reader.line_num
            continue  # the reader resumes at the next line
        position = f"{path.name}:{reader.line_num}"
        values = [v for v in row.values() if isinstance(v, str)]
        if any(_has_surrogates(v) for v in values):
            yield position, ItemError(position, "invalid UTF-8", None)
        elif None in row:
            yield position, ItemError(position, f"too many fields ({len(values) + len(row[None])})")
        else:
            yield position, ("simple", row, None, _csv_line(reader.fieldnames, row))


def _csv_line(header: Sequence[str], row: dict[str, str]) -> str:
    """A CSV row written back as one CSV record (quoted as needed), in the header's column order."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([row.get(name, "") for name in header])
    return buffer.getvalue()


def _header_problem(header: Sequence[str], mapping: ColumnMap) -> str:
    found = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "") or "nothing"
    problem = f"header: expected a {mapping.column('text')!r} column ({mapping.name}), found {found}"
    preset = suggest_preset(header) if mapping.is_default else None
    if preset:
        return f"{problem}; this looks like a {preset} export: use --preset {preset}"
    return f"{problem}; say which column holds the text with --map text=COLUMN"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REJECT_CHARS else text[:MAX_REJECT_CHARS] + "..."


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _map_hint(row: Mapping[str, Any], name: str) -> str:
    """Which ``--map`` would read ``name`` (a Reddit dump's ``body`` and ``created_utc``), or nothing."""
    hint = column_hint(row, name)
    return f"; the row has a {hint!r} column: --map {name}={hint}" if hint else ""


def simple_row_to_record(row: Mapping[str, Any], raw: Mapping[str, Any] | None = None) -> PostRecord:
    """A row of the simple schema as a record; ``raw`` is the row as the file had it (default ``row``)."""
    row_id = id_field(row.get("id"))
    if len(row_id) > MAX_ID_CHARS:
        raise InvalidRecord(f"id: too long ({len(row_id)} chars, max {MAX_ID_CHARS})")
    as_read = row if raw is None else raw
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRecord("text: missing or empty" + _map_hint(as_read, "text"))
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRecord(f"text: too long ({len(text)} chars, max {MAX_TEXT_CHARS})")
    if row.get("created_at") in (None, ""):
        raise InvalidRecord("created_at: missing" + _map_hint(as_read, "created_at"))
    created_at = time_field(row.get("created_at"), "created_at")
    url = row.get("url") or None
    if url is not None and (not isinstance(url, str) or len(url) > MAX_URL_CHARS):
        raise InvalidRecord(f"url: expected a string of at most {MAX_URL_CHARS} chars")
    source = str(row.get("source") or "file").strip()
    if len(source) > 32:
        raise InvalidRecord(f"source: too long ({len(source)} chars, max 32)")
    metrics = {}
    for name in _METRICS:
        value = row.get(name)
        if value is not None and value != "":
            try:
                metrics[name] = int(value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity
                raise InvalidRecord(f"{name}: expected an integer, got {value!r}") from None
    author = row.get("author")
    return PostRecord(
        source=source,
        source_id=row_id,
        text=text,
        created_at=created_at,
        author=str(author) if author not in (None, "") else None,
        url=url,
        lang_hint=(row.get("lang") or None),
        metrics=metrics,
        raw=dict(row if raw is None else raw),
    )
