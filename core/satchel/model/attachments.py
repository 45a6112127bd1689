"""Release attachments: documentation zips and tox results, stored beside release files."""

import posixpath

from satchel import clock
from satchel.errors import BadRequest
from satchel.model import keys
from satchel.model.indexes import Stage
from satchel.model.projects import add_version, file_relpath
from satchel.names import normalize_project
from satchel.storage.contract import BlobInfo


def doczip_filename(project: str, version: str) -> str:
    """devpi rebuilds the name whatever was uploaded: ``{normalized project}-{version}.doc.zip``."""
    return f"{normalize_project(project)}-{version}.doc.zip"


def list_attachments(tx, stage: Stage, project: str, version: str) -> list[dict]:
    """Links of the doc zip and tox results of a release on ``stage``, by filename."""
    prefix = keys.version_attachments(stage.name, normalize_project(project), version)
    return [link for _, link in tx.items(prefix)]


def get_doczip(tx, stage: Stage, project: str, version: str) -> dict | None:
    key = keys.attachment(stage.name, normalize_project(project), version,
                              doczip_filename(project, version))
    return tx.get(key)


def _store(tx, stage: Stage, *, rel: str, project: str, version: str, filename: str,
           relpath: str, blob: BlobInfo, log: list | None, upload_time: str | None,
           for_path: str | None = None) -> dict:
    name = normalize_project(project)
    when = upload_time or clock.iso()
    entry = {"rel": rel, "sha256": blob.sha256, "size": blob.size, "project": name,
             "version": version, "filename": filename, "last_modified": when, "log": list(log or ())}
    link = {"rel": rel, "filename": filename, "path": relpath, "hashes": {"sha256": blob.sha256},
            "version": version, "size": blob.size, "upload_time": when}
    if for_path is not None:
        entry["for_path"] = link["for_path"] = for_path
    key = keys.attachment(stage.name, name, version, filename)
    old = tx.get(key)
    if old is not None and old["path"] != relpath:
        tx.delete(keys.file(old["path"]))
        tx.set(keys.tombstone(old["path"]), {"filename": filename})
    tx.set(keys.file(relpath), entry)
    tx.delete(keys.tombstone(relpath))
    tx.set(key, link)
    return link


def store_doczip(tx, stage: Stage, project: str, version: str, blob: BlobInfo,
                 log: list | None = None, upload_time: str | None = None) -> dict:
    """Store (or replace) the doc zip of a release; creates the version if it is missing."""
    name = normalize_project(project)
    add_version(tx, stage, project, version)
    if tx.get(keys.version(stage.name, name, version)) is None:
        tx.set(keys.version(stage.name, name, version), {"name": project, "version": version})
    filename = doczip_filename(project, version)
    return _store(tx, stage, rel="doczip", project=project, version=version, filename=filename,
                  relpath=file_relpath(stage, blob.sha256, filename), blob=blob, log=log,
                  upload_time=upload_time)


def store_toxresult(tx, stage: Stage, release_relpath: str, blob: BlobInfo,
                    log: list | None = None, upload_time: str | None = None,
                    filename: str | None = None) -> dict:
    """Attach a tox result to a stored release file; it lives in the release file's directory.

    Named ``{release}.toxresult-{YYYYmmddHHMMSS}-{n}``, n counting the file's earlier results. An import
    may pass the ``filename`` it had elsewhere (so its URL stays the same): it must have that form.
    """
    release = tx.get(keys.file(release_relpath))
    project, version = release["project"], release["version"]
    prefix = f"{release['filename']}.toxresult-"
    if filename is None:
        earlier = [link for link in list_attachments(tx, stage, project, version)
                   if link.get("for_path") == release_relpath]
        stamp = clock.compact()
        filename = f"{prefix}{stamp}-{len(earlier)}"
    elif not filename.startswith(prefix) or "/" in filename or filename == prefix:
        raise BadRequest(f"{filename!r} is not a tox result name of {release['filename']}")
    relpath = posixpath.join(posixpath.dirname(release_relpath), filename)
    return _store(tx, stage, rel="toxresult", project=project, version=version, filename=filename,
                  relpath=relpath, blob=blob, log=log, upload_time=upload_time,
                  for_path=release_relpath)
