"""`stance import` against a plain SQLite ``executemany`` of the same rows, side by side in one run.

    PYTHONPATH=. python benchmarks/ingest.py --posts 200000
    PYTHONPATH=. python benchmarks/ingest.py --posts 200000 --pg-url postgresql://postgres@127.0.0.1:5432/test

It writes N synthetic posts (German and English, with authors, likes and a raw payload) as one JSONL file, then
times, each on an empty database:

- the floor: Python's ``sqlite3`` ``executemany`` of the rows ``stance import`` stores (the same columns and
  values, precomputed, into a table with the same unique key), in one transaction;
- ``monitor.jobs.import_files`` on SQLite (what ``stance import FILE`` runs, without the process start-up);
- the same on PostgreSQL (``--pg-url``; a schema of its own, dropped afterwards); ``--no-pg`` skips it.

The target (issue 13) is ``stance import`` within 15x of the floor on SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from sqlalchemy import create_engine, text  # noqa: E402

from monitor import jobs  # noqa: E402
from monitor.config import load_settings  # noqa: E402

TARGET_RATIO = 15.0
START = datetime(2025, 1, 1, tzinfo=UTC)
_EN = ["OpenAI should release the weights", "closed models are safer for everyone", "gpt-oss runs on my laptop",
       "DeepSeek and Mistral keep shipping open models", "I am not sure open weights are a good idea",
       "the restructuring changes nothing about safety", "local AI is the future", "Meta's Llama licence"]
_DE = ["OpenAI sollte die Gewichte freigeben", "Geschlossene Modelle sind sicherer für alle",
       "gpt-oss läuft auf meinem Laptop", "Offene Modelle von Mistral sind wirklich gut",
       "Ich weiß nicht, ob offene Gewichte eine gute Idee sind", "Die Regulierung kommt zu spät"]


def write_posts(path: Path, n: int, seed: int = 13) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            lang = "de" if i % 3 == 0 else "en"
            words = _DE if lang == "de" else _EN
            body = f"{rng.choice(words)}, {rng.choice(words).lower()} #{i % 97} https://example.org/{i}"
            created = START + timedelta(seconds=i * 37)
            out.write(json.dumps({
                "id": str(i), "text": body, "created_at": created.isoformat(), "author": f"user{i % 5000}",
                "likes": i % 11, "reposts": i % 5, "source": "file",
            }, ensure_ascii=False) + "\n")


def plain_executemany(rows: list[tuple], path: Path) -> float:
    """The floor: the stored rows (precomputed) inserted with sqlite3's executemany in one transaction."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, source TEXT, source_id TEXT, topic TEXT, text TEXT, lang TEXT,"
        " lang_confidence REAL, created_at TEXT, author TEXT, url TEXT, metrics TEXT, raw TEXT,"
        " content_hash TEXT, collected_at TEXT, UNIQUE (source, source_id))"
    )
    db.execute("CREATE INDEX ix_created ON posts (created_at)")
    db.execute("CREATE INDEX ix_hash ON posts (content_hash)")
    started = time.perf_counter()
    with db:
        db.executemany(
            "INSERT INTO posts (source, source_id, topic, text, lang, lang_confidence, created_at, author, url,"
            " metrics, raw, content_hash, collected_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT DO NOTHING", rows)
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def stored_rows(db_path: Path) -> list[tuple]:
    db = sqlite3.connect(db_path)
    rows = db.execute(
        "SELECT source, source_id, topic, text, lang, lang_confidence, created_at, author, url, metrics, raw,"
        " content_hash, collected_at FROM posts ORDER BY id").fetchall()
    db.close()
    return rows


def timed_import(url: str, data: Path) -> tuple[float, int]:
    settings = replace(load_settings(None, {"STANCE_DATABASE_URL": url}))
    jobs.open_store(settings)  # schema creation is not part of the import's time
    started = time.perf_counter()
    results = jobs.import_files(settings, [data])
    return time.perf_counter() - started, sum(r.summary.new for r in results)


def postgres_import(base: str, data: Path) -> tuple[float, int]:
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in base else "?"
        return timed_import(f"{base}{separator}options={quote(f'-csearch_path={schema}')}", data)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--pg-url", default=os.environ.get("STANCE_TEST_POSTGRES_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("STANCE_AUTHOR_SALT", "benchmark-salt")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "posts.jsonl"
        write_posts(data, args.posts)
        sqlite_s, new = timed_import(f"sqlite:///{folder / 'stance.db'}", data)
        floor_s = plain_executemany(stored_rows(folder / "stance.db"), folder / "plain.db")
        pg = postgres_import(args.pg_url, data) if not args.no_pg else None
    ratio = sqlite_s / floor_s
    print(f"{args.posts:,} posts ({new:,} stored)")
    print(f"{'plain sqlite3 executemany':<34}{floor_s:>9.2f} s {args.posts / floor_s:>12,.0f} posts/s")
    print(f"{'stance import, SQLite':<34}{sqlite_s:>9.2f} s {args.posts / sqlite_s:>12,.0f} posts/s"
          f"   {ratio:5.1f}x the floor (target <= {TARGET_RATIO:.0f}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})")
    if pg is not None:
        print(f"{'stance import, PostgreSQL':<34}{pg[0]:>9.2f} s {args.posts / pg[0]:>12,.0f} posts/s"
              f"   {pg[0] / floor_s:5.1f}x the SQLite floor")
    print(json.dumps({"posts": args.posts, "plain_s": round(floor_s, 3), "sqlite_s": round(sqlite_s, 3),
                      "ratio": round(ratio, 2), "postgres_s": round(pg[0], 3) if pg else None}))


if __name__ == "__main__":
    main()
