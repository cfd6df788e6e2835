"""Failures that must not look like success: hanging servers, error statuses, garbage bodies."""

import json
import time

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
