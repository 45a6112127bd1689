"""Counters of one mirror index since the process started, shown in ``/+status``."""

import threading

from satchel import clock


class MirrorStats:
    """Counters of one mirror since the process started (``/+status``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last_contact: float | None = None
        self.pages_fetched = 0
        self.files_fetched = 0
        self.bytes_fetched = 0
        self.failures = 0
        self.last_error: str | None = None

    def contact(self) -> None:
        with self.lock:
            self.last_contact = clock.now()

    def page(self) -> None:
        with self.lock:
            self.last_contact = clock.now()
            self.pages_fetched += 1

    def file(self, size: int) -> None:
        with self.lock:
            self.files_fetched += 1
            self.bytes_fetched += size

    def failure(self, message: str) -> None:
        with self.lock:
            self.failures += 1
            self.last_error = message

    def as_dict(self) -> dict:
        contact = clock.iso(self.last_contact) \
            if self.last_contact else None
        return {"last-upstream-contact": contact, "pages-fetched": self.pages_fetched,
                "files-fetched": self.files_fetched, "bytes-fetched": self.bytes_fetched,
                "upstream-failures": self.failures, "last-error": self.last_error}
