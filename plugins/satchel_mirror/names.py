"""The upstream project list: kept as a blob of names (one per line), streamed, refreshed aside.

PyPI lists about 800,000 projects: they are never held as Python objects, neither per request
nor at start.
"""

import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout

from satchel import clock
from satchel.errors import UpstreamError
from satchel.model import keys

from satchel_mirror import primary

log = logging.getLogger(__name__)
CHUNK = 1 << 16


def _chunks(names: Iterable[str], counter: list[int]) -> Iterator[bytes]:
    buffer = []
    size = 0
    for name in names:
        line = name + "\n"
        buffer.append(line)
        size += len(line)
        counter[0] += 1
        if size >= CHUNK:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def read_names(blobs, sha256: str) -> Iterator[str]:
    with blobs.open(sha256) as handle:
        for line in handle:
            name = line.decode("utf-8").strip()
            if name:
                yield name


def refresh_names(stage) -> None:
    """Fetch the upstream list into a new blob; fire ``satchel_mirror_initialnames`` the first time."""
    state = stage.state
    app = stage.app
    key = keys.index_state(stage.name, "names")
    with app.storage.read() as tx:
        meta = tx.get(key)
    if primary.primary_url(app):
        _refresh_through_primary(stage, key, meta)
        return
    try:
        status, names, etag = state.upstream(stage).project_names(etag=(meta or {}).get("etag"))
        if status == 304:
            state.names_checked = clock.monotonic()
            return
        counter = [0]
        blob = app.storage.blobs.put(_chunks(names, counter))
    except UpstreamError as exc:
        state.stats.failure(f"project list: {exc.message}")
        log.warning("mirror %s: project list: %s", stage.name, exc.message)
        raise
    except Exception as exc:
        message = f"project list: {type(exc).__name__}"
        state.stats.failure(message)
        log.exception("mirror %s: %s", stage.name, message)
        raise UpstreamError(message) from None
    state.stats.contact()
    with app.storage.write() as tx:
        if tx.get(keys.index(stage.username, stage.indexname)) is None:
            return  # deleted meanwhile
        tx.set(key, {"sha256": blob.sha256, "count": counter[0], "etag": etag,
                     "fetched": clock.iso()})
    state.names_checked = clock.monotonic()
    if meta and meta.get("sha256") != blob.sha256:
        app.storage.blobs.delete(meta["sha256"])
    if meta is None:
        app.hook.satchel_mirror_initialnames(stage=stage, projectnames=read_names(app.storage.blobs, blob.sha256))


def _refresh_through_primary(stage, key: str, meta: dict | None) -> None:
    """A replica: the primary refreshes its list and commits it; the list arrives by replication."""
    try:
        primary.refresh_names(stage)
    except UpstreamError as exc:
        log.warning("mirror %s: project list: %s", stage.name, exc.message)
        raise
    stage.state.names_checked = clock.monotonic()
    with stage.app.storage.read() as tx:
        fresh = tx.get(key)
    if fresh is not None:
        # the replica copies the list's blob right after importing its record: give it a moment
        _, timeout, _ = stage.state.options(stage)
        deadline = time.monotonic() + timeout
        while not stage.app.storage.blobs.exists(fresh["sha256"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    if meta is None and fresh is not None:
        stage.app.hook.satchel_mirror_initialnames(
            stage=stage, projectnames=read_names(stage.app.storage.blobs, fresh["sha256"]))


def _refresh_in_background(stage):
    state = stage.state
    with state.lock:
        if state.names_refresh is None or state.names_refresh.done():
            state.names_refresh = state.executor.submit(refresh_names, stage)
        return state.names_refresh


def project_names(stage, tx) -> Iterable[str]:
    """The stored upstream names (lazily); starts a refresh when expired, waits only the first time."""
    state = stage.state
    expiry, timeout, _ = state.options(stage)
    meta = tx.get(keys.index_state(stage.name, "names"))
    expired = state.names_checked is None or clock.monotonic() - state.names_checked >= expiry
    if expired:
        future = _refresh_in_background(stage)
        if meta is None:
            try:
                future.result(timeout=max(timeout, 30))
            except (FutureTimeout, UpstreamError):
                pass  # logged by the refresh; the locally known names are listed meanwhile
            with stage.app.storage.read() as fresh:
                meta = fresh.get(keys.index_state(stage.name, "names"))
    if meta is None or not stage.app.storage.blobs.exists(meta["sha256"]):
        # no list (yet): what this mirror has cached locally
        prefix = keys.index_projects(stage.name)
        return [key[len(prefix):] for key in tx.keys(prefix)]
    return read_names(stage.app.storage.blobs, meta["sha256"])
