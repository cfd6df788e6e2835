"""Who may see and change what: loopback hosts, the token, the login cookie, CSRF, and no secret in a page."""

from __future__ import annotations

import pytest

from monitor.web import Access
from monitor.web.security import SESSION_COOKIE, host_name, is_loopback, safe_next
from tests_support import stance
from web_support import client, csrf_of, fill_corpus

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture
def db(tmp_path, sessions, db_url):
    fill_corpus(sessions)
    return db_url


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_local_dashboard_answers_only_loopback_hosts(db):
    with client(db) as http:
        assert http.get("/overview").status_code == 200
        assert http.get("/overview", headers={"host": "localhost:8050"}).status_code == 200
        assert http.get("/overview", headers={"host": "[::1]:8050"}).status_code == 200
        rebinding = http.get("/api/overview", headers={"host": "attacker.example"})
    assert rebinding.status_code == 400 and rebinding.json() == {
        "error": "this dashboard only answers requests for localhost"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_public_dashboard_needs_the_token_everywhere(db):
    with client(db, Access(TOKEN, public=True), base_url="http://stance.example.org") as http:
        assert http.get("/api/shares").status_code == 401
        assert http.get("/api/openapi.json").status_code == 401
        page = http.get("/overview?freq=month")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Foverview%3Ffreq%3Dmonth"
        assert http.get("/api/shares", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/api/shares", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert http.get("/static/dashboard.css").status_code == 200
        login = http.get("/login?next=/overview%3Ffreq%3Dmonth")
        assert login.status_code == 200 and TOKEN not in login.text
        csrf = csrf_of(login.text)
        failed = http.post("/login", data={"csrf": csrf, "token": "guess", "next": "/overview"})
        assert failed.status_code == 401 and SESSION_COOKIE not in failed.cookies
        signed_in = http.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/overview?freq=month"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/overview?freq=month"
        cookie = signed_in.cookies[SESSION_COOKIE]
        assert TOKEN not in cookie and "samesite=strict" in signed_in.headers["set-cookie"].lower()
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        overview = http.get("/overview")
        assert overview.status_code == 200 and TOKEN not in overview.text
        assert overview.headers["cache-control"] == "no-store"
        http.post("/logout", data={"csrf": csrf})
        http.cookies.delete(SESSION_COOKIE)
        assert http.get("/overview").status_code == 303


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_local_token_guards_labelling_and_writes_only(db):
    with client(db, Access(TOKEN)) as http:
        assert http.get("/overview").status_code == 200
        assert http.get("/api/shares").status_code == 200
        assert http.get("/label?annotator=anna").status_code == 303
        csrf = csrf_of(http.get("/login").text)
        write = http.post("/label", data={"csrf": csrf, "annotator": "anna", "post_id": "1"})
        assert write.status_code == 401
        http.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/label"})
        assert http.get("/label?annotator=anna").status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_writes_need_a_matching_csrf_token_and_origin(db):
    with client(db) as http:
        csrf = csrf_of(http.get("/label?annotator=anna").text)
        form = {"annotator": "anna", "post_id": "1", "relevant": "no", "sentiment": "neutral"}
        missing = http.post("/label", data=form)
        forged = http.post("/label", data={**form, "csrf": "x" * 43})
        cross_site = http.post("/label", data={**form, "csrf": csrf}, headers={"origin": "https://evil.example"})
        fine = http.post("/label", data={**form, "csrf": csrf}, headers={"origin": "http://127.0.0.1:8050"})
    assert missing.status_code == forged.status_code == cross_site.status_code == 403
    assert "CSRF" in missing.text and "another site" in cross_site.text
    assert fine.status_code == 303


def test_access_rules():
    with pytest.raises(ValueError, match="STANCE_SERVE_TOKEN"):
        Access(None, public=True)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.3.4.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    assert host_name("[::1]:8050") == "::1" and host_name("localhost:8050") == "localhost"
    assert host_name("127.0.0.1") == "127.0.0.1"
    assert safe_next("//evil.example/x") == "/overview" and safe_next("https://evil.example") == "/overview"
    assert safe_next("/posts?stance=pro_open") == "/posts?stance=pro_open"


def test_serve_refuses_a_public_address_without_a_token(workdir, capsys, monkeypatch):
    monkeypatch.delenv("STANCE_SERVE_TOKEN", raising=False)
    code, out, err = stance(capsys, "serve", "--host", "0.0.0.0")
    assert code == 1 and err.strip() == (
        "error: --host 0.0.0.0: serving beyond this machine needs a token; set STANCE_SERVE_TOKEN")
    monkeypatch.setenv("STANCE_SERVE_TOKEN", "short")
    code, out, err = stance(capsys, "serve", "--host", "0.0.0.0")
    assert code == 1 and "STANCE_SERVE_TOKEN: use at least 16 characters" in err and "short" not in err
