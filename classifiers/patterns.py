"""Text patterns every layer agrees on: what counts as a link, so features, key terms and near-duplicate
checks all ignore the same spans."""

from __future__ import annotations

import re

URL = re.compile(r"https?://\S+|www\.\S+")
