"""Answers kept while the data they were computed from is unchanged.

One page view asks for the same numbers several times (the page, its JSON twin for the charts, a CSV
download, the API); the fingerprint ``storage.freshness.data_version`` tells in milliseconds whether new
posts were classified since, so each distinct view is aggregated once per change of the data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class FreshCache(Generic[T]):
    """A small LRU map from (key, data version) to a computed value; one computation per key at a time."""

    def __init__(self, size: int = 64):
        self.size = size
        self._values: OrderedDict[tuple, T] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], T]) -> T:
        full = (key, version)
        with self._lock:
            if full in self._values:
                self._values.move_to_end(full)
                self.hits += 1
                return self._values[full]
            gate = self._computing.setdefault(full, threading.Lock())
        with gate:  # a second request for the same view waits for the first instead of aggregating again
            with self._lock:
                if full in self._values:
                    self.hits += 1
                    return self._values[full]
            value = compute()
            with self._lock:
                self.misses += 1
                self._values[full] = value
                self._computing.pop(full, None)
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
