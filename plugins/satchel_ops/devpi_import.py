"""Migration from devpi: store a validated ``devpi-export`` dump (see ``devpi_dump``) in satchel.

``import_devpi_dump`` rehearses the metadata in a transaction that is rolled back, stores the files as
blobs (checked again against the validated sha256), and writes users, indexes, version metadata, release
files, doc zips and tox results in one transaction. Any problem is a ``ConfigError`` raised before that
transaction commits.
"""

from satchel.model import attachments, indexes, keys, projects, users
from satchel.model.projects import log_entry
from satchel.progress import no_progress
from satchel.storage.contract import BlobInfo

from satchel_ops.devpi_dump import fail, step, validate_devpi_dump
from satchel_ops.devpi_records import DevpiDump
from satchel_ops.parallel import SpoolError, spool_files

__all__ = ["import_devpi_dump", "validate_devpi_dump"]

class _Rehearsal(Exception):
    """Raised to roll back the metadata rehearsal."""


def _check_target_empty(tx, app, dump: DevpiDump) -> None:
    others = [name for name in users.list_usernames(tx) if name != "root"]
    if others:
        fail(dump.path, f"the serverdir already has users ({', '.join(sorted(others))}): "
                         "import a devpi dump into a fresh serverdir only")
    for username in users.list_usernames(tx):
        for stage in indexes.list_stages(tx, app, username):
            if stage.name != "root/pypi":
                fail(dump.path, f"the serverdir already has index {stage.name}: "
                                 "import a devpi dump into a fresh serverdir only")


def _apply_users(tx, dump: DevpiDump) -> None:
    for name, record in dump.users.items():
        with step(dump.path, f"user {name!r}"):
            fields = {k: v for k, v in record.items() if k != "pwhash"}
            pwhash = record.get("pwhash")
            existing = tx.get(keys.user(name)) if name == "root" else None
            if existing is not None:  # root made by init: the dump's password, else the current one
                pwhash = pwhash or existing.get("pwhash")
                users.delete_user(tx, name)
            users.create_user(tx, name, pwhash=pwhash, **fields)


def _apply_indexes(tx, app, dump: DevpiDump, warnings: list[str]) -> dict:
    stages = {}
    hint = " (edit dataindex.json to change or drop what satchel does not support)"
    for index in dump.indexes.values():
        with step(dump.path, f"index {index.name}", hint):
            user, name = index.name.split("/")
            config = {k: v for k, v in index.config.items() if k != "bases"}
            stages[index.name] = indexes.get_stage(tx, app, user, name) \
                or indexes.create_index(tx, app, user, name, config)
    for index in dump.indexes.values():  # once all exist: bases, and acl keys exactly as exported
        with step(dump.path, f"index {index.name}", hint):
            config = dict(index.config)
            if "bases" in config:
                config["bases"] = [b for b in config["bases"] or () if "/" in b and
                                   indexes.get_stage(tx, app, *b.split("/", 1)) is not None]
                if "root/pypi" in index.config["bases"] and "root/pypi" not in config["bases"]:
                    warnings.append(f"index {index.name!r}: base root/pypi dropped (this server has none)")
            stages[index.name] = indexes.modify_index(tx, app, stages[index.name], config)
    return stages


def _apply(tx, app, dump: DevpiDump, blobs: dict | None, counts: dict) -> None:
    """Everything the dump holds; files only when ``blobs`` (sha256 -> BlobInfo) is given."""
    _check_target_empty(tx, app, dump)
    _apply_users(tx, dump)
    stages = _apply_indexes(tx, app, dump, counts["warnings"])
    for index in dump.indexes.values():
        for versions in index.projects.values():
            for version, metadata in versions.items():
                with step(dump.path, f"{index.name} {metadata['name']} {version}"):
                    projects.replace_version_metadata(tx, stages[index.name], metadata["name"], version, metadata)
                counts["versions"] += 1
        counts["projects"] += len(index.projects)
    if blobs is not None:
        _apply_files(tx, app, dump, stages, blobs, counts)
    counts["users"], counts["indexes"] = len(dump.users), len(dump.indexes)


def _apply_files(tx, app, dump: DevpiDump, stages: dict, blobs: dict, counts: dict) -> None:
    order = {"releasefile": 0, "doczip": 1, "toxresult": 2}
    release_paths = {}
    for f in sorted(dump.files, key=lambda f: order[f.type]):
        stage = stages[f.index_name]
        metadata = dump.indexes[f.index_name].projects.get(f.project, {}).get(f.version, {})
        display = metadata.get("name") or f.project
        log = f.log if f.log is not None else [log_entry("upload", "<import>", dst=f.index_name)]
        blob = blobs[f.sha256]
        with step(dump.path, f.relpath):
            if f.type == "releasefile":
                link = projects.add_release_file(
                    tx, app, stage, project=display, version=f.version, filename=f.filename, blob=blob,
                    requires_python=metadata.get("requires_python"), upload_time=f.last_modified, log=log)
                release_paths[(f.index_name, f.project, f.version, f.filename)] = link["path"]
            elif f.type == "doczip":
                attachments.store_doczip(tx, stage, display, f.version, blob, log=log,
                                         upload_time=f.last_modified)
            else:
                # kept under devpi's name (``{release}.toxresult-{stamp}-{n}``) so its URL stays the same
                release_path = release_paths[(f.index_name, f.project, f.version, f.for_basename)]
                attachments.store_toxresult(tx, stage, release_path, blob, log=log, upload_time=f.last_modified,
                                            filename=f.filename)
        counts[f.type + "s"] += 1
        counts["bytes"] += f.size


def _store_blobs(app, dump: DevpiDump, progress) -> dict[str, BlobInfo]:
    """Each distinct file into the blob store; its sha256 and size must still be the validated ones."""
    store = app.storage.blobs
    unique = list({f.sha256: f for f in dump.files}.values())
    jobs = [(f.path, f.sha256, f.size) for f in unique if not store.exists(f.sha256)]
    try:
        spooled = spool_files(store, jobs, desc="storing files", show=progress)
    except SpoolError as exc:
        fail(dump.path, f"{exc.path.relative_to(dump.path)} {exc.problem}: it changed after the dump was validated")
    for item in spooled:
        store.publish(item, sync=False)
    store.sync()  # one flush for all files, before the records that reference them commit
    return {f.sha256: BlobInfo(f.sha256, f.size) for f in unique}


def import_devpi_dump(app, dump: DevpiDump, progress=None) -> dict:
    """Write a validated dump into ``app``, which may hold only ``root`` and ``root/pypi`` (made by init).

    ``root`` takes the dump's password hash; an existing ``root/pypi`` takes the dump's config.
    Returns counts (users, indexes, projects, versions, releasefiles, doczips, toxresults, bytes,
    skipped_mirror_files) and ``warnings``, a list of messages. Nothing is committed on error.
    """
    progress = progress or no_progress

    def fresh_counts():
        counts = dict.fromkeys(("users", "indexes", "projects", "versions", "releasefiles", "doczips",
                                "toxresults", "bytes"), 0)
        return {**counts, "skipped_mirror_files": dump.skipped_mirror_files, "warnings": list(dump.warnings)}

    try:  # rehearse the metadata (target state, names, index types, configs) and roll it back
        with app.storage.write() as tx:
            _apply(tx, app, dump, None, fresh_counts())
            raise _Rehearsal()
    except _Rehearsal:
        pass
    blobs = _store_blobs(app, dump, progress)
    counts = fresh_counts()
    with app.storage.write() as tx:
        _apply(tx, app, dump, blobs, counts)
    return counts
