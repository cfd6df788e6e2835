"""Cross-process locks as leases in the database, so that two schedulers (on two machines) never run the same
job at once, and a lock left by a dead process lapses on its own.

A lease is held until ``expires_at``; while its job runs, a ``Heartbeat`` thread renews it every third of its
lifetime. A process killed with SIGKILL stops renewing, and after at most one lifetime another scheduler takes
the lease over. Clocks of the machines must agree to well within the lifetime (NTP does that).
The atomic steps themselves are in ``storage.scheduling_queries``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError
from storage import scheduling_queries as sq
from storage.clock import utcnow

log = logging.getLogger(__name__)


class LockHeld(MonitorError):
    "Another process holds the lease of this job."


def owner_id() -> str:
    """Who holds a lease: host and pid for people reading the table, plus a random part so that two
    schedulers in one process (or a reused pid) are still different owners."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(sessions: sessionmaker[Session], name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease in a transaction of its own; True if we hold it now."""
    with sessions.begin() as session:
        return sq.try_acquire_lease(session, name, owner, now, ttl)


def release(sessions: sessionmaker[Session], name: str, owner: str) -> bool:
    with sessions.begin() as session:
        return sq.release_lease(session, name, owner)


def holder(sessions: sessionmaker[Session], name: str) -> str | None:
    """Who holds ``name`` and until when, for messages; None when nobody does."""
    with sessions() as session:
        lease = sq.get_lease(session, name)
        if lease is None:
            return None
        return f"{lease.owner} until {sq.as_utc(lease.expires_at).isoformat(timespec='seconds')}"


class Heartbeat:
    """Renews a held lease in a daemon thread while a job runs. ``lost`` is set when a renewal finds the
    lease taken by someone else (we stalled longer than its lifetime); the job should then stop after its
    current page."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        owner: str,
        ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
        interval: float | None = None,
    ):
        self.sessions, self.name, self.owner, self.ttl, self.clock = sessions, name, owner, ttl, clock
        self.interval = interval if interval is not None else ttl.total_seconds() / 3
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {name}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def beat(self) -> bool:
        """Renew once; False (and ``lost`` set) when the lease is no longer ours."""
        try:
            with self.sessions.begin() as session:
                ours = sq.renew_lease(session, self.name, self.owner, self.clock(), self.ttl)
        except Exception as exc:  # noqa: BLE001 - a busy database is no reason to give up; try again later
            log.warning("lease %s: heartbeat failed: %s", self.name, type(exc).__name__)
            return True
        if not ours:
            log.error("lease %s: lost to another process; stopping after the current page", self.name)
            self.lost.set()
        return ours

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            if not self.beat():
                return


@contextmanager
def holding(
    sessions: sessionmaker[Session], name: str, ttl: timedelta, patience: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Heartbeat]:
    """Hold lease ``name`` for the duration of the block, renewing it; raises LockHeld if another has it
    (after waiting up to ``patience`` seconds for it to be released)."""
    owner = owner_id()
    waited = 0.0
    while not acquire(sessions, name, owner, utcnow(), ttl):
        if waited >= patience:
            raise LockHeld(f"lease {name} is held by {holder(sessions, name) or 'another process'}")
        sleep(1.0)
        waited += 1.0
    try:
        with Heartbeat(sessions, name, owner, ttl) as heartbeat:
            yield heartbeat
    finally:
        release(sessions, name, owner)
