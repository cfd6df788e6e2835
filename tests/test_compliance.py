"""Deleting posts everywhere with an audit record: purge, retention, and what the platforms ask for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from monitor.compliance import expire, purge_bluesky_account
from monitor.ingest.privacy import pseudonymise
from storage import queries
from storage.deletion import delete_posts, deletion_log
from storage.models import Classification, Cursor, DeletionLog, HumanLabel, ModelVersion, Post, PostEmbedding
from tests_support import stance

NOW = datetime(2025, 9, 1, tzinfo=UTC)


def add_post(session, source: str, source_id: str, created_at: datetime = NOW, author: str | None = None) -> int:
    post = Post(source=source, source_id=source_id, topic="t", text=f"text of {source_id}", created_at=created_at,
                author=author, raw={"id": source_id}, content_hash=source_id, collected_at=NOW)
    session.add(post)
    session.flush()
    version = session.scalar(select(ModelVersion)) or ModelVersion(name="v1", created_at=NOW, artefact="a")
    session.add(version)
    session.flush()
    session.add(Classification(post_id=post.id, model_version_id=version.id, relevant=True, relevance_score=0.9,
                               stance="neutral", p_pro_open=0.1, p_pro_closed=0.1, p_neutral=0.8,
                               classified_at=NOW))
    session.add(HumanLabel(post_id=post.id, annotator="ann", labelled_at=NOW, stance="neutral"))
    session.add(PostEmbedding(post_id=post.id, encoder="use", vector=b"\x00\x01"))
    return post.id


def counts(session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Post, Classification, HumanLabel, PostEmbedding)}


def test_delete_posts_removes_every_row_forgets_cursors_and_logs_without_text(sessions):
    with sessions.begin() as session:
        for n in ("101", "102", "103"):
            add_post(session, "x", n)
        queries.set_cursor(session, "x", "q", {"since_id": "103"})
    with sessions.begin() as session:
        result = delete_posts(session, "x", ["103", "101", "999"], action="x-compliance", reason="deleted on X",
                              job="compliance-x")
    assert (result.deleted, result.not_found) == (2, ["999"])
    with sessions() as session:
        assert counts(session) == {"posts": 1, "classifications": 1, "human_labels": 1, "post_embeddings": 1}
        assert session.scalar(select(Post.source_id)) == "102"
        assert session.get(Cursor, ("x", "q")).state == {"since_id": "102"}
        (entry,) = deletion_log(session)
        assert (entry.action, entry.reason, entry.job, entry.source) == ("x-compliance", "deleted on X",
                                                                         "compliance-x", "x")
        assert (entry.requested, entry.deleted, entry.not_found) == (3, 2, ["999"])
        assert entry.at is not None and "text of" not in str(entry.not_found)


def test_expiry_deletes_older_posts_everywhere_and_nothing_newer(sessions):
    with sessions.begin() as session:
        add_post(session, "x", "old", NOW - timedelta(days=31))
        add_post(session, "x", "new", NOW - timedelta(days=29))
        add_post(session, "reddit", "kept", NOW - timedelta(days=400))  # no retention for reddit
    result = expire(sessions, {"x": 30}, NOW, job="expire")
    assert result.deleted == {"x": 1} and result.cutoffs["x"] == NOW - timedelta(days=30)
    with sessions() as session:
        assert sorted(session.scalars(select(Post.source_id))) == ["kept", "new"]
        assert counts(session)["classifications"] == 2 and counts(session)["post_embeddings"] == 2
        (entry,) = session.scalars(select(DeletionLog))
        assert (entry.action, entry.deleted, entry.job) == ("expire", 1, "expire")
        assert "30 days" in entry.reason


def test_purge_by_did_finds_posts_by_uri_and_by_pseudonym(sessions):
    did = "did:plc:abc123"
    with sessions.begin() as session:
        add_post(session, "bluesky", f"at://{did}/app.bsky.feed.post/1")
        add_post(session, "bluesky", "at://did:plc:other/app.bsky.feed.post/2",
                 author=pseudonymise(did, "bluesky", "s"))
        add_post(session, "bluesky", "at://did:plc:other/app.bsky.feed.post/3", author="a_someoneelse")
    result = purge_bluesky_account(sessions, did, "s")
    assert result.deleted == 2
    with sessions() as session:
        assert list(session.scalars(select(Post.source_id))) == ["at://did:plc:other/app.bsky.feed.post/3"]


def test_purge_command_lists_ids_not_found_and_audits(workdir, capsys):
    from monitor import jobs
    from monitor.config import load_settings

    sessions = jobs.open_store(load_settings())
    with sessions.begin() as session:
        add_post(session, "x", "1")
    (workdir / "ids.txt").write_text("1\n2\n")
    code, out, err = stance(capsys, "purge", "--source", "x", "ids.txt")
    assert code == 0, err
    assert "deleted 1 post" in out and "1 not stored: 2" in out
    with sessions() as session:
        assert [e.not_found for e in deletion_log(session)] == [["2"]]
    code, _, err = stance(capsys, "purge", "--author-did", "alice.bsky.social")
    assert code == 2 and "did:plc" in err


# --- X batch compliance: the real tweepy client against a local server in the v2 format -----------------


class FakeCompliance:
    """X's compliance job flow: create (POST /2/compliance/jobs), upload (PUT upload_url), poll, download."""

    def __init__(self, httpserver, gone: dict[str, str], polls_before_complete: int = 2):
        self.server, self.gone, self.polls = httpserver, gone, polls_before_complete
        self.uploaded: list[str] = []
        self.created: list[dict] = []
        httpserver.expect_request("/2/compliance/jobs", method="POST").respond_with_handler(self.create)
        httpserver.expect_request("/2/compliance/jobs/1460", method="GET").respond_with_handler(self.poll)
        httpserver.expect_request("/upload/1460", method="PUT").respond_with_handler(self.upload)
        httpserver.expect_request("/download/1460", method="GET").respond_with_handler(self.download)

    def job(self, status: str) -> dict:
        return {"data": {"id": "1460", "type": "tweets", "name": "stance-monitor", "resumable": False,
                         "status": status, "created_at": "2025-09-01T00:00:00.000Z",
                         "upload_url": self.server.url_for("/upload/1460"),
                         "upload_expires_at": "2025-09-01T00:15:00.000Z",
                         "download_url": self.server.url_for("/download/1460"),
                         "download_expires_at": "2025-09-08T00:00:00.000Z"}}

    def create(self, request):
        from werkzeug import Response

        self.created.append({**request.get_json(), "auth": request.headers.get("Authorization")})
        return Response(json.dumps(self.job("created")), content_type="application/json")

    def upload(self, request):
        from werkzeug import Response

        assert request.headers["Content-Type"] == "text/plain"
        self.uploaded = request.get_data(as_text=True).split()
        return Response("", status=200)

    def poll(self, request):
        from werkzeug import Response

        self.polls -= 1
        status = "complete" if self.polls < 0 else "in_progress"
        return Response(json.dumps(self.job(status)), content_type="application/json")

    def download(self, request):
        from werkzeug import Response

        lines = [json.dumps({"id": i, "action": "scrub_geo" if why == "scrub_geo" else "delete",
                             "created_at": "2025-08-05T10:00:00.000Z", "redacted_at": "2025-08-30T00:00:00.000Z",
                             "reason": why}) for i, why in self.gone.items() if i in self.uploaded]
        return Response("\n".join(lines) + "\n", content_type="application/octet-stream")


