"""The cluster at work against the local Redis (or RabbitMQ) and PostgreSQL: re-scoring, a killed worker, the
firehose, reports on 1M and 10M posts.

    PYTHONPATH=. python benchmarks/scale.py --posts 200000
    PYTHONPATH=. python benchmarks/scale.py --posts 50000 --report-sizes 1000000,10000000

The database and broker come from STANCE_DATABASE_URL and STANCE_BROKER_URL (defaults: the local PostgreSQL,
database ``test``, and the local Redis); everything goes into a PostgreSQL schema and queues of this run's own,
dropped afterwards.

1. Load N synthetic posts (German and English) as after months of collection: each with its stored sentence
   embedding and a first model version's classification (sentiment included). Not timed.
2. Re-score them for a new model version (what follows a retraining: `stance classify` with a broker enqueues
   id ranges on the ``rescore`` queue) with 1 worker process, then with 2, then with 2 of which one is killed
   with SIGKILL a third of the way through and restarted. Rates are posts/s from the first stored
   classification to the last (worker start-up and model loading excluded, said separately). ``lost`` = posts
   without a classification by the version at the end, ``duplicated`` = classifications beyond one per post.
3. Replay a recorded Jetstream file (synthetic events, written by this script, 30 events/s of recorded time) at
   10x real time through ``stance stream`` (a process of its own, with the broker configured, so it hands the
   stored batches to the queue). ``firehose_rate`` = events consumed per second of replay, ``firehose_lag_s`` =
   seconds from the last event sent until the consumer had stored it (its cursor reached it).
4. ``--report-sizes``: a full report (PDF + PNGs) on the cached synthetic SQLite databases of
   benchmarks/reports.py (built on first use: ten million posts take a while).

Prints a table, then one JSON line. The machine's cores are shared with whatever else runs: say so with the
numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from classifiers import encoder  # noqa: E402
from monitor import active_model  # noqa: E402
from monitor.config import load_settings  # noqa: E402
from storage.models import Classification, ModelVersion, Rollup  # noqa: E402

START = datetime(2025, 6, 1, tzinfo=UTC)
WORDS = {
    "en": "openai open weights release model safety closed local laptop llama mistral deepseek gpt-oss risk".split(),
    "de": "openai offene gewichte modell sicherheit geschlossen lokal freigeben risiko regulierung gut".split(),
}


def _schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def _texts(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    langs = ["de" if i % 3 == 0 else "en" for i in range(n)]
    return [" ".join(rng.choices(WORDS[lang], k=rng.randint(6, 16))) + f" {i}" for i, lang in enumerate(langs)], langs


def load(url: str, n: int, scorers: dict[str, str]) -> tuple[int, int]:
    """N posts with embeddings and a first version's classifications; returns (first version id, max post id)."""
    from storage.engine import open_database

    engine, sessions = open_database(url)
    with sessions.begin() as session:
        first = active_model.ensure_active_model(session)
        first_id = first.id
    texts, langs = _texts(n)
    rng = np.random.default_rng(3)
    sentiment_model = next(iter(scorers.values()), "vader")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy("COPY posts (id, source, source_id, topic, text, lang, lang_confidence, created_at, author,"
                         " metrics, content_hash, collected_at) FROM STDIN") as copy:
            for i in range(n):
                stamp = START + timedelta(seconds=i * 60)
                copy.write_row((i + 1, ("x", "bluesky", "mastodon")[i % 3], str(i + 1), "t", texts[i], langs[i],
                                0.99, stamp, f"a_{i % 3000}", "{}", f"{i:040x}", stamp))
        with cursor.copy("COPY post_embeddings (post_id, encoder, vector) FROM STDIN") as copy:
            for start in range(0, n, 10_000):
                vectors = rng.normal(size=(min(n, start + 10_000) - start, encoder.DIM)).astype(np.float32)
                for offset, vector in enumerate(vectors):
                    copy.write_row((start + offset + 1, encoder.NAME, encoder.to_blob(vector)))
        with cursor.copy("COPY classifications (post_id, model_version_id, relevant, relevance_score, stance,"
                         " p_pro_open, p_pro_closed, p_neutral, safety, competition, governance, local_ai,"
                         " safety_concern, sentiment, sentiment_score, sentiment_model, classified_at)"
                         " FROM STDIN") as copy:
            for i in range(n):
                copy.write_row((i + 1, first_id, i % 4 != 0, 0.8, ("pro_open", "pro_closed", "neutral")[i % 3],
                                0.5, 0.3, 0.2, False, False, False, False, False, "neutral", 0.0, sentiment_model,
                                START))
        cursor.execute("SELECT setval(pg_get_serial_sequence('posts', 'id'), %s)", (n,))
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()
    return first_id, n


