"""Time a full report (PDF + PNGs) on N synthetic classified posts, on SQLite or PostgreSQL.

    PYTHONPATH=. python benchmarks/reports.py --posts 1000000
    PYTHONPATH=. python benchmarks/reports.py --posts 1000000 --compare 100000
    PYTHONPATH=. python benchmarks/reports.py --posts 100000 --db-url postgresql+psycopg://postgres@127.0.0.1:5432/test

SQLite databases are cached under .benchmark-cache/ (gitignored) and reused; PostgreSQL data goes into a
schema of its own ("bench_reports_<N>") that is dropped afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and "import reports" would find this very file;
# put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np
from sqlalchemy import text

from monitor.config import Event, Topic
from reports import ReportRequest, build_report
from storage.engine import open_database

CACHE = Path(__file__).resolve().parent.parent / ".benchmark-cache"
START = datetime(2025, 5, 1, tzinfo=UTC)
DAYS = 180
SOURCES = ("x", "mastodon", "bluesky", "reddit", "hackernews")
STANCES = ("pro_open", "pro_closed", "neutral")
TOPIC = Topic(
    name="openai-open-weights",
    title="OpenAI and open weights",
    languages=("de", "en"),
    keywords=("openai", "open weights"),
    events=(Event(date(2025, 6, 10), "open-weights model delayed"),
            Event(date(2025, 8, 5), "gpt-oss released"),
            Event(date(2025, 8, 7), "GPT-5 launch")),
)
#: Stance-typical words per language, so the term statistics have something to find.
VOCABULARY = {
    ("en", "pro_open"): "weights download local finally llama community transparency apache license run "
                        "laptop fine-tune research freedom",
    ("en", "pro_closed"): "misuse bioweapons risk dangerous guardrails irresponsible reckless proliferation "
                          "harm safeguards abuse",
    ("en", "neutral"): "benchmark release announced news thread details report interesting wonder compare",
    ("de", "pro_open"): "gewichte herunterladen lokal endlich freiheit forschung lizenz gemeinschaft "
                        "transparenz datenschutz",
    ("de", "pro_closed"): "missbrauch gefahr gefährlich risiko verantwortungslos schutzmaßnahmen "
                          "regulierung schäden",
    ("de", "neutral"): "veröffentlicht meldung bericht vergleich details ankündigung neuigkeiten",
}
COMMON = {"en": "openai model the is a and to of gpt-oss release today", "de": "openai modell die ist ein und zu "
          "das über heute veröffentlichung"}
HASHTAGS = {"pro_open": "#OpenWeights #OpenSource #LocalAI", "pro_closed": "#AISafety #AIRisk",
            "neutral": "#OpenAI #AI #gptoss"}
EMOJI = ("", "", "", " 🚀", " 🤖", " 😬", " ✅")


def _format_times(seconds: np.ndarray, postgres: bool) -> list[str]:
    stamps = (np.datetime64(START.replace(tzinfo=None), "s") + seconds.astype("timedelta64[s]"))
    text_stamps = np.datetime_as_string(stamps, unit="s")
    suffix = "+00" if postgres else ".000000"
    return [s.replace("T", " ") + suffix for s in text_stamps.tolist()]


def synthetic_columns(n: int, seed: int = 0) -> dict[str, list]:
    """Column lists for n posts and their active-model classifications, drawn from a simple drifting model."""
    rng = np.random.default_rng(seed)
    # A third of the posts cluster after the release event, as real debates spike.
    day = np.where(rng.random(n) < 0.3, 96 + rng.exponential(6, n), rng.uniform(0, DAYS, n)).clip(0, DAYS - 0.01)
    seconds = (day * 86400).astype(np.int64)
    lang = np.where(rng.random(n) < 0.35, "de", "en")
    source = np.array(SOURCES)[rng.choice(len(SOURCES), n, p=[0.35, 0.25, 0.2, 0.12, 0.08])]
    drift = day / DAYS
    p_open = 0.35 + 0.2 * drift
    p_closed = 0.35 - 0.15 * drift
    draw = rng.random(n)
    stance = np.where(draw < p_open, "pro_open", np.where(draw < p_open + p_closed, "pro_closed", "neutral"))
    relevant = rng.random(n) < 0.8
    confidence = rng.uniform(0.4, 0.99, n)
    rest = (1 - confidence) / 2
    p = {s: np.where(stance == s, confidence, rest) for s in STANCES}
    polarity = np.clip(rng.normal(np.select([stance == "pro_open", stance == "pro_closed"], [0.2, -0.3], 0.0), 0.4),
                       -1, 1)
    texts = _texts(rng, lang, stance)
    return {
        "created_at": seconds, "lang": lang.tolist(), "source": source.tolist(), "stance": stance.tolist(),
        "relevant": relevant.tolist(), "p": {s: p[s].round(4).tolist() for s in STANCES},
        "polarity": polarity.round(4).tolist(), "text": texts,
        "safety": (rng.random(n) < np.where(stance == "pro_closed", 0.6, 0.15)).tolist(),
        "competition": (rng.random(n) < 0.2).tolist(), "governance": (rng.random(n) < 0.15).tolist(),
        "local_ai": (rng.random(n) < np.where(stance == "pro_open", 0.4, 0.1)).tolist(),
        "concern": (rng.random(n) < np.where(stance == "pro_closed", 0.5, 0.08)).tolist(),
    }


def _texts(rng: np.random.Generator, lang: np.ndarray, stance: np.ndarray) -> list[str]:
    pools = {key: words.split() for key, words in VOCABULARY.items()}
    common = {key: words.split() for key, words in COMMON.items()}
    lengths = rng.integers(6, 18, len(lang))
    picks = rng.random((len(lang), 18))
    texts = []
    for i, (language, s) in enumerate(zip(lang.tolist(), stance.tolist())):
        own, shared = pools[(language, s)], common[language]
        words = [own[int(x * len(own))] if x < 0.45 else shared[int(x * 997) % len(shared)]
                 for x in picks[i, : lengths[i]]]
        tag = HASHTAGS[s].split()[int(picks[i, 17] * 10) % len(HASHTAGS[s].split())]
        texts.append(" ".join(words) + f" {tag}{EMOJI[i % len(EMOJI)]}")
    return texts


def populate(url: str, n: int, schema: str | None = None) -> None:
    engine, _ = open_database(url)
    columns = synthetic_columns(n)
    postgres = engine.dialect.name == "postgresql"
    stamps = _format_times(columns["created_at"], postgres)
    now = _format_times(np.array([DAYS * 86400]), postgres)[0]
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO model_versions (id, name, kind, created_at, artefact, metrics, params, active, activated_at) "
            "VALUES (1, 'stance-2025-05', 'stance', :t0, 'bench', '{}', '{}', false, :t0), "
            "(2, 'stance-2025-07', 'stance', :t1, 'bench', :metrics, '{}', true, :t1)"),
            {"t0": stamps[0] if n else now, "t1": _format_times(np.array([70 * 86400]), postgres)[0],
             "metrics": '{"n": 900, "stance": {"macro_f1": 0.71, "accuracy": 0.74}, "relevant": {"f1": 0.88}, '
                        '"stance_confusion": [[240, 30, 40], [25, 200, 45], [35, 40, 245]], '
                        '"stance_confusion_by_community": {"reddit": [[200, 20, 80], [20, 180, 70], [90, 40, 170]], '
                        '"web": [[230, 30, 40], [25, 210, 35], [20, 20, 260]]}}'})
        connection.execute(text(
            "INSERT INTO collection_runs (source, query, started_at, pages, fetched, new, rejected, counted, status) "
            "VALUES (:s, 'openai open weights', :t, 10, :f, :f, 0, :c, 'ok')"),
            [{"s": s, "t": now, "f": n // len(SOURCES), "c": (n // len(SOURCES)) * 11 // 10} for s in SOURCES])
    post_columns = ("id, source, source_id, topic, text, lang, lang_confidence, created_at, author, url, metrics, "
                    "content_hash, collected_at")
    classification_columns = ("id, post_id, model_version_id, relevant, relevance_score, stance, p_pro_open, "
                              "p_pro_closed, p_neutral, safety, competition, governance, local_ai, safety_concern, "
                              "sentiment, sentiment_score, sentiment_model, classified_at")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if not postgres:
            cursor.execute("BEGIN")
        # A million rows at a time, so that ten million posts fit in memory.
        for start in range(0, n, 1_000_000):
            chunk = range(start, min(n, start + 1_000_000))
            posts = [
                (i + 1, columns["source"][i], str(i + 1), TOPIC.name, columns["text"][i], columns["lang"][i], 0.99,
                 stamps[i], f"pseudonym-{i % 5000:04d}", f"https://demo.stance-monitor.invalid/{i + 1}", "{}",
                 f"{i:040x}", stamps[i])
                for i in chunk
            ]
            classifications = [
                (i + 1, i + 1, 2, columns["relevant"][i], 0.9, columns["stance"][i], columns["p"]["pro_open"][i],
                 columns["p"]["pro_closed"][i], columns["p"]["neutral"][i], columns["safety"][i],
                 columns["competition"][i], columns["governance"][i], columns["local_ai"][i], columns["concern"][i],
                 "positive" if columns["polarity"][i] > 0.05 else "negative" if columns["polarity"][i] < -0.05
                 else "neutral",
                 columns["polarity"][i], "bench", stamps[i])
                for i in chunk
            ]
            if postgres:
                with cursor.copy(f"COPY posts ({post_columns}) FROM STDIN") as copy:
                    for row in posts:
                        copy.write_row(row)
                with cursor.copy(f"COPY classifications ({classification_columns}) FROM STDIN") as copy:
                    for row in classifications:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO posts ({post_columns}) VALUES ({', '.join('?' * 13)})", posts)
                cursor.executemany(f"INSERT INTO classifications ({classification_columns}) "
                                   f"VALUES ({', '.join('?' * 18)})", classifications)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def sqlite_url(n: int) -> str:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"reports-{n}.sqlite"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        for leftover in CACHE.glob(partial.name + "*"):
            leftover.unlink()
        populate(f"sqlite:///{partial}", n)
        partial.rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return f"sqlite:///{path}"


def postgres_schema(url: str, n: int) -> tuple[str, str]:
    """A fresh schema for n posts; returns (url with search_path set, schema name)."""
    from sqlalchemy import create_engine

    schema = f"bench_reports_{n}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    scoped = f"{url}{separator}options=-csearch_path%3D{schema}"
    started = time.perf_counter()
    populate(scoped, n)
    print(f"loaded {n:,} posts into {schema} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return scoped, schema


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def time_report(url: str, out_dir: Path, repeat: int) -> tuple[float, int]:
    """Best-of-``repeat`` seconds for a full report (PDF and PNGs), and the posts it covered.

    The best run is the one least disturbed by other work on a shared machine; each run opens a new session.
    """
    engine, sessions = open_database(url)
    best, posts = float("inf"), 0
    try:
        for _ in range(repeat):
            with sessions() as session:
                started = time.perf_counter()
                result = build_report(session, ReportRequest(out_dir=out_dir, topic=TOPIC, formats=("pdf", "png")))
                best, posts = min(best, time.perf_counter() - started), result.posts
    finally:
        engine.dispose()
    return best, posts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--compare", type=int, default=100_000, help="smaller size to time for the ratio (0: none)")
    parser.add_argument("--db-url", default=None, help="PostgreSQL URL; default: cached SQLite files")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL benchmark schemas")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of this many runs")
    args = parser.parse_args(argv)
    sizes = sorted({n for n in (args.compare, args.posts) if n > 0})
    timings = {}
    with tempfile.TemporaryDirectory() as out:
        for n in sizes:
            if args.db_url:
                url, schema = postgres_schema(args.db_url, n)
            else:
                url, schema = sqlite_url(n), None
            try:
                seconds, posts = time_report(url, Path(out) / str(n), args.repeat)
            finally:
                if schema and not args.keep:
                    drop_schema(args.db_url, schema)
            timings[n] = seconds
            print(f"{posts:>10,} posts: full report (PDF + PNG) in {seconds:6.2f} s (best of {args.repeat})")
    if len(sizes) == 2:
        small, large = sizes
        ratio = timings[large] / timings[small]
        backend = "postgresql" if args.db_url else "sqlite"
        print(f"[{backend}] {small:,}: {timings[small]:.2f} s | {large:,}: {timings[large]:.2f} s | "
              f"ratio {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
