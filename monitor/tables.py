"""Reading and writing row files (CSV, JSONL, Parquet) for predict, export and training.

Written files are meant for other tools and for spreadsheets:

- timestamps are UTC ISO 8601 with a ``Z`` in CSV and JSONL, and ``timestamp[us, UTC]`` in Parquet;
- lists (aspects) are JSON arrays in JSONL, typed lists in Parquet and ``;``-joined in CSV;
- CSV cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
  return) get a leading apostrophe: posts are untrusted text (CSV injection);
- Parquet columns get the types the caller declares (so an all-empty column is still a bool or a list of
  strings), the others the types pyarrow infers.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError

FORMATS = ("csv", "jsonl", "parquet")
#: Spreadsheets run cells starting with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Column types a caller can declare for Parquet.
TYPES = ("string", "bool", "int", "float", "timestamp", "list")


def format_of(path: Path, explicit: str | None = None) -> str:
    fmt = (explicit or path.suffix.lstrip(".")).lower()
    fmt = {"json": "jsonl", "ndjson": "jsonl"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise MonitorError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All rows of a CSV, JSONL or Parquet file; errors name the file and line."""
    fmt = format_of(path)
    try:
        if fmt == "csv":
            with open(path, encoding="utf-8-sig", newline="") as handle:
                return list(csv.DictReader(handle))
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        rows = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise MonitorError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise MonitorError(f"{path}:{number}: expected a JSON object")
                rows.append(row)
        return rows
    except FileNotFoundError:
        raise MonitorError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise MonitorError(f"{path}: invalid UTF-8 at byte {exc.start}") from None


def write_rows(path: Path, rows: Iterable[dict[str, Any]], fmt: str | None = None,
               types: Mapping[str, str] | None = None) -> int:
    """Write rows; returns how many. ``types`` declares Parquet column types (see ``TYPES``)."""
    fmt = format_of(path, fmt)
    # JSONL, and CSV whose columns are declared, are written as the rows come (memory stays flat on large
    # exports); Parquet, and CSV whose columns are the union of the rows' keys, need every row first.
    if fmt == "parquet" or (fmt == "csv" and not types):
        rows = list(rows)
    written = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "jsonl":
            with open(path, "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False,
                                            default=str) + "\n")
                    written += 1
        elif fmt == "csv":
            if types:  # declared columns, in the order of the first row's keys
                remaining = iter(rows)
                first = next(remaining, None)
                columns = list(first) if first is not None else list(types)
                rows = itertools.chain([first], remaining) if first is not None else iter(())
            else:
                columns = list(dict.fromkeys(key for row in rows for key in row))
            with open(path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: csv_cell(v) for k, v in row.items()})
                    written += 1
        else:
            assert isinstance(rows, list)  # parquet: listed above
            _write_parquet(path, rows, types or {})
            written = len(rows)
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return written


def utc_z(moment: datetime) -> str:
    """``2025-08-05T17:00:00Z``: UTC, with a Z (naive datetimes are taken as UTC), microseconds if any."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def neutralise_formula(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_z(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return value


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: timestamps with Z, lists ';'-joined, objects as JSON, formulas neutralised."""
    if isinstance(value, datetime):
        return utc_z(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        if all(isinstance(item, str) for item in items):
            return neutralise_formula(";".join(items))
        return json.dumps(items, ensure_ascii=False, default=str)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str):
        return neutralise_formula(value)
    return value


def _write_parquet(path: Path, rows: list[dict[str, Any]], types: Mapping[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {"string": pa.string(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(),
             "timestamp": pa.timestamp("us", tz="UTC"), "list": pa.list_(pa.string())}
    columns = list(dict.fromkeys([*types, *(key for row in rows for key in row)]))
    arrays, fields = [], []
    for name in columns:
        values = [_parquet_value(row.get(name)) for row in rows]
        declared = types.get(name)
        array = pa.array(values, type=arrow[declared]) if declared else pa.array(values)
        if pa.types.is_null(array.type):  # an undeclared column that is empty everywhere
            array = pa.array(values, type=pa.string())
        arrays.append(array)
        fields.append(pa.field(name, array.type))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)


def _parquet_value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return value
