"""Shared fixtures: a real database per test, SQLite file and PostgreSQL (skipped where absent)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
POSTGRES_ENV = "STANCE_TEST_POSTGRES_URL"


def _postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A URL to an empty database: a SQLite file, or a fresh schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = _postgres_url()
    if not base:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    from storage.engine import normalise_url

    base = normalise_url(base)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - a configured server that cannot be reached is a failure, not a skip
        pytest.fail(f"PostgreSQL at {POSTGRES_ENV}={base} is configured but unreachable: {type(exc).__name__}: {exc}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sessions(db_url):
    from storage.engine import open_database

    engine, factory = open_database(db_url)
    yield factory
    engine.dispose()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in an empty directory with a fixed author salt, as a user would in a fresh project folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STANCE_AUTHOR_SALT", "test-salt")
    monkeypatch.delenv("STANCE_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def shared_datasets():
    if not SHARED_DATASETS.exists():
        pytest.skip(f"shared datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture
def database(tmp_path):
    """Sessions on a fresh SQLite file, for the report tests (tests/test_reports_helpers.py fills it)."""
    from test_reports_helpers import make_database

    engine, sessions = make_database(tmp_path)
    yield sessions
    engine.dispose()


REDIS_ENV = "STANCE_TEST_REDIS_URL"


@pytest.fixture
def redis_url():
    """The test Redis (a broker for Celery tests): skipped when not configured, a failure when configured but
    unreachable, like PostgreSQL above."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis not configured: set {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - a configured server that cannot be reached is a failure, not a skip
        pytest.fail(f"Redis at {REDIS_ENV}={url} is configured but unreachable: {type(exc).__name__}: {exc}")
    return url

