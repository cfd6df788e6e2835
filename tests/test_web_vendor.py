"""The vendored chart library is what VENDORED.md says it is, and no page loads anything from another server."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import monitor.web
from monitor.web.render import VENDORED_UPLOT, VENDORED_UPLOT_CSS

WEB = Path(monitor.web.__file__).parent
VENDOR = WEB / "static" / "vendor"


def test_vendored_files_match_their_recorded_sha256_and_carry_their_licence():
    recorded = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", (VENDOR / "VENDORED.md").read_text(),
                                                      re.M)
    )
    assert set(recorded) == {Path(VENDORED_UPLOT).name, Path(VENDORED_UPLOT_CSS).name, "LICENSE-uPlot"}
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (VENDOR / "LICENSE-uPlot").read_text()
    assert {p.name for p in VENDOR.iterdir()} == set(recorded) | {"VENDORED.md"}


def test_pages_and_scripts_load_nothing_from_elsewhere():
    for path in [*(WEB / "templates").glob("*.html"), *(WEB / "static").glob("*.js"), *(WEB / "static").glob("*.css")]:
        text = path.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
        assert "@import" not in text and "cdn" not in text.lower(), path
        # No inline handlers or inline scripts: the Content-Security-Policy forbids them anyway.
        assert not re.search(r"\son[a-z]+=", text) and "<script>" not in text, path
