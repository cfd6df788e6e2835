"""The read API and the pages' JSON twins, through the ASGI test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta

import pytest

from monitor.web.filters import parse_filters
from monitor.web.overview import report_request
from reports.content import collect
from storage.models import STANCES
from web_support import HOSTILE, MONDAY, client, fill_corpus, settings_for


@pytest.fixture
def corpus(sessions):
    return fill_corpus(sessions)


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_api_numbers_are_the_reports_numbers(db_url, sessions, corpus):
    """One aggregation path: /api/shares and /api/sentiment say exactly what the PDF's collect() computes."""
    with client(db_url) as http:
        shares = http.get("/api/shares?freq=week&lang=en").json()
        sentiment = http.get("/api/sentiment?freq=week&lang=en").json()
        page = http.get("/overview?freq=week").text
    assert "with the matrix of its community:" in page and "reddit (reddit de, reddit en)" in page
    filters = parse_filters({"freq": "week", "lang": "en"})
    with sessions() as session:
        content = collect(session, report_request(session, settings_for(db_url), filters))
    series = content.series
    assert shares["periods"]["starts"] == [s.isoformat() for s in series.starts] and len(series.starts) == 3
    for stance in STANCES:
        for part in ("value", "low", "high"):
            got = shares["shares"]["corrected"][stance][part]
            assert all(close(g, e) for g, e in zip(got, getattr(series.stances[stance], part), strict=True))
        assert close(shares["total"]["shares"][stance]["value"], content.total.stances[stance].share)
    assert all(close(g, e) for g, e in zip(sentiment["sentiment"]["mean"]["value"], series.sentiment.value))
    assert shares["shares"]["corrected_for_error"] is True
    # Reddit's posts are corrected with Reddit's matrix, Mastodon's with the one over all real posts.
    assert shares["shares"]["matrices"] == {"all real posts": ["mastodon en"], "reddit": ["reddit en"]}
    # The raw shares beside them are the counted shares: pro_open posts / relevant posts.
    english = next(g for g in shares["languages"] if g["key"] == "en")
    assert shares["total"]["relevant"] == english["relevant"]
    counted_open = shares["total"]["raw_shares"]["pro_open"]["value"]
    assert 0 < counted_open < 1 and not close(counted_open, shares["total"]["shares"]["pro_open"]["value"])


def test_filters_change_the_numbers_and_are_echoed(db_url, corpus):
    with client(db_url) as http:
        everything = http.get("/api/overview").json()
        german = http.get("/api/overview?lang=de&from=2025-07-14&to=2025-07-27&freq=day").json()
        by_language = {g["key"]: g["posts"] for g in everything["languages"]}
    assert everything["total"]["posts"] == 3 * 18 + 3 + 1
    assert by_language["de"] + by_language["en"] == everything["total"]["posts"]
    assert german["meta"]["filters"] == {"from": "2025-07-14", "to": "2025-07-27", "freq": "day", "lang": "de"}
    assert german["meta"]["period"] == ["2025-07-14", "2025-07-27"]
    assert len(german["periods"]["starts"]) == 14
    assert german["total"]["posts"] == sum(german["volume"]["posts"]) == 2 * 6
    assert [g["key"] for g in german["languages"]] == ["de"]


@pytest.mark.parametrize("query, message", [
    ("freq=hour", "freq: expected one of auto, day, week, month, got 'hour'"),
    ("from=yesterday", "from: expected a date like 2025-08-05, got 'yesterday'"),
    ("from=2025-08-01&to=2025-07-01", "from (2025-08-01) is after to (2025-07-01)"),
    ("model=nope", "model: no model version named 'nope'"),
    ("lang=de;drop", "lang: expected codes like de,en, got 'de;drop'"),
])
def test_bad_filters_are_one_line_400s(db_url, corpus, query, message):
    with client(db_url) as http:
        api = http.get(f"/api/shares?{query}")
        page = http.get(f"/overview?{query}")
    assert api.status_code == 400 and api.json() == {"error": message}
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert message.replace("'", "&#39;") in page.text and "Traceback" not in page.text


