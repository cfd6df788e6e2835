"""Alerts: the stance shares, mean sentiment and volume of the last complete day/week against a rolling baseline.

For each period length in ``[alerts] freqs`` the last *complete* period (yesterday, last ISO week) is compared
with the ``baseline_periods`` periods before it: an alert fires when the z-score (value minus baseline mean,
over the baseline's standard deviation) reaches ``z_threshold``, or when the plain change reaches the metric's
own limit (``share_change`` in share points, ``sentiment_change`` in score units, ``volume_change`` relative
to the mean). Stance shares are estimated as the reports do (``reports.shares.ShareEstimator``): corrected for
classifier error when a confusion matrix is available, raw otherwise. Alerts are stored once per metric and
period and then, optionally, POSTed to a webhook; a failing webhook is logged and retried on later runs, and
never affects collection (alerts are a job of their own).
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError
from monitor.scheduling.config import JobSpec
from monitor.scheduling.scheduler import JobContext, JobResult
from storage import queries
from storage import scheduling_queries as sq
from storage.models import STANCES
from storage.scheduling_models import Alert

log = logging.getLogger(__name__)

WEBHOOK_ENV = "STANCE_ALERT_WEBHOOK_URL"
#: After this many alert-job runs that could not deliver an alert, it stays recorded but is no longer sent.
MAX_DELIVERY_RUNS = 5
_STANCE_LABELS = {"pro_open": "pro-open", "pro_closed": "pro-closed", "neutral": "neutral"}


@dataclass(frozen=True)
class AlertSettings:
    enabled: bool = True
    freqs: tuple[str, ...] = ("day", "week")
    baseline_periods: int = 8
    min_baseline_periods: int = 3
    #: Fewer relevant posts than this in a period: no share or sentiment for it (as in the reports).
    min_posts: int = 20
    z_threshold: float = 3.0
    share_change: float = 0.15
    sentiment_change: float = 0.25
    volume_change: float = 1.0
    webhook_url: str | None = None
    webhook_timeout: float = 5.0
    webhook_tries: int = 3

    def change_limit(self, metric: str) -> float:
        if metric == "volume":
            return self.volume_change
        return self.sentiment_change if metric == "sentiment" else self.share_change


def parse_alerts(raw: Mapping[str, Any], environ: Mapping[str, str], file: str = "stance.toml") -> AlertSettings:
    """Validate ``[alerts]``. The webhook URL may carry a token, so the environment variable named by
    ``webhook_url_env`` (default STANCE_ALERT_WEBHOOK_URL) wins over ``webhook_url`` in the file."""
    where = f"{file}: [alerts]"
    numbers = {"z_threshold", "share_change", "sentiment_change", "volume_change", "webhook_timeout"}
    counts = {"baseline_periods", "min_baseline_periods", "min_posts", "webhook_tries"}
    allowed = numbers | counts | {"enabled", "freqs", "webhook_url", "webhook_url_env"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where} {unknown[0]}: unknown key; expected one of {', '.join(sorted(allowed))}")
    values: dict[str, Any] = {}
    for key in numbers & set(raw):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where} {key}: expected a number >= 0, got {value!r}")
        values[key] = float(value)
    for key in counts & set(raw):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} {key}: expected a positive integer, got {value!r}")
        values[key] = value
    if "enabled" in raw:
        if not isinstance(raw["enabled"], bool):
            raise ConfigError(f"{where} enabled: expected true or false, got {raw['enabled']!r}")
        values["enabled"] = raw["enabled"]
    if "freqs" in raw:
        freqs = raw["freqs"]
        if not isinstance(freqs, list) or not freqs or any(f not in ("day", "week", "month") for f in freqs):
            raise ConfigError(f"{where} freqs: expected a list of day, week and/or month, got {freqs!r}")
        values["freqs"] = tuple(freqs)
    env_name = raw.get("webhook_url_env", WEBHOOK_ENV)
    url = environ.get(str(env_name)) or raw.get("webhook_url") or None
    if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https")):
        raise ConfigError(f"{where} webhook_url: expected an http(s) URL")
    settings = AlertSettings(**values, webhook_url=url)
    if settings.min_baseline_periods > settings.baseline_periods:
        raise ConfigError(f"{where}: min_baseline_periods must not exceed baseline_periods")
    return settings


# --- evaluation --------------------------------------------------------------------------------------------


def last_complete_period(today: date, freq: str) -> date:
    from reports.periods import bucket_start

    return bucket_start(bucket_start(today, freq) - timedelta(days=1), freq)


def evaluate(session: Session, settings: AlertSettings, now: datetime) -> list[int]:
    """Record the alerts due at ``now``; returns the ids of new ones (a period already alerted adds none)."""
    from reports.aggregate import Scope, count_cube
    from reports.periods import next_bucket
    from reports.shares import ShareEstimator, find_corrector

    version = queries.active_model_version(session)
    if version is None:
        return []
    estimator = ShareEstimator.from_metrics(version.metrics, find_corrector())
    created = []
    for freq in settings.freqs:
        starts = [last_complete_period(now.date(), freq)]
        for _ in range(settings.baseline_periods):
            starts.insert(0, last_complete_period(starts[0], freq))
        last_day = next_bucket(starts[-1], freq) - timedelta(days=1)
        per_period = count_cube(session, Scope(version.id, starts[0], last_day)).split("bucket", freq)
        for metric, values in metric_values(starts, per_period, estimator, settings.min_posts).items():
            row = check(metric, freq, starts[-1], values[:-1], values[-1], settings, estimator.corrects, now)
            if row is not None:
                alert_id = sq.add_alert(session, row)
                if alert_id is not None:
                    created.append(alert_id)
                    log.warning("alert metric=%s freq=%s period=%s: %s", metric, freq, starts[-1], row["message"])
    return created


def metric_values(starts: list[date], per_period: Mapping[Any, Any], estimator: Any,
                  min_posts: int) -> dict[str, list[float]]:
    """Per period: relevant posts, mean sentiment and stance shares (NaN where too few posts). ``per_period``
    maps each period's start to its ``reports.aggregate.Cube``."""
    from reports.aggregate import EMPTY_CUBE

    values: dict[str, list[float]] = {"volume": [], "sentiment": [], **{f"stance:{s}": [] for s in STANCES}}
    for start in starts:
        cube = per_period.get(start, EMPTY_CUBE)
        counts = cube.total()
        relevant = counts.get("relevant", 0.0)
        scored = counts.get("sentiment_n", 0.0)
        values["volume"].append(relevant)
        values["sentiment"].append(counts.get("sentiment_sum", 0.0) / scored if scored >= min_posts else math.nan)
        shares = estimator.estimate(cube.cells()) if relevant >= min_posts else None
        for stance in STANCES:
            values[f"stance:{stance}"].append(shares[stance].share if shares else math.nan)
    return values


