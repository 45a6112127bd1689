"""Declared metrics as prometheus_client objects; multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set."""

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from satchel.metrics import declared_metrics

log = logging.getLogger(__name__)


def multiprocess() -> bool:
    """prometheus_client's multiprocess mode: every process writes to files in this directory."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"))


class PrometheusSink:
    """What ``instruments(app).sink`` is when this plugin is loaded. Thread-safe (prometheus_client is)."""

    def __init__(self, app):
        self.app = app
        # in multiprocess mode values live in files and are collected by MultiProcessCollector
        self.registry = CollectorRegistry(auto_describe=True)
        self.metrics = {}
        self._children: dict[tuple, object] = {}  # (name, labels) -> child: labels() validates and locks
        self.declared = declared_metrics(app)
        for metric in self.declared.values():
            self.metrics[metric.name] = self._make(metric)

    def _make(self, metric):
        common = {"name": metric.name, "documentation": metric.help, "labelnames": metric.labels,
                  "registry": self.registry}
        if metric.kind == "counter":
            return Counter(**common)
        if metric.kind == "gauge":
            return Gauge(**common, multiprocess_mode="livemax")
        if metric.buckets:
            return Histogram(**common, buckets=metric.buckets)
        return Histogram(**common)

    def _child(self, name: str, labels: dict):
        key = (name, *labels.items())
        child = self._children.get(key)
        if child is not None:
            return child
        metric = self.metrics.get(name)
        if metric is None:
            log.debug("metric %s was not declared (satchel_add_metrics): dropped", name)
            return None
        # label values are bounded (route names, statuses, index names), so this stays small
        child = self._children[key] = metric.labels(**labels) if labels else metric
        return child

    def inc(self, name: str, amount: float, labels: dict) -> None:
        child = self._child(name, labels)
        if child is not None:
            child.inc(amount)

    def observe(self, name: str, value: float, labels: dict) -> None:
        child = self._child(name, labels)
        if child is not None:
            child.observe(value)

    def set(self, name: str, value: float, labels: dict) -> None:
        child = self._child(name, labels)
        if child is not None:
            child.set(value)
