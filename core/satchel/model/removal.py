"""Removing files, versions and projects of a private index, leaving tombstones for 410s."""

from satchel.model import keys
from satchel.model.indexes import Stage
from satchel.model.projects import touch_project


def bury(tx, relpath: str) -> None:
    """Delete a file entry and remember its URL, so a later GET answers 410 Gone."""
    entry = tx.get(keys.file(relpath))
    tx.delete(keys.file(relpath))
    tx.set(keys.tombstone(relpath), {"filename": (entry or {}).get("filename")})


def is_deleted(tx, relpath: str) -> bool:
    return tx.get(keys.tombstone(relpath)) is not None


def _version_links(tx, stage: Stage, project: str, version: str) -> list[tuple[str, dict]]:
    return [(key, link) for key, link in tx.items(keys.project_links(stage.name, project))
            if link.get("version") == version]


def has_files(tx, stage: Stage, project: str, version: str) -> bool:
    """Whether any release file, doc zip or tox result of the release is left."""
    if tx.keys(keys.version_attachments(stage.name, project, version)):
        return True
    return bool(_version_links(tx, stage, project, version))


def remove_file(tx, stage: Stage, relpath: str) -> dict:
    """Remove one stored file (with the tox results attached to it); the last one takes its version.

    Returns the removed file entry; the caller checked that it exists.
    """
    entry = tx.get(keys.file(relpath))
    project, version, filename = entry["project"], entry["version"], entry["filename"]
    attachments = keys.version_attachments(stage.name, project, version)
    if entry.get("rel", "releasefile") == "releasefile":
        link_key = keys.link(stage.name, project, filename)
        link = tx.get(link_key)
        if link is not None and link["path"] == relpath:
            tx.delete(link_key)
        for key, attachment in tx.items(attachments):
            if attachment.get("for_path") == relpath:
                bury(tx, attachment["path"])
                tx.delete(key)
    else:
        tx.delete(keys.attachment(stage.name, project, version, filename))
    bury(tx, relpath)
    if has_files(tx, stage, project, version):
        touch_project(tx, stage, project)
    else:
        remove_version(tx, stage, project, version)
    return entry


def remove_version(tx, stage: Stage, project: str, version: str) -> bool:
    """Remove a release with all its files; the last version takes the project. False if absent."""
    record_key = keys.project(stage.name, project)
    record = tx.get(record_key)
    version_key = keys.version(stage.name, project, version)
    if record is None or tx.get(version_key) is None:
        return False
    for key, link in _version_links(tx, stage, project, version):
        bury(tx, link["path"])
        tx.delete(key)
    for key, attachment in tx.items(keys.version_attachments(stage.name, project, version)):
        bury(tx, attachment["path"])
        tx.delete(key)
    tx.delete(version_key)
    record.pop("versions", None)  # written by earlier satchel versions
    if tx.keys(keys.project_versions(stage.name, project)) or tx.keys(keys.project_links(stage.name, project)):
        tx.set(record_key, record)
    else:
        tx.delete(record_key)
    return True


def remove_project(tx, stage: Stage, project: str) -> bool:
    """Remove a project with every release and file. False if the index doesn't hold it."""
    record_key = keys.project(stage.name, project)
    if tx.get(record_key) is None:
        return False
    for key, link in tx.items(keys.project_links(stage.name, project)):
        bury(tx, link["path"])
        tx.delete(key)
    for key, attachment in tx.items(keys.project_attachments(stage.name, project)):
        bury(tx, attachment["path"])
        tx.delete(key)
    for key in tx.keys(keys.project_versions(stage.name, project)):
        tx.delete(key)
    tx.delete(record_key)
    return True
