from datetime import UTC, datetime

from sqlalchemy import inspect, select

from storage import queries
from storage.deletion import delete_posts
from storage.engine import make_engine, needs_upgrade, upgrade
from storage.models import Classification, HumanLabel, ModelVersion, Post


def post_row(source_id: str, source: str = "x", text: str = "Release the weights!") -> dict:
    now = datetime(2025, 8, 5, 12, tzinfo=UTC)
    return {
        "source": source, "source_id": source_id, "topic": "t", "text": text, "lang": "en",
        "lang_confidence": 0.9, "created_at": now, "author": "a_1", "url": None, "metrics": {"likes": 3},
        "raw": {"id": source_id}, "content_hash": source_id, "collected_at": now,
    }


def test_migrations_create_every_table_and_are_idempotent(db_url):
    engine = make_engine(db_url)
    assert needs_upgrade(engine)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op, not an error
    assert not needs_upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"posts", "classifications", "collection_runs", "cursors", "human_labels", "model_versions"} <= tables
    engine.dispose()


def test_upgrade_keeps_existing_rows(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    from storage.engine import session_factory

    with session_factory(engine).begin() as session:
        queries.insert_posts(session, [post_row("1")])
    upgrade(engine)
    with session_factory(engine)() as session:
        assert queries.count_posts(session) == 1
    engine.dispose()


def test_insert_posts_skips_conflicts_and_returns_only_new_ids(sessions):
    with sessions.begin() as session:
        first = queries.insert_posts(session, [post_row("1"), post_row("2")])
    with sessions.begin() as session:
        second = queries.insert_posts(session, [post_row("2"), post_row("3"), post_row("1", source="reddit")])
    assert len(first) == 2
    assert len(second) == 2  # "2" on x existed; "1" on reddit is a different post
    with sessions() as session:
        assert queries.count_posts(session) == 4
        stored = session.scalar(select(Post).where(Post.source == "x", Post.source_id == "1"))
        assert stored.created_at.replace(tzinfo=UTC) == datetime(2025, 8, 5, 12, tzinfo=UTC)
        assert stored.metrics == {"likes": 3}


def test_bulk_insert_larger_than_one_statement_chunk(sessions):
    rows = [post_row(str(i)) for i in range(5000)]
    with sessions.begin() as session:
        assert len(queries.insert_posts(session, rows)) == 5000
    with sessions() as session:
        assert queries.count_posts(session) == 5000


def test_cursor_round_trip(sessions):
    with sessions.begin() as session:
        assert queries.get_cursor(session, "x", "q") is None
        queries.set_cursor(session, "x", "q", {"since_id": "10"})
    with sessions.begin() as session:
        queries.set_cursor(session, "x", "q", {"since_id": "20"})
    with sessions() as session:
        assert queries.get_cursor(session, "x", "q") == {"since_id": "20"}


def _version(session, name: str) -> ModelVersion:
    version = ModelVersion(name=name, kind="stance", created_at=queries.utcnow(), artefact="a")
    session.add(version)
    session.flush()
    return version


def test_one_active_model_version_per_kind(sessions):
    with sessions.begin() as session:
        first, second = _version(session, "v1"), _version(session, "v2")
        queries.activate_model_version(session, first)
        queries.activate_model_version(session, second)
    with sessions() as session:
        assert queries.active_model_version(session).name == "v2"
        assert session.scalar(select(ModelVersion).where(ModelVersion.name == "v1")).active is False


def test_purge_deletes_posts_with_their_classifications_and_labels(sessions):
    with sessions.begin() as session:
        ids = queries.insert_posts(session, [post_row("1"), post_row("2")])
        version = _version(session, "v1")
        now = queries.utcnow()
        for post_id in ids:
            session.add(Classification(post_id=post_id, model_version_id=version.id, relevant=True,
                                       relevance_score=0.9, stance="pro_open", p_pro_open=0.8, p_pro_closed=0.1,
                                       p_neutral=0.1, classified_at=now))
            session.add(HumanLabel(post_id=post_id, annotator="ann", labelled_at=now, stance="pro_open"))
    with sessions.begin() as session:
        result = delete_posts(session, "x", ["1", "unknown"], action="purge", reason="test")
        assert (result.deleted, result.not_found) == (1, ["unknown"])
    with sessions() as session:
        assert queries.count_posts(session) == 1
        assert session.scalar(select(Classification.post_id)) == ids[1]
        assert [label.post_id for label in session.scalars(select(HumanLabel))] == [ids[1]]


def test_a_reader_does_not_block_a_writer_on_sqlite(tmp_path):
    from sqlalchemy import text

    from storage.engine import open_database, read_only_session_factory

    engine, writer = open_database(f"sqlite:///{tmp_path / 'locks.db'}")
    reader = read_only_session_factory(engine)
    with reader() as reading:
        reading.execute(text("SELECT count(*) FROM posts")).scalar()  # a read transaction stays open
        with writer.begin() as writing:
            assert len(queries.insert_posts(writing, [post_row("1")])) == 1
    engine.dispose()


def test_models_and_migrations_agree(db_url):
    """Autogenerate finds nothing to do after `upgrade head`: the typed models and the migrations match."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_large_pages_skip_stored_posts_and_keep_json_values(sessions):
    """Pages above queries.COPY_FROM_ROWS go through COPY on PostgreSQL: the same dedupe, ids and values."""
    first = [post_row(str(i)) for i in range(queries.COPY_FROM_ROWS + 50)]
    second = [post_row(str(i)) for i in range(100, queries.COPY_FROM_ROWS + 150)]
    second[-1]["raw"], second[-1]["metrics"] = None, {"likes": 7, "note": "ü\ttab"}
    with sessions.begin() as session:
        first_ids = queries.insert_posts(session, first)
    with sessions.begin() as session:
        second_ids = queries.insert_posts(session, second)
    assert len(first_ids) == len(set(first_ids)) == queries.COPY_FROM_ROWS + 50
    assert len(second_ids) == 100 and not set(second_ids) & set(first_ids)
    with sessions() as session:
        last = session.scalar(select(Post).where(Post.source_id == second[-1]["source_id"]))
        assert last.raw is None and last.metrics == {"likes": 7, "note": "ü\ttab"}
        assert last.id in second_ids and queries.count_posts(session) == queries.COPY_FROM_ROWS + 150
