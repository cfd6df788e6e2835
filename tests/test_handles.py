"""No handle or display name survives collection: every table and every export format is scanned for the
names the fake servers (X v2 search, Mastodon hashtag timeline, Hacker News Algolia) put in their payloads."""

from __future__ import annotations

import json

from sqlalchemy import MetaData, select
from test_cli_collect import serve_algolia
from werkzeug import Response

from tests_support import stance

NAMES = ("xhandle_alpha", "X Display Alpha", "mastohandle_beta", "Masto Display Beta", "hnhandle_gamma")


def serve_x(httpserver) -> list[str]:
    tweets = [{"id": str(1_800_000_000_000_000_000 + n), "text": f"post {n} about the weather", "lang": "en",
               "created_at": f"2025-08-05T10:0{n}:00.000Z", "author_id": "42",
               "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": n, "quote_count": 0},
               "edit_history_tweet_ids": [str(1_800_000_000_000_000_000 + n)]} for n in range(1, 4)]
    body = {"data": tweets, "includes": {"users": [{"id": "42", "username": "xhandle_alpha",
                                                     "name": "X Display Alpha"}]},
            "meta": {"result_count": 3, "newest_id": tweets[-1]["id"], "oldest_id": tweets[0]["id"]}}
    httpserver.expect_request("/2/tweets/search/recent").respond_with_json(body)
    return [t["id"] for t in tweets]


def serve_mastodon(httpserver) -> None:
    host = "chaos.social"
    statuses = [{
        "id": str(114_000_000_000_000_000 + n), "uri": f"https://{host}/users/mastohandle_beta/statuses/{n}",
        "url": f"https://{host}/@mastohandle_beta/{n}", "created_at": f"2025-08-05T12:0{n}:00.000Z",
        "content": f"<p>gpt-oss note {n}</p>", "spoiler_text": "", "language": "en", "visibility": "public",
        "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "reblog": None,
        "account": {"id": "901", "username": "mastohandle_beta", "acct": f"mastohandle_beta@{host}",
                    "display_name": "Masto Display Beta", "url": f"https://{host}/@mastohandle_beta"},
        "mentions": [], "tags": [], "emojis": [], "media_attachments": [],
    } for n in range(1, 3)]

    def handler(request):
        since = int(request.args.get("since_id") or 0)
        upper = int(request.args.get("max_id") or 10**30)
        page = sorted((s for s in statuses if since < int(s["id"]) < upper), key=lambda s: -int(s["id"]))
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/api/v1/timelines/tag/gptoss").respond_with_handler(handler)


def test_no_handle_or_display_name_in_any_table_or_export(workdir, httpserver, monkeypatch, capsys):
    base = httpserver.url_for("/").rstrip("/")
    monkeypatch.setenv("X_BEARER_TOKEN", "token")
    for source in ("X", "MASTODON", "HACKERNEWS"):
        monkeypatch.setenv(f"STANCE_{source}_BASE_URL", base)
    x_ids = serve_x(httpserver)
    serve_mastodon(httpserver)
    serve_algolia(httpserver, [{"objectID": "44000001", "created_at_i": 1_754_500_000, "author": "hnhandle_gamma",
                                "title": "gpt-oss on HN", "url": None, "points": 3, "num_comments": 0,
                                "_tags": ["story", "author_hnhandle_gamma"]}])
    (workdir / "stance.toml").write_text(
        '[topic]\nkeywords = ["gpt-oss"]\n[sources.file]\nenabled = false\n'
        '[sources.x]\nenabled = true\nquery = "gpt-oss"\n'
        '[sources.mastodon]\nenabled = true\nhashtags = ["gptoss"]\n'
        '[sources.hackernews]\nenabled = true\nquery = "gpt-oss"\n')
    code, out, err = stance(capsys, "--verbose", "collect")
    assert code == 0, err
    logged = out + err  # -v logs: tweepy would print whole response bodies there
    code, out, _ = stance(capsys, "status", "--json")
    # Every post the platforms returned is stored, off-topic ones too (the X posts are about the weather).
    assert json.loads(out)["by_source"] == {"x": 3, "mastodon": 2, "hackernews": 1}

    from monitor import jobs
    from monitor.config import load_settings
    from storage.models import Post

    sessions = jobs.open_store(load_settings())
    dump = [logged]
    with sessions() as session:
        metadata = MetaData()
        metadata.reflect(bind=session.get_bind())
        for table in metadata.sorted_tables:
            dump.extend(str(tuple(row)) for row in session.execute(select(table)))
        x_posts = session.scalars(select(Post).where(Post.source == "x")).all()
        assert {p.url for p in x_posts} == {f"https://x.com/i/web/status/{i}" for i in x_ids}
        assert {p.author for p in x_posts} == {None}  # aggregate-only
        assert all(p.author and p.author.startswith("a_") for p in session.scalars(select(Post))
                   if p.source != "x")
    for fmt in ("csv", "jsonl", "parquet"):
        code, _, err = stance(capsys, "export", f"out.{fmt}", "--format", fmt)
        assert code == 0, err
        exported = (workdir / f"out.{fmt}").read_bytes().decode("latin-1")
        assert "about the weather" in exported and "gpt-oss note" in exported
        dump.append(exported)
    text = "\n".join(dump).casefold()
    assert len(text) > 1000
    assert [name for name in NAMES if name.casefold() in text] == []
