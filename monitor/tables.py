"""Reading and writing row files (CSV, JSONL, Parquet) for predict and export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError

FORMATS = ("csv", "jsonl", "parquet")


def format_of(path: Path, explicit: str | None = None) -> str:
    fmt = (explicit or path.suffix.lstrip(".")).lower()
    fmt = {"json": "jsonl", "ndjson": "jsonl"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise MonitorError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All rows of a CSV or JSONL file; errors name the file and line."""
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


def write_rows(path: Path, rows: Iterable[dict[str, Any]], fmt: str | None = None) -> int:
    """Write rows; returns how many. Lists and dicts become JSON strings in CSV."""
    fmt = format_of(path, fmt)
    rows = list(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    elif fmt == "csv":
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple, frozenset, set)):
        return json.dumps(sorted(value) if isinstance(value, (set, frozenset)) else value, ensure_ascii=False)
    return value
