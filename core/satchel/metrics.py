"""Instruments core and plugins report to; a metrics plugin (``satchel_metrics``) exposes them.

Plugins declare what they report through ``satchel_add_metrics(metrics)`` and report with
``instruments(app).inc(...)``, ``.observe(...)`` and ``.set(...)``. Without a metrics plugin (no sink)
reporting costs a dictionary lookup and nothing is kept. Label values must be bounded: route names,
index types, index names, never paths or project names.
"""

import threading
from dataclasses import dataclass

from satchel.plugin import hookimpl

KINDS = ("counter", "gauge", "histogram")
_lock = threading.Lock()


@dataclass(frozen=True)
class Metric:
    """One metric: ``name`` (counters end in ``_total``), ``kind``, ``help``, label names, histogram buckets."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name}: kind must be one of {KINDS}")


class MetricRegistry:
    """What ``satchel_add_metrics(metrics)`` receives: ``metrics.add(Metric(...))``."""

    def __init__(self):
        self.metrics: dict[str, Metric] = {}

    def add(self, metric: Metric) -> None:
        if metric.name in self.metrics:
            raise ValueError(f"metric {metric.name!r} is declared twice")
        self.metrics[metric.name] = metric


class Instruments:
    """Per app; forwards to ``sink`` (set by a metrics plugin) or drops the reports."""

    def __init__(self):
        self.sink = None

    def inc(self, name: str, amount: float = 1, **labels) -> None:
        if self.sink is not None:
            self.sink.inc(name, amount, labels)

    def observe(self, name: str, value: float, **labels) -> None:
        if self.sink is not None:
            self.sink.observe(name, value, labels)

    def set(self, name: str, value: float, **labels) -> None:
        if self.sink is not None:
            self.sink.set(name, value, labels)


def instruments(app) -> Instruments:
    """The app's instruments (made on first use, kept in ``app.stash["satchel.metrics"]``)."""
    found = app.stash.get("satchel.metrics")
    if found is None:
        with _lock:
            found = app.stash.setdefault("satchel.metrics", Instruments())
    return found


def declared_metrics(app) -> dict[str, Metric]:
    """Every metric core and the loaded plugins declare."""
    registry = MetricRegistry()
    app.hook.satchel_add_metrics(metrics=registry)
    return registry.metrics


DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@hookimpl
def satchel_add_metrics(metrics):
    """What core itself reports (the request cycle and storage)."""
    metrics.add(Metric("satchel_http_requests_total", "counter",
                       "HTTP requests answered, by route name, method and status", ("route", "method", "status")))
    metrics.add(Metric("satchel_http_request_duration_seconds", "histogram",
                       "time until the response started, by route name and method", ("route", "method"),
                       DURATION_BUCKETS))
    metrics.add(Metric("satchel_storage_serial", "gauge",
                       "the last committed changelog serial (the X-Devpi-Serial a client sees)"))
    metrics.add(Metric("satchel_storage_commit_duration_seconds", "histogram",
                       "time to commit the write transaction of a request", buckets=DURATION_BUCKETS))
    metrics.add(Metric("satchel_blob_bytes_stored_total", "counter",
                       "bytes of files stored in the blob store, by source (upload, mirror)", ("source",)))
