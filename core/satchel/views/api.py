"""Read side of devpi's JSON API: ``/+api``, users, indexes, projects, versions."""

from satchel import __version__
from satchel.errors import NotFound, UnsupportedMediaType
from satchel.model import keys, users
from satchel.model.attachments import list_attachments
from satchel.model.indexes import list_stages, require_stage, resolution_order
from satchel.model.projects import get_version_metadata, merged_links
from satchel.names import normalize_project
from satchel.web.responses import json_response

# what core's own views offer: PATCH of an index takes devpi's key=value operations (views/indexes.py)
CORE_FEATURES = ("server-keyvalue-parsing",)


def api_config(request):
    """``/+api``, ``/U/+api``, ``/U/I/+api``: URLs and features for devpi-client."""
    base = request.base_url
    identity = request.identity
    status = ["noauth", "", []] if identity.is_anonymous else ["ok", identity.username, list(identity.groups)]
    features = {f for group in request.app.hook.satchel_api_features() for f in (group or ())}
    features = sorted(features | set(CORE_FEATURES))
    result = {"login": f"{base}/+login", "authstatus": status, "features": features}
    match = request.matchdict
    if "index" in match:
        stage = require_stage(request.tx, request.app, match["user"], match["index"])
        result["index"] = f"{base}/{stage.name}"
        result["simpleindex"] = f"{base}/{stage.name}/+simple/"
        if stage.index_type.accepts_uploads:
            result["pypisubmit"] = f"{base}/{stage.name}/"
    return json_response(result, "apiconfig")


def _require_json(request):
    accept = request.headers.get("Accept", "")
    if "text/html" in accept and "json" not in accept:
        raise NotFound("no web interface is installed for this resource")


def _userconfig(request, username: str) -> dict:
    record = users.get_user(request.tx, username)
    config = users.visible(record)
    config["indexes"] = {s.indexname: s.public_config for s in list_stages(request.tx, request.app, username)
                         if request.permits("pkg_read", s)}  # indexes the requester may not read are hidden
    return config


def root_view(request):
    """``GET /``: every user with its indexes."""
    _require_json(request)
    result = {name: _userconfig(request, name) for name in users.list_usernames(request.tx)}
    return json_response(result, "list:userconfig")


def user_view(request):
    _require_json(request)
    return json_response(_userconfig(request, request.matchdict["user"]), "userconfig")


def index_view(request):
    """``GET /U/I``: index config plus this index's own project names."""
    _require_json(request)
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    result = dict(stage.public_config)
    if "no_projects" not in request.GET:
        result["projects"] = sorted(stage.list_projects(request.tx))
    return json_response(result, "indexconfig")


def _verdata(request, stage_order, project: str, version: str, links) -> dict | None:
    data = None
    for current in stage_order:
        data = get_version_metadata(request.tx, current, project, version)
        if data is not None:
            break
    if data is None:
        # a release only a mirror has: no metadata is stored, its files are all there is (as devpi)
        if not any(link["version"] == version for _, link in links):
            return None
        data = {"name": project, "version": version}
    data = dict(data)
    data["+links"] = _version_links(request, stage_order, project, version, links)
    return data


def _link_info(request, link: dict, rel: str) -> dict:
    """One ``+links`` entry: devpi's keys, plus ``yanked`` when set."""
    base = request.base_url
    sha256 = link["hashes"].get("sha256")
    info = {"rel": rel, "href": f"{base}/{link['path']}",
            "hash_spec": f"sha256={sha256}" if sha256 else "", "hashes": link["hashes"]}
    entry = request.tx.get(keys.file(link["path"])) or {}
    if "log" in entry:
        info["log"] = entry["log"]
    if link.get("for_path"):
        info["for_href"] = f"{base}/{link['for_path']}"
    if link.get("yanked"):
        info["yanked"] = link["yanked"]
    return info


def _version_links(request, stage_order, project: str, version: str, links) -> list[dict]:
    """Release files of the version (merged), then doc zips and tox results of each index."""
    result = [_link_info(request, link, "releasefile") for _, link in links if link["version"] == version]
    seen: set[str] = set()
    for current in stage_order:
        for attachment in list_attachments(request.tx, current, project, version):
            if attachment["filename"] not in seen:
                seen.add(attachment["filename"])
                result.append(_link_info(request, attachment, attachment["rel"]))
    return result


def project_view(request):
    """``GET /U/I/P`` (JSON): every version's data through the resolution order."""
    accept = request.headers.get("Accept")
    if not accept:
        raise UnsupportedMediaType("unsupported media type: ask for application/json")
    _require_json(request)
    match = request.matchdict
    project = normalize_project(match["project"].rstrip("/"))
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    order = [stage] if "ignore_bases" in request.GET else resolution_order(request.tx, request.app, stage)
    merged = merged_links(request.tx, request.app, stage, project, order)
    if merged is None:
        raise NotFound(f"no project '{project}'")
    links, versions, _ = merged
    result = {}
    for version in versions:
        data = _verdata(request, order, project, version, links)
        if data is not None:
            result[version] = data
    return json_response(result, "projectconfig")


def version_view(request):
    _require_json(request)
    match = request.matchdict
    project = normalize_project(match["project"])
    version = match["version"].rstrip("/")
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    order = resolution_order(request.tx, request.app, stage)
    merged = merged_links(request.tx, request.app, stage, project, order)
    data = _verdata(request, order, project, version, merged[0]) if merged else None
    if data is None:
        raise NotFound(f"The version {version} of project {project} does not exist.")
    return json_response(data, "versiondata")


def status_view(request):
    """``/+status``: server facts, plus what plugins add."""
    app = request.app
    result = {
        "serverdir": str(app.config.serverdir) if app.storage_backend.persistent else None,
        "uuid": app.node_uuid, "role": app.node_role.role.upper(), "storage": app.storage.name,
        "versioninfo": {"satchel": __version__},
        "serial": request.tx.serial, "event-serial": app.events.cursor,
        "metrics": [],
    }
    if app.node_role.is_replica:
        result.update(app.storage.status())
    for extra in app.hook.satchel_status_info(app=app):
        result.update(extra or {})
    for rows in app.hook.satchel_metrics(app=app):
        result["metrics"].extend(rows or ())
    result["metrics"].extend([
        ("satchel_simple_page_cache_hits", "counter", app.page_cache.hits),
        ("satchel_simple_page_cache_misses", "counter", app.page_cache.misses)])
    return json_response(result, "status")