def test_every_page_has_a_json_twin(db_url, corpus):
    """Datasette's rule: /x and /x.json come from one route and one data function; the page links its twin."""
    without_twin = {"/", "/label", "/login", "/logout", "/label/undo"}
    with client(db_url) as http:
        paths = {route.path for route in http.app.routes if getattr(route, "methods", None)}
        pages = sorted(p for p in paths if not p.startswith("/api/") and not p.endswith(".json")
                       and p not in without_twin)
        assert pages == ["/models", "/overview", "/posts", "/posts/{post_id:int}"]
        for page in pages:
            assert page + ".json" in paths
            url = page.replace("{post_id:int}", str(corpus["hostile"])) + "?freq=week"
            html = http.get(url)
            twin_url = url.replace("?", ".json?")
            assert html.status_code == 200 and html.headers["link"] == (
                f'<{twin_url.split("?")[0]}?freq=week>; rel="alternate"; type="application/json"')
            twin = http.get(twin_url)
            assert twin.status_code == 200 and twin.headers["content-type"] == "application/json"


def test_twin_and_api_speak_one_dialect(db_url, corpus):
    with client(db_url) as http:
        twin = http.get("/overview.json?freq=week").json()
        api = http.get("/api/overview?freq=week").json()
        volume = http.get("/api/volume?freq=week").json()
    twin["meta"].pop("generated_at"), api["meta"].pop("generated_at"), volume["meta"].pop("generated_at")
    assert twin == api
    assert volume["volume"] == twin["volume"] and volume["periods"] == twin["periods"]
    assert volume["markers"] and volume["markers"][0]["label"] == "gpt-oss veröffentlicht"


