"""Soak test of the scheduler: hundreds of scheduled cycles against a local fake Hacker News (Algolia) server
that injects faults, with a simulated clock, two schedulers on one SQLite database, and one collector process
killed with SIGKILL mid-run.

    PYTHONPATH=. python benchmarks/soak.py                 # 300 cycles of 5 simulated minutes
    PYTHONPATH=. python benchmarks/soak.py --cycles 100 --seed 7

Faults: timeouts, 429 with a short Retry-After, 429 with a reset too far away (the run gives up and the next
run resumes), 429 without headers, 5xx, malformed (truncated JSON) pages, the database locked by another
writer for 1.5 s, and a process killed with SIGKILL mid-collection (its lease lapses and is taken over).
Compliance: every 10 cycles the platform deletes a few posts it already served (and stops serving them), and a
compliance run (``monitor.compliance.purge_ids``, the path ``stance purge`` and the platform checks use) deletes
them while the schedulers collect; at the end one expiry run deletes everything older than the first day.
A fault counts as recovered when every post the faulty response would have carried ends up stored (for the
database lock: the run that waited for it finished ok). Among the posts that should exist (published, not
deleted on the platform, not expired) lost must be 0 and duplicated 0; duplicates are counted by content
(the same text stored twice) and by source id, not through the unique constraint; deleted and expired posts
still stored after the last compliance run must be 0 and expiry must delete nothing newer than its cutoff.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from classifiers.language import LanguageDetector  # noqa: E402
from monitor.collectors.hackernews import HackerNewsCollector  # noqa: E402
from monitor.collectors.http import RetryPolicy  # noqa: E402
from monitor.compliance import expire, purge_ids  # noqa: E402
from monitor.ingest.pipeline import IngestContext  # noqa: E402
from monitor.scheduling.config import JobSpec, ScheduleSettings  # noqa: E402
from monitor.scheduling.runners import collect_runner  # noqa: E402
from monitor.scheduling.scheduler import Runtime, run_due, run_job  # noqa: E402
from storage import scheduling_queries as sq  # noqa: E402
from storage.engine import open_database  # noqa: E402
from storage.models import CollectionRun, Post  # noqa: E402

START = datetime(2025, 8, 5, tzinfo=UTC)
POST_EVERY = 37  # simulated seconds between two posts of the fake platform
PAGE_SIZE = 20
CLIENT_TIMEOUT = 0.25
LEASE_SECONDS = 600
FAULTS = {"timeout": 0.03, "429 retry-after": 0.03, "429 reset too far": 0.01, "429 no header": 0.03,
          "5xx": 0.05, "malformed page": 0.03}
JOB = JobSpec("collect-hn", "collect", "*/15 * * * *", (), "hackernews")


class SimClock:
    def __init__(self, start: datetime):
        self.value, self.lock = start.timestamp(), threading.Lock()

    def ts(self) -> float:
        with self.lock:
            return self.value

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.ts(), UTC)

    def sleep(self, seconds: float) -> None:
        """Retry waits pass in simulated time only."""
        with self.lock:
            self.value += seconds


class Platform:
    """The fake platform's posts (one every POST_EVERY simulated seconds) and what the server did."""

    def __init__(self, seed: int):
        self.rng, self.lock = random.Random(seed), threading.Lock()
        self.faults_on = True
        self.delay = 0.0  # seconds per page, to catch the killed worker mid-run
        self.requests = Counter()
        self.served: set[str] = set()
        self.deliveries = 0
        self.faults: list[tuple[str, list[str]]] = []  # kind, ids the response would have carried
        self.served_log: list[list[str]] = []
        #: Posts deleted on the platform: no longer served, to be deleted from the database by compliance runs.
        self.deleted: set[str] = set()

    def page(self, lower: int | None, upper: int, page: int) -> tuple[list[dict], int, int]:
        first = 0 if lower is None else max(0, math.ceil((lower - START.timestamp()) / POST_EVERY))
        last = int((upper - START.timestamp()) // POST_EVERY)
        ids = [k for k in range(last, first - 1, -1) if str(k) not in self.deleted]  # newest first
        chosen = ids[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
        hits = [{"objectID": str(k), "title": f"Release the weights, part {k}", "author": f"user{k % 50}",
                 "created_at_i": int(START.timestamp()) + k * POST_EVERY, "points": k % 7} for k in chosen]
        return hits, math.ceil(len(ids) / PAGE_SIZE), len(ids)

    def fault(self) -> str | None:
        with self.lock:
            if not self.faults_on:
                return None
            roll = self.rng.random()
        for kind, probability in FAULTS.items():
            if roll < probability:
                return kind
            roll -= probability
        return None


def make_handler(platform: Platform, clock: SimClock):
    class Algolia(BaseHTTPRequestHandler):
        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            filters = query["numericFilters"][0].split(",")
            lower = next((int(f.split(">=")[1]) for f in filters if ">=" in f), None)
            upper = next(int(f.split("<=")[1]) for f in filters if "<=" in f)
            hits, pages, total = platform.page(lower, upper, int(query["page"][0]))
            ids = [h["objectID"] for h in hits]
            kind = platform.fault()
            try:
                self._respond(kind, hits, pages, total, ids)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _respond(self, kind, hits, pages, total, ids):
            with platform.lock:
                platform.requests[kind or "200 ok"] += 1
                if kind:
                    platform.faults.append((kind, ids))
            if kind == "timeout":
                time.sleep(CLIENT_TIMEOUT * 2.5)
                return self._send(200, b"{}")
            if kind == "429 retry-after":
                return self._send(429, b"", {"Retry-After": "1"})
            if kind == "429 reset too far":
                return self._send(429, b"", {"x-rate-limit-reset": str(int(clock.ts()) + 7200)})
            if kind == "429 no header":
                return self._send(429, b"")
            if kind == "5xx":
                return self._send(random.choice([500, 502, 503]), b"oops")
            body = json.dumps({"hits": hits, "nbPages": pages, "nbHits": total}).encode()
            if kind == "malformed page":
                return self._send(200, body[: len(body) // 2])
            time.sleep(platform.delay)
            self._send(200, body)
            with platform.lock:
                platform.served.update(ids)
                platform.deliveries += len(ids)
                platform.served_log.append(ids)

        def _send(self, status, body, headers=None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Algolia


class ShortTimeouts(requests.Session):
    """The collector's 30 s timeout, shortened so that timeouts cost a quarter second."""

    def request(self, *args, **kwargs):
        kwargs["timeout"] = CLIENT_TIMEOUT
        return super().request(*args, **kwargs)


def runtime_for(db_url: str, base_url: str, clock: SimClock, watch: dict | None = None):
    engine, sessions = open_database(db_url)
    ingest = IngestContext(topic="soak", detector=LanguageDetector(("en",)), salt="soak", keywords=("weights",))

    def collectors(context, job):
        policy = RetryPolicy(sleep=clock.sleep, clock=clock.ts)
        return [HackerNewsCollector("weights", base_url, session=ShortTimeouts(), policy=policy, clock=clock.ts)]

    run = collect_runner(collectors, lambda context: ingest)

    def watched(context, job):
        """Counts how many runs of one source overlap (must never exceed one)."""
        if watch is None:
            return run(context, job)
        with watch["lock"]:
            watch["active"] += 1
            watch["peak"] = max(watch["peak"], watch["active"])
        try:
            return run(context, job)
        finally:
            with watch["lock"]:
                watch["active"] -= 1

    plan = ScheduleSettings("UTC", LEASE_SECONDS, 30, (JOB,))
    return engine, Runtime(sessions, plan, {"collect": watched}, heartbeat=False)


def worker(db_url: str, base_url: str, sim_ts: float) -> None:
    """The process that gets killed: one run of the collection job at simulated time ``sim_ts``."""
    clock = SimClock(datetime.fromtimestamp(sim_ts, UTC))
    _, runtime = runtime_for(db_url, base_url, clock)
    run_job(runtime, JOB.name, clock.now())


def due(runtime: Runtime, now: datetime) -> bool:
    with runtime.sessions() as session:
        job = sq.job_state(session, JOB.name)
        return job is not None and job.next_run_at is not None and sq.as_utc(job.next_run_at) <= now


def hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    connection.execute("ROLLBACK")
    connection.close()


def kill_mid_run(platform: Platform, db_url: str, base_url: str, clock: SimClock) -> list[str]:
    """Start a collector process on a backlog, SIGKILL it after three pages; returns ids it was served."""
    before = len(platform.served_log)
    platform.faults_on, platform.delay = False, 0.15
    env = {**os.environ, "PYTHONPATH": str(_HERE.parent)}
    process = subprocess.Popen([sys.executable, __file__, "--worker", db_url, base_url, str(clock.ts())], env=env)
    deadline = time.monotonic() + 60
    while len(platform.served_log) - before < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    platform.faults_on, platform.delay = True, 0.0
    return [i for ids in platform.served_log[before:] for i in ids]


def soak(cycles: int, seed: int) -> int:
    started = time.monotonic()
    directory = Path(tempfile.mkdtemp(prefix="stance-soak-"))
    # The injected faults make the scheduler log warnings by the hundred; keep them, but out of the report.
    logging.basicConfig(filename=directory / "soak.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db_path = directory / "soak.db"
    db_url = f"sqlite:///{db_path}"
    clock = SimClock(START)
    platform = Platform(seed)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(platform, clock))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    watch = {"lock": threading.Lock(), "active": 0, "peak": 0}
    schedulers = [runtime_for(db_url, base_url, clock, watch) for _ in range(2)]
    outcomes: Counter = Counter()
    lock_faults, recovered_locks, killed_ids = 0, 0, []
    # The database is locked by another writer at the first due run after each of these cycles.
    kill_at, lock_cycles = cycles // 2, {cycles // 5, cycles // 3, (3 * cycles) // 4}

    def one_pass(runtime, now, results):
        results.extend(run_due(runtime, now))

    compliance_runs, rng = 0, random.Random(seed)
    compliance_sessions = open_database(db_url)[1]

    def compliance_pass() -> None:
        purge_ids(compliance_sessions, "hackernews", sorted(platform.deleted), reason="soak: deleted on the platform",
                  job="soak-compliance")

    for cycle in range(cycles + 24):  # the last 24 cycles (2 simulated hours) run without faults: the drain
        if cycle == cycles:
            platform.faults_on = False
        if cycle == kill_at:
            clock.sleep(6 * 3600)  # a quiet night builds a backlog of pages for the killed process
            killed_ids = kill_mid_run(platform, db_url, base_url, clock)
        holder = None
        if lock_cycles and cycle >= min(lock_cycles) and platform.faults_on and due(schedulers[0][1], clock.now()):
            lock_cycles.remove(min(lock_cycles))
            held = threading.Event()
            holder = threading.Thread(target=hold_write_lock, args=(db_path, 1.5, held))
            holder.start()
            held.wait()
            lock_faults += 1
        now, results = clock.now(), []
        threads = [threading.Thread(target=one_pass, args=(rt, now, results)) for _, rt in schedulers]
        if cycle % 10 == 5 and platform.faults_on:
            with compliance_sessions() as session:
                stored_now = sorted(session.scalars(select(Post.source_id)))
            with platform.lock:
                platform.deleted.update(rng.sample(stored_now, min(3, len(stored_now))))
            threads.append(threading.Thread(target=compliance_pass))
            compliance_runs += 1
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if holder is not None:
            holder.join()
            recovered_locks += any(o.status in ("ok", "partial") for o in results)
        outcomes.update(o.status for o in results)
        clock.sleep(300)
    server.shutdown()

    engine, sessions = open_database(db_url)
    with sessions() as session:
        restored = set(session.scalars(select(Post.source_id))) & platform.deleted
    compliance_pass()  # the next scheduled compliance run: deletes what a page in flight stored again
    with sessions() as session:
        before_expiry = {row.source_id: row.created_at for row in session.execute(
            select(Post.source_id, Post.created_at))}
    # A one-day retention, run as if a day after the middle of the simulated period: the older half goes.
    middle = START + (clock.now() - START) / 2
    expired = expire(sessions, {"hackernews": 1}, middle + timedelta(days=1), job="soak-expire")
    expiry_cutoff = expired.cutoffs["hackernews"]
    with sessions() as session:
        stored = {row for row in session.scalars(select(Post.source_id))}
        rows = session.scalar(select(func.count(Post.id)))
        by_content = rows - (session.scalar(select(func.count(func.distinct(Post.content_hash)))) or 0)
        by_source_id = rows - (session.scalar(select(func.count(func.distinct(Post.source_id)))) or 0)
        runs = Counter(session.scalars(select(CollectionRun.status)))
        job = sq.job_state(session, JOB.name)
    newer_expired = [i for i, at in before_expiry.items() if i not in stored and i not in platform.deleted
                     and sq.as_utc(at) >= expiry_cutoff]
    old_kept = [i for i in stored if sq.as_utc(before_expiry[i]) < expiry_cutoff]
    for _, runtime in schedulers:
        runtime.sessions.kw["bind"].dispose()
    # Everything posted up to the start of the last (fault-free, ok) run must be stored.
    assert job.last_status == "ok", job.last_status
    horizon = int(sq.as_utc(job.last_started_at).timestamp())
    published = {str(k) for k in range(0, int((horizon - START.timestamp()) // POST_EVERY) + 1)}
    first_kept = math.ceil((expiry_cutoff.timestamp() - START.timestamp()) / POST_EVERY)
    should_exist = {k for k in published if int(k) >= first_kept} - platform.deleted
    lost = should_exist - stored
    deleted_kept = stored & platform.deleted
    # Faults and the kill count as recovered when their posts were stored (as they were before the expiry run).
    recovered = Counter(kind for kind, ids in platform.faults if set(ids) - platform.deleted <= set(before_expiry))
    injected = Counter(kind for kind, _ in platform.faults)
    elapsed = time.monotonic() - started

    print(f"soak: {cycles} cycles of 5 simulated minutes + 24 drain cycles "
          f"({(clock.ts() - START.timestamp()) / 3600:.1f} simulated hours), 2 schedulers + 1 killed process, "
          f"seed {seed}, {elapsed:.1f} s wall")
    print(f"requests: {sum(platform.requests.values())} ({platform.requests['200 ok']} answered 200 ok)")
    print(f"posts published up to the last run: {len(published)}")
    print(f"posts served: {len(platform.served)} (deliveries incl. repeats: {platform.deliveries})")
    print(f"posts stored: {len(stored)}")
    print(f"posts that should exist (published, not deleted on the platform, not expired): {len(should_exist)}")
    print(f"posts lost: {len(lost)}")
    print(f"duplicated: {by_content} by content, {by_source_id} by source id")
    print(f"compliance: {len(platform.deleted)} posts deleted on the platform in {compliance_runs} rounds, each "
          f"purged while collecting; {len(restored)} stored again by a page in flight and removed by the next "
          f"compliance run; still stored after it: {len(deleted_kept)}")
    print(f"expiry: {expired.total} posts older than {expiry_cutoff:%Y-%m-%d %H:%M} deleted; older still "
          f"stored: {len(old_kept)}; newer deleted: {len(newer_expired)}")
    print(f"scheduler outcomes: {dict(sorted(outcomes.items()))}; concurrent runs of one source: max {watch['peak']}")
    print(f"collection runs: {dict(sorted(runs.items()))} (abandoned/running = the killed process's run)")
    print(f"{'fault':<22}{'injected':>9}{'recovered':>11}")
    for kind in FAULTS:
        print(f"{kind:<22}{injected[kind]:>9}{recovered[kind]:>11}")
    print(f"{'database locked 1.5 s':<22}{lock_faults:>9}{recovered_locks:>11}")
    killed_recovered = int(bool(killed_ids) and set(killed_ids) - platform.deleted <= set(before_expiry))
    print(f"{'SIGKILL mid-run':<22}{1:>9}{killed_recovered:>11}"
          f"   ({len(killed_ids)} posts were served to the killed process)")
    print(f"log: {directory / 'soak.log'}")
    engine.dispose()
    ok = (not lost and not by_content and not by_source_id and not deleted_kept and not old_kept
          and not newer_expired and watch["peak"] <= 1)
    return 0 if ok else 1


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.exit(soak(args.cycles, args.seed))


if __name__ == "__main__":
    main()
