"""An example satchel plugin: ``GET /+example`` answers with a small JSON document.

satchel finds this module through the ``satchel.plugins`` entry point in pyproject.toml and registers
every function marked with ``@hookimpl``. See docs/hooks.md of satchel for every hook.
"""

from satchel.plugin import hookimpl
from satchel.web.responses import json_response

__version__ = "0.1.0"


def example_view(request):
    """``GET /+example``: devpi's JSON envelope ``{"result": ..., "type": "example"}``."""
    return json_response({"message": "hello from satchel-example", "base": request.base_url}, "example")


@hookimpl
def satchel_add_routes(router):
    """Register ``GET /+example`` (HEAD too) after core's routes.

    The pattern is a regular expression matched against the whole path; no ``permission`` means
    anyone may read it. Views run on a request thread inside a read transaction (``request.tx``).
    """
    router.add("example", r"/\+example", example_view)
