"""Engines, sessions and schema upgrades for any SQLAlchemy URL (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///stance.db"
MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock held while the schema is created or upgraded ("stance" in ASCII).
SCHEMA_LOCK_KEY = 0x7374616E6365


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs; SQLAlchemy would otherwise look for psycopg2."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str = DEFAULT_URL, **kwargs) -> Engine:
    """Create an engine; SQLite files get WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # pysqlite opens transactions itself and breaks SAVEPOINT; let SQLAlchemy emit BEGIN instead
        # (the documented workaround in SQLAlchemy's pysqlite dialect notes).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers BEGIN IMMEDIATE: they take the write lock up front and wait on the busy timeout, instead
        # of failing later with "database is locked" when a read lock cannot be upgraded. Readers (see
        # read_only_session_factory) BEGIN DEFERRED, so reports never wait for collection, or it for them.
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'IMMEDIATE')}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite they do not take the write lock."""
    return sessionmaker(engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats "%" as interpolation; URLs may contain percent-escapes.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``. Safe to call on every start."""
    config = _alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def needs_upgrade(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(_alembic_config(engine))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current != script.get_current_head()


def open_database(url: str = DEFAULT_URL) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory for ``url``, with the schema brought up to date on first use."""
    engine = make_engine(url)
    if needs_upgrade(engine):
        with schema_lock(engine):
            # Another process may have upgraded while we waited for the lock.
            if needs_upgrade(engine):
                upgrade(engine)
    return engine, session_factory(engine)


def open_sqlite_read_only(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """A SQLite file that cannot be written (read-only file, folder or medium), opened for reading only:
    no WAL switch, no schema upgrade, no locks. Raises for other databases or when the schema is outdated."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalise_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database is None or database in ("", ":memory:"):
        raise ValueError(f"not a SQLite file: {url}")
    location = Path(database).resolve().as_uri()
    engine = create_engine(f"sqlite:///{location}?mode=ro&immutable=1&uri=true")
    if needs_upgrade(engine):
        engine.dispose()
        raise ValueError("the database is read-only and needs a schema upgrade")
    return engine, sessionmaker(engine, expire_on_commit=False)


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """On PostgreSQL, hold an advisory lock so that two processes starting on a fresh database do not both
    create the schema (which fails on pg_type's unique index). SQLite serialises writers by itself."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