def check(metric: str, freq: str, start: date, baseline: list[float], value: float, settings: AlertSettings,
          corrected: bool, now: datetime) -> dict[str, Any] | None:
    """The alert row when ``value`` moved beyond a threshold against ``baseline``; None otherwise."""
    past = [v for v in baseline if not math.isnan(v)]
    if math.isnan(value) or len(past) < settings.min_baseline_periods:
        return None
    mean = statistics.fmean(past)
    std = statistics.stdev(past) if len(past) > 1 else 0.0
    change = value - mean
    z = change / std if std > 0 else None
    rules = []
    if settings.z_threshold and z is not None and abs(z) >= settings.z_threshold:
        rules.append("zscore")
    limit = settings.change_limit(metric)
    if metric == "volume":
        if max(value, mean) < settings.min_posts:
            return None  # a jump from 2 to 6 posts is noise, not news
        moved = abs(change) / mean if mean > 0 else math.inf
    else:
        moved = abs(change)
    if limit and moved >= limit:
        rules.append("change")
    if not rules:
        return None
    return {
        "created_at": now, "metric": metric, "freq": freq, "period_start": start, "value": value,
        "baseline_mean": mean, "baseline_std": std, "baseline_periods": len(past), "z_score": z,
        "change": change, "rule": ",".join(rules), "delivery_attempts": 0,
        "message": _message(metric, freq, start, value, mean, std, len(past), z, corrected),
    }


