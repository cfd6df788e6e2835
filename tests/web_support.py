"""Helpers for the dashboard tests: settings for a test database, a TestClient, and a small known corpus."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from test_reports_helpers import TOPIC, add_post, add_version, utc

from monitor.config import load_settings
from monitor.web import Access, WebOptions, create_app

MONDAY = date(2025, 7, 7)
LOCAL = "http://127.0.0.1:8050"
#: A confusion matrix (rows true, columns predicted) that makes the corrected shares differ from the counted.
CONFUSION = [[80, 10, 10], [10, 70, 20], [15, 15, 70]]
#: A classifier that errs more on Reddit comments, which the reports correct with this matrix.
REDDIT_CONFUSION = [[70, 10, 20], [10, 60, 30], [35, 10, 55]]
HOSTILE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
           "\"'><b>bold?</b> & </textarea>{{7*7}}")


def settings_for(db_url: str):
    return replace(load_settings(None, {"STANCE_DATABASE_URL": db_url}), topic=TOPIC)


def client(db_url: str, access: Access = Access(), base_url: str = LOCAL) -> TestClient:
    return TestClient(create_app(settings_for(db_url), WebOptions(access)), base_url=base_url,
                      follow_redirects=False)


def fill_corpus(sessions) -> dict[str, int]:
    """Three weeks of posts in German and English from two sources, every stance, one irrelevant post a day.

    Returns the version id and a few post ids the tests refer to.
    """
    stances = ("pro_open", "pro_open", "pro_closed", "neutral", "pro_open", "neutral")
    with sessions.begin() as session:
        version = add_version(session, metrics={"stance_confusion": CONFUSION,
                                                "stance_confusion_by_community": {"reddit": REDDIT_CONFUSION}})
        for week in range(3):
            for i in range(18):
                day = MONDAY + timedelta(days=7 * week + i % 7)
                add_post(session, version, utc(day, 8 + i % 10), stance=stances[(i + week) % len(stances)],
                         lang="de" if i % 3 == 0 else "en", source="reddit" if i % 2 else "mastodon",
                         sentiment=0.1 * (i % 5) - 0.2, safety_concern=i % 4 == 0,
                         text=f"Post {week}-{i}: open weights please, let us run it locally")
            add_post(session, version, utc(MONDAY + timedelta(days=7 * week + 2)), relevant=False,
                     stance="neutral", text=f"Unrelated {week}: my cat ignores OpenAI")
        hostile = add_post(session, version, utc(MONDAY + timedelta(days=3), 23), text=HOSTILE,
                           url="javascript:window.__pwned=3", author="anon-ffff")
        return {"version": version.id, "hostile": hostile.id}


def csrf_of(page_html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def now() -> datetime:
    return datetime.now(UTC)
