"""Prometheus metrics at ``/+metrics``: what core and plugins report through ``satchel.metrics``."""

from satchel.errors import ConfigError
from satchel.metrics import instruments
from satchel.plugin import hookimpl

from satchel_metrics.access import parse_allow
from satchel_metrics.exposition import metrics_view
from satchel_metrics.sink import PrometheusSink

__version__ = "0.1.0"


@hookimpl
def satchel_add_options(parser):
    """``--metrics-allow``: who may read ``/+metrics``."""
    parser.add_option("metrics-allow", commands=("serve",), default=None, metavar="SPEC",
                      help="who may read /+metrics: comma separated CIDRs (10.0.0.0/8) and/or :AUTHENTICATED: "
                           "(default: everyone, like /+status)")


@hookimpl
def satchel_configure(config):
    """Refuse a ``--metrics-allow`` that does not parse."""
    try:
        parse_allow(config.get("metrics_allow"))
    except ValueError as exc:
        raise ConfigError(f"--metrics-allow: {exc}") from None


@hookimpl
def satchel_add_routes(router):
    """``GET /+metrics`` in Prometheus' text format."""
    router.add("metrics", r"/\+metrics", metrics_view)


@hookimpl
def satchel_add_middleware(stack):
    """Install the Prometheus sink for core's instruments; adds no middleware."""
    # the one setup hook that sees the app: install the sink before the first request
    found = instruments(stack.app)
    if found.sink is None:
        found.sink = PrometheusSink(stack.app)
