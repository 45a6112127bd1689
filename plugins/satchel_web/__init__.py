"""The web UI: pages for browsers at devpi-web's URLs, search, rendered descriptions and docs.

Browsers (``Accept: text/html``, no installer User-Agent) get pages; pip and uv keep their simple
pages and JSON clients the JSON API at the same URLs. See docs/web.md.
"""

import logging
from pathlib import Path

from satchel.app import App
from satchel.commands import Command
from satchel.errors import ConfigError
from satchel.plugin import hookimpl
from satchel.progress import progress

from satchel_web import hookspecs, routes
from satchel_web.search_fts import FtsSearch
from satchel_web.state import web_state
from satchel_web.toxresults import satchel_web_version_sections  # noqa: F401  (our own section, a hookimpl)

__version__ = "0.1.0"
log = logging.getLogger(__name__)
SEARCH_DB = "web-search.sqlite"


@hookimpl
def satchel_add_hookspecs(pluginmanager):
    """Declare the web UI's own hooks (search backend, page sections) for other plugins."""
    pluginmanager.add_hookspecs(hookspecs)


@hookimpl
def satchel_add_options(parser):
    """``--web-theme DIR``: templates and static files that override the UI's own."""
    parser.add_option("web-theme", default=None, metavar="DIR", commands=("serve",),
                      help="directory whose templates/ and static/ override the web UI's own")


@hookimpl
def satchel_configure(config):
    """Refuse a ``--web-theme`` that is not a directory."""
    theme = config.get("web_theme")
    if theme and not Path(theme).is_dir():
        raise ConfigError(f"--web-theme {theme}: not a directory")


@hookimpl
def satchel_add_routes(router):
    """The browser pages at devpi-web's URLs (``satchel_web.routes``)."""
    routes.add_routes(router)


@hookimpl(trylast=True)
def satchel_web_search_backend(app):
    """The default search: SQLite full-text search in the serverdir (in memory for memory storage)."""
    path = Path(app.config.serverdir) / SEARCH_DB if app.storage_backend.persistent else None
    return FtsSearch(app, str(path) if path else None)


@hookimpl
def satchel_on_commit(app, serial, changes):
    """Bring the search index up to the committed serial."""
    web_state(app).search.sync()


@hookimpl
def satchel_startup(app):
    """Catch the search index up with changes made while the server was down."""
    web_state(app).search.sync()


@hookimpl
def satchel_shutdown(app):
    """Close the search index."""
    state = app.stash.pop("web", None)
    if state is not None:
        state.close()


@hookimpl
def satchel_status_info(app):
    """The search index's state (``web-search``)."""
    return {"web-search": web_state(app).search.status()}


def reindex(config, pluginmanager) -> int:
    with App(config, pluginmanager) as app:
        serial = web_state(app).search.rebuild(progress=progress)
    log.info("search index rebuilt at serial %d", serial)
    return 0


@hookimpl
def satchel_add_commands(commands):
    """Add ``web-reindex``, which rebuilds the search index from the stored data."""
    commands.add("web-reindex", Command("rebuild the web UI's search index from the stored data", reindex))
