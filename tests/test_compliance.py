"""Deleting posts everywhere with an audit record: purge, retention, and what the platforms ask for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from monitor.compliance import expire, purge_bluesky_account
from monitor.ingest.privacy import pseudonymise
from storage import queries
from storage.deletion import delete_posts, deletion_log
from storage.models import Classification, Cursor, DeletionLog, HumanLabel, ModelVersion, Post, PostEmbedding
from tests_support import stance

NOW = datetime(2025, 9, 1, tzinfo=timezone.utc)


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
        add_post(session, "bluesky", "at://did:plc:other/app.bsky.feed.post/2", author=pseudonymise(did, "bluesky", "s"))
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
