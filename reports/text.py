"""Text that matplotlib can always draw: umlauts yes, emoji only where a font has them, no mathtext.

DejaVu Sans (bundled with matplotlib) covers German but few emoji. If the Debian package fonts-symbola is
installed, matplotlib's font fallback draws most emoji from Symbola; characters that no available font
covers are removed before drawing, because each missing glyph would otherwise print a warning and show
an empty box.
"""

from __future__ import annotations

import logging
import re
import textwrap
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager, rc_context
from matplotlib.ft2font import FT2Font

PRIMARY_FONT = "DejaVu Sans"
FALLBACK_FONTS = ("Symbola",)

# Joiners and presentation selectors make sense only inside an emoji sequence we cannot draw as one glyph.
_INVISIBLE = dict.fromkeys(map(ord, "\u200d\ufe0e\ufe0f\u200b\u2060"), None)
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def available_fonts() -> tuple[str, ...]:
    """The font family list for drawing: DejaVu Sans, then any installed fallback font."""
    families = [PRIMARY_FONT]
    for name in FALLBACK_FONTS:
        try:
            font_manager.findfont(name, fallback_to_default=False)
        except ValueError:
            continue
        families.append(name)
    return tuple(families)


@lru_cache(maxsize=1)
def _covered_codepoints() -> frozenset[int]:
    covered: set[int] = set()
    for name in available_fonts():
        path = font_manager.findfont(name, fallback_to_default=(name == PRIMARY_FONT))
        covered.update(FT2Font(path).get_charmap())
    return frozenset(covered)


@contextmanager
def report_style() -> Iterator[None]:
    """rcParams for one report, restored afterwards so nothing leaks into other plots in the process."""
    # Symbola has no bold face; matplotlib would log "Failed to find font weight bold" for every bold text.
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    try:
        with _report_rc():
            yield
    finally:
        font_log.setLevel(level)


def _report_rc():
    return rc_context({
        "font.family": list(available_fonts()),
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        # Type 3 (the default) embeds glyph subsets faster than Type 42 does for the large Symbola font.
        "pdf.fonttype": 3,
        "svg.fonttype": "none",
    })


def drawable(text: str) -> str:
    """``text`` with undrawable characters removed, whitespace collapsed and ``$`` kept literal."""
    return _literal_dollars(_clean(text))


def _literal_dollars(text: str) -> str:
    # An even number of "$" would switch matplotlib into mathtext and mangle e.g. "$10M ... $5M".
    return text.replace("$", r"\$")


def _clean(text: str) -> str:
    covered = _covered_codepoints()
    kept = []
    for char in text.translate(_INVISIBLE):
        if char.isspace():
            kept.append(" ")
        elif ord(char) in covered and unicodedata.category(char)[0] != "C":
            kept.append(char)
    return _WHITESPACE.sub(" ", "".join(kept)).strip()


def wrapped(text: str, width: int, max_lines: int | None = None) -> str:
    """Drawable text wrapped to ``width`` characters, cut with an ellipsis after ``max_lines``."""
    lines = textwrap.wrap(_clean(text), width=width, break_long_words=True) or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, width - 1)].rstrip() + "…"
    return _literal_dollars("\n".join(lines))


def shorten(text: str, limit: int) -> str:
    """Drawable text cut to ``limit`` characters with an ellipsis."""
    clean = _clean(text)
    cut = clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"
    return _literal_dollars(cut)