def test_x_compliance_deletes_exactly_what_x_reports_gone_from_every_table(sessions, httpserver):
    from monitor.collectors.x import build_client
    from monitor.compliance import x_compliance

    stored = [str(1_800_000_000_000_000_000 + n) for n in range(6)]
    with sessions.begin() as session:
        for source_id in stored:
            add_post(session, "x", source_id)
        add_post(session, "reddit", stored[0])  # same id on another source: untouched
    gone = {stored[1]: "deleted", stored[2]: "protected", stored[3]: "suspended", stored[4]: "scrub_geo"}
    fake = FakeCompliance(httpserver, gone)
    waits: list[float] = []
    result = x_compliance(sessions, build_client("test-token", httpserver.url_for("/")), job="compliance-x",
                          poll_seconds=7, sleep=waits.append)
    assert fake.created[0]["type"] == "tweets" and fake.created[0]["auth"] == "Bearer test-token"
    assert sorted(fake.uploaded) == stored
    assert waits == [7, 7]
    assert (result.checked, result.deleted, result.jobs) == (6, 3, ["1460"])
    assert result.reasons == {"deleted": 1, "protected": 1, "suspended": 1, "scrub_geo": 1}
    with sessions() as session:
        assert sorted(session.scalars(select(Post.source_id).where(Post.source == "x"))) == [
            stored[0], stored[4], stored[5]]
        assert counts(session) == {"posts": 4, "classifications": 4, "human_labels": 4, "post_embeddings": 4}
        (entry,) = deletion_log(session)
        assert (entry.action, entry.job, entry.requested, entry.deleted) == ("x-compliance", "compliance-x", 3, 3)
        assert "1460" in entry.reason and "1 protected" in entry.reason


