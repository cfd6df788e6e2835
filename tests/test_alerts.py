"""Alerts: thresholds against a rolling baseline, storage once per period, webhook delivery that never blocks."""

import json
import logging
import math
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_scheduler import CONTEXT, T0, PagedCollector, make_runtime, spec

from monitor.errors import ConfigError
from monitor.scheduling.alerts import AlertSettings, check, deliver, evaluate, parse_alerts, run_alerts
from monitor.scheduling.runners import collect_runner
from monitor.scheduling.scheduler import run_due
from monitor.status import status
from storage import queries
from storage import scheduling_queries as sq
from storage.models import Classification, ModelVersion

TARGET = date(2025, 8, 4)  # the last complete day when "now" is 2025-08-05
NOW = datetime(2025, 8, 5, 6, tzinfo=UTC)


def test_check_fires_on_a_zscore_or_a_large_change_and_ignores_noise():
    settings = AlertSettings()
    baseline = [0.30, 0.32, 0.29, 0.31, 0.30, 0.33]
    row = check("stance:pro_open", "day", TARGET, baseline, 0.80, settings, False, NOW)
    assert row["rule"] == "zscore,change" and row["z_score"] > 20
    assert row["message"].startswith("Share of pro-open posts rose to 80% in the day starting 2025-08-04")
    assert check("stance:pro_open", "day", TARGET, baseline, 0.33, settings, False, NOW) is None
    flat = check("sentiment", "day", TARGET, [0.1] * 5, -0.3, settings, False, NOW)
    assert flat["rule"] == "change" and flat["z_score"] is None  # no spread: only the plain change can fire
    assert check("stance:neutral", "day", TARGET, [0.3, math.nan], 0.9, settings, False, NOW) is None  # too few
    assert check("volume", "day", TARGET, [2, 3, 2, 3], 9, settings, False, NOW) is None  # tiny numbers
    assert check("volume", "day", TARGET, [40, 44, 38, 41], 130, settings, False, NOW)["rule"] == "zscore,change"


def test_parse_alerts_validates_and_prefers_the_webhook_from_the_environment():
    parsed = parse_alerts({"freqs": ["week"], "z_threshold": 2, "webhook_url": "https://a.example/x"},
                          {"STANCE_ALERT_WEBHOOK_URL": "https://hooks.example/T/secret"})
    assert (parsed.freqs, parsed.z_threshold, parsed.webhook_url) == (("week",), 2.0, "https://hooks.example/T/secret")
    for raw, message in [({"freqs": ["hour"]}, "freqs"), ({"z_threshold": -1}, "z_threshold"),
                         ({"treshold": 1}, "unknown key"), ({"webhook_url": "ftp://x"}, "webhook_url"),
                         ({"baseline_periods": 2, "min_baseline_periods": 3}, "min_baseline_periods")]:
        with pytest.raises(ConfigError, match=message):
            parse_alerts(raw, {})


def seed_days(sessions, per_day):
    """Posts classified by an active model version: ``per_day`` maps a day to (pro_open, pro_closed, neutral)."""
    with sessions.begin() as session:
        version = ModelVersion(name="v1", created_at=NOW, artefact="none")
        session.add(version)
        session.flush()
        queries.activate_model_version(session, version)
        rows, labels = [], []
        for day, stances in per_day.items():
            for stance, count in zip(("pro_open", "pro_closed", "neutral"), stances):
                for i in range(count):
                    key = f"{day}-{stance}-{i}"
                    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
                    rows.append({"source": "x", "source_id": key, "topic": "t", "text": "weights", "lang": "en",
                                 "created_at": at, "metrics": {}, "content_hash": key, "collected_at": at})
                    labels.append(stance)
        for post_id, stance in zip(queries.insert_posts(session, rows), labels):
            session.add(Classification(post_id=post_id, model_version_id=version.id, relevant=True,
                                       relevance_score=0.9, stance=stance, p_pro_open=0.4, p_pro_closed=0.3,
                                       p_neutral=0.3, sentiment="neutral", sentiment_score=0.1, classified_at=NOW))


