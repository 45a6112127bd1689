"""Yanking release files (PEP 592): a flag or reason on the file's link, shown in simple pages."""

from satchel.model import keys
from satchel.model.indexes import Stage
from satchel.model.projects import touch_project


def set_yanked(tx, stage: Stage, project: str, yanked: bool | str, *, version: str | None = None,
               path: str | None = None) -> list[dict]:
    """Yank (``True`` or a reason) or unyank (``False``) the files of a version, or one file by path.

    Returns the links changed (empty when nothing matched). Rewrites the project record, whose
    serial keys the cached simple pages.
    """
    changed = []
    for key, link in tx.items(keys.project_links(stage.name, project)):
        if (version is not None and link.get("version") != version) or \
                (path is not None and link["path"] != path):
            continue
        link["yanked"] = yanked
        tx.set(key, link)
        changed.append(link)
    if changed:
        touch_project(tx, stage, project)
    return changed