def test_x_compliance_job_that_fails_deletes_nothing(sessions, httpserver):
    from monitor.collectors.x import build_client
    from monitor.compliance import x_compliance
    from monitor.errors import CollectorError

    with sessions.begin() as session:
        add_post(session, "x", "1")
    fake = FakeCompliance(httpserver, {"1": "deleted"}, polls_before_complete=99)
    httpserver.clear()
    httpserver.expect_request("/2/compliance/jobs", method="POST").respond_with_handler(fake.create)
    httpserver.expect_request("/upload/1460", method="PUT").respond_with_handler(fake.upload)
    httpserver.expect_request("/2/compliance/jobs/1460").respond_with_json(fake.job("failed"))
    with pytest.raises(CollectorError, match="job 1460 failed"):
        x_compliance(sessions, build_client("t", httpserver.url_for("/")), sleep=lambda s: None)
    with sessions() as session:
        assert counts(session)["posts"] == 1 and deletion_log(session) == []


def test_compliance_command_runs_the_x_check(workdir, httpserver, monkeypatch, capsys):
    from monitor import jobs
    from monitor.config import load_settings

    monkeypatch.setenv("X_BEARER_TOKEN", "test-token")
    monkeypatch.setenv("STANCE_X_BASE_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setattr("monitor.collectors.x_compliance.time.sleep", lambda s: None)
    sessions = jobs.open_store(load_settings())
    with sessions.begin() as session:
        add_post(session, "x", "11")
        add_post(session, "x", "12")
    FakeCompliance(httpserver, {"12": "deleted"}, polls_before_complete=0)
    code, out, err = stance(capsys, "compliance", "x")
    assert code == 0, err
    assert "x: checked 2 ids, deleted 1 (1 deleted)" in out
    code, _, err = stance(capsys, "compliance", "mastodon")
    assert code == 2 and "expected x or reddit" in err


# --- Reddit re-check: the real PRAW client against a fake /api/info -----------------------------------


def test_reddit_recheck_deletes_what_was_deleted_or_removed_on_reddit(sessions, monkeypatch):
    import re as regex
    from urllib.parse import parse_qs, urlsplit

    import responses

    from monitor.collectors.reddit import build_client
    from monitor.compliance import reddit_recheck

    now_on_reddit = {
        "t3_kept": {"selftext": "still here", "author": "someone"},
        "t3_deleted": {"selftext": "[deleted]", "author": "[deleted]"},
        "t1_removed": {"body": "[removed]", "author": "someone"},
        "t3_mod": {"selftext": "text", "author": "someone", "removed_by_category": "moderator"},
        "t1_kept": {"body": "a comment", "author": "someone"},
    }
    with sessions.begin() as session:
        for name in [*now_on_reddit, "t3_vanished"]:
            add_post(session, "reddit", name)
    asked: list[str] = []

    def info(request):
        names = parse_qs(urlsplit(request.url).query)["id"][0].split(",")
        asked.extend(names)
        children = [{"kind": n[:2], "data": {"name": n, "id": n[3:], **now_on_reddit[n]}}
                    for n in names if n in now_on_reddit]
        return 200, {}, json.dumps({"kind": "Listing", "data": {"after": None, "children": children}})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post("http://reddit.test/api/v1/access_token",
                  json={"access_token": "tok", "token_type": "bearer", "expires_in": 3600, "scope": "*"})
        mock.add_callback(responses.GET, regex.compile(r"http://reddit.test/api/info.*"), callback=info)
        result = reddit_recheck(sessions, build_client("id", "secret", "tests", "http://reddit.test"), job="r")
    assert sorted(asked) == sorted([*now_on_reddit, "t3_vanished"])
    assert result.deleted == 4
    assert result.reasons == {"deleted": 1, "removed": 1, "removed (moderator)": 1, "not returned by reddit": 1}
    with sessions() as session:
        assert sorted(session.scalars(select(Post.source_id))) == ["t1_kept", "t3_kept"]
        (entry,) = deletion_log(session)
        assert (entry.action, entry.deleted, entry.job) == ("reddit-recheck", 4, "r")


def test_compliance_and_expiry_are_scheduled_job_kinds(sessions):
    from monitor.config import SOURCE_NAMES
    from monitor.errors import ConfigError
    from monitor.scheduling.config import parse_schedule
    from monitor.scheduling.runners import default_runners, run_expire
    from monitor.scheduling.scheduler import JobContext

    plan = parse_schedule({"jobs": {"compliance-x": {"run": "compliance", "source": "x", "cron": "0 3 * * *"},
                                    "expire": {"cron": "0 4 * * *"}}}, SOURCE_NAMES)
    kinds = {spec.name: (spec.kind, spec.source) for spec in plan.jobs}
    assert kinds == {"compliance-x": ("compliance", "x"), "expire": ("expire", None)}
    assert {"compliance", "expire"} <= set(default_runners())
    with pytest.raises(ConfigError, match="expected one of x, reddit"):
        parse_schedule({"jobs": {"c": {"run": "compliance", "source": "rss", "cron": "* * * * *"}}}, SOURCE_NAMES)

    class Settings:
        @staticmethod
        def retention() -> dict[str, int]:
            return {"x": 10}

    with sessions.begin() as session:
        add_post(session, "x", "old", NOW - timedelta(days=11))
    context = JobContext(Settings(), sessions, lambda: False, NOW)
    (spec,) = [s for s in plan.jobs if s.name == "expire"]
    result = run_expire(context, spec)
    assert (result.status, result.data["deleted"]) == ("ok", {"x": 1})


def test_migration_0005_removes_handles_from_posts_stored_before(db_url):
    from sqlalchemy import inspect, text

    from storage.engine import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine, "0004_post_embeddings")
    with engine.begin() as conn:  # plain SQL: rows as a 0004 installation stored them
        for source, source_id, url in (
            ("x", "1800", "https://x.com/somehandle/status/1800"),
            ("mastodon", "https://chaos.social/users/somehandle/statuses/77", "https://chaos.social/@somehandle/77"),
            ("reddit", "t3_a", "https://www.reddit.com/r/x/comments/a/"),
            ("bluesky", "at://did:plc:abc/app.bsky.feed.post/3lv", "https://bsky.app/profile/somehandle.bsky.social/post/3lv"),
        ):
            conn.execute(text(
                "INSERT INTO posts (source, source_id, topic, text, created_at, metrics, content_hash, collected_at,"
                " url) VALUES (:source, :source_id, 't', 'text', :now, '{}', 'h', :now, :url)"),
                {"source": source, "source_id": source_id, "url": url, "now": NOW})
    upgrade(engine)
    assert "deletion_log" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT source, source_id, url FROM posts ORDER BY source")).all()
    assert [tuple(r) for r in rows] == [
        ("bluesky", "at://did:plc:abc/app.bsky.feed.post/3lv", "https://bsky.app/profile/did:plc:abc/post/3lv"),
        ("mastodon", "https://chaos.social/statuses/77", None),
        ("reddit", "t3_a", "https://www.reddit.com/r/x/comments/a/"),
        ("x", "1800", "https://x.com/i/web/status/1800"),
    ]
    engine.dispose()
