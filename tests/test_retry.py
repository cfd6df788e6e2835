"""A write that PostgreSQL aborts as a deadlock victim runs again; any other error is raised at once."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from conftest import POSTGRES_ENV
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from storage.engine import normalise_url
from storage.retry import is_retryable, retry_aborted


@pytest.fixture
def postgres():
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}")
    engine = create_engine(normalise_url(url))
    table = f"retry_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id int PRIMARY KEY, n int)"))
        conn.execute(text(f"INSERT INTO {table} VALUES (1, 0), (2, 0)"))
    yield engine, table
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def _real_deadlock(engine, table) -> DBAPIError:
    """Two transactions that each lock one row and then want the other's: the server aborts one."""
    both_locked = threading.Barrier(2)
    errors: list[DBAPIError] = []

    def side(first: int, second: int) -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
                conn.execute(text(f"UPDATE {table} SET n = n + 1 WHERE id = {first}"))
                both_locked.wait(timeout=10)
                conn.execute(text(f"UPDATE {table} SET n = n + 1 WHERE id = {second}"))
        except DBAPIError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=side, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 1, "exactly one side is the deadlock victim"
    return errors[0]


def test_a_deadlock_victim_runs_again_and_other_errors_do_not(postgres):
    engine, table = postgres
    deadlock = _real_deadlock(engine, table)
    assert is_retryable(deadlock)
    with engine.begin() as conn:  # the victim's update was rolled back, the other side's kept
        assert sorted(conn.execute(text(f"SELECT n FROM {table}")).scalars()) == [1, 1]

    attempts = []

    def write() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise deadlock
        return "stored"

    assert retry_aborted(write, pause=0.001) == "stored" and len(attempts) == 2

    with engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            conn.execute(text("SELECT no_such_column FROM " + table))
    failed = []

    def broken() -> None:
        failed.append(1)
        raise caught.value

    with pytest.raises(DBAPIError):
        retry_aborted(broken, pause=0.001)
    assert len(failed) == 1 and not is_retryable(caught.value)

    tries = []

    def always_a_victim() -> None:
        tries.append(1)
        raise deadlock

    with pytest.raises(DBAPIError):
        retry_aborted(always_a_victim, attempts=3, pause=0.001)
    assert len(tries) == 3  # gives up after its attempts