def write_config(folder: Path, db_url: str, broker: str, prefix: str, jetstream: str | None = None) -> Path:
    path = folder / "stance.toml"
    path.write_text(
        f'database_url = "{db_url}"\n\n[topic]\nname = "t"\nkeywords = ["openai", "gpt-oss", "gewichte"]\n\n'
        f'[cluster]\nbroker_url = "{broker}"\nqueue_prefix = "{prefix}"\nvisibility_timeout = 20\n'
        f'batch_size = 1000\n\n[sources.bluesky]\njetstream_url = "{jetstream or ""}"\n', encoding="utf-8")
    return path


def start_worker(config: Path, name: str, queues: str = "rescore") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "worker", "--queues", queues, "--concurrency",
         "1", "--name", f"{name}@%h"], cwd=config.parent, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "STANCE_AUTHOR_SALT": "bench"})


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


def counts(sessions, version_id: int) -> tuple[int, int]:
    with sessions() as session:
        return tuple(session.execute(select(func.count(), func.count(func.distinct(Classification.post_id)))
                                     .where(Classification.model_version_id == version_id)).one())


def progress(sessions, version_id: int) -> int:
    """Classifications stored for the version so far, read from the rollup (cheap enough to poll)."""
    with sessions() as session:
        return int(session.scalar(select(func.coalesce(func.sum(Rollup.posts), 0))
                                  .where(Rollup.model_version_id == version_id)))


def new_version(sessions, name: str) -> int:
    with sessions.begin() as session:
        active = active_model.ensure_active_model(session)
        version = ModelVersion(name=name, kind="stance", created_at=datetime.now(UTC), artefact=active.artefact,
                               artefact_sha256=active.artefact_sha256, metrics=active.metrics, params={})
        session.add(version)
        session.flush()
        return version.id


def rescore(settings, config: Path, sessions, n: int, workers: int, kill_one: bool, label: str) -> dict:
    """Enqueue a re-score of every post for a new version, run ``workers`` worker processes, time it."""
    from monitor.cluster.enqueue import enqueue_rescore

    version_id = new_version(sessions, f"bench-{label}-{uuid.uuid4().hex[:6]}")
    enqueue_rescore(settings, version_id)
    started = time.monotonic()
    processes = [start_worker(config, f"{label}{i}") for i in range(workers)]
    first_row = killed_at = None
    deadline = started + max(600, n / 50)
    try:
        while True:
            posts = progress(sessions, version_id)
            now = time.monotonic()
            if posts and first_row is None:
                first_row = now
            if kill_one and killed_at is None and posts >= n // 3:
                kill(processes[0])
                killed_at = now
                processes[0] = start_worker(config, f"{label}0r")
            if posts >= n:
                break
            if now > deadline:
                break
            time.sleep(0.5)
        done = time.monotonic()
        time.sleep(3 if kill_one else 0)  # a redelivered task may still be running: let it finish (or not)
        rows, posts = counts(sessions, version_id)
    finally:
        for process in processes:
            kill(process, signal.SIGTERM)
    return {"rate": n / (done - first_row) if first_row and done > first_row else 0.0,
            "startup_s": (first_row or done) - started, "lost": n - posts, "duplicated": rows - posts,
            "seconds": done - (first_row or started)}


