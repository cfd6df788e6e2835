"""`stance job` exit codes and `stance schedule` shutting down cleanly on SIGTERM (a real subprocess)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from monitor.cli.app import app
from monitor.cli.schedule import register
from monitor.scheduling.locks import acquire
from storage import queries
from storage import scheduling_queries as sq
from storage.engine import open_database
from storage.models import CollectionRun
from storage.scheduling_models import Lease
from tests_support import stance

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = "import sys; from monitor.cli.app import app, main; from monitor.cli.schedule import register; " \
         "register(app); main(sys.argv[1:])"


@pytest.fixture
def commands():
    """`schedule` and `job` registered on the real app for this test only (cli.py wires them for good)."""
    before = list(app.registered_commands)
    register(app)
    register(app)  # idempotent
    assert [c.name for c in app.registered_commands].count("job") == 1
    yield
    app.registered_commands[:] = before


def config(workdir, db_url, jobs: str, sources: str = "") -> None:
    (workdir / "stance.toml").write_text(
        f'database_url = "{db_url}"\n[topic]\nname = "t"\nkeywords = ["weights"]\n{sources}\n'
        f"[schedule]\npoll_seconds = 1\nlease_seconds = 60\n{jobs}", encoding="utf-8")


def test_job_exit_codes(commands, workdir, capsys):
    db_url = f"sqlite:///{workdir / 'jobs.db'}"
    (workdir / "good.jsonl").write_text(
        '{"id": "1", "text": "release the weights", "created_at": "2025-08-05T10:00:00Z"}\n', encoding="utf-8")
    config(workdir, db_url,
           '[schedule.jobs.files]\nrun = "collect"\nsource = "file"\ncron = "0 * * * *"\n',
           '[sources.file]\nenabled = true\npaths = ["good.jsonl", "missing.jsonl"]\n')
    code, out, err = stance(capsys, "job", "files")
    assert code == 2, err  # one of two files could not be read: partial
    assert "files: partial" in out and "missing.jsonl" in err
    code, _, err = stance(capsys, "job", "nope")
    assert code == 1 and "no job named 'nope'" in err
    engine, sessions = open_database(db_url)
    assert acquire(sessions, "collect:file", "other-host:42:x", datetime.now(UTC), timedelta(minutes=5))
    code, _, err = stance(capsys, "job", "files")
    assert code == 3 and "held by other-host:42:x" in err
    with sessions.begin() as session:
        session.query(Lease).delete()
    (workdir / "stance.toml").write_text((workdir / "stance.toml").read_text().replace(', "missing.jsonl"', ""))
    code, out, err = stance(capsys, "job", "files")
    assert code == 0, err
    assert "files: ok" in out and "0 new" in out
    code, out, _ = stance(capsys, "schedule", "--list")
    assert code == 0 and "collect:file" in out
    engine.dispose()


class SlowAlgolia(BaseHTTPRequestHandler):
    """Hacker News search_by_date with endless pages of five matching hits, 0.3 s per page."""

    served: list = []

    def do_GET(self):
        page = int(parse_qs(urlsplit(self.path).query)["page"][0])
        time.sleep(0.3)
        hits = [{"objectID": f"{page}-{i}", "title": f"release the weights {page} {i}", "author": "a",
                 "created_at_i": 1754380000 - page * 10 - i} for i in range(5)]
        body = json.dumps({"hits": hits, "nbPages": 1000, "nbHits": 5000, "page": page}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
        type(self).served.append(page)

    def log_message(self, *args):
        pass


def test_sigterm_finishes_the_current_page_commits_and_exits_cleanly(workdir, tmp_path):
    SlowAlgolia.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowAlgolia)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db_url = f"sqlite:///{workdir / 'daemon.db'}"
    config(workdir, db_url, '[schedule.jobs.collect-hn]\nrun = "collect"\nsource = "hackernews"\ncron = "0 0 1 1 *"\n',
           f'[sources.hackernews]\nenabled = true\nquery = "weights"\nbase_url = "http://127.0.0.1:{server.server_port}"\n')
    engine, sessions = open_database(db_url)
    with sessions.begin() as session:  # a run missed while no scheduler was up: due at once
        sq.set_schedule(session, "collect-hn", datetime.now(UTC) - timedelta(hours=1), None)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STANCE_AUTHOR_SALT": "s"}
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, "--log-format", "json", "schedule"], cwd=workdir,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Only a bound on a hang: the loop ends as soon as two pages are served. Starting the CLI took over 30 s
        # on a machine busy with two test suites at once.
        deadline = time.monotonic() + 120
        while len(SlowAlgolia.served) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert len(SlowAlgolia.served) >= 2, process.stderr.read() if process.poll() is not None else "no pages"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
        server.shutdown()
        server.server_close()
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert any("job=collect-hn event=start" in m for m in messages)
    assert any("job=collect-hn event=end status=stopped duration_s=" in m for m in messages)
    assert any("received SIGTERM" in m for m in messages)
    with sessions() as session:
        # Every page the server handed out was committed, including the one in flight at SIGTERM; no more.
        assert queries.count_posts(session) == 5 * len(SlowAlgolia.served)
        assert session.scalar(select(CollectionRun.status)) == "stopped"
        assert queries.get_cursor(session, "hackernews", "weights")["page"] == len(SlowAlgolia.served)
        assert sq.job_state(session, "collect-hn").last_status == "stopped"
        assert session.get(Lease, "collect:hackernews") is None  # released, not left to expire
    engine.dispose()