def test_evaluate_records_one_alert_per_metric_and_period_and_status_shows_it(sessions):
    per_day = {TARGET - timedelta(days=d): (12 + d % 3, 14 - d % 3, 14) for d in range(1, 9)}
    per_day[TARGET] = (32, 4, 4)
    seed_days(sessions, per_day)
    settings = AlertSettings(freqs=("day",))
    with sessions.begin() as session:
        created = evaluate(session, settings, NOW)
    with sessions.begin() as session:
        assert evaluate(session, settings, NOW + timedelta(hours=1)) == []  # same period: nothing new
    with sessions() as session:
        alerts = {a.metric: a for a in sq.alerts_between(session, TARGET, TARGET)}
        assert len(created) == len(alerts) and {"stance:pro_open", "stance:neutral"} <= set(alerts)
        assert "volume" not in alerts and "sentiment" not in alerts  # both flat
        assert alerts["stance:pro_open"].value == pytest.approx(0.8)
        shown = status(session, now=NOW)["alerts"]
    assert {a["metric"] for a in shown} == set(alerts) and all(a["delivered_at"] is None for a in shown)


class Hook(BaseHTTPRequestHandler):
    statuses: list = []
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(type(self).statuses.pop(0) if type(self).statuses else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    Hook.statuses, Hook.received = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def add_alert(sessions):
    row = check("volume", "day", TARGET, [40, 44, 38, 41], 130, AlertSettings(), False, NOW)
    with sessions.begin() as session:
        return sq.add_alert(session, row)


def test_webhook_retries_a_bounded_number_of_times_and_never_logs_its_url(sessions, hook, caplog):
    alert_id = add_alert(sessions)
    url = f"http://127.0.0.1:{hook.server_port}/hooks/T0001/s3cr3t-path"
    settings = AlertSettings(webhook_url=url, webhook_tries=3)
    Hook.statuses = [500, 503, 502]
    with caplog.at_level(logging.DEBUG):
        failed = deliver(sessions, settings, sleep=lambda _s: None)
    assert (failed.sent, failed.failed, len(Hook.received)) == (0, 1, 3)
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in failed.error and "HTTP 502" in failed.error
    Hook.statuses = []
    assert deliver(sessions, settings, sleep=lambda _s: None).sent == 1
    path, payload = Hook.received[-1]
    assert path == "/hooks/T0001/s3cr3t-path" and payload["alert"]["id"] == alert_id
    assert payload["text"].startswith("Relevant posts rose to 130")
    assert deliver(sessions, settings, sleep=lambda _s: None).sent == 0  # delivered once only
    with sessions() as session:
        (alert,) = sq.recent_alerts(session)
        assert alert.delivered_at is not None and alert.delivery_attempts == 2


def test_a_failing_webhook_does_not_stop_collection(sessions):
    add_alert(sessions)
    dead = "http://127.0.0.1:9/hook?token=abc"  # the discard port: connection refused
    collect = collect_runner(lambda context, job: [PagedCollector()], lambda context: CONTEXT)
    specs = [spec(), spec("alerts", "alerts", None, ["collect-fake"])]
    runtime = make_runtime(sessions, specs, {"collect": collect, "alerts": run_alerts},
                           alerts=AlertSettings(webhook_url=dead, webhook_tries=2))
    run_due(runtime, T0)
    outcomes = {o.job: o for o in run_due(runtime, T0 + timedelta(minutes=15))}
    assert outcomes["collect-fake"].status == "ok" and outcomes["collect-fake"].detail.startswith("9 fetched, 9 new")
    assert outcomes["alerts"].status == "partial" and "ConnectionError" in outcomes["alerts"].error
    assert "abc" not in outcomes["alerts"].error
    with sessions() as session:
        assert queries.count_posts(session) == 9
        assert sq.recent_alerts(session)[0].delivery_error == "ConnectionError"
