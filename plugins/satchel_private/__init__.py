"""Private indexes: the ``stage`` index type (uploads, users' own releases)."""

from satchel.metrics import Metric
from satchel.model.indexes import IndexType
from satchel.plugin import hookimpl

from satchel_private import options, routes
from satchel_private.config import STAGE_DEFAULTS, STAGE_OPTIONAL, normalize_stage_config

__version__ = "0.1.0"


@hookimpl
def satchel_index_types(index_types):
    """Register ``stage``, devpi's private index type and the default for new indexes."""
    index_types.add("stage", IndexType(
        "stage", defaults=STAGE_DEFAULTS, optional=STAGE_OPTIONAL, accepts_uploads=True, default=True,
        normalize=normalize_stage_config))


@hookimpl
def satchel_validate_indexconfig(app, tx, index_name, old, new, identity):
    """On creation, let only the owner upload unless ``acl_upload`` says otherwise (devpi's default)."""
    if old is None and new.get("type") == "stage" and not new.get("acl_upload"):
        # devpi's default: only the owner may upload (root is not implied)
        new["acl_upload"] = [index_name.split("/", 1)[0]]


@hookimpl
def satchel_add_routes(router):
    """Uploads, push, tox results, docs, removal and yanking (``satchel_private.routes``)."""
    routes.add_routes(router)


@hookimpl
def satchel_add_metrics(metrics):
    """Count uploaded release files by index type."""
    metrics.add(Metric("satchel_uploads_total", "counter", "release files uploaded, by index type",
                       ("index_type",)))


@hookimpl
def satchel_add_options(parser):
    """The private indexes' options (``satchel_private.options``)."""
    options.add_options(parser)


@hookimpl
def satchel_api_features():
    """The push options devpi-client may use against this server."""
    return ["push-no-docs", "push-only-docs", "push-register-project"]
