"""Migration 0002 adds the scheduler's tables to an existing 0001 database without touching its data."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from storage.engine import _alembic_config, make_engine, needs_upgrade, upgrade

NEW_TABLES = {"job_states", "leases", "alerts"}


def test_upgrade_from_0001_keeps_posts_and_downgrade_removes_only_the_new_tables(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0001_initial")
    now = datetime(2025, 8, 5, 12, tzinfo=UTC)
    with engine.begin() as conn:  # plain SQL: the data a 0001 installation has, written without today's models
        conn.execute(text(
            "INSERT INTO posts (source, source_id, topic, text, created_at, metrics, content_hash, collected_at) "
            "VALUES ('x', '1', 't', 'release the weights', :now, '{}', 'h1', :now)"), {"now": now})
        conn.execute(
            text("INSERT INTO cursors (source, query, state, updated_at) VALUES ('x', 'q', '{\"p\": 2}', :now)"),
            {"now": now})
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    assert needs_upgrade(engine)
    upgrade(engine)
    assert not needs_upgrade(engine)
    assert NEW_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT source_id, text FROM posts")).all() == [("1", "release the weights")]
        assert conn.execute(text("SELECT count(*) FROM cursors")).scalar() == 1
        conn.execute(text("INSERT INTO leases (name, owner, acquired_at, expires_at, heartbeat_at) "
                          "VALUES ('collect:x', 'me', :now, :now, :now)"), {"now": now})
        conn.commit()
    config = _alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001_initial")
    tables = set(inspect(engine).get_table_names())
    assert not NEW_TABLES & tables and "posts" in tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM posts")).scalar() == 1
    engine.dispose()
