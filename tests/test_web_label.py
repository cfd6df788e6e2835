"""The labelling page stores labels as `stance label` does: same posts, same HumanLabel rows, undo, skip, resume."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from monitor.labeling.loop import RELEVANT_KEYS, SENTIMENT_KEYS, STANCE_KEYS, choose_posts
from monitor.web.labeling import QUESTIONS
from storage.models import HumanLabel
from web_support import client, csrf_of, fill_corpus


@pytest.fixture
def corpus(sessions):
    return fill_corpus(sessions)


def shown_post(html: str) -> int:
    match = re.search(r'data-post-id="(\d+)"', html)
    assert match, html[:2000]
    return int(match.group(1))


def labels(sessions, annotator="anna"):
    with sessions() as session:
        rows = session.scalars(select(HumanLabel).where(HumanLabel.annotator == annotator))
        return {row.post_id: row for row in rows}


def follow(http, response):
    assert response.status_code == 303, response.text[:500]
    return http.get(response.headers["location"])


def test_label_undo_skip_and_resume(db_url, sessions, corpus):
    with client(db_url) as http:
        start = http.get("/label")
        assert 'name="annotator"' in start.text
        page = http.get("/label?annotator=anna")
        first = shown_post(page.text)
        with sessions() as session:
            assert first == choose_posts(session, "anna", 1, corpus["version"])[0].post_id
        csrf = csrf_of(page.text)
        sitting = {"csrf": csrf, "annotator": "anna", "done": "", "skipped": ""}
        page = follow(http, http.post("/label", data={**sitting, "post_id": first, "relevant": "yes",
                                                       "stance": "pro_closed", "sentiment": "negative",
                                                       "aspects": ["safety", "governance"], "safety_concern": "yes"}))
        stored = labels(sessions)[first]
        assert (stored.relevant, stored.stance, stored.sentiment, stored.aspects, stored.safety_concern) == (
            True, "pro_closed", "negative", ["safety", "governance"], True)
        second = shown_post(page.text)
        assert second != first and "1 labelled, 0 skipped" in page.text

        # Off-topic: only the sentiment counts, whatever else the form carries (as in the terminal).
        sitting["done"] = str(first)
        page = follow(http, http.post("/label", data={**sitting, "post_id": second, "relevant": "no",
                                                       "stance": "pro_open", "sentiment": "neutral",
                                                       "aspects": ["safety"], "safety_concern": "yes"}))
        off = labels(sessions)[second]
        assert (off.relevant, off.stance, off.aspects, off.safety_concern) == (False, "neutral", [], False)
        third = shown_post(page.text)

        # Skip is a link: no write, the post is not offered again in this sitting.
        skip = re.search(r'href="(/label\?[^"]+)" id="skip"', page.text).group(1).replace("&amp;", "&")
        page = http.get(skip)
        assert shown_post(page.text) not in (first, second, third) and len(labels(sessions)) == 2

        # Undo takes back the last label and asks that post again.
        query = parse_qs(urlparse(skip).query)
        undone = http.post("/label/undo", data={"csrf": csrf, "annotator": "anna", "done": query["done"][0],
                                                "skipped": query["skipped"][0]})
        page = follow(http, undone)
        assert shown_post(page.text) == second and second not in labels(sessions)

        # A new sitting (another day) resumes: labelled posts are never offered again.
        resumed = http.get("/label?annotator=anna")
        assert shown_post(resumed.text) not in labels(sessions)
        other = http.get("/label?annotator=ben")
        assert shown_post(other.text) == first  # labelled by anna only: still worth asking ben


def test_bad_label_forms_name_the_field(db_url, sessions, corpus):
    with client(db_url) as http:
        csrf = csrf_of(http.get("/label?annotator=anna").text)
        base = {"csrf": csrf, "annotator": "anna", "post_id": "1", "relevant": "yes", "stance": "pro_open",
                "sentiment": "positive", "safety_concern": "no"}
        cases = {
            "stance: expected one of pro_open, pro_closed, neutral, got &#39;maybe&#39;": {"stance": "maybe"},
            "aspects: unknown aspect &#39;weather&#39;": {"aspects": "weather"},
            "post_id: no post with id 99999": {"post_id": "99999"},
            "post_id: expected a post id, got &#39;x&#39;": {"post_id": "x"},
            "annotator: say who is labelling": {"annotator": ""},
        }
        for message, change in cases.items():
            response = http.post("/label", data={**base, **change})
            assert response.status_code == 400 and message in response.text, (message, response.text[-600:])
    assert labels(sessions) == {}


def test_keys_are_the_terminals():
    by_name = {q.name: q.keys for q in QUESTIONS}
    assert by_name["relevant"] == {k: "yes" if v else "no" for k, v in RELEVANT_KEYS.items()}
    assert by_name["stance"] == STANCE_KEYS and by_name["sentiment"] == SENTIMENT_KEYS
    assert [q.name for q in QUESTIONS] == ["relevant", "stance", "sentiment", "aspects", "safety_concern"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_nothing_to_label_without_classifications(db_url):
    with client(db_url) as http:
        page = http.get("/label?annotator=anna")
    assert page.status_code == 200 and "No model version is active yet" in page.text
