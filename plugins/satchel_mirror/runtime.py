"""Where each app keeps its mirrors' state and the shared upstream session and workers."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from satchel_mirror.state import MirrorState

_lock = threading.Lock()


class MirrorRuntime:
    """One per app (``app.stash["satchel_mirror"]``)."""

    def __init__(self):
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.max_redirects = 5
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="satchel-mirror")
        self.states: dict = {}
        self.mirror_names: dict[tuple[str, str], bool] = {}  # (user, index) -> is a mirror
        self.status_cache: tuple[float, dict] | None = None
        self.upload_times: dict[tuple[str, str], tuple[int, list[float]]] = {}  # mirror policy's cooldown

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.session.close()


def runtime(app) -> MirrorRuntime:
    with _lock:
        found = app.stash.get("satchel_mirror")
        if found is None:
            found = app.stash["satchel_mirror"] = MirrorRuntime()
        return found


def mirror_state(app, index_name: str, mirror_url: str = ""):
    """The state of a mirror; a changed ``mirror_url`` starts afresh (nothing fetched counts as checked)."""
    from_runtime = runtime(app)
    with _lock:
        state = from_runtime.states.get(index_name)
        if state is None or state.mirror_url != mirror_url:
            state = from_runtime.states[index_name] = MirrorState(
                app, index_name, from_runtime.session, from_runtime.executor)
            state.mirror_url = mirror_url
        return state
