"""Yanking (PEP 592) over the REST API: ``PATCH`` a version or a file with ``{"yanked": ...}``.

``true`` yanks, a string yanks with that reason, ``false`` unyanks. Needs upload permission.
"""

from satchel.errors import BadRequest, NotFound
from satchel.model import keys
from satchel.model.indexes import require_stage
from satchel.model.yanking import set_yanked
from satchel.names import normalize_project
from satchel.web.responses import json_response


def yanked_value(request) -> bool | str:
    data = request.json_object()
    unknown = sorted(set(data) - {"yanked"})
    if unknown or "yanked" not in data:
        raise BadRequest("expected {\"yanked\": true | false | \"reason\"}"
                         + (f"; unknown keys: {', '.join(unknown)}" if unknown else ""))
    value = data["yanked"]
    if isinstance(value, str):
        # PEP 592: an empty reason still means yanked
        return value.strip() or True
    if isinstance(value, bool):
        return value
    raise BadRequest("'yanked' must be true, false or a reason string")


def _stage(request):
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not stage.index_type.accepts_uploads:
        raise BadRequest(f"index {stage.name} takes no uploads")
    request.require("upload", stage)
    return stage


def _result(links: list[dict], yanked) -> dict:
    return {"yanked": yanked, "files": sorted(link["filename"] for link in links)}


def yank_version(request):
    """``PATCH /U/I/P/V``: (un)yank every release file of the version on this index."""
    stage = _stage(request)
    project = normalize_project(request.matchdict["project"])
    version = request.matchdict["version"].rstrip("/")
    yanked = yanked_value(request)
    links = set_yanked(request.tx, stage, project, yanked, version=version)
    if not links:
        raise NotFound(f"no release files of {project} {version} on {stage.name}")
    verb = "unyanked" if yanked is False else "yanked"
    return json_response(_result(links, yanked), "yankstatus", f"{project} {version} {verb}")


def yank_file(request):
    """``PATCH /U/I/+f/...``: (un)yank one release file."""
    stage = _stage(request)
    relpath = f"{stage.name}/+f/{request.matchdict['relpath']}"
    entry = request.tx.get(keys.file(relpath))
    if entry is None or entry.get("rel", "releasefile") != "releasefile":
        raise NotFound(f"no release file found at {relpath}")
    yanked = yanked_value(request)
    links = set_yanked(request.tx, stage, entry["project"], yanked, path=relpath)
    if not links:
        raise NotFound(f"no release file found at {relpath}")
    verb = "unyanked" if yanked is False else "yanked"
    return json_response(_result(links, yanked), "yankstatus", f"{entry['filename']} {verb}")