def _message(metric: str, freq: str, start: date, value: float, mean: float, std: float, periods: int,
             z: float | None, corrected: bool) -> str:
    direction = "rose" if value > mean else "fell"
    if metric.startswith("stance:"):
        what = f"Share of {_STANCE_LABELS[metric.split(':', 1)[1]]} posts" + (" (corrected)" if corrected else "")
        shown, base, spread = f"{value:.0%}", f"{mean:.0%}", f"{std:.0%}"
    elif metric == "sentiment":
        what, shown, base, spread = "Mean sentiment", f"{value:+.2f}", f"{mean:+.2f}", f"{std:.2f}"
    else:
        what, shown, base, spread = "Relevant posts", f"{value:.0f}", f"{mean:.0f}", f"{std:.0f}"
    score = f", z = {z:+.1f}" if z is not None else ""
    return (f"{what} {direction} to {shown} in the {freq} starting {start} "
            f"(previous {periods} {freq}s: {base} ± {spread}{score})")


# --- delivery ------------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    error: str | None = None


def deliver(sessions: sessionmaker[Session], settings: AlertSettings, post: Callable[..., Any] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST undelivered alerts to the webhook, each with a bounded number of tries. Never raises for the
    webhook's sake; failures are recorded on the alert and logged without the URL (it may hold a token)."""
    import requests

    result = Delivery()
    if not settings.webhook_url:
        return result
    post = post or requests.post
    host = urlsplit(settings.webhook_url).hostname or "webhook"
    _hide_from_urllib3_logs(settings.webhook_url)
    with sessions() as session:
        pending = [(a.id, sq.alert_dict(a)) for a in sq.undelivered_alerts(session, MAX_DELIVERY_RUNS)]
    for alert_id, payload in pending:
        error = _post(post, settings, {"text": payload["message"], "alert": payload}, sleep)
        with sessions.begin() as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None  # just read as undelivered, and nothing deletes alerts
            alert.delivery_attempts += 1
            if error is None:
                alert.delivered_at, alert.delivery_error = queries.utcnow(), None
            else:
                alert.delivery_error = error
        if error is None:
            result.sent += 1
        else:
            result.failed += 1
            result.error = f"webhook {host}: {error}"
            log.warning("alert webhook %s: alert %d not delivered after %d tries: %s", host, alert_id,
                        settings.webhook_tries, error)
    return result


class _MaskPath(logging.Filter):
    """urllib3 logs each request's path at DEBUG (``stance -v``); webhook paths are often the secret."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.path in message:
            record.msg, record.args = message.replace(self.path, "/***"), ()
        return True


def _hide_from_urllib3_logs(url: str) -> None:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(path) <= 1:
        return
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _MaskPath) and f.path == path for f in logger.filters):
        logger.addFilter(_MaskPath(path))


def _post(post: Callable[..., Any], settings: AlertSettings, payload: dict[str, Any],
          sleep: Callable[[float], None]) -> str | None:
    """None when delivered, else why not. Exception texts are left out: requests puts the URL in them."""
    import requests

    error = "not tried"
    for attempt in range(settings.webhook_tries):
        if attempt:
            sleep(min(2.0 ** (attempt - 1), 10.0))
        try:
            response = post(settings.webhook_url, json=payload, timeout=settings.webhook_timeout)
        except requests.RequestException as exc:
            error = type(exc).__name__
            continue
        if 200 <= response.status_code < 300:
            return None
        error = f"HTTP {response.status_code}"
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            return error  # the request itself is wrong; trying again will not help
    return error


def run_alerts(context: JobContext, spec: JobSpec) -> JobResult:
    """The ``alerts`` job: evaluate, record, deliver. Delivery problems make it partial, never failed."""
    settings = context.alerts or AlertSettings()
    if not settings.enabled:
        return JobResult("skipped", "alerts are disabled in [alerts]")
    with context.sessions.begin() as session:
        created = evaluate(session, settings, context.now)
    delivery = deliver(context.sessions, settings)
    detail = f"{len(created)} new alerts, {delivery.sent} delivered"
    data = {"new": len(created), "delivered": delivery.sent, "undelivered": delivery.failed}
    return JobResult("partial" if delivery.failed else "ok", detail, delivery.error, data)
