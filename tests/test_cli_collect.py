"""`stance collect` end to end through the real clients against a local HTTP server."""

import json

from werkzeug import Response

from tests_support import stance

NOW = 1_754_500_000


def hit(number: int, text: str) -> dict:
    return {"objectID": str(44_000_000 + number), "created_at_i": NOW + number * 60, "author": f"user{number}",
            "title": text, "url": None, "points": 3, "num_comments": 0, "_tags": ["story"]}


def serve_algolia(httpserver, hits):
    def handler(request):
        newest_first = sorted(hits, key=lambda h: -h["created_at_i"])
        floor = request.args.get("numericFilters", "")
        if "created_at_i>" in floor:
            bound = int(floor.split("created_at_i>")[1].split(",")[0].lstrip("="))
            newest_first = [h for h in newest_first if h["created_at_i"] > bound]
        body = {"hits": newest_first, "page": 0, "nbPages": 1, "nbHits": len(newest_first), "hitsPerPage": 100}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1/search_by_date").respond_with_handler(handler)


def test_collect_a_disabled_source_by_name_incrementally(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    hits = [hit(1, "OpenAI releases gpt-oss under Apache 2.0"), hit(2, "Show HN: my tennis app"),
            hit(3, "Why open weights matter for gpt-oss users")]
    serve_algolia(httpserver, hits)
    code, out, err = stance(capsys, "collect", "--source", "hackernews")
    assert code == 0, err
    # Every post the platform's search matched is kept; relevance is the classifier's job.
    assert "3 new" in out and "skipped" not in out

    hits.append(hit(4, "gpt-oss-20b on a phone, open weights FTW"))
    code, out, err = stance(capsys, "collect", "--source", "hackernews")
    assert code == 0, err
    assert "1 new" in out

    code, out, _ = stance(capsys, "status", "--json")
    summary = json.loads(out)
    assert summary["by_source"] == {"hackernews": 4}
    assert summary["last_runs"][0]["status"] == "ok"


def test_the_keyword_filter_is_a_setting_and_what_it_drops_is_counted(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    (workdir / "stance.toml").write_text('[topic]\nkeywords = ["gpt-oss"]\n'
                                         '[sources.hackernews]\nquery = "gpt-oss"\nkeyword_filter = true\n')
    serve_algolia(httpserver, [hit(1, "OpenAI releases gpt-oss"), hit(2, "Show HN: my tennis app")])
    code, out, err = stance(capsys, "collect", "--source", "hackernews")
    assert code == 0, err
    assert "1 new" in out and "1 off-topic skipped" in out
    code, out, _ = stance(capsys, "status", "--json")
    assert json.loads(out)["last_runs"][0]["skipped"] == 1


def test_dry_run_counts_without_reading_posts(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("X_BEARER_TOKEN", "secret-token-value")
    monkeypatch.setenv("STANCE_X_BASE_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/2/tweets/counts/recent").respond_with_json(
        {"data": [], "meta": {"total_tweet_count": 1234}})
    code, out, err = stance(capsys, "collect", "--source", "x", "--dry-run", "--max", "250")
    assert code == 0, err
    assert "1234 posts match; a run would read 250 posts in 3 requests" in out
    assert all("/2/tweets/search" not in request.path for request, _ in httpserver.log)
    assert "secret-token-value" not in out + err


def test_dry_run_of_a_search_source_reads_one_page_and_stores_nothing(workdir, httpserver, monkeypatch, capsys):
    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    hits = [hit(1, "OpenAI releases gpt-oss"), hit(2, "Show HN: my tennis app")]
    serve_algolia(httpserver, hits)
    assert stance(capsys, "collect", "--source", "hackernews")[0] == 0
    hits.append(hit(3, "gpt-oss on a phone"))

    code, out, err = stance(capsys, "collect", "--source", "hackernews", "--dry-run")
    assert code == 0, err
    assert "hackernews gpt-oss" in out and " 1 new, " in out and "(nothing stored)" in out
    code, out, _ = stance(capsys, "status", "--json")
    assert json.loads(out)["by_source"] == {"hackernews": 2}  # the dry run stored nothing ...
    code, out, err = stance(capsys, "collect", "--source", "hackernews")
    assert code == 0 and "1 new" in out  # ... and moved no cursor


def test_missing_credentials_are_one_line(workdir, monkeypatch, capsys):
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    code, _, err = stance(capsys, "collect", "--source", "x")
    assert code == 1
    assert "X_BEARER_TOKEN" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_collect_skips_a_source_whose_lease_another_process_holds(workdir, httpserver, monkeypatch, capsys):
    from datetime import timedelta

    from monitor.scheduling.locks import acquire, utcnow
    from storage.engine import open_database

    monkeypatch.setenv("STANCE_HACKERNEWS_BASE_URL", httpserver.url_for("/").rstrip("/"))
    serve_algolia(httpserver, [hit(1, "OpenAI releases gpt-oss under Apache 2.0")])
    engine, sessions = open_database("sqlite:///stance.db")
    assert acquire(sessions, "collect:hackernews", "other-machine:1", utcnow(), timedelta(minutes=10))
    code, out, err = stance(capsys, "collect", "--source", "hackernews")
    assert code == 0, err
    assert "locked" in out and "other-machine:1" in out
    assert not httpserver.log  # nothing was fetched
    engine.dispose()
