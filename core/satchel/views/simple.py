"""The simple API (PEP 503 HTML, PEP 691 JSON) of an index and its resolution order."""

from urllib.parse import quote

from webob import Response

from satchel.errors import BadRequest, NotFound
from satchel.model.indexes import require_stage, resolution_order
from satchel.model.projects import contributing_stages, merged_links, project_names, project_validators
from satchel.names import normalize_project
from satchel.views import render
from satchel.web import negotiate
from satchel.web.responses import redirect

VARY = "Accept, User-Agent"


def _link_prefix(request) -> str:
    """Prefix turning a stored ``user/index/+f/...`` path into a link relative to this page."""
    if request.app.config.get("absolute_urls") or "X-Devpi-Absolute-Urls" in request.headers:
        return request.base_url + "/"
    depth = request.path_info.count("/") - 1
    return "../" * depth


def _cached_response(request, key, media_type: str, build) -> Response:
    cache = request.app.page_cache
    entry = cache.get(key)
    if entry is None:
        body = build()
        if body is None:
            raise NotFound(f"The project {key[1]} does not exist.")
        entry = cache.put(key, body)
    etag, body = entry
    response = Response(status=200)
    response.headers["Vary"] = VARY
    response.headers["ETag"] = f'"{etag}"'
    if etag in request.if_none_match:
        response.status = 304
        del response.headers["Content-Type"]
        return response
    response.headers["Content-Type"] = media_type if media_type != negotiate.TEXT_HTML \
        else "text/html; charset=UTF-8"
    response.body = body
    return response


def _stage(request):
    return require_stage(request.tx, request.app, request.matchdict["user"], request.matchdict["index"])


def simple_project(request) -> Response:
    """``/U/I/+simple/P/`` (and the installer forms ``/U/I/P``, ``/U/I/+simple/P``)."""
    project = request.matchdict["project"].rstrip("/")
    if not project.isascii():
        raise BadRequest("unicode project names not allowed")
    normalized = normalize_project(project)
    if normalized != project and request.method in ("GET", "HEAD"):
        path = request.path_info
        head, _, tail = path.rpartition(project)
        return redirect(request.path_prefix + head + normalized + tail
                        + (f"?{request.query_string}" if request.query_string else ""), vary=VARY)
    stage = _stage(request)
    media_type = negotiate.simple_media_type(request)
    tx = request.tx
    order = resolution_order(tx, request.app, stage)
    prefix = _link_prefix(request)
    contributing = contributing_stages(tx, stage, order, normalized)
    key = ("project", normalized, stage.name, media_type, prefix,
           project_validators(tx, order, contributing, normalized))

    def build():
        merged = merged_links(tx, request.app, stage, normalized, contributing=contributing)
        if merged is None:
            return None
        links, versions, status = merged
        if media_type == negotiate.SIMPLE_JSON:
            return render.project_json(normalized, links, versions, prefix, status)
        return render.project_html(stage.name, normalized, links, prefix, status)

    response = _cached_response(request, key, media_type, build)
    response.headers.update(stage.page_headers(tx, normalized))
    return response


def simple_list(request) -> Response:
    """``/U/I/+simple/`` (and the installer forms ``/U/I``, ``/U/I/+simple``)."""
    stage = _stage(request)
    media_type = negotiate.simple_media_type(request)
    tx = request.tx
    path = request.path_info
    href_prefix = "" if path.endswith("/") else quote(path.rsplit("/", 1)[-1], safe="+@") + "/"
    order = resolution_order(tx, request.app, stage)
    if any(current.is_mirror for current in order):
        return _streamed_list(request, stage, order, media_type, href_prefix)
    # a project list depends on every record of every index in the order: key it on the serial
    key = ("list", stage.name, media_type, href_prefix, tx.serial)

    def build():
        names = project_names(tx, order)
        if media_type == negotiate.SIMPLE_JSON:
            return render.list_json(names)
        return render.list_html(stage.name, names, href_prefix)

    return _cached_response(request, key, media_type, build)


def _streamed_list(request, stage, order, media_type: str, href_prefix: str) -> Response:
    """A list including a mirror's upstream names: streamed, never built whole in memory."""
    names = project_names(request.tx, order)  # lazy past the private indexes
    if media_type == negotiate.SIMPLE_JSON:
        chunks = render.list_json_chunks(names)
    else:
        chunks = render.list_html_chunks(stage.name, names, href_prefix)
    response = Response(status=200, app_iter=chunks)
    response.headers["Content-Type"] = media_type if media_type != negotiate.TEXT_HTML \
        else "text/html; charset=UTF-8"
    response.headers["Vary"] = VARY
    return response


def simple_redirect_or_serve(view):
    """``+simple`` forms without a trailing slash: installers get the page, browsers a redirect."""

    def handler(request) -> Response:
        if negotiate.asks_simple_api(request) or request.GET.get("format"):
            return view(request)
        return redirect(request.path_prefix + request.path_info + "/", vary=VARY)

    handler.__name__ = view.__name__ + "_noslash"
    handler.__doc__ = view.__doc__
    return handler
