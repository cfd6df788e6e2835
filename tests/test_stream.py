"""Bluesky live mode: a local Jetstream-like websocket server, the real websockets client, a real database."""

from __future__ import annotations

import json
import threading
from datetime import UTC
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest_collectors import ingest_context, open_test_database, stored_cursor, stored_posts
from websockets.sync.server import serve

from monitor.ingest.records import InvalidRecord
from monitor.ingest.stream import event_to_record, stream_bluesky, with_cursor


def create_event(number: int, text: str = "gpt-oss weights are open") -> dict:
    return {
        "did": f"did:plc:user{number}",
        "time_us": 1_754_420_000_000_000 + number,
        "kind": "commit",
        "commit": {
            "rev": f"3lvr{number}",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": f"3lvrkey{number}",
            "cid": f"bafy{number}",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": f"{text} #{number}",
                "createdAt": "2025-08-05T19:00:00.000Z",
                "langs": ["en"],
            },
        },
    }


EVENTS = [
    create_event(1),
    create_event(2, "nothing about the topic"),
    {"did": "did:plc:x", "time_us": 1_754_420_000_000_003, "kind": "identity", "identity": {}},
    create_event(4),
    {
        "did": "did:plc:user1",
        "time_us": 1_754_420_000_000_005,
        "kind": "commit",
        "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3lvrkey1"},
    },
    create_event(6),
]


class FakeJetstream:
    """Serves EVENTS after the requested cursor; drops the first connection after ``drop_after`` events."""

    def __init__(self, drop_after: int | None = None):
        self.drop_after = drop_after
        self.cursors: list[str | None] = []
        self.server = serve(self.handle, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, websocket):
        cursor = parse_qs(urlsplit(websocket.request.path).query).get("cursor", [None])[0]
        self.cursors.append(cursor)
        events = [e for e in EVENTS if cursor is None or e["time_us"] >= int(cursor)]
        for number, event in enumerate(events, start=1):
            websocket.send(json.dumps(event))
            if self.drop_after and len(self.cursors) == 1 and number >= self.drop_after:
                return
        websocket.send("not json {")

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe?wantedCollections=app.bsky.feed.post"


@pytest.fixture
def jetstream():
    servers = []

    def start(**kwargs):
        server = FakeJetstream(**kwargs)
        server.thread.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.server.shutdown()


def test_keeps_matching_posts_and_stores_the_cursor(jetstream, tmp_path):
    server = jetstream()
    sessions = open_test_database(tmp_path)
    summary = stream_bluesky(
        sessions, ingest_context(("gpt-oss",)), server.url, max_events=6, batch_size=2, sleep=lambda s: None
    )
    assert summary.events == 6 and summary.matched == 3 and summary.new == 3
    # Event 5 is user1 deleting post 1: it is removed as the delete arrives.
    assert summary.deleted == 1
    assert [p.source_id for p in stored_posts(sessions, "bluesky")] == [
        f"at://did:plc:user{n}/app.bsky.feed.post/3lvrkey{n}" for n in (4, 6)
    ]
    assert stored_cursor(sessions, "bluesky", "jetstream") == {"time_us": EVENTS[-1]["time_us"]}


def test_reconnects_with_the_last_cursor_and_loses_nothing(jetstream, tmp_path):
    server = jetstream(drop_after=2)
    sessions = open_test_database(tmp_path)
    waits = []
    summary = stream_bluesky(
        sessions, ingest_context(("gpt-oss",)), server.url, max_events=7, batch_size=1, sleep=waits.append
    )
    assert summary.reconnects >= 1 and waits
    assert server.cursors[0] is None and server.cursors[1] == str(EVENTS[1]["time_us"])
    assert len(stored_posts(sessions, "bluesky")) == 2  # the overlap event is deduplicated; post 1 deleted


def test_resumes_from_the_stored_cursor_on_restart(jetstream, tmp_path):
    server = jetstream()
    sessions = open_test_database(tmp_path)
    stream_bluesky(
        sessions, ingest_context(("gpt-oss",)), server.url, max_events=2, batch_size=1, sleep=lambda s: None
    )
    assert stored_cursor(sessions, "bluesky", "jetstream") == {"time_us": EVENTS[1]["time_us"]}
    again = stream_bluesky(
        sessions, ingest_context(("gpt-oss",)), server.url, max_events=5, sleep=lambda s: None
    )
    assert server.cursors[-1] == str(EVENTS[1]["time_us"]) and again.new == 2


def test_connection_refused_backs_off_and_stops(tmp_path):
    sessions = open_test_database(tmp_path)
    waits = []
    summary = stream_bluesky(
        sessions, ingest_context(), "ws://127.0.0.1:9/subscribe", max_reconnects=3, sleep=waits.append
    )
    assert summary.events == 0 and waits == [2.0, 4.0, 8.0]


def test_with_cursor_replaces_an_existing_one():
    assert (
        with_cursor("wss://h/subscribe?wantedCollections=a&cursor=1", 5)
        == "wss://h/subscribe?wantedCollections=a&cursor=5"
    )


def test_event_to_record_fields_and_errors():
    record = event_to_record(create_event(4))
    assert (
        record.author == "did:plc:user4"
        and record.url == "https://bsky.app/profile/did:plc:user4/post/3lvrkey4"
    )
    assert record.created_at.isoformat() == "2025-08-05T19:00:00+00:00"
    broken = create_event(5)
    del broken["commit"]["record"]["text"]
    with pytest.raises(InvalidRecord, match="text"):
        event_to_record(broken)


