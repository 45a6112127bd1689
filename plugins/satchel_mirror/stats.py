"""Counters of one mirror index since the process started, shown in ``/+status``."""

import threading

from satchel import clock

from satchel.metrics import Metric, instruments

INDEX = ("index",)
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
METRICS = (
    Metric("satchel_mirror_cache_hits_total", "counter",
           "mirror requests answered from storage without asking upstream, by index and kind (page, file)",
           ("index", "kind")),
    Metric("satchel_mirror_cache_misses_total", "counter",
           "mirror requests that had to ask upstream, by index and kind (page, file)", ("index", "kind")),
    Metric("satchel_mirror_stale_served_total", "counter",
           "stored pages served because upstream was slow, down or backed off", INDEX),
    Metric("satchel_mirror_upstream_fetch_duration_seconds", "histogram",
           "time of one upstream page fetch", INDEX, FETCH_BUCKETS),
    Metric("satchel_mirror_upstream_errors_total", "counter", "failed upstream requests (pages, files, lists)", INDEX),
    Metric("satchel_mirror_upstream_bytes_total", "counter", "bytes of files fetched from upstream", INDEX),
    Metric("satchel_mirror_singleflight_waits_total", "counter",
           "requests that waited for a fetch another request had started, by kind (page, file)", ("index", "kind")),
)


class MirrorStats:
    """Counters of one mirror since the process started (``/+status``)."""

    def __init__(self, app=None, index_name: str = ""):
        self.instruments = instruments(app) if app is not None else None
        self.index_name = index_name
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
        self.report("inc", "satchel_mirror_upstream_bytes_total", size)
        self.report("inc", "satchel_blob_bytes_stored_total", size, source="mirror", index_name=None)

    def failure(self, message: str) -> None:
        with self.lock:
            self.failures += 1
            self.last_error = message
        self.report("inc", "satchel_mirror_upstream_errors_total")

    def report(self, how: str, name: str, value: float = 1, index_name: str | None = "", **labels) -> None:
        """Forward to the app's metrics (label ``index``: this mirror by default; None: no index label)."""
        if self.instruments is not None:
            if index_name is not None:
                labels["index"] = index_name or self.index_name
            getattr(self.instruments, how)(name, value, **labels)

    def as_dict(self) -> dict:
        contact = clock.iso(self.last_contact) \
            if self.last_contact else None
        return {"last-upstream-contact": contact, "pages-fetched": self.pages_fetched,
                "files-fetched": self.files_fetched, "bytes-fetched": self.bytes_fetched,
                "upstream-failures": self.failures, "last-error": self.last_error}