def test_drill_down_lists_exactly_the_posts_behind_a_point(db_url, corpus):
    week = "from=2025-07-14&to=2025-07-20"
    with client(db_url) as http:
        shares = http.get(f"/api/shares?freq=week&{week}").json()
        expected = shares["total"]["raw_shares"]["pro_open"]["value"] * shares["total"]["relevant"]
        seen, token, pages = [], None, 0
        while True:
            page = http.get(f"/api/posts?{week}&stance=pro_open&limit=4" + (f"&next={token}" if token else "")).json()
            seen += page["posts"]
            pages += 1
            token = page["next"]
            if token is None:
                break
        everything = http.get(f"/api/posts?{week}&limit=200").json()
        bad_token = http.get("/api/posts?next=not-a-token")
    assert round(expected) == len(seen) == 9 and pages == 3
    assert len({p["id"] for p in seen}) == len(seen)
    assert all(p["labels"][0]["stance"] == "pro_open" and p["labels"][0]["relevant"] for p in seen)
    stamps = [p["created_at"] for p in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert all("2025-07-14" <= p["created_at"][:10] <= "2025-07-20" and p["created_at"].endswith("+00:00")
               for p in seen)
    assert len(everything["posts"]) == 18 + 1  # the week's posts and its irrelevant one
    assert bad_token.status_code == 400 and "next:" in bad_token.json()["error"]


def test_post_detail_shows_every_label_with_its_confidence(db_url, corpus):
    with client(db_url) as http:
        post = http.get(f"/api/posts/{corpus['hostile']}").json()
        missing = http.get("/api/posts/999999")
        page_missing = http.get("/posts/999999")
    assert post["text"] == HOSTILE and post["author"] == "anon-ffff"
    (label,) = post["labels"]
    assert label["stance"] == "pro_open" and label["stance_probabilities"]["pro_open"] == pytest.approx(0.9)
    assert label["relevance_score"] == pytest.approx(0.9) and label["sentiment_score"] == pytest.approx(0.2)
    assert missing.status_code == 404 and missing.json() == {"error": "no post with id 999999"}
    assert page_missing.status_code == 404 and "no post with id 999999" in page_missing.text


def test_hostile_text_and_links_are_rendered_as_text(db_url, corpus):
    with client(db_url) as http:
        page = http.get(f"/posts/{corpus['hostile']}")
        listing = http.get("/posts?from=2025-07-10&to=2025-07-10")
    for html in (page.text, listing.text):
        assert "<script>window.__pwned" not in html and "<img src=x" not in html and "<b>bold?</b>" not in html
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
        assert "javascript:" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_csv_is_what_the_chart_shows(db_url, corpus):
    with client(db_url) as http:
        data = http.get("/api/shares?freq=week").json()
        response = http.get("/api/shares.csv?freq=week")
        languages = http.get("/api/languages.csv?freq=week")
        unknown = http.get("/api/secrets.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["period_start"] for r in rows] == data["periods"]["starts"]
    for i, row in enumerate(rows):
        corrected = data["shares"]["corrected"]["pro_open"]["value"][i]
        assert float(row["corrected_pro_open_value"]) == pytest.approx(corrected)
        assert float(row["raw_neutral_high"]) == pytest.approx(data["shares"]["raw"]["neutral"]["high"][i])
    language_rows = list(csv.DictReader(io.StringIO(languages.text)))
    assert {r["key"] for r in language_rows} == {"de", "en"}
    assert unknown.status_code == 400


def test_openapi_documents_the_api_and_its_filters(db_url, corpus):
    with client(db_url) as http:
        schema = http.get("/api/openapi.json").json()
        docs = http.get("/docs")
    for path in ("/api/shares", "/api/sentiment", "/api/volume", "/api/posts", "/api/models", "/api/status"):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/shares"]["get"]["parameters"]}
    assert params == {"from", "to", "freq", "lang", "source", "model"}
    assert not any(p.startswith("/overview") or p.startswith("/label") for p in schema["paths"])
    assert docs.status_code == 404  # Swagger UI would load its scripts from a CDN


def test_models_and_status(db_url, corpus):
    with client(db_url) as http:
        models = http.get("/api/models").json()
        status = http.get("/api/status").json()
        page = http.get("/models")
    assert models["active"] == "stance-v1" and models["versions"][0]["name"] == "stance-v1"
    assert status["posts"] == 3 * 18 + 3 + 1 and status["active_model"] == "stance-v1"
    assert page.status_code == 200 and "stance-v1" in page.text


def test_empty_database_draws_an_empty_overview(db_url):
    with client(db_url) as http:
        data = http.get("/api/overview").json()
        page = http.get("/overview")
    assert data["meta"]["period"] is None and data["periods"]["starts"] == [] and data["total"]["posts"] == 0
    assert page.status_code == 200 and "No classified posts match these filters." in page.text


def test_new_classifications_are_seen_at_once(db_url, sessions, corpus):
    """Answers are cached per data version: a newly classified post changes the next answer."""
    from test_reports_helpers import add_post, utc

    from storage.models import ModelVersion

    with client(db_url) as http:
        before = http.get("/api/volume").json()["volume"]["posts"]
        assert http.get("/api/volume").json()["volume"]["posts"] == before
        with sessions.begin() as session:
            add_post(session, session.get(ModelVersion, corpus["version"]), utc(MONDAY + timedelta(days=1)))
        after = http.get("/api/volume").json()["volume"]["posts"]
    assert sum(after) == sum(before) + 1


def test_auto_frequency_answers_with_the_period_it_chose(db_url, corpus):
    with client(db_url) as http:
        answer = http.get("/api/overview?freq=auto").json()
        default = http.get("/api/overview").json()
    assert answer["meta"]["filters"]["freq"] == "auto"
    assert answer["periods"]["freq"] in ("day", "week", "month")
    assert default["periods"]["freq"] == answer["periods"]["freq"]  # auto is the default, as for reports
