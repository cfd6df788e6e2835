"""Colours, sizes and labels shared by every chart, so a stance looks the same everywhere.

Colours are from the Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies; the grey for "neutral" differs from both stance colours in lightness as well as hue.
"""

from __future__ import annotations

STANCE_ORDER = ("pro_open", "pro_closed", "neutral")
STANCE_COLOURS = {"pro_open": "#0072B2", "pro_closed": "#D55E00", "neutral": "#8C8C8C"}
STANCE_LABELS = {"pro_open": "pro open weights", "pro_closed": "pro closed", "neutral": "neutral"}

ASPECT_ORDER = ("safety", "competition", "governance", "local_ai")
ASPECT_COLOURS = {"safety": "#E69F00", "competition": "#56B4E9", "governance": "#CC79A7", "local_ai": "#009E73"}
ASPECT_LABELS = {"safety": "safety", "competition": "competition", "governance": "governance",
                 "local_ai": "local AI"}

SAFETY_CONCERN_COLOUR = "#000000"
SENTIMENT_COLOUR = "#000000"
VOLUME_COLOUR = "#BDBDBD"
EVENT_COLOUR = "#444444"
MODEL_CHANGE_COLOUR = "#CC79A7"
SYNTHETIC_COLOUR = "#B00020"

#: A4 landscape, in inches: every PDF page and every PNG chart share this size.
PAGE_SIZE = (11.69, 8.27)
PNG_DPI = 110

LANGUAGE_NAMES = {"de": "German", "en": "English"}
FREQ_NOUNS = {"day": "day", "week": "week", "month": "month"}

SYNTHETIC_NOTE = "SYNTHETIC DEMO DATA - not real posts"
RAW_SHARES_NOTE = "raw counts, uncorrected"
CORRECTED_SHARES_NOTE = "corrected for classifier error (confusion matrix)"


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)
