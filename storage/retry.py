"""Retry a write transaction that PostgreSQL chose as a deadlock victim.

Two workers writing classifications at once can wait on each other's rollup rows: psycopg runs an
executemany as one INSERT per row, so the rollup trigger (migration 0006) locks rows once per post, in the
posts' order rather than in key order. PostgreSQL then aborts one transaction (SQLSTATE 40P01) and the
documented remedy is to run it again. Every write retried here is idempotent (INSERT ... ON CONFLICT DO
NOTHING) and the aborted transaction left nothing behind, so running it again stores each row once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

#: deadlock_detected and serialization_failure: the transaction was aborted and may simply be run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 5


def is_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` is a PostgreSQL deadlock or serialization failure."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_aborted(write: Callable[[], T], attempts: int = ATTEMPTS, pause: float = 0.05) -> T:
    """``write()``, run again (after a short random pause, growing) while the database aborts it as a deadlock
    victim; any other error, or the last attempt's, is raised. ``write`` must open its own transaction."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(pause * 2 ** attempt * random.random())
    raise AssertionError("unreachable")  # pragma: no cover