def test_stream_command_uses_the_configured_jetstream_url(jetstream, workdir, capsys):
    from tests_support import stance

    server = jetstream()
    (workdir / "stance.toml").write_text(
        f'[topic]\nkeywords = ["gpt-oss"]\n\n[sources.bluesky]\njetstream_url = "{server.url}"\n'
    )
    code, out, err = stance(capsys, "stream", "--source", "bluesky", "--max-events", "6")
    assert code == 0, err
    assert "6 events, 3 matched, 3 new posts" in out
    code, out, _ = stance(capsys, "status", "--json")
    assert json.loads(out)["by_source"] == {"bluesky": 2}
    code, _, err = stance(capsys, "stream", "--source", "mastodon")
    assert code == 2 and "bluesky only" in err  # a usage error


def test_delete_and_account_events_remove_stored_posts_everywhere_and_are_audited(tmp_path):
    from sqlalchemy import select

    from monitor.ingest.pipeline import ingest
    from monitor.ingest.stream import Gone, apply_deletions
    from storage.models import DeletionLog

    sessions = open_test_database(tmp_path)
    context = ingest_context(("gpt-oss",))
    with sessions.begin() as session:
        ingest(session, [event_to_record(create_event(n)) for n in (1, 2, 3)], context)
    gone = Gone()
    for event in (
        {"did": "did:plc:user1", "time_us": 9, "kind": "commit",
         "commit": {"rev": "r", "operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3lvrkey1"}},
        {"did": "did:plc:nobody", "time_us": 10, "kind": "commit",  # never stored: no audit noise
         "commit": {"rev": "r", "operation": "delete", "collection": "app.bsky.feed.post", "rkey": "zzz"}},
        {"did": "did:plc:user2", "time_us": 11, "kind": "account",
         "account": {"active": False, "did": "did:plc:user2", "seq": 1, "status": "deactivated",
                     "time": "2025-08-06T00:00:00.000Z"}},
        {"did": "did:plc:user3", "time_us": 12, "kind": "account",
         "account": {"active": True, "did": "did:plc:user3", "seq": 2, "time": "2025-08-06T00:00:00.000Z"}},
    ):
        gone.note(event)
    with sessions.begin() as session:
        assert apply_deletions(session, gone, context.salt) == 2
    assert [p.source_id for p in stored_posts(sessions, "bluesky")] == [
        "at://did:plc:user3/app.bsky.feed.post/3lvrkey3"]
    with sessions() as session:
        entries = session.scalars(select(DeletionLog).order_by(DeletionLog.id))
        log = [(e.action, e.deleted, e.not_found) for e in entries]
    assert log == [("bluesky-delete", 1, []), ("bluesky-account", 1, [])]


def test_cursor_never_moves_past_posts_that_were_not_stored(jetstream, tmp_path, monkeypatch):
    """The second batch fails to store: the cursor stays at the end of the first, and only the first batch's
    new post ids are handed on (to the queue, with a broker)."""
    from storage import queries

    server = jetstream()
    sessions = open_test_database(tmp_path)
    real_insert, calls, handed = queries.insert_posts, [], []

    def failing_second_time(session, rows):
        calls.append(len(rows))
        if len(calls) >= 2:  # the database stays away
            raise RuntimeError("database went away")
        return real_insert(session, rows)

    monkeypatch.setattr(queries, "insert_posts", failing_second_time)
    with pytest.raises(RuntimeError):
        stream_bluesky(sessions, ingest_context(("gpt-oss",)), server.url, max_events=6, batch_size=1,
                       sleep=lambda s: None, on_stored=handed.append)
    stored = [p.source_id for p in stored_posts(sessions, "bluesky")]
    assert stored == ["at://did:plc:user1/app.bsky.feed.post/3lvrkey1"]
    assert stored_cursor(sessions, "bluesky", "jetstream") == {"time_us": EVENTS[0]["time_us"]}
    assert len(handed) == 1 and len(handed[0]) == 1

    monkeypatch.setattr(queries, "insert_posts", real_insert)
    again = stream_bluesky(sessions, ingest_context(("gpt-oss",)), server.url, max_events=6, sleep=lambda s: None)
    assert server.cursors[-1] == str(EVENTS[0]["time_us"]) and again.new == 2  # resumed: posts 4 and 6


def test_status_shows_the_lag_of_the_firehose_cursor_and_of_each_source(jetstream, tmp_path):
    from datetime import datetime, timedelta

    from monitor.cluster.inspect import lags

    server = jetstream()
    sessions = open_test_database(tmp_path)
    stream_bluesky(sessions, ingest_context(("gpt-oss",)), server.url, max_events=6, sleep=lambda s: None)
    cursor_time = datetime.fromtimestamp(EVENTS[-1]["time_us"] / 1_000_000, UTC)
    with sessions() as session:
        found = lags(session, now=cursor_time + timedelta(seconds=90))
    collected = stored_posts(sessions, "bluesky")[0].collected_at.replace(tzinfo=UTC)
    assert found["firehose_lag_seconds"] == pytest.approx(90, abs=0.01)
    expected = (cursor_time + timedelta(seconds=90) - collected).total_seconds()
    assert found["sources_lag_seconds"] == {"bluesky": pytest.approx(expected, abs=0.1)}
