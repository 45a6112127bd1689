"""Rendered simple pages keyed by what they were built from; a hit costs no rendering."""

import hashlib
import threading
from collections import OrderedDict


class PageCache:
    """A thread-safe LRU of ``key -> (etag, body)``; keys include the serials of the records used."""

    def __init__(self, maxsize: int = 4096):
        self.maxsize = maxsize
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def etag_for(key) -> str:
        return hashlib.blake2b(repr(key).encode("utf-8"), digest_size=16).hexdigest()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key, body: bytes):
        entry = (self.etag_for(key), body)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return entry

    def clear(self):
        with self._lock:
            self._entries.clear()
