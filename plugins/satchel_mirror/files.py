"""Mirror files: served from the blob store when cached, else fetched from upstream (see download.py)."""

import hashlib
import logging

from webob import Response

from satchel import clock
from satchel.errors import Forbidden, NotFound, UpstreamError
from satchel.model import keys
from satchel.model.indexes import get_stage, require_stage
from satchel.names import normalize_project
from satchel.views.files import file_response, lookup_file, serve_file
from satchel.web.responses import redirect

from satchel_mirror import policy
from satchel_mirror.download import Download
from satchel_mirror.runtime import runtime
from satchel_mirror.stage import valid_project
from satchel_mirror.upstream import MAX_PAGE_BYTES, page_deadline, read_limited

log = logging.getLogger(__name__)
COMPANIONS = (".metadata", ".provenance")


def is_mirror_request(request) -> bool:
    """Route predicate: does the path name a mirror index? Remembered per index (types never change)."""
    match = request.matchdict
    name = (match["user"], match["index"])
    known = runtime(request.app).mirror_names
    found = known.get(name)
    if found is None:
        with request.app.storage.read() as tx:
            stage = get_stage(tx, request.app, *name)
        if stage is None:
            return False  # not remembered: the index may be created later
        found = known[name] = stage.is_mirror
    return found


def forget_index(app, index_name: str) -> None:
    """The index was deleted (it may come back with another type)."""
    user, _, name = index_name.partition("/")
    runtime(app).mirror_names.pop((user, name), None)


def _relpath(request) -> str:
    match = request.matchdict
    return f"{match['user']}/{match['index']}/{match['kind']}/{match['relpath']}"


def _candidates(filename: str) -> list[str]:
    """Project names a file may belong to: the parsed one first, then every ``-`` prefix of its stem."""
    from pypi_simple.errors import UnparsableFilenameError  # imported here: see links.py
    from pypi_simple.filenames import parse_filename

    names = []
    try:
        parsed = parse_filename(filename)[0]
        if parsed:
            names.append(normalize_project(parsed))
    except UnparsableFilenameError:
        pass
    parts = filename.split("-")
    for end in range(1, len(parts)):
        names.append(normalize_project("-".join(parts[:end])))
    return [name for i, name in enumerate(names) if valid_project(name) and name not in names[:i]]


def find_link(stage, tx, relpath: str) -> tuple[str, dict] | tuple[None, None]:
    """``(project, link)`` of the upstream file served at ``relpath``.

    The project comes from the file name: stored records of every candidate name are searched
    first, then (devpi does the same) the parsed project's page is fetched again and searched.
    """
    filename = relpath.rsplit("/", 1)[-1]
    candidates = _candidates(filename)
    state = stage.state
    for project in candidates:
        record, _ = state.newest(tx, project)
        for link in (record or {}).get("files", ()):
            if link["path"] == relpath:
                return project, link
    if candidates and not stage.app.config.get("offline_mode"):
        state.forget(candidates[0])
        record = stage.get_project(tx, candidates[0])
        for link in (record or {}).get("files", ()):
            if link["path"] == relpath:
                return candidates[0], link
    return None, None


def serve_mirror_file(request) -> Response:
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not stage.is_mirror:  # remembered as a mirror, deleted and re-created as another type
        return serve_file(request)
    relpath = _relpath(request)
    companion = next((suffix for suffix in COMPANIONS if relpath.endswith(suffix)), None)
    _check_policy(stage, request.tx, relpath.removesuffix(companion) if companion else relpath)
    try:
        entry, sha256, filename = lookup_file(request.tx, relpath)
        if request.app.storage.blobs.exists(sha256):
            stage.state.stats.report("inc", "satchel_mirror_cache_hits_total", kind="file")
            record_access(request.app, stage, relpath.removesuffix(companion or ""), entry)
            return file_response(request, entry, sha256, filename)
    except NotFound:
        pass
    project, link = find_link(stage, request.tx, relpath.removesuffix(companion) if companion else relpath)
    if link is None:
        raise NotFound("no such file")
    if request.app.config.get("offline_mode"):
        raise NotFound(f"{link['filename']}{companion or ''} is not cached and the server is offline")
    if companion:
        return _companion(request, stage, link, companion)
    if stage.config.get("mirror_use_external_urls"):
        upstream = stage.state.upstream(stage)
        # credentials for upstream never go to clients: such mirrors serve their files themselves
        if not upstream.has_credentials:
            return redirect(link["url"])
    return Download(request, stage, project, link).response()


def _check_policy(stage, tx, relpath: str) -> None:
    """403 for a file of a blocked (or not allowed) project or one younger than ``mirror_cooldown``.

    Cached files too: the policy may have changed after they were stored. The project is judged
    from the file name before its page is looked up, so a refused project is never fetched.
    """
    config = stage.config
    if not (config.get("mirror_cooldown") or config.get("mirror_block") or config.get("mirror_allow")):
        return
    candidates = _candidates(relpath.rsplit("/", 1)[-1])
    if candidates:
        policy.check_project(config, candidates[0])  # the parsed name: the page find_link may fetch
    project, link = find_link(stage, tx, relpath)
    if link is not None:
        policy.check_project(config, project)
        reason = policy.too_young(config, link)
        if reason is not None:
            raise Forbidden(reason)


def record_access(app, stage, path: str, entry: dict) -> None:
    """Note the day a cached file was last requested (``mirror-prune``), at most one write a day."""
    today = clock.day()
    if entry.get("last_access") == today:
        return
    state = stage.state
    with state.lock:
        if state.touched.get(path) == today:
            return
        state.touched[path] = today
    state.executor.submit(_write_access, app, path, today)


def _write_access(app, path: str, today: str) -> None:
    try:
        with app.storage.write() as tx:
            entry = tx.get(keys.file(path))
            if entry is not None and entry.get("last_access") != today:
                tx.set(keys.file(path), {**entry, "last_access": today})
    except Exception:
        log.exception("recording the access to %s failed", path)


def _companion(request, stage, link, suffix: str) -> Response:
    """``<file>.metadata`` (PEP 658) or ``<file>.provenance`` (PEP 740) fetched from upstream once."""
    if suffix == ".metadata":
        if not link.get("core_metadata"):
            raise NotFound("no core metadata for this file")
        url = link["url"] + ".metadata"
        expected = link["core_metadata"].get("sha256") if isinstance(link["core_metadata"], dict) else None
    else:
        if not link.get("provenance_url"):
            raise NotFound("no provenance for this file")
        url, expected = link["provenance_url"], None
    upstream = stage.state.upstream(stage)
    response = upstream.open_file(url)
    with response:
        data = read_limited(response, url, page_deadline(upstream.timeout), MAX_PAGE_BYTES)
    if expected and hashlib.sha256(data).hexdigest() != expected:
        message = f"{link['filename']}{suffix} from upstream does not match its sha256"
        stage.state.stats.failure(message)
        log.warning("mirror %s: %s", stage.name, message)
        raise UpstreamError(message)
    blob = request.app.storage.blobs.put_bytes(data)
    entry = {"sha256": blob.sha256, "size": blob.size, "filename": link["filename"] + suffix,
             "url": url, "last_modified": clock.iso(), "project": None, "version": link.get("version"),
             "last_access": clock.day()}
    with request.app.storage.write() as tx:
        if tx.get(keys.index(stage.username, stage.indexname)) is not None:
            tx.set(keys.file(link["path"] + suffix), entry)
    return file_response(request, entry, blob.sha256, entry["filename"])
