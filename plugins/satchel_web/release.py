"""Project and release data for pages, read through the resolution order.

Mirrors take part only for projects they have cached: a page view never triggers an upstream
fetch of a project nobody has asked for yet.
"""

from dataclasses import dataclass, field

from satchel.model import keys
from satchel.model.attachments import get_doczip, list_attachments
from satchel.model.indexes import resolution_order
from satchel.model.ordering import version_key
from satchel.model.projects import contributing_stages, get_version_metadata


@dataclass
class ProjectView:
    name: str  # normalized
    display: str
    versions: list[str]  # newest first
    origin: dict[str, str]  # version -> index it comes from
    files: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)  # version -> [(index, link)]
    uncached_mirrors: list = field(default_factory=list)  # mirror stages that never fetched it


def is_cached(tx, stage, project: str) -> bool:
    return tx.get_serial(keys.project(stage.name, project)) != -1


def upstream_url(stage, project: str) -> str:
    """Where a mirror's project lives upstream (devpi's ``mirror_web_url_fmt``, else its simple page)."""
    config = stage.public_config
    fmt = config.get("mirror_web_url_fmt")
    if fmt:
        return fmt.replace("{name}", project)
    return f"{config.get('mirror_url', '')}{project}/"


def project_key(tx, app, stage, project: str) -> tuple | None:
    """What a page of ``project`` on ``stage`` is built from: each index's config serial and project
    serial through the resolution order. None while a mirror contributes releases: a mirror's page
    may change without a commit (refreshed in memory), so such pages are not kept."""
    order = resolution_order(tx, app, stage)
    cached = [s for s in order if not s.is_mirror or is_cached(tx, s, project)]
    if any(s.is_mirror for s in contributing_stages(tx, stage, cached, project)):
        return None
    return tuple((s.name, tx.get_serial(keys.index(s.username, s.indexname)),
                  tx.get_serial(keys.project(s.name, project))) for s in order)


def latest_version(tx, stage, project: str) -> str | None:
    """The newest version a private index holds of ``project`` (one pass over its version keys)."""
    prefix = keys.project_versions(stage.name, project)
    names = [key[len(prefix):] for key in tx.keys(prefix)]
    return max(names, key=version_key) if names else None


def load_project(tx, app, stage, project: str) -> ProjectView | None:
    order = resolution_order(tx, app, stage)
    uncached = [s for s in order if s.is_mirror and not is_cached(tx, s, project)]
    order = [s for s in order if s not in uncached]
    view = ProjectView(project, project, [], {}, uncached_mirrors=uncached)
    found = False
    seen: set[str] = set()
    for current in contributing_stages(tx, stage, order, project):
        record = current.get_project(tx, project)
        if record is None:
            continue
        if not found:
            view.display = record.get("name") or project
        found = True
        for version in record.get("versions", ()):
            view.origin.setdefault(version, current.name)
        for link in record["files"]:
            if link["filename"] not in seen:
                seen.add(link["filename"])
                view.files.setdefault(link["version"], []).append((current.name, link))
                view.origin.setdefault(link["version"], current.name)
    if not found:
        # only a mirror's own page says "not fetched yet": elsewhere the project is unknown here
        return view if stage.is_mirror and uncached else None
    view.versions = sorted(view.origin, key=version_key, reverse=True)
    return view


def version_summary(files: list[tuple[str, dict]]) -> dict:
    """Upload time (newest file) and yanked state of a version from its files."""
    times = [link.get("upload_time") for _, link in files if link.get("upload_time")]
    yanked = bool(files) and all(link.get("yanked") for _, link in files)
    return {"upload_time": max(times) if times else None, "yanked": yanked, "count": len(files)}


def load_metadata(tx, app, stage, project: str, version: str) -> dict | None:
    for current in resolution_order(tx, app, stage):
        if current.is_mirror:
            continue
        data = get_version_metadata(tx, current, project, version)
        if data is not None:
            return data
    return None


def load_attachments(tx, app, stage, project: str, version: str) -> list[dict]:
    """Doc zip and tox results of the release, first index that has each file, with ``origin``."""
    result, seen = [], set()
    for current in resolution_order(tx, app, stage):
        if current.is_mirror:
            continue
        for link in list_attachments(tx, current, project, version):
            if link["filename"] not in seen:
                seen.add(link["filename"])
                result.append({**link, "origin": current.name})
    return result


def newest_with_docs(tx, app, stage, project: str, versions: list[str]) -> str | None:
    """The newest of ``versions`` (newest first) that has documentation on some index."""
    private = [s for s in resolution_order(tx, app, stage) if not s.is_mirror]
    for version in versions:
        if any(get_doczip(tx, s, project, version) is not None for s in private):
            return version
    return None
