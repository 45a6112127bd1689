"""Rendered pages kept by a key that names everything they were built from.

A key holds the serials of the stored records a page was built from (read in the request's
snapshot), so a changed record gives a new key and the old page simply ages out: no invalidation,
correct on replicas and with several worker processes alike. A hit costs no storage reads beyond
the serials and no rendering. Bounded by total bytes, least recently used first out.
"""

from satchel.lru import SizedLRU

MAX_BYTES = 32 * 1024 * 1024
MAX_PAGE_BYTES = 4 * 1024 * 1024  # a bigger page is rendered each time rather than crowd out the rest


class PageCache:
    """``key -> (body, etag)``; safe across request threads."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self._items = SizedLRU(max_bytes, size=lambda entry: len(entry[0]), max_item_bytes=MAX_PAGE_BYTES)
        self.hits = self.misses = 0

    def get(self, key: tuple) -> tuple[bytes, str] | None:
        entry = self._items.get(key)
        if entry is None:
            self.misses += 1  # unlocked: a lost increment in a statistic is not worth a lock
            return None
        self.hits += 1
        return entry

    def put(self, key: tuple, body: bytes, etag: str) -> None:
        self._items.put(key, (body, etag))

    def status(self) -> dict:
        return {"pages": len(self._items), "bytes": self._items.bytes, "hits": self.hits, "misses": self.misses}
