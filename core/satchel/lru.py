"""A thread-safe least-recently-used mapping bounded by total size and by count (rendered pages, bodies)."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class SizedLRU:
    """``key -> value``; the least recently used values leave first once ``max_bytes`` (sum of ``size(value)``)
    or ``max_items`` would be exceeded. A value bigger than ``max_item_bytes`` is not kept at all."""

    def __init__(self, max_bytes: int, max_items: int | None = None, size: Callable[[Any], int] = len,
                 max_item_bytes: int | None = None):
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.max_item_bytes = max_item_bytes
        self._size_of = size
        self._items: OrderedDict = OrderedDict()  # key -> (value, size)
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        """The value (now the most recently used), or None."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            self._items.move_to_end(key)
            return entry[0]

    def peek(self, key: Hashable):
        """The value without touching the order, and without the lock (one dict read is atomic)."""
        entry = self._items.get(key)
        return None if entry is None else entry[0]

    def put(self, key: Hashable, value) -> bool:
        """Keep ``value`` under ``key``; False when it is too big to keep."""
        size = self._size_of(value)
        if self.max_item_bytes is not None and size > self.max_item_bytes:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._items and (self._bytes > self.max_bytes
                                   or (self.max_items is not None and len(self._items) > self.max_items)):
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