# --- firehose ------------------------------------------------------------------------------------------------


def recorded_events(count: int, per_second: float = 30.0, seed: int = 11) -> list[dict]:
    """A Jetstream recording: post creations (most on topic) and other events, ``per_second`` posts/s."""
    rng = random.Random(seed)
    events, t0 = [], 1_754_000_000_000_000
    for i in range(count):
        time_us = t0 + int(i * 1_000_000 / per_second)
        lang = "de" if i % 3 == 0 else "en"
        words = rng.choices(WORDS[lang], k=rng.randint(5, 14))
        if i % 5 == 0:
            words = ["nothing", "to", "see", "here"]
        events.append({"did": f"did:plc:bench{i % 4000}", "time_us": time_us, "kind": "commit",
                       "commit": {"rev": f"r{i}", "operation": "create", "collection": "app.bsky.feed.post",
                                  "rkey": f"k{i}", "cid": f"c{i}",
                                  "record": {"$type": "app.bsky.feed.post", "text": " ".join(words) + f" {i}",
                                             "createdAt": datetime.fromtimestamp(time_us / 1e6, UTC).isoformat(),
                                             "langs": [lang]}}})
    return events


class Replay:
    """A local Jetstream serving a recording at ``speed`` times real time, from the client's cursor on."""

    def __init__(self, events: list[dict], speed: float):
        from websockets.sync.server import serve

        self.events, self.speed = events, speed
        self.first_sent = self.last_sent = None
        self.server = serve(self.handle, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, websocket) -> None:
        cursor = parse_qs(urlsplit(websocket.request.path).query).get("cursor", [None])[0]
        events = [e for e in self.events if cursor is None or e["time_us"] > int(cursor)]
        if not events:
            return
        began, base = time.monotonic(), events[0]["time_us"]
        self.first_sent = self.first_sent or began
        for event in events:
            due = began + (event["time_us"] - base) / 1e6 / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            websocket.send(json.dumps(event))
        self.last_sent = time.monotonic()
        try:  # keep the connection open, as Jetstream does, until the client leaves
            websocket.recv()
        except Exception:  # noqa: BLE001 - the client closed the connection: the replay is over
            pass

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe?wantedCollections=app.bsky.feed.post"


def firehose(folder: Path, db_url: str, broker: str, prefix: str, sessions, events: int) -> dict:
    from storage import queries

    recording = recorded_events(events)
    replay = Replay(recording, speed=10.0)
    config = write_config(folder, db_url, broker, prefix, replay.url)
    consumer = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "stream", "--source", "bluesky",
         "--max-events", str(events)], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "STANCE_AUTHOR_SALT": "bench"})
    last = recording[-1]["time_us"]
    caught_up = None
    deadline = time.monotonic() + events / 30.0 / 10.0 * 3 + 120
    while time.monotonic() < deadline:
        with sessions() as session:
            cursor = (queries.get_cursor(session, "bluesky", "jetstream") or {}).get("time_us")
        if cursor is not None and cursor >= last:
            caught_up = time.monotonic()
            break
        if consumer.poll() is not None and cursor is None:
            break
        time.sleep(0.05)
    consumer.wait(timeout=60)
    replay.server.shutdown()
    if caught_up is None or replay.first_sent is None:
        return {"rate": 0.0, "lag_s": None, "error": (consumer.stderr.read() or b"")[-500:].decode()}
    sent_for = (replay.last_sent or caught_up) - replay.first_sent
    return {"rate": events / (caught_up - replay.first_sent), "sent_rate": events / sent_for,
            "lag_s": max(0.0, caught_up - (replay.last_sent or caught_up))}


