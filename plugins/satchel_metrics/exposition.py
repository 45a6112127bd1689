"""``GET /+metrics``: the Prometheus text format."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from webob import Response

from satchel.metrics import instruments

from satchel_metrics.access import check_access
from satchel_metrics.sink import multiprocess

# the classic text format generate_latest writes, understood by every Prometheus version
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ScrapeTimeCollector:
    """Values read when scraped: the storage serial and what ``satchel_metrics`` hooks return."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        app = self.app
        rows = [("satchel_simple_page_cache_hits", "counter", app.page_cache.hits),
                ("satchel_simple_page_cache_misses", "counter", app.page_cache.misses)]
        for found in app.hook.satchel_metrics(app=app):
            rows.extend(found or ())
        for name, kind, value in rows:
            if value is None:
                continue
            if kind == "counter":
                yield CounterMetricFamily(name.removesuffix("_total"), f"{name} (satchel_metrics hook)",
                                          value=value)
            else:
                yield GaugeMetricFamily(name, f"{name} (satchel_metrics hook)", value=value)


def metrics_view(request):
    check_access(request)
    app = request.app
    sink = instruments(app).sink
    sink.set("satchel_storage_serial", app.storage.last_serial(), {})
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = sink.registry
    scrape = CollectorRegistry()
    scrape.register(ScrapeTimeCollector(app))
    body = generate_latest(registry) + generate_latest(scrape)
    response = Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
