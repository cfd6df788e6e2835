"""Network plumbing shared by the network collectors: retries with backoff, bounded rate-limit waits.

Each client library raises its own exceptions, so each collector passes a small ``classify`` function that says
whether a failure is worth another try (``Retry``) or not (``None``). The waiting policy lives here, once, and
the clock and sleep are injectable so tests never wait for real.

Also the one HTML-to-text function the sources whose payloads carry HTML (Mastodon, Hacker News, feeds) share.
"""

from __future__ import annotations

import html
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any, TypeVar

import requests

from monitor.config import SourceSettings
from monitor.errors import CollectorError, OutOfTime, RateLimited

T = TypeVar("T")

#: Seconds to wait for a connection, and for the server to send data: (connect, read), as requests takes them.
DEFAULT_TIMEOUT = (10.0, 30.0)
# Platforms ask for an agent that names the tool and how to reach its operator: STANCE_CONTACT (an e-mail
# address or URL) is appended when set; REDDIT_USER_AGENT overrides it for Reddit, as Reddit's rules suggest.
USER_AGENT = "stance-monitor/0.1 (open-source debate monitor" + (
    f"; contact {os.environ['STANCE_CONTACT']})" if os.environ.get("STANCE_CONTACT") else ")"
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often we are willing to wait. Defaults suit a cron job, not an interactive shell."""

    #: Tries for timeouts, connection errors and 5xx, the first one included.
    attempts: int = 5
    #: Tries after a 429, the first one included.
    rate_limit_attempts: int = 4
    base_delay: float = 2.0
    max_delay: float = 120.0
    #: A reset further away than this ends the run with RateLimited instead of sleeping through it.
    max_wait: float = 900.0
    #: (connect, read) timeouts of every request in seconds: ``[sources.NAME] connect_timeout, read_timeout``.
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    #: Seconds one run of a query may take (``[sources.NAME] max_run_seconds``); None: no limit.
    budget: float | None = None
    #: When the current run must end (``clock()`` time); no retry or wait goes past it. Set by ``started``.
    deadline: float | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def backoff(self, attempt: int) -> float:
        """Exponential delay for the ``attempt``-th retry (1-based), capped."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

    def started(self) -> RetryPolicy:
        """This policy for a run starting now: its deadline is ``budget`` seconds away."""
        return replace(self, deadline=None if self.budget is None else self.clock() + self.budget)

    def check_time(self, what: str) -> None:
        """Raise OutOfTime when the run's deadline has passed."""
        if self.deadline is not None and self.clock() >= self.deadline:
            raise OutOfTime(f"{what}: the run's time budget of {self.budget:.0f} s is spent")


def source_policy(settings: SourceSettings) -> RetryPolicy:
    """The retry policy of a configured source, with its timeouts."""
    return RetryPolicy(
        timeout=(settings.connect_timeout, settings.read_timeout), budget=settings.max_run_seconds
    )


#: For tests: retries happen, but nothing sleeps.
NO_WAIT = RetryPolicy(sleep=lambda _seconds: None)


@dataclass(frozen=True)
class Retry:
    """A failure worth another try. ``reset_at`` (Unix seconds) comes from rate-limit headers when present."""

    rate_limited: bool = False
    reset_at: float | None = None


def call_with_retries(
    call: Callable[[], T], policy: RetryPolicy, classify: Callable[[BaseException], Retry | None], what: str
) -> T:
    """Run ``call``; retry what ``classify`` marks as transient, give up with a CollectorError/RateLimited."""
    failures = limited = 0
    while True:
        policy.check_time(what)
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classify decides; anything unknown is re-raised untouched
            if host_not_found(exc):
                # A name that does not resolve will not resolve in five seconds either: fail now, once.
                raise CollectorError(f"{what}: host not found") from exc
            verdict = classify(exc)
            if verdict is None:
                raise
            if verdict.rate_limited:
                limited += 1
                delay = _rate_limit_delay(verdict.reset_at, limited, policy, what)
            else:
                failures += 1
                if failures >= policy.attempts:
                    raise CollectorError(f"{what}: gave up after {failures} tries: {_describe(exc)}") from exc
                delay = policy.backoff(failures)
            if policy.deadline is not None and policy.clock() + delay > policy.deadline:
                raise OutOfTime(
                    f"{what}: no time left in the run's time budget to retry after {_describe(exc)}"
                ) from exc
            policy.sleep(delay)


def require_env(environ: Mapping[str, str], source: str, names: tuple[str, ...], hint: str) -> tuple[str, ...]:
    """The values of the environment variables a source needs (secrets never come from files); a missing one is
    a CollectorError naming the variable and how to get it."""
    for name in names:
        if not environ.get(name):
            raise CollectorError(f"{source}: {name} is not set ({hint})")
    return tuple(environ[name] for name in names)


def host_not_found(exc: BaseException) -> bool:
    """Whether a failure comes from a DNS lookup that failed. Each client library wraps socket.gaierror in its
    own exceptions (requests, urllib3, httpx, prawcore, Mastodon.py), so the chain of causes is walked."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or type(current).__name__ == "NameResolutionError":
            return True
        pending.extend([current.__cause__, current.__context__])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(getattr(current, attr, None) for attr in ("original_exception", "reason"))
    return False


def _rate_limit_delay(reset_at: float | None, tries: int, policy: RetryPolicy, what: str) -> float:
    if tries >= policy.rate_limit_attempts:
        raise RateLimited(f"{what}: still rate limited after {tries} tries", reset_at)
    if reset_at is None:
        return policy.backoff(tries)
    # One second of slack: reset times are whole seconds and clocks drift.
    delay = max(0.0, reset_at - policy.clock()) + 1.0
    if delay > policy.max_wait:
        raise RateLimited(
            f"{what}: rate limited for another {delay:.0f} s (more than {policy.max_wait:.0f} s)", reset_at
        )
    return delay


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def reset_from_headers(headers: Mapping[str, str] | None, now: float) -> float | None:
    """When a rate limit resets, as Unix seconds, from whichever header the platform sends; None if absent.

    ``Retry-After`` (seconds or HTTP date), ``x-rate-limit-reset`` (X: epoch), ``ratelimit-reset`` (Bluesky:
    epoch), ``x-ratelimit-reset`` (Reddit: seconds from now; Mastodon: ISO 8601 time).
    """
    if not headers:
        return None
    lowered = {str(key).lower(): str(value).strip() for key, value in headers.items()}
    for name in ("retry-after", "x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        value = lowered.get(name)
        if value:
            moment = _parse_reset(value, now)
            if moment is not None:
                return moment
    return None


def _parse_reset(value: str, now: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        # Small numbers are a delay, large ones an absolute epoch time.
        return number if number > 1_000_000_000 else now + max(number, 0.0)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- plain requests sources (Hacker News, feeds) ----------------------------------------------------------


class HTTPStatusError(CollectorError):
    """A response with a status we do not retry (4xx other than 429)."""

    def __init__(self, message: str, response: requests.Response):
        super().__init__(message)
        self.response = response


class _Transient(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def classify_requests_error(exc: BaseException, clock: Callable[[], float] = time.time) -> Retry | None:
    if isinstance(exc, _Transient):
        if exc.response.status_code == 429:
            return Retry(rate_limited=True, reset_at=reset_from_headers(exc.response.headers, clock()))
        return Retry()
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return Retry()
    return None


def get(
    session: requests.Session,
    url: str,
    policy: RetryPolicy,
    params: Mapping[str, Any] | None = None,
) -> requests.Response:
    """GET with retries on timeouts, connection errors, 5xx and 429; other 4xx raise HTTPStatusError."""

    def attempt() -> requests.Response:
        response = session.get(url, params=params, timeout=policy.timeout)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(response)
        if response.status_code >= 400:
            raise HTTPStatusError(f"GET {url}: HTTP {response.status_code}", response)
        return response

    return call_with_retries(
        attempt, policy, lambda exc: classify_requests_error(exc, policy.clock), f"GET {url}"
    )


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


# --- HTML payloads ----------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    _BREAKS = {"br"}
    _BLOCKS = {"p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}
    _SKIPPED = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self.skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: paragraphs and line breaks kept, tags and scripts dropped."""
    if "<" not in markup:
        return html.unescape(markup).strip()
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = "".join(extractor.parts).split("\n")
    text = "\n".join(line.strip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def post_budget(window_limit: int | None, max_posts_per_run: int | None) -> int | None:
    """Posts one run may read: the smaller of the command's limit and the source's ``max_posts_per_run``."""
    limits = [value for value in (window_limit, max_posts_per_run) if value]
    return min(limits) if limits else None
