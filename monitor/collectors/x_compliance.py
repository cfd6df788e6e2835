"""X batch compliance through tweepy: which stored post ids were deleted, made private, suspended or withheld.

The flow is X's (API v2 ``/2/compliance/jobs``): create a job of type ``tweets``, PUT a text file of ids (one
per line) to the job's ``upload_url``, poll the job until it is ``complete``, then GET its ``download_url``: JSON
lines of ``{"id", "action", "reason", "created_at", "redacted_at"}`` for each id that needs action. The job
calls go through the collector's tweepy client (so ``base_url`` rebasing applies); the pre-signed upload and
download URLs are plain HTTPS on X's storage, fetched with requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
import tweepy

from monitor.collectors.http import DEFAULT_TIMEOUT, USER_AGENT
from monitor.errors import CollectorError

#: X's limit is on the file (in the hundreds of thousands of ids); smaller jobs finish sooner.
IDS_PER_JOB = 100_000
#: Actions after which a stored post must go. ``scrub_geo`` only asks to drop location data, which is not stored.
KEEP_ACTIONS = frozenset({"scrub_geo"})


@dataclass(frozen=True)
class ComplianceEvent:
    """One line of a compliance job's result."""

    id: str
    action: str
    reason: str | None


@dataclass
class JobOutcome:
    """What one compliance job said: its id and the events for the uploaded ids."""

    job_id: str
    uploaded: int
    events: list[ComplianceEvent] = field(default_factory=list)

    def gone(self) -> list[str]:
        """Ids that must be deleted."""
        return [e.id for e in self.events if e.action not in KEEP_ACTIONS]

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.events:
            key = event.reason or event.action
            counts[key] = counts.get(key, 0) + 1
        return counts


def check_tweets(
    client: tweepy.Client,
    ids: Iterable[str],
    *,
    name: str = "stance-monitor",
    poll_seconds: float = 30.0,
    max_wait_seconds: float = 6 * 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    http: requests.Session | None = None,
) -> JobOutcome:
    """Run one batch compliance job for ``ids`` and return what X reported. Raises ``CollectorError`` when the
    job fails, expires or does not finish within ``max_wait_seconds``."""
    ids = [str(i) for i in ids]
    http = http or requests.Session()
    job = _data(client.create_compliance_job(type="tweets", name=name), "create job")
    job_id = str(job.get("id"))
    upload_url, download_url = job.get("upload_url"), job.get("download_url")
    if not upload_url or not download_url:
        raise CollectorError(f"x compliance: job {job_id} came without upload or download URL")
    response = http.put(upload_url, data=("\n".join(ids) + "\n").encode(), timeout=DEFAULT_TIMEOUT,
                        headers={"Content-Type": "text/plain", "User-Agent": USER_AGENT})
    if response.status_code >= 300:
        raise CollectorError(f"x compliance: upload for job {job_id} failed with HTTP {response.status_code}")
    deadline = clock() + max_wait_seconds
    while True:
        status = _data(client.get_compliance_job(job_id), "poll job").get("status")
        if status == "complete":
            break
        if status in ("failed", "expired"):
            raise CollectorError(f"x compliance: job {job_id} {status}")
        if clock() >= deadline:
            raise CollectorError(f"x compliance: job {job_id} not complete after {max_wait_seconds:.0f} s "
                                 f"(status {status})")
        sleep(poll_seconds)
    result = http.get(download_url, timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
    if result.status_code >= 300:
        raise CollectorError(f"x compliance: download for job {job_id} failed with HTTP {result.status_code}")
    return JobOutcome(job_id, len(ids), parse_results(result.text))


def parse_results(text: str) -> list[ComplianceEvent]:
    """The result file's JSON lines; lines that are not objects with an id are an error, not skipped."""
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise CollectorError(f"x compliance: result line {number}: not JSON: {exc}") from None
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise CollectorError(f"x compliance: result line {number}: no id")
        events.append(ComplianceEvent(str(item["id"]), str(item.get("action") or "delete"), item.get("reason")))
    return events


def _data(response: Any, what: str) -> dict[str, Any]:
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        raise CollectorError(f"x compliance: {what}: unexpected response {str(response)[:120]!r}")
    return data
