"""Parsing the timestamps that platforms and files use into timezone-aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_UNIX = re.compile(r"^\d+(\.\d+)?$")


def parse_timestamp(value: object) -> datetime:
    """ISO 8601 (``Z`` or offset), RFC 2822 (feeds, X v1) or Unix seconds (with decimals); naive times are UTC.

    Raises ValueError with the offending value.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = _from_unix(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            try:
                moment = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                if _UNIX.match(text):  # Unix seconds, e.g. 4CAT's and minet's timestamp columns
                    moment = _from_unix(float(text))
                else:
                    raise ValueError(f"unparseable date {value!r}") from None
    else:
        raise ValueError(f"unparseable date {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _from_unix(seconds: float) -> datetime:
    # 1e20, Infinity and NaN overflow datetime (OverflowError, OSError or ValueError depending on the value).
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"date out of range {seconds!r}") from None
