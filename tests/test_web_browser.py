"""The dashboard in a real browser: Debian's chromium driven by Playwright, against `stance serve` in a subprocess
on the demo corpus (imported and classified by the real model). Each test checks the page against its JSON twin.

Skipped, with the reason, where chromium or Playwright is not installed (.ci/run installs both).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from monitor.collectors.file import DEMO, resolve
from web_support import HOSTILE

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _chromium_or_skip():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium; .ci/run does)")
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed ('.[test]')")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the tests leave their screenshots: $STANCE_SCREENSHOTS, or a temporary folder."""
    folder = Path(os.environ.get("STANCE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """The demo corpus, imported and classified as `stance run` would, plus one post with hostile text."""
    _chromium_or_skip()
    from dataclasses import replace

    from test_reports_helpers import add_post, utc

    from monitor import jobs
    from monitor.config import default_config_text, load_settings
    from storage.models import ModelVersion

    folder = tmp_path_factory.mktemp("demo")
    config = folder / "stance.toml"
    url = f"sqlite:///{folder / 'stance.db'}"
    config.write_text(default_config_text().replace('database_url = "sqlite:///stance.db"', f'database_url = "{url}"'))
    previous = os.environ.get("STANCE_AUTHOR_SALT")
    os.environ["STANCE_AUTHOR_SALT"] = "browser-test-salt"
    try:
        settings = load_settings(config, {})
        jobs.import_files(settings, [resolve(DEMO)])
        jobs.classify(replace(settings))
    finally:
        if previous is None:
            os.environ.pop("STANCE_AUTHOR_SALT")
        else:
            os.environ["STANCE_AUTHOR_SALT"] = previous
    sessions = jobs.open_store(settings)
    from datetime import date

    with sessions.begin() as session:
        version = session.query(ModelVersion).filter_by(active=True).one()
        hostile = add_post(session, version, utc(date(2025, 8, 6)), text=HOSTILE, url="javascript:window.__pwned=3",
                           author="anon-evil", source="mastodon")
        hostile_id = hostile.id
    return config, hostile_id


@pytest.fixture(scope="module")
def server(demo_database):
    """`stance serve` on a free port, in its own process; its log is drained so it never blocks."""
    config, hostile_id = demo_database
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "STANCE_AUTHOR_SALT": "browser-test-salt"}
    env.pop("STANCE_SERVE_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "serve", "--port", str(port)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
                               cwd=config.parent)
    log: list[str] = []
    started = threading.Event()

    def drain():
        for line in process.stderr:
            log.append(line)
            if "Application startup complete" in line:
                started.set()
        started.set()

    threading.Thread(target=drain, daemon=True).start()
    started.wait(120)
    if process.poll() is not None or not any("startup complete" in line for line in log):
        process.kill()
        pytest.fail("stance serve did not start:\n" + "".join(log[-30:]))
    yield f"http://127.0.0.1:{port}", hostile_id
    process.terminate()
    process.wait(30)
    assert "Traceback" not in "".join(log), "".join(log)


@pytest.fixture(scope="module")
def browser(server):
    sync_api = _chromium_or_skip()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield page
    context.close()
    assert problems == [], problems  # no script error, no CSP violation, no alert


def twin(base: str, path: str) -> dict:
    return httpx.get(base + path, timeout=30).json()


def drawn(page, chart: str, series: int) -> list:
    return page.evaluate(f"window.stanceCharts[{chart!r}].data[{series}]")


def test_overview_draws_its_charts_from_the_demo_corpus(server, page, screenshots):
    base, _ = server
    page.goto(f"{base}/overview?freq=month")
    page.wait_for_selector("#charts[data-ready='yes']")
    data = twin(base, "/overview.json?freq=month")
    assert data["meta"]["synthetic"] and len(data["periods"]["starts"]) == 10
    assert page.locator(".plot canvas").count() == 4
    assert drawn(page, "volume", 1) == data["volume"]["posts"]
    assert drawn(page, "volume", 2) == data["volume"]["relevant"]
    assert drawn(page, "shares", 1) == data["shares"]["corrected"]["pro_open"]["value"]
    assert drawn(page, "sentiment", 1) == data["sentiment"]["mean"]["value"]
    assert page.locator("#total-posts").inner_text() == f"{data['total']['posts']:,}"
    page.screenshot(path=str(screenshots / "overview.png"), full_page=True)


def test_a_filter_changes_the_numbers_and_the_url(server, page):
    base, _ = server
    page.goto(f"{base}/overview?freq=month")
    before = page.locator("#total-posts").inner_text()
    page.get_by_role("checkbox", name="German", exact=True).check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/overview?*lang=de*")
    page.wait_for_selector("#charts[data-ready='yes']")
    german = twin(base, "/overview.json?freq=month&lang=de")
    assert page.locator("#total-posts").inner_text() == f"{german['total']['posts']:,}" != before
    assert drawn(page, "volume", 1) == german["volume"]["posts"]


def test_a_click_on_a_bar_lists_the_posts_behind_it(server, page, screenshots):
    base, _ = server
    page.goto(f"{base}/overview?freq=month")
    page.wait_for_selector("#charts[data-ready='yes']")
    data = twin(base, "/overview.json?freq=month")
    busiest = max(range(len(data["volume"]["posts"])), key=data["volume"]["posts"].__getitem__)
    x, y = page.evaluate("""(i) => {
        const u = window.stanceCharts.volume, box = u.over.getBoundingClientRect();
        return [box.left + u.valToPos(u.data[0][i], 'x'), box.top + u.valToPos(u.data[1][i] / 2, 'y')];
    }""", busiest)
    page.mouse.click(x, y)
    page.wait_for_url("**/posts?**")
    first, last = data["periods"]["first_days"][busiest], data["periods"]["last_days"][busiest]
    assert f"from={first}" in page.url and f"to={last}" in page.url
    listed = twin(base, page.url.replace(base + "/posts?", "/posts.json?"))
    shown = [int(a.inner_text().lstrip("#")) for a in page.locator("article.post .post-id").all()]
    assert shown == [p["id"] for p in listed["posts"]] and len(shown) == 25
    assert all(first <= p["created_at"][:10] <= last for p in listed["posts"])
    page.screenshot(path=str(screenshots / "posts.png"), full_page=False)
    page.locator("#next-page").click()
    page.wait_for_url("**next=**")
    assert page.locator("article.post").count() >= 1


def test_the_charts_work_from_the_keyboard(server, page):
    base, _ = server
    page.goto(f"{base}/overview?freq=month")
    page.wait_for_selector("#charts[data-ready='yes']")
    page.locator("#plot-shares").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator("#plot-shares .readout").inner_text().startswith("2025-02-01 to 2025-02-28")
    page.keyboard.press("Enter")
    page.wait_for_url("**/posts?**")
    assert "stance=pro_open" in page.url and "from=2025-02-01" in page.url


def test_a_label_given_in_the_browser_is_stored(server, page, screenshots):
    base, _ = server
    page.goto(f"{base}/label?annotator=browser-test")
    post_id = int(page.locator("#candidate").get_attribute("data-post-id"))
    page.screenshot(path=str(screenshots / "label.png"))
    for key in ("y", "o", "p", "f", "l", "Enter"):
        page.keyboard.press(key)
    with page.expect_navigation():
        page.keyboard.press("n")
    (label,) = [h for h in twin(base, f"/posts/{post_id}.json")["human_labels"] if h["annotator"] == "browser-test"]
    assert (label["relevant"], label["stance"], label["sentiment"], label["aspects"], label["safety_concern"]) == (
        True, "pro_open", "positive", ["safety", "local_ai"], False)
    assert int(page.locator("#candidate").get_attribute("data-post-id")) != post_id
    with page.expect_navigation():
        page.keyboard.press("u")
    assert int(page.locator("#candidate").get_attribute("data-post-id")) == post_id
    assert not twin(base, f"/posts/{post_id}.json")["human_labels"]


def test_hostile_post_text_is_shown_as_text(server, page, screenshots):
    base, hostile_id = server
    for path in (f"/posts/{hostile_id}", "/posts?from=2025-08-06&to=2025-08-06&source=mastodon"):
        page.goto(base + path)
        text = page.locator(f"#post-{hostile_id} .text").inner_text()
        assert text == HOSTILE
        assert page.evaluate("window.__pwned") is None
        assert page.locator(f"#post-{hostile_id} a.source-link").count() == 0  # javascript: is no link
    page.screenshot(path=str(screenshots / "hostile.png"))


def test_the_overview_fits_a_phone(server, browser, screenshots):
    base, _ = server
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/overview?freq=month")
    page.wait_for_selector("#charts[data-ready='yes']")
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(screenshots / "phone.png"), full_page=True)
    context.close()
    assert width <= 390
