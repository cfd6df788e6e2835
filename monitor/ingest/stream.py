"""Live Bluesky collection from the public Jetstream firehose (JSON over a websocket, no login).

Every new post on the network passes by; we keep the ones that mention a topic keyword and store them in small
batches, each committed together with the Jetstream cursor (``time_us`` of the last event read), so a restart
or a dropped connection resumes where the last committed batch ended. Posts get the same ``source_id`` (the
at:// URI) as search results, so a post seen by both is stored once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import websockets
from websockets.sync.client import connect as websocket_connect

from monitor.collectors.bluesky import POST_COLLECTION, post_url
from monitor.ingest.normalise import matches_keywords
from monitor.ingest.pipeline import IngestContext, ingest
from monitor.ingest.privacy import pseudonymise
from monitor.ingest.records import InvalidRecord, PostRecord, object_field
from monitor.ingest.timeparse import parse_timestamp
from storage import queries
from storage.deletion import delete_by_author, delete_posts, stored_among

log = logging.getLogger(__name__)

JETSTREAM_URL = f"wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections={POST_COLLECTION}"
SOURCE = "bluesky"
#: Store at least this often, counted in events read, so the cursor moves even when nothing matches.
FLUSH_EVERY_EVENTS = 5000


@dataclass
class StreamSummary:
    events: int = 0
    matched: int = 0
    new: int = 0
    reconnects: int = 0
    cursor: int | None = None
    #: Stored posts removed because their author deleted them or the account was deactivated or deleted.
    deleted: int = 0


#: Account statuses after which an account's posts are removed (Jetstream ``account`` events).
GONE_ACCOUNT_STATUSES = frozenset({"deactivated", "deleted", "takendown", "suspended"})


@dataclass
class Gone:
    """Deletions seen in a batch of events: post URIs deleted by their authors, accounts gone."""

    posts: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)

    def note(self, event: Mapping[str, Any]) -> None:
        did = event.get("did")
        if not isinstance(did, str) or not did:
            return
        commit, account = event.get("commit"), event.get("account")
        if event.get("kind") == "commit" and isinstance(commit, Mapping):
            if commit.get("operation") == "delete" and commit.get("collection") == POST_COLLECTION:
                rkey = commit.get("rkey")
                if isinstance(rkey, str) and rkey:
                    self.posts.append(f"at://{did}/{POST_COLLECTION}/{rkey}")
        elif event.get("kind") == "account" and isinstance(account, Mapping):
            if account.get("active") is False and account.get("status") in GONE_ACCOUNT_STATUSES:
                self.accounts.append(did)


def apply_deletions(session, gone: Gone, salt: str) -> int:
    """Delete the stored posts among ``gone`` everywhere, with an audit record; returns how many went."""
    deleted = 0
    stored = stored_among(session, SOURCE, gone.posts)
    if stored:
        deleted += delete_posts(session, SOURCE, stored, action="bluesky-delete", job="stream",
                                reason="deleted by its author (Jetstream delete event)").deleted
    for did in dict.fromkeys(gone.accounts):
        deleted += delete_by_author(session, SOURCE, pseudonymise(did, SOURCE, salt) or "", action="bluesky-account",
                                    reason="account deactivated or deleted (Jetstream account event)",
                                    job="stream", source_id_prefix=f"at://{did}/", audit_nothing=False).deleted
    return deleted


def stream_bluesky(
    sessions,
    context: IngestContext,
    url: str = JETSTREAM_URL,
    cursor_query: str = "jetstream",
    max_events: int | None = None,
    stop: Callable[[], bool] | None = None,
    batch_size: int = 50,
    max_reconnects: int | None = None,
    connect: Callable[..., Any] = websocket_connect,
    sleep: Callable[[float], None] = time.sleep,
    on_stored: Callable[[list[int]], Any] | None = None,
) -> StreamSummary:
    """Follow Jetstream until ``stop()`` is true, ``max_events`` were read, or ``max_reconnects`` is exceeded.

    The cursor is stored under source ``bluesky`` and query ``cursor_query``, in the transaction that stores
    the batch of posts read up to it: it never points past a post that is not stored. ``on_stored`` gets the
    new posts' ids after that commit (to enqueue their classification); if the process dies between the
    commit and the call, the posts are stored and unclassified, and the next ``stance classify`` finds them.
    """
    with sessions() as session:
        state = queries.get_cursor(session, SOURCE, cursor_query) or {}
    summary = StreamSummary(cursor=state.get("time_us"))
    batch: list[PostRecord] = []
    gone = Gone()
    since_flush = 0
    failures = 0

    def flush() -> None:
        nonlocal batch, gone, since_flush
        if summary.cursor is None or (not batch and not since_flush):
            return
        with sessions.begin() as session:
            new_ids = ingest(session, batch, context)
            # After the batch's creates: a post created and deleted within one batch is not left behind.
            summary.deleted += apply_deletions(session, gone, context.salt)
            queries.set_cursor(session, SOURCE, cursor_query, {"time_us": summary.cursor})
        summary.new += len(new_ids)
        batch, gone, since_flush = [], Gone(), 0
        if on_stored is not None and new_ids:
            on_stored(new_ids)

    def finished() -> bool:
        return (max_events is not None and summary.events >= max_events) or (stop is not None and stop())

    while not finished():
        try:
            with connect(with_cursor(url, summary.cursor)) as websocket:
                failures = 0
                for message in websocket:
                    summary.events += 1
                    since_flush += 1
                    event = parse_event(message)
                    if event is not None:
                        if isinstance(event.get("time_us"), int):
                            summary.cursor = event["time_us"]
                        record = event_to_record_or_none(event)
                        if record is not None and matches_keywords(record.text, context.keywords):
                            summary.matched += 1
                            batch.append(record)
                        gone.note(event)
                    if len(batch) >= batch_size or since_flush >= FLUSH_EVERY_EVENTS:
                        flush()
                    if finished():
                        break
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            failures += 1
            log.warning("jetstream connection failed (%s); reconnecting", exc)
        finally:
            flush()
        if finished():
            break
        summary.reconnects += 1
        if max_reconnects is not None and summary.reconnects > max_reconnects:
            break
        sleep(min(60.0, 2.0**failures) if failures else 1.0)
    return summary


def with_cursor(url: str, cursor: int | None) -> str:
    """``url`` with Jetstream's ``cursor`` (microseconds) set, other parameters kept."""
    if cursor is None:
        return url
    parts = urlsplit(url)
    params = [(key, value) for key, value in parse_qsl(parts.query) if key != "cursor"] + [
        ("cursor", str(cursor))
    ]
    return urlunsplit(parts._replace(query=urlencode(params)))