def report_times(sizes: list[int]) -> dict[int, float]:
    spec = importlib.util.spec_from_file_location("bench_reports", _HERE / "reports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = {}
    with tempfile.TemporaryDirectory() as out:
        for n in sizes:
            found[n], _posts = module.time_report(module.sqlite_url(n), Path(out) / str(n), 1)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=20_000, help="firehose events to replay (30/s recorded)")
    parser.add_argument("--report-sizes", default="", help="e.g. 1000000,10000000 (cached SQLite databases)")
    args = parser.parse_args(argv)
    base = os.environ.get("STANCE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    broker = os.environ.get("STANCE_BROKER_URL", "redis://127.0.0.1:6379/0")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    schema, prefix = f"bench_scale_{uuid.uuid4().hex[:8]}", f"bench{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = _schema_url(base, schema)
    results: dict = {"posts": args.posts}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            os.environ["STANCE_AUTHOR_SALT"] = "bench"
            config = write_config(folder, db_url, broker, prefix)
            settings = load_settings(config, {})
            from storage.engine import open_database

            engine, sessions = open_database(db_url)
            with sessions.begin() as session:
                classifier = active_model.load_classifier(active_model.ensure_active_model(session), settings)
                scorers = dict(getattr(classifier.sentiment, "scorer_names", {}))
            began = time.monotonic()
            load(db_url, args.posts, scorers)
            print(f"loaded {args.posts:,} posts with embeddings and classifications in "
                  f"{time.monotonic() - began:.0f} s", file=sys.stderr)
            one = rescore(settings, config, sessions, args.posts, 1, False, "one")
            two = rescore(settings, config, sessions, args.posts, 2, False, "two")
            killed = rescore(settings, config, sessions, args.posts, 2, True, "kill")
            hose = firehose(folder, db_url, broker, prefix, sessions, args.events)
            engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        _drop_queues(broker, prefix)
    sizes = [int(s) for s in args.report_sizes.split(",") if s.strip()]
    reports = report_times(sizes) if sizes else {}
    results.update({
        "rate_1_worker": round(one["rate"], 1), "rate_2_workers": round(two["rate"], 1),
        "rate_2_workers_one_killed": round(killed["rate"], 1),
        "lost": one["lost"] + two["lost"] + killed["lost"],
        "duplicated": one["duplicated"] + two["duplicated"] + killed["duplicated"],
        "firehose_rate": round(hose["rate"], 1), "firehose_lag_s": None if hose["lag_s"] is None
        else round(hose["lag_s"], 2),
        "report_s_1m": round(reports[1_000_000], 2) if 1_000_000 in reports else None,
        "report_s_10m": round(reports[10_000_000], 2) if 10_000_000 in reports else None,
        "cores": os.cpu_count(),
    })
    print(f"{'what':<44}{'value':>14}   target")
    print(f"{'re-score, 1 worker (posts/s)':<44}{one['rate']:>14,.0f}   (start-up {one['startup_s']:.0f} s)")
    print(f"{'re-score, 2 workers (posts/s)':<44}{two['rate']:>14,.0f}   >= 1.5x 1 worker: "
          f"{two['rate'] / one['rate']:.2f}x" if one["rate"] else "")
    print(f"{'re-score, 2 workers, one SIGKILLed (posts/s)':<44}{killed['rate']:>14,.0f}")
    print(f"{'posts lost (all three runs)':<44}{results['lost']:>14}   0")
    print(f"{'posts duplicated (all three runs)':<44}{results['duplicated']:>14}   0")
    print(f"{'firehose replay at 10x (events/s)':<44}{hose['rate']:>14,.0f}   >= 250")
    print(f"{'firehose lag after the replay (s)':<44}{str(results['firehose_lag_s']):>14}   < 5")
    for n, seconds in reports.items():
        print(f"{f'full report, {n:,} posts (s)':<44}{seconds:>14.2f}")
    print(json.dumps(results))


def _drop_queues(broker: str, prefix: str) -> None:
    if not broker.startswith("redis"):
        return
    import redis

    client = redis.Redis.from_url(broker)
    for key in client.scan_iter(f"{prefix}.*"):
        client.delete(key)


if __name__ == "__main__":
    main()
