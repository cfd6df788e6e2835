"""Small real SQLite databases for the report tests (no conftest: tests/conftest.py belongs to others)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

from monitor.config import Event, Topic
from storage.engine import open_database
from storage.models import Classification, ModelVersion, Post

TOPIC = Topic(name="openai-open", title="OpenAI öffnet Gewichte?", languages=("de", "en"), keywords=("openai",),
              events=(Event(date(2025, 8, 5), "gpt-oss veröffentlicht"),))
DEMO = "https://demo.stance-monitor.invalid/"
_ids = count(1)


def make_database(tmp_path):
    engine, sessions = open_database(f"sqlite:///{tmp_path}/r.db")
    return engine, sessions


def add_version(session, name="stance-v1", active=True, metrics=None, activated=datetime(2025, 8, 1, tzinfo=UTC)):
    version = ModelVersion(name=name, kind="stance", created_at=activated, artefact="test", metrics=metrics or {},
                           params={}, active=active, activated_at=activated)
    session.add(version)
    session.flush()
    return version


def add_post(session, version, when: datetime, stance="pro_open", relevant=True, lang="en", source="mastodon",
             text="Open weights please, let us run it locally", url=None, sentiment=0.2, p=0.9, safety_concern=False,
             author="anon-1a2b"):
    number = next(_ids)
    post = Post(source=source, source_id=str(number), topic=TOPIC.name, text=text, lang=lang, created_at=when,
                author=author, url=url or f"https://social.example/{number}", metrics={}, content_hash=f"{number:040x}",
                collected_at=when)
    session.add(post)
    session.flush()
    rest = (1 - p) / 2
    session.add(Classification(
        post_id=post.id, model_version_id=version.id, relevant=relevant, relevance_score=0.9 if relevant else 0.1,
        stance=stance, p_pro_open=p if stance == "pro_open" else rest,
        p_pro_closed=p if stance == "pro_closed" else rest, p_neutral=p if stance == "neutral" else rest,
        safety=stance == "pro_closed", competition=False, governance=False, local_ai=stance == "pro_open",
        safety_concern=safety_concern, sentiment="positive" if (sentiment or 0) > 0 else "negative",
        sentiment_score=sentiment, sentiment_model="test", classified_at=when))
    return post


def utc(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def fill_weeks(session, version, first: date, weeks: int, per_week: int, **kwargs):
    """per_week posts in each of ``weeks`` weeks, cycling through the stances."""
    stances = ("pro_open", "pro_closed", "neutral", "pro_open")
    for week in range(weeks):
        for i in range(per_week):
            add_post(session, version, utc(first + timedelta(days=7 * week + i % 7)),
                     stance=stances[i % len(stances)], **kwargs)
