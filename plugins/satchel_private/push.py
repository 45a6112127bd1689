"""``devpi push``: copy a release to another index here, or upload it to an external index URL.

What to push is read from the request's read snapshot. An internal push then writes in one
short transaction (all or nothing); an external push talks HTTP holding no write lock, so
pushing to this very server cannot deadlock.
"""

from dataclasses import dataclass, field

from satchel.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from satchel.model import keys
from satchel.model.attachments import get_doczip, list_attachments, store_doczip, store_toxresult
from satchel.model.indexes import get_stage, require_stage
from satchel.model.projects import add_release_file, get_version_metadata, log_entry, replace_version_metadata
from satchel.names import normalize_project
from satchel.storage.contract import BlobInfo
from satchel.web.responses import json_response

from satchel_private.external_push import push_external
from satchel_private.history import overwrite_log


@dataclass
class Release:
    """A release as found on the source index: ``(link, file entry)`` pairs per kind of file."""

    name: str
    project: str
    version: str
    metadata: dict
    files: list = field(default_factory=list)
    toxresults: list = field(default_factory=list)
    doczip: tuple | None = None


def collect(tx, stage, name: str, version: str, no_docs: bool, only_docs: bool) -> Release:
    project = normalize_project(name)
    metadata = get_version_metadata(tx, stage, project, version)
    if metadata is None:
        raise BadRequest(f"there are no files for {name} {version} on stage {stage.name}")
    release = Release(metadata.get("name") or name, project, version, metadata)
    if not only_docs:
        links = [link for _, link in tx.items(keys.project_links(stage.name, project))
                 if link.get("version") == version]
        release.files = [(link, tx.get(keys.file(link["path"])))
                         for link in sorted(links, key=lambda link: link["filename"])]
        release.toxresults = [(link, tx.get(keys.file(link["path"])))
                              for link in list_attachments(tx, stage, project, version)
                              if link["rel"] == "toxresult"]
    if not no_docs:
        link = get_doczip(tx, stage, project, version)
        release.doczip = (link, tx.get(keys.file(link["path"]))) if link else None
    if not release.files and release.doczip is None:
        raise NotFound(f"no release/files found for {name} {version}")
    return release


def push_view(request):
    """``PUSH``/``POST /U/I`` with a JSON body naming the release and the target."""
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    data = request.json_object()
    name, version = data.pop("name", None), data.pop("version", None)
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        raise BadRequest("a push needs 'name' and 'version'")
    no_docs, only_docs = bool(data.pop("no_docs", False)), bool(data.pop("only_docs", False))
    if no_docs and only_docs:
        raise BadRequest("can't use 'no_docs' and 'only_docs' together")
    release = collect(request.tx, stage, name, version, no_docs, only_docs)
    if not request.permits("pkg_read", stage):
        raise Forbidden("package read forbidden")
    target = data.pop("targetindex", None)
    if target is None:
        return push_external(request, stage, release, data)
    if data:
        raise BadRequest(f"unknown additional options: {', '.join(sorted(data))}")
    return push_internal(request, stage, release, target)


def _blob(entry: dict) -> BlobInfo:
    return BlobInfo(entry["sha256"], entry["size"])


def _pushed_log(request, source, target, entry: dict, replaced: dict | None = None) -> list:
    """devpi's log of a pushed file: overwrite (when it replaces ``replaced``), the source's entries, push."""
    kept = [item for item in entry.get("log", ()) if item.get("what") != "overwrite"]
    return overwrite_log(replaced) + kept + [
        log_entry("push", request.identity.username, src=source.name, dst=target.name)]


def _replaced(tx, link: dict | None) -> dict | None:
    """The file entry a link points to (the one a push replaces), or None."""
    return tx.get(keys.file(link["path"])) if link else None


def _check_target_free(tx, target, key: str, filename: str) -> dict | None:
    """The target's link of that name (None if there is none); 409 when it is there in a non-volatile index."""
    existing = tx.get(key)
    if not target.config.get("volatile", True) and existing is not None:
        raise Conflict(f"{filename} already exists in non-volatile index")
    return existing


def push_internal(request, source, release: Release, target_name: str):
    parts = target_name.split("/") if isinstance(target_name, str) else []
    if len(parts) != 2 or not all(parts):
        raise BadRequest("targetindex not in format user/index")
    results = []
    with request.write() as tx:
        target = get_stage(tx, request.app, *parts)
        if target is None:
            raise NotFound(f"The stage {target_name} could not be found.")
        if not request.permits("upload", target) or not target.index_type.accepts_uploads:
            raise Unauthorized(f"user {request.identity.username!r} cannot upload to {target_name!r}")
        replace_version_metadata(tx, target, release.name, release.version, release.metadata)
        results.append([200, "register", release.name, release.version, "->", target.name])
        for link, entry in release.files:
            target_key = keys.link(target.name, release.project, link["filename"])
            existing = _check_target_free(tx, target, target_key, link["filename"])
            new_link = add_release_file(
                tx, request.app, target, project=release.name, version=release.version,
                filename=link["filename"], blob=_blob(entry), requires_python=link.get("requires_python"),
                yanked=link.get("yanked", False), upload_time=entry.get("last_modified"),
                log=_pushed_log(request, source, target, entry, _replaced(tx, existing)))
            results.append([200, "store_releasefile", new_link["path"]])
            for tox_link, tox_entry in release.toxresults:
                if tox_link.get("for_path") == link["path"]:
                    stored = store_toxresult(tx, target, new_link["path"], _blob(tox_entry),
                                             log=_pushed_log(request, source, target, tox_entry),
                                             upload_time=tox_entry.get("last_modified"))
                    results.append([200, "store_toxresult", stored["path"]])
        if release.doczip is not None:
            link, entry = release.doczip
            existing = get_doczip(tx, target, release.project, release.version)
            if not target.config.get("volatile", True) and existing is not None:
                raise Conflict(f"{link['filename']} already exists in non-volatile index")
            store_doczip(tx, target, release.name, release.version, _blob(entry),
                         log=_pushed_log(request, source, target, entry, _replaced(tx, existing)),
                         upload_time=entry.get("last_modified"))
            results.append([200, "store_doczip", release.name, release.version, "->", target.name])
    return json_response(results, "actionlog")
