"""Failures that must not look like success: hanging servers, error statuses, garbage bodies."""

import time

import pytest
from sqlalchemy import create_engine, select
from werkzeug import Response

from storage.models import CollectionRun
from storage.scheduling_models import Lease
from tests_support import stance


def runs_and_leases(workdir):
    engine = create_engine(f"sqlite:///{workdir / 'stance.db'}")
    with engine.connect() as conn:
        runs = conn.execute(select(CollectionRun.status, CollectionRun.error)).all()
        leases = conn.execute(select(Lease.name)).all()
    engine.dispose()
    return runs, leases


def test_a_hanging_x_server_ends_the_run_failed_within_its_budget(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("X_BEARER_TOKEN", "token")
    monkeypatch.setenv("STANCE_X_BASE_URL", httpserver.url_for("/").rstrip("/"))
    (workdir / "stance.toml").write_text('[sources.x]\nquery = "gpt-oss"\nconnect_timeout = 0.5\n'
                                         'read_timeout = 0.3\nmax_run_seconds = 2.5\n')

    def hang(_request):
        time.sleep(1.0)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/2/tweets/search/recent").respond_with_handler(hang)
    started = time.monotonic()
    code, out, err = stance(capsys, "collect", "--source", "x")
    elapsed = time.monotonic() - started

    assert code == 4, out + err
    assert elapsed < 8
    runs, leases = runs_and_leases(workdir)
    assert [status for status, _ in runs] == ["failed"]
    assert "time budget" in runs[0][1] and "ReadTimeout" in runs[0][1]
    assert leases == []  # released, not held for its lifetime


def test_error_statuses_and_garbage_bodies_are_failed_runs(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    (workdir / "stance.toml").write_text('[sources.hackernews]\nquery = "gpt-oss"\n')
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        '{"hits": [{"objectID": "1", "title": "gpt-oss', content_type="application/json")  # truncated

    code, out, _ = stance(capsys, "collect", "--source", "hackernews")

    assert code == 4
    assert "failed" in out
    runs, _ = runs_and_leases(workdir)
    assert runs[0][0] == "failed" and "malformed" in runs[0][1]


def test_a_404_is_a_failed_run_with_a_short_error(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    (workdir / "stance.toml").write_text('[sources.hackernews]\nquery = "gpt-oss"\n')
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data("x" * 100_000, status=404)

    code, _, _ = stance(capsys, "collect", "--source", "hackernews")

    assert code == 4
    runs, _ = runs_and_leases(workdir)
    assert runs[0][0] == "failed" and len(runs[0][1]) <= 500


def test_every_client_gets_the_configured_timeouts(workdir):
    from monitor import jobs
    from monitor.config import load_settings

    sources = "".join(f'[sources.{name}]\nquery = "q"\nconnect_timeout = 2\nread_timeout = 7\n'
                      for name in ("x", "mastodon", "bluesky", "reddit", "hackernews"))
    (workdir / "stance.toml").write_text(
        sources.replace('[sources.mastodon]\n', '[sources.mastodon]\ninstances = ["https://m.example"]\n')
        .replace('[sources.reddit]\n', '[sources.reddit]\nsubreddits = ["LocalLLaMA"]\n')
        + '[sources.rss]\nfeeds = ["https://f.example/feed"]\nconnect_timeout = 2\nread_timeout = 7\n')
    environ = {"X_BEARER_TOKEN": "t", "BLUESKY_HANDLE": "h", "BLUESKY_APP_PASSWORD": "p",
               "REDDIT_CLIENT_ID": "i", "REDDIT_CLIENT_SECRET": "s"}
    settings = load_settings(workdir / "stance.toml", environ)
    collectors = {name: jobs.build_collectors(settings, name, environ)[0]
                  for name in ("x", "mastodon", "bluesky", "reddit", "hackernews", "rss")}

    assert all(c.policy.timeout == (2.0, 7.0) for c in collectors.values())
    assert collectors["x"].client.session.get_adapter("https://api.twitter.com/2").timeout == (2.0, 7.0)
    assert collectors["mastodon"]._client("https://m.example").request_timeout == (2.0, 7.0)
    timeout = collectors["bluesky"].client.request._client.timeout
    assert (timeout.connect, timeout.read) == (2.0, 7.0)
    assert collectors["reddit"].reddit._core.requestor.timeout == (2.0, 7.0)


def test_sigterm_during_collect_marks_the_run_stopped_and_releases_the_lease(workdir, httpserver):
    import os
    import signal
    import subprocess
    import sys

    (workdir / "stance.toml").write_text('[sources.x]\nquery = "gpt-oss"\nread_timeout = 20\n')
    httpserver.expect_request("/2/tweets/search/recent").respond_with_handler(
        lambda _request: (time.sleep(3), Response("{}", content_type="application/json"))[1])
    env = {**os.environ, "X_BEARER_TOKEN": "token", "STANCE_X_BASE_URL": httpserver.url_for("/").rstrip("/")}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "collect", "--source", "x"], cwd=workdir,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (workdir / "stance.db").exists():
        time.sleep(0.2)
    runs = []
    while time.monotonic() < deadline and not runs:
        time.sleep(0.2)
        try:
            runs, _ = runs_and_leases(workdir)
        except Exception:  # noqa: BLE001 - the schema may still be being created
            runs = []
    assert runs == [("running", None)]

    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 143, err
    assert "Traceback" not in err and "stopped by SIGTERM" in err
    runs, leases = runs_and_leases(workdir)
    assert runs[0][0] == "stopped" and leases == []


def test_verbose_logs_show_no_response_bodies(workdir, httpserver, monkeypatch, capsys):
    import logging

    monkeypatch.setenv("X_BEARER_TOKEN", "token")
    monkeypatch.setenv("STANCE_X_BASE_URL", httpserver.url_for("/").rstrip("/"))
    (workdir / "stance.toml").write_text('[sources.x]\nquery = "gpt-oss"\n')
    body = {"data": [{"id": "1900000000000000001", "text": "gpt-oss is out", "author_id": "7",
                      "created_at": "2025-08-05T12:00:00.000Z"}],
            "includes": {"users": [{"id": "7", "username": "alice_handle", "name": "Alice Display"}]},
            "meta": {"result_count": 1}}
    httpserver.expect_request("/2/tweets/search/recent").respond_with_json(body)
    try:
        code, out, err = stance(capsys, "-v", "collect", "--source", "x")
    finally:
        logging.getLogger().handlers[:] = []
        logging.getLogger().setLevel(logging.WARNING)

    assert code == 0, err
    assert "1 new" in out
    assert "DEBUG" in err  # -v did log
    assert "alice_handle" not in err and "Alice Display" not in err


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_make_collect_exit_non_zero(workdir, httpserver, monkeypatch, capsys,
                                                                  status):
    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    (workdir / "stance.toml").write_text('[sources.hackernews]\nquery = "gpt-oss"\nmax_run_seconds = 1\n')
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data("busy", status=status)

    code, out, _ = stance(capsys, "collect", "--source", "hackernews")

    assert code == 4
    runs, leases = runs_and_leases(workdir)
    assert runs[0][0] == "failed" and leases == []


def test_a_missing_config_file_is_one_line_and_exit_1(workdir, capsys):
    code, out, err = stance(capsys, "--config", "nope.toml", "collect")
    assert code == 1
    assert err.strip() == "error: nope.toml: no such configuration file (run `stance init` to write one)"