def parse_event(message: str | bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(message)
    except (ValueError, UnicodeDecodeError):
        log.debug("skipping a message that is not JSON")
        return None
    return event if isinstance(event, dict) else None


def event_to_record_or_none(event: Mapping[str, Any]) -> PostRecord | None:
    """The post an event creates, or None for other events (deletes, likes, identity) and broken posts."""
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, Mapping):
        return None
    if commit.get("operation") != "create" or commit.get("collection") != POST_COLLECTION:
        return None
    try:
        return event_to_record(event)
    except InvalidRecord as exc:
        log.debug("skipping a post: %s", exc)
        return None


def event_to_record(event: Mapping[str, Any]) -> PostRecord:
    """A Jetstream ``create`` commit of an ``app.bsky.feed.post`` as a record. Pure."""
    commit = object_field(event, "commit")
    did, rkey = event.get("did"), commit.get("rkey")
    if not isinstance(did, str) or not did:
        raise InvalidRecord("did: missing")
    if not isinstance(rkey, str) or not rkey:
        raise InvalidRecord("commit.rkey: missing")
    record = object_field(commit, "record")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidRecord("commit.record.text: missing or empty")
    try:
        created_at = parse_timestamp(record.get("createdAt") or event.get("time_us", 0) / 1_000_000)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"commit.record.createdAt: {exc}") from None
    uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
    langs = record.get("langs")
    return PostRecord(
        source=SOURCE,
        source_id=uri,
        text=text,
        created_at=created_at,
        author=did,  # Jetstream carries no handle; the DID is the stable account id
        url=post_url(did, uri),
        lang_hint=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        raw=dict(event),
    )
