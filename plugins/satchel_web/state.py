"""The web UI's per-app state (``app.stash["web"]``): templates, description and page caches, search backend."""

import threading
from pathlib import Path

from satchel_web.describe import DescriptionCache
from satchel_web.pagecache import PageCache
from satchel_web.templating import PACKAGE_DIR, make_environment

_create_lock = threading.Lock()


class WebState:
    def __init__(self, app):
        theme = app.config.get("web_theme")
        self.theme = Path(theme) if theme else None
        self.env = make_environment(self.theme)
        self.static_dirs = ([self.theme / "static"] if self.theme else []) + [PACKAGE_DIR / "static"]
        self.descriptions = DescriptionCache()
        self.pages = PageCache()
        self.search = app.hook.satchel_web_search_backend(app=app)

    def close(self) -> None:
        self.search.close()


def web_state(app) -> WebState:
    """The app's web state, created on first use (any thread)."""
    state = app.stash.get("web")
    if state is None:
        with _create_lock:
            state = app.stash.get("web")
            if state is None:
                state = app.stash["web"] = WebState(app)
    return state
