"""Deletions the platforms' terms and data-protection law ask for: purge on request, retention, and the
platforms' own deletion signals (X batch compliance, Reddit re-checks; Bluesky deletes arrive in the stream).

Each function takes a session factory, deletes through ``storage.deletion`` (every table, one audit record)
and returns what it did. None prints; the CLI and the scheduler's runners call them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError
from monitor.ingest.privacy import pseudonymise
from storage.deletion import Deletion, delete_by_author, delete_older_than, delete_posts, stored_source_ids


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


@dataclass
class CheckResult:
    """One platform compliance pass: the X jobs run, the ids checked and what was deleted, by reason."""

    jobs: list[str] = field(default_factory=list)
    checked: int = 0
    deleted: int = 0
    not_found: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        return (f"checked {self.checked} ids, deleted {self.deleted}"
                + (f" ({why})" if why else "") + (f", {len(self.not_found)} already gone" if self.not_found else ""))


def run_check(settings: Any, sessions: sessionmaker[Session], source: str, job: str | None = None) -> CheckResult:
    """The compliance check of ``source`` with the configured client."""
    if source == "x":
        return x_compliance(sessions, x_client(settings.sources["x"].base_url), job=job)
    if source == "reddit":
        return reddit_recheck(sessions, reddit_client(settings.sources["reddit"]), job=job)
    raise MonitorError(f"no compliance check for {source!r}; expected x or reddit")


def x_compliance(sessions: sessionmaker[Session], client: Any, job: str | None = None,
                 check: Callable[..., Any] | None = None, **options: Any) -> CheckResult:
    """Upload every stored X post id through X's batch compliance jobs and delete, everywhere, each id X reports
    deleted, protected, suspended, deactivated or withheld; one audit record per job."""
    from monitor.collectors.x_compliance import IDS_PER_JOB, check_tweets

    check = check or check_tweets
    with sessions() as session:
        ids = stored_source_ids(session, "x")
    result = CheckResult()
    for start in range(0, len(ids), IDS_PER_JOB):
        outcome = check(client, ids[start : start + IDS_PER_JOB], **options)
        reasons = outcome.reasons()
        summary = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())) or "nothing to remove"
        with sessions.begin() as session:
            done = delete_posts(session, "x", outcome.gone(), action="x-compliance", job=job,
                                reason=f"X batch compliance job {outcome.job_id}: {summary}")
        result.jobs.append(outcome.job_id)
        result.checked += outcome.uploaded
        result.deleted += done.deleted
        result.not_found.extend(done.not_found)
        for why, n in reasons.items():
            result.reasons[why] = result.reasons.get(why, 0) + n
    return result


def x_client(base_url: str | None, environ: Mapping[str, str] | None = None) -> Any:
    """The X collector's tweepy client (same token, same base URL rebasing)."""
    from monitor.collectors.x import TOKEN_ENV, build_client

    environ = os.environ if environ is None else environ
    token = environ.get(TOKEN_ENV)
    if not token:
        raise MonitorError(f"x: {TOKEN_ENV} is not set (an X API bearer token is required)")
    return build_client(token, base_url)


def reddit_recheck(sessions: sessionmaker[Session], reddit: Any, job: str | None = None) -> CheckResult:
    """Look up every stored Reddit id on Reddit and delete, everywhere, what was deleted or removed there."""
    from monitor.collectors.reddit_compliance import gone_things

    with sessions() as session:
        ids = stored_source_ids(session, "reddit")
    gone = gone_things(reddit, ids)
    reasons: dict[str, int] = {}
    for why in gone.values():
        reasons[why] = reasons.get(why, 0) + 1
    summary = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())) or "nothing to remove"
    with sessions.begin() as session:
        done = delete_posts(session, "reddit", list(gone), action="reddit-recheck", job=job,
                            reason=f"Reddit re-check of {len(ids)} ids: {summary}")
    return CheckResult(jobs=[], checked=len(ids), deleted=done.deleted, not_found=done.not_found,
                             reasons=reasons)


def reddit_client(settings: Any, environ: Mapping[str, str] | None = None) -> Any:
    """The Reddit collector's PRAW client (same credentials, same base URL)."""
    from monitor.collectors.http import USER_AGENT
    from monitor.collectors.reddit import AGENT_ENV, ID_ENV, SECRET_ENV, build_client

    environ = os.environ if environ is None else environ
    for variable in (ID_ENV, SECRET_ENV):
        if not environ.get(variable):
            raise MonitorError(f"reddit: {variable} is not set")
    return build_client(environ[ID_ENV], environ[SECRET_ENV], environ.get(AGENT_ENV) or USER_AGENT,
                        settings.base_url)
