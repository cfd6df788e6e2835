"""Leases: atomic acquisition, expiry and takeover, heartbeats; on SQLite and PostgreSQL."""

import threading
import time
from datetime import UTC, datetime, timedelta

from monitor.scheduling.locks import Heartbeat, acquire, holder, owner_id, release
from storage import scheduling_queries as sq
from storage.engine import open_database
from storage.scheduling_models import Lease

T0 = datetime(2025, 8, 5, 12, tzinfo=UTC)
TTL = timedelta(minutes=10)


def test_a_lease_is_exclusive_until_it_expires_then_taken_over(sessions):
    assert acquire(sessions, "collect:x", "a", T0, TTL)
    assert not acquire(sessions, "collect:x", "b", T0 + timedelta(minutes=9), TTL)
    assert not acquire(sessions, "collect:x", "a", T0 + timedelta(minutes=1), TTL)  # not re-entrant either
    assert acquire(sessions, "collect:y", "b", T0, TTL)  # other names are independent
    # "a" died without releasing: after the expiry "b" takes over, and "a" can neither renew nor release.
    assert acquire(sessions, "collect:x", "b", T0 + TTL + timedelta(seconds=1), TTL)
    with sessions.begin() as session:
        assert not sq.renew_lease(session, "collect:x", "a", T0 + TTL, TTL)
    assert not release(sessions, "collect:x", "a")
    assert holder(sessions, "collect:x").startswith("b until ")
    assert release(sessions, "collect:x", "b")
    assert holder(sessions, "collect:x") is None


def test_renewal_pushes_the_expiry_out(sessions):
    assert acquire(sessions, "n", "a", T0, TTL)
    with sessions.begin() as session:
        assert sq.renew_lease(session, "n", "a", T0 + timedelta(minutes=8), TTL)
    assert not acquire(sessions, "n", "b", T0 + timedelta(minutes=12), TTL)
    assert acquire(sessions, "n", "b", T0 + timedelta(minutes=19), TTL)


def test_concurrent_contenders_with_separate_engines_get_exactly_one_winner(db_url):
    """Eight threads, each with its own engine (as separate processes would have), race for 15 leases."""
    engine, _ = open_database(db_url)
    engine.dispose()
    contenders, rounds = 8, 15
    barrier = threading.Barrier(contenders)
    wins: list[tuple[int, str]] = []
    lock = threading.Lock()

    def contend(index: int) -> None:
        engine, sessions = open_database(db_url)
        me = f"owner-{index}"
        for round_ in range(rounds):
            barrier.wait()
            if acquire(sessions, f"race-{round_}", me, T0, TTL):
                with lock:
                    wins.append((round_, me))
        engine.dispose()

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r for r, _ in wins) == list(range(rounds))  # one winner per round, never two


def test_heartbeat_renews_and_notices_a_lost_lease(sessions):
    ttl = timedelta(seconds=30)
    start = datetime.now(UTC)
    assert acquire(sessions, "hb", "me", start, ttl)
    with Heartbeat(sessions, "hb", "me", ttl, interval=0.05) as beat:
        time.sleep(0.3)
        with sessions() as session:
            renewed = sq.as_utc(session.get(Lease, "hb").heartbeat_at)
        assert renewed > start
        assert not beat.lost.is_set()
        with sessions.begin() as session:  # another process took it over
            session.get(Lease, "hb").owner = "thief"
        deadline = time.monotonic() + 5
        while not beat.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beat.lost.is_set()


def test_owner_ids_differ_within_one_process():
    assert owner_id() != owner_id()
