"""``DELETE`` of projects, versions and files on private indexes (devpi's rules and messages)."""

from satchel.errors import BadRequest, Forbidden, Gone, NotFound
from satchel.model import keys
from satchel.model.indexes import require_stage
from satchel.model.removal import is_deleted, remove_file, remove_project, remove_version
from satchel.names import normalize_project
from satchel.web.responses import json_response


def _stage(request, permission: str):
    """The index, if the caller may delete on it: 403 otherwise, anonymous callers too (as devpi)."""
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not stage.index_type.accepts_uploads:
        raise BadRequest(f"cannot delete from index {stage.name}: it takes no uploads")
    if not request.permits(permission, stage):
        who = request.identity.username
        raise Forbidden(f"user {who!r} has no permission to delete on {stage.name}" if who
                        else f"anonymous users have no permission to delete on {stage.name}")
    return stage


def _forced(request) -> bool:
    return "force" in request.GET


def delete_project(request):
    """``DELETE /U/I/P``: every release of the project on this index."""
    stage = _stage(request, "del_project")
    project = normalize_project(request.matchdict["project"].rstrip("/"))
    if not stage.config.get("volatile", True) and not _forced(request):
        raise Forbidden(f"project {project!r} is on non-volatile index {stage.name}")
    if not remove_project(request.tx, stage, project):
        raise NotFound(f"project {project!r} not found on {stage.name}")
    return json_response(message=f"project {project} deleted from stage {stage.name}")


def delete_version(request):
    """``DELETE /U/I/P/V``: the release with its files, doc zip and tox results."""
    stage = _stage(request, "del_verdata")
    project = normalize_project(request.matchdict["project"])
    version = request.matchdict["version"].rstrip("/")
    if not stage.config.get("volatile", True) and not _forced(request):
        raise Forbidden("cannot delete version on non-volatile index")
    if not remove_version(request.tx, stage, project, version):
        raise NotFound(f"The version {version} of project {project} does not exist.")
    return json_response(message=f"project {project!r} version {version!r} deleted")


def delete_file(request):
    """``DELETE /U/I/+f/...``: one release file, doc zip or tox result."""
    stage = _stage(request, "del_entry")
    relpath = f"{stage.name}/+f/{request.matchdict['relpath']}"
    if not stage.config.get("volatile", True) and not _forced(request):
        raise Forbidden("cannot delete version on non-volatile index")
    if request.tx.get(keys.file(relpath)) is None:
        if is_deleted(request.tx, relpath):
            raise Gone(f"file {relpath!r} existed, deleted in later serial")
        raise NotFound(f"package {relpath!r} doesn't exist")
    remove_file(request.tx, stage, relpath)
    return json_response(message=f"package {relpath!r} deleted")
