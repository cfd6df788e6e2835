"""The dashboard's filters: parsed once from the query string, echoed back in every answer, kept in the URL.

Every page and every ``/api/`` route takes the same parameters (``from``, ``to``, ``freq``, ``lang``,
``source``, ``model``); a bad value is a 400 answer with one line naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from reports.request import FREQ_CHOICES

if TYPE_CHECKING:
    from starlette.datastructures import ImmutableMultiDict

#: Languages, sources and model names are short codes; anything else in them is a typo or an attack.
_NAME = re.compile(r"^[\w.:-]{1,128}$")
FILTER_KEYS = ("from", "to", "freq", "lang", "source", "model")


class BadRequest(Exception):
    "A query parameter or form field has a value the dashboard cannot use"


class NotFound(Exception):
    "The post (or other thing) a URL names does not exist"


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    freq: str = "auto"
    langs: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    #: A model version name, or None for the active version.
    model: str | None = None

    def params(self) -> dict[str, str]:
        """The non-empty parameters, as they appear in a URL."""
        values = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "freq": self.freq,
            "lang": ",".join(self.langs or ()),
            "source": ",".join(self.sources or ()),
            "model": self.model or "",
        }
        return {key: value for key, value in values.items() if value}

    def query(self, **extra: str | None) -> str:
        """The URL query string of these filters plus ``extra`` parameters (None drops a parameter)."""
        params = self.params()
        for key, value in extra.items():
            key = key.rstrip("_")
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = str(value)
        return urlencode(params)


def parse_filters(params: Mapping[str, str | None], default_freq: str = "auto") -> Filters:
    """Filters from query parameters; raises BadRequest naming the parameter."""
    date_from = _date(params.get("from"), "from")
    date_to = _date(params.get("to"), "to")
    if date_from and date_to and date_from > date_to:
        raise BadRequest(f"from ({date_from}) is after to ({date_to})")
    freq = (params.get("freq") or default_freq).strip()
    if freq not in FREQ_CHOICES:
        raise BadRequest(f"freq: expected one of {', '.join(FREQ_CHOICES)}, got {freq!r}")
    model = (params.get("model") or "").strip() or None
    if model is not None and not _NAME.match(model):
        raise BadRequest(f"model: expected a model version name, got {model!r}")
    return Filters(date_from, date_to, freq, _names(params.get("lang"), "lang"),
                   _names(params.get("source"), "source"), model)


def _date(value: str | None, name: str) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{name}: expected a date like 2025-08-05, got {value!r}") from None


def _names(value: str | None, name: str) -> tuple[str, ...] | None:
    """A comma-separated list (repeated parameters are joined by the caller), without blanks or repeats."""
    if not value:
        return None
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise BadRequest(f"{name}: expected codes like de,en, got {bad[0]!r}")
    return tuple(sorted(names)) or None


def query_params(multi: ImmutableMultiDict[str, str]) -> dict[str, str]:
    """Starlette's query parameters with repeated keys joined by commas (checkbox forms repeat ``lang``)."""
    return {key: ",".join(multi.getlist(key)) for key in multi.keys()}
