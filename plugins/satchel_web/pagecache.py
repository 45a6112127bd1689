"""Rendered pages kept by a key that names everything they were built from.

A key holds the serials of the stored records a page was built from (read in the request's
snapshot), so a changed record gives a new key and the old page simply ages out: no invalidation,
correct on replicas and with several worker processes alike. A hit costs no storage reads beyond
the serials and no rendering. Bounded by total bytes, least recently used first out.
"""

import threading
from collections import OrderedDict

MAX_BYTES = 32 * 1024 * 1024
MAX_PAGE_BYTES = 4 * 1024 * 1024  # a bigger page is rendered each time rather than crowd out the rest


class PageCache:
    """``key -> (body, etag)``; safe across request threads."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple) -> tuple[bytes, str] | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple, body: bytes, etag: str) -> None:
        if len(body) > MAX_PAGE_BYTES:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._items[key] = (body, etag)
            self._size += len(body)
            while self._size > self.max_bytes:
                _, (dropped, _) = self._items.popitem(last=False)
                self._size -= len(dropped)

    def status(self) -> dict:
        with self._lock:
            return {"pages": len(self._items), "bytes": self._size, "hits": self.hits, "misses": self.misses}
