"""``DELETE`` on mirror indexes (devpi's rules): cached files are dropped and fetched again on demand.

A project drops its cached files and its stored page (the next request asks upstream again); a version
drops only its cached files (the page keeps listing them); a file URL drops that one cached file.
"""

from satchel.errors import Forbidden, NotFound
from satchel.model import keys
from satchel.model.indexes import require_stage
from satchel.names import normalize_project
from satchel.web.responses import json_response

from satchel_mirror.files import COMPANIONS
from satchel_mirror.prune import free_blobs
from satchel_mirror.stage import valid_project


def _stage(request, permission: str):
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not request.permits(permission, stage):
        who = request.identity.username
        raise Forbidden(f"user {who!r} may not delete cached files of {stage.name}" if who
                        else f"anonymous users may not delete cached files of {stage.name}")
    if not stage.config.get("volatile", True) and "force" not in request.GET:
        raise Forbidden(f"{stage.name} is non-volatile: add ?force to delete its cached files")
    return stage


def _project(request) -> str:
    project = normalize_project(request.matchdict["project"].rstrip("/"))
    if not valid_project(project):
        raise NotFound(f"project {project!r} not found")
    return project


def _with_companions(tx, main_keys) -> list[tuple[str, dict]]:
    """The cached entries of ``main_keys`` and of their ``.metadata``/``.provenance`` files (pip may have
    fetched a wheel's metadata without the wheel)."""
    found = []
    for key in dict.fromkeys(main_keys):
        for name in (key, *(key + suffix for suffix in COMPANIONS)):
            entry = tx.get(name)
            if entry is not None:
                found.append((name, entry))
    return found


def _cached_files(tx, stage, project: str, version: str | None = None) -> list[tuple[str, dict]]:
    """What is cached of the project (or one version): files of its stored page, and files recorded
    under its name that the page no longer lists."""
    record = tx.get(keys.project(stage.name, project)) or {}
    listed = [keys.file(link["path"]) for link in record.get("files", ())
              if version is None or link.get("version") == version]
    recorded = [key for key, entry in tx.items(keys.file(f"{stage.name}/"))
                if entry.get("project") == project and (version is None or entry.get("version") == version)]
    return _with_companions(tx, listed + recorded)


def _drop(request, stage, entries: list[tuple[str, dict]], project: str | None = None) -> int:
    """Delete ``entries`` (and with ``project`` its stored page) in one commit, then free their blobs."""
    with request.write() as tx:
        for key, _ in entries:
            tx.delete(key)
        if project is not None:
            tx.delete(keys.project(stage.name, project))
    if project is not None:
        stage.state.dropped(project)
    return free_blobs(request.app, entries)


def delete_project(request):
    """``DELETE /U/I/P`` on a mirror: its cached files and page."""
    stage = _stage(request, "del_project")
    project = _project(request)
    with request.app.storage.read() as tx:
        entries = _cached_files(tx, stage, project)
        has_page = tx.get(keys.project(stage.name, project)) is not None
    if not entries and not has_page:
        raise NotFound(f"project {project!r} is not cached on {stage.name}")
    freed = _drop(request, stage, entries, project)
    return json_response(message=f"project {project} deleted from stage {stage.name} "
                                 f"({len(entries)} cached files, {freed} bytes freed)")


def delete_version(request):
    """``DELETE /U/I/P/V`` on a mirror: the cached files of that release (the page still lists them)."""
    stage = _stage(request, "del_verdata")
    project = _project(request)
    version = request.matchdict["version"].rstrip("/")
    with request.app.storage.read() as tx:
        entries = _cached_files(tx, stage, project, version)
    if not entries:
        raise NotFound(f"no cached files of version {version} of project {project} on {stage.name}")
    freed = _drop(request, stage, entries)
    return json_response(message=f"project {project!r} version {version!r} deleted "
                                 f"({len(entries)} cached files, {freed} bytes freed)")


def delete_file(request):
    """``DELETE /U/I/+f/...`` on a mirror: one cached file (fetched again when next requested)."""
    stage = _stage(request, "del_entry")
    relpath = f"{stage.name}/+f/{request.matchdict['relpath']}"
    with request.app.storage.read() as tx:
        entries = _with_companions(tx, [keys.file(relpath)])
    if not entries:
        raise NotFound(f"file {relpath!r} is not cached")
    _drop(request, stage, entries)
    return json_response(message=f"package {relpath!r} deleted")
