"""Deletions the platforms' terms and data-protection law ask for: purge on request, retention, and the
platforms' own deletion signals (X batch compliance, Reddit re-checks; Bluesky deletes arrive in the stream).

Each function takes a session factory, deletes through ``storage.deletion`` (every table, one audit record)
and returns what it did. None prints; the CLI and the scheduler's runners call them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor.ingest.privacy import pseudonymise
from storage.deletion import Deletion, delete_by_author, delete_older_than, delete_posts


@dataclass
class ExpiryResult:
    """Posts deleted per source by one expiry pass, and the cutoff used for each."""

    deleted: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, datetime] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def purge_ids(sessions: sessionmaker[Session], source: str, ids: list[str], reason: str = "purge on request",
              job: str | None = None) -> Deletion:
    """Delete these platform ids of ``source`` everywhere; the result lists the ids that were not stored."""
    with sessions.begin() as session:
        return delete_posts(session, source, ids, action="purge", reason=reason, job=job)


def purge_bluesky_account(sessions: sessionmaker[Session], did: str, salt: str, reason: str = "purge on request",
                          action: str = "purge", job: str | None = None) -> Deletion:
    """Delete every Bluesky post of the account ``did``: posts whose at:// URI names it, and posts whose
    pseudonymised author is the DID's pseudonym (the stream stores authors by DID)."""
    with sessions.begin() as session:
        return delete_by_author(session, "bluesky", pseudonymise(did, "bluesky", salt) or "", action=action,
                                reason=reason, job=job, source_id_prefix=f"at://{did}/")


def expire(sessions: sessionmaker[Session], retention: dict[str, int], now: datetime,
           job: str | None = None) -> ExpiryResult:
    """Delete, per source with a retention period, every post created more than that many days before ``now``."""
    result = ExpiryResult()
    for source, days in sorted(retention.items()):
        cutoff = now - timedelta(days=days)
        with sessions.begin() as session:
            done = delete_older_than(session, source, cutoff, reason=f"retention: older than {days} days",
                                     job=job)
        result.deleted[source], result.cutoffs[source] = done.deleted, cutoff
    return result
