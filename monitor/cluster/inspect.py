"""What the cluster looks like from outside: queue depths, the workers that answer, and how far behind the
sources and the firehose cursor are. ``stance status`` shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import Settings
from storage import queries
from storage.models import Post

#: Where the firehose consumer keeps its cursor: (source, query) of the ``cursors`` table.
FIREHOSE_CURSOR = ("bluesky", "jetstream")


def lags(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Seconds since each source's newest stored post was collected and written, and how far the firehose
    cursor (``time_us`` of the last event whose batch was stored) is behind ``now``."""
    now = now or datetime.now(UTC)
    newest = session.execute(select(Post.source, func.max(Post.collected_at)).group_by(Post.source)).all()
    sources = {source: round((now - _utc(when)).total_seconds(), 1) for source, when in newest if when}
    cursor = queries.get_cursor(session, *FIREHOSE_CURSOR) or {}
    time_us = cursor.get("time_us")
    firehose = round(now.timestamp() - time_us / 1_000_000, 1) if isinstance(time_us, int) else None
    return {"sources_lag_seconds": sources, "firehose_lag_seconds": firehose}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def queue_depths(settings: Settings, app=None) -> dict[str, int]:
    """Messages waiting in each queue (a task a worker holds unacknowledged is not counted)."""
    from kombu.exceptions import ChannelError

    from monitor.cluster.app import QUEUES, queue_name
    from monitor.cluster.enqueue import app_for

    app = app or app_for(settings)
    depths = {}
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        for kind in QUEUES:
            name = queue_name(settings, kind)
            try:
                depths[name] = channel.queue_declare(name, passive=True).message_count
            except ChannelError:  # a queue nobody declared yet is an empty one
                depths[name] = 0
    return depths


def workers_seen(settings: Settings, app=None, timeout: float = 1.0) -> list[str]:
    """Names of the workers that answered a ping within ``timeout`` seconds."""
    from monitor.cluster.enqueue import app_for

    app = app or app_for(settings)
    return sorted(name for reply in app.control.ping(timeout=timeout) or [] for name in reply)


def cluster_status(settings: Settings, session: Session) -> dict[str, Any]:
    """Lags always; queue depths and workers when a broker is configured (an unreachable broker is said)."""
    found: dict[str, Any] = {"broker": _safe_broker(settings.cluster.broker_url), **lags(session)}
    if settings.cluster.broker_url:
        try:
            found["queues"] = queue_depths(settings)
            found["workers"] = workers_seen(settings)
        except Exception as exc:  # noqa: BLE001 - status reports a broker it cannot reach, it does not fail
            found["broker_error"] = f"{type(exc).__name__}: {exc}"
    return found


def _safe_broker(url: str | None) -> str | None:
    """The broker URL without its password."""
    if not url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
