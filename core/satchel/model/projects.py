"""Projects, releases and files: the per-project record, release files, inheritance merge."""

import hashlib
import io
import itertools
from collections.abc import Iterator
import zipfile
from typing import BinaryIO

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from satchel import clock
from satchel.errors import BadRequest
from satchel.model import keys
from satchel.model.indexes import Stage, resolution_order
from satchel.names import check_project_name, normalize_project
from satchel.storage.contract import BlobInfo


def file_relpath(stage: Stage, sha256: str, filename: str) -> str:
    """Where a stored file is served: ``user/index/+f/abc/defghijklmnop/filename``."""
    return f"{stage.name}/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"


def check_filename(filename: str) -> str:
    if not filename or "/" in filename or "\\" in filename or filename in (".", "..") \
            or filename.startswith(".") or "\x00" in filename:
        raise BadRequest(f"invalid filename {filename!r}")
    return filename


def log_entry(what: str, who: str | None, **extra) -> dict:
    """A file's log entry as devpi shows it: ``{"what", "who", "when": [Y, M, D, h, m, s], ...}``."""
    return {"what": what, "who": who, "when": clock.time_list(), **extra}


def wheel_metadata(filename: str, content: bytes | BinaryIO) -> bytes | None:
    """The METADATA file of a wheel (PEP 658), or None when it can't be found.

    ``content`` is the wheel's bytes or a seekable file (read in place, not loaded whole).
    """
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    try:
        with zipfile.ZipFile(source) as archive:
            candidates = [n for n in archive.namelist()
                          if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(candidates) != 1:
                return None
            return archive.read(candidates[0])
    except (zipfile.BadZipFile, OSError, KeyError):
        return None


def add_release_file(tx, app, stage: Stage, *, project: str, version: str, filename: str,
                     content: bytes | None = None, blob: BlobInfo | None = None,
                     requires_python: str | None = None, metadata: dict | None = None,
                     yanked: bool | str = False, upload_time: str | None = None,
                     log: list | None = None) -> dict:
    """Store a release file on ``stage`` and update its project record and version data.

    The blob is written (durably) before the transaction that references it commits.
    ``log`` is the file's history (upload, push, overwrite entries) kept in its file entry.
    Returns the link record as it appears in the project record.
    """
    check_project_name(project)
    check_filename(filename)
    name = normalize_project(project)
    blobs = app.storage.blobs
    if blob is None:
        blob = blobs.put_bytes(content)
    core_metadata = metadata_blob = inline_metadata = None
    if filename.endswith(".whl"):
        if content is not None:
            metadata_bytes = wheel_metadata(filename, content)
        else:
            with blobs.open(blob.sha256) as handle:
                metadata_bytes = wheel_metadata(filename, handle)
        if metadata_bytes is not None:
            core_metadata = hashlib.sha256(metadata_bytes).hexdigest()
            try:
                # kept in the file's record: small, and no second file (with its fsyncs) per upload
                inline_metadata = metadata_bytes.decode("utf-8")
            except UnicodeDecodeError:
                metadata_blob = blobs.put_bytes(metadata_bytes).sha256
    relpath = file_relpath(stage, blob.sha256, filename)
    when = upload_time or clock.iso()
    link = {
        "filename": filename, "path": relpath, "hashes": {"sha256": blob.sha256},
        "version": version, "requires_python": requires_python, "yanked": yanked,
        "core_metadata": {"sha256": core_metadata} if core_metadata else None,
        "size": blob.size, "upload_time": when,
    }
    entry = {"rel": "releasefile", "sha256": blob.sha256, "size": blob.size, "project": name,
             "version": version, "filename": filename, "last_modified": when,
             "metadata_sha256": metadata_blob, "log": list(log or ())}
    if inline_metadata is not None:
        entry["metadata"] = inline_metadata
    tx.set(keys.file(relpath), entry)
    tx.delete(keys.tombstone(relpath))
    link_key = keys.link(stage.name, name, filename)
    old = tx.get(link_key)
    if old is not None and old["path"] != relpath:
        tx.delete(keys.file(old["path"]))
        tx.set(keys.tombstone(old["path"]), {"filename": filename})
    tx.set(link_key, link)
    # metadata first: add_version then finds the version key and writes only the project record
    set_version_metadata(tx, stage, name, version,
                         {"name": project, "version": version, "requires_python": requires_python,
                          **(metadata or {})})
    add_version(tx, stage, project, version)
    return link


def add_version(tx, stage: Stage, project: str, version: str) -> dict:
    """Make sure the project has ``version`` (its version key); always rewrites the project record.

    Rewritten even when unchanged: its serial is what cached pages are validated against. The record
    holds no version list (``Stage.get_project`` lists the version keys): rewriting a list of thousands
    of versions on every upload made uploads to big projects slower and slower.
    """
    name = normalize_project(project)
    key = keys.project(stage.name, name)
    record = tx.get(key) or {"name": project}
    record.pop("versions", None)  # written by earlier satchel versions
    tx.set(key, record)
    vkey = keys.version(stage.name, name, version)
    if tx.get(vkey) is None:
        tx.set(vkey, {"name": project, "version": version})
    return record


def touch_project(tx, stage: Stage, project: str) -> None:
    """Rewrite the project record so cached pages of it are rebuilt (links changed)."""
    key = keys.project(stage.name, project)
    record = tx.get(key)
    if record is not None:
        tx.set(key, record)


def replace_version_metadata(tx, stage: Stage, project: str, version: str, metadata: dict) -> dict:
    """Register ``version`` with exactly ``metadata`` (devpi's ``submit`` overwrites)."""
    name = normalize_project(project)
    stored = {k: v for k, v in metadata.items() if v is not None}
    tx.set(keys.version(stage.name, name, version), stored)
    add_version(tx, stage, metadata.get("name") or project, version)
    return stored


def set_version_metadata(tx, stage: Stage, project: str, version: str, metadata: dict) -> dict:
    key = keys.version(stage.name, project, version)
    stored = tx.get(key) or {}
    stored.update({k: v for k, v in metadata.items() if v is not None})
    tx.set(key, stored)
    return stored


def get_version_metadata(tx, stage: Stage, project: str, version: str) -> dict | None:
    return tx.get(keys.version(stage.name, project, version))


def contributing_stages(tx, stage: Stage, stage_order: list[Stage], project: str) -> list[Stage]:
    """The indexes of ``stage_order`` whose releases of ``project`` are served (mirror shadowing).

    A project held by a private index hides mirror releases unless the cumulative
    ``mirror_whitelist`` names it (or ``*``); whitelists combine by the requesting index's
    ``mirror_whitelist_inheritance``. Decided from private indexes only, so a shadowed name is
    never looked up on a mirror (nor upstream).
    """
    inheritance = stage.config.get("mirror_whitelist_inheritance", "union")
    whitelist: set | None = None
    whitelisted = private_hit = False
    contributing = []
    for current in stage_order:
        if current.is_mirror:
            if not private_hit or whitelisted:
                contributing.append(current)
            continue
        own = set(current.config.get("mirror_whitelist", ()))
        if whitelist is None:
            whitelist = own
        elif inheritance == "intersection":
            whitelist &= own
        else:
            whitelist |= own
        has_project = current.project_serial(tx, project) != -1
        if "*" in whitelist or project in whitelist:
            whitelisted = True
        elif has_project:
            private_hit = True
        if has_project:
            contributing.append(current)
    return contributing


def project_validators(tx, stage_order: list[Stage], contributing: list[Stage], project: str) -> tuple:
    """What a merged page depends on: every index's config serial, contributing indexes' project serials."""
    configs = tuple(tx.get_serial(keys.index(s.username, s.indexname)) for s in stage_order)
    return configs + tuple((s.name, s.project_serial(tx, project)) for s in contributing)


def merged_links(tx, app, stage: Stage, project: str,
                 stage_order: list[Stage] | None = None, contributing: list[Stage] | None = None):
    """Links of ``project`` through the resolution order, with mirror shadowing applied.

    Returns ``([(origin index, link), ...], versions, status)`` or None when no index has the
    project; ``status`` is a PEP 792 project status (``{"status", "reason"}``) or None.
    """
    if contributing is None:
        stage_order = stage_order or resolution_order(tx, app, stage)
        contributing = contributing_stages(tx, stage, stage_order, project)
    links: list[tuple[str, dict]] = []
    seen_files: set[str] = set()
    versions: list[str] = []
    status = None
    found = False
    for current in contributing:
        record = current.get_project(tx, project)
        if record is None:
            continue
        found = True
        status = status or record.get("status")
        for link in record["files"]:
            if link["filename"] not in seen_files:
                seen_files.add(link["filename"])
                links.append((current.name, link))
        versions.extend(v for v in record.get("versions", ()) if v not in versions)
    return (links, versions, status) if found else None


def project_names(tx, stage_order: list[Stage]) -> Iterator[str]:
    """Project names through the resolution order, deduplicated as devpi does.

    Names of every index but the last are collected while ``tx`` is open; the last index
    (a mirror, when there is one) may yield lazily from a list that is too long to hold.
    """
    seen: set[str] = set()
    collected: list[str] = []
    for current in stage_order[:-1]:
        for name in current.list_projects(tx):
            if name not in seen:
                seen.add(name)
                collected.append(name)
    last = stage_order[-1].list_projects(tx) if stage_order else ()
    return itertools.chain(collected, (name for name in last if name not in seen))
