"""The simple API (PEP 503 HTML, PEP 691 JSON) of an index and its resolution order."""

import zlib
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from webob import Response

from satchel.errors import BadRequest, NotFound
from satchel.identity import ANONYMOUS
from satchel.model.indexes import Stage, require_stage, resolution_order
from satchel.model.projects import contributing_stages, merged_links, project_names, project_validators
from satchel.names import normalize_project
from satchel.views import render
from satchel.web import negotiate
from satchel.web.pagecache import Page, accepts_gzip
from satchel.web.responses import redirect
from satchel.web.wsgi import OPEN_PERMISSIONS

VARY = "Accept, User-Agent"
# a mirror's list is tens of MB and rarely asked for: level 1 compresses it about 3x as fast as level 6,
# to a few percent more bytes, and the answer goes out as it is produced
STREAM_GZIP_LEVEL = 1


def _link_prefix(request) -> tuple[str, list[str] | None]:
    """Prefix turning a stored ``user/index/+f/...`` path into a link relative to this page,
    and the page's directory (None for absolute links)."""
    if request.app.config.get("absolute_urls") or "X-Devpi-Absolute-Urls" in request.headers:
        return request.base_url + "/", None
    page_dir = request.path_info.split("/")[1:-1]
    return "../" * len(page_dir), page_dir


def _content_type(media_type: str) -> str:
    return "text/html; charset=UTF-8" if media_type == negotiate.TEXT_HTML else media_type


def _page_response(request, page: Page) -> Response:
    status, headers, body = page.answer(request.environ, strip_head=False)  # webob strips HEAD bodies
    return Response(status=status, headerlist=headers, app_iter=[body])


def _cached_page(request, key, media_type: str, build, extra_headers=()) -> Page:
    cache = request.app.page_cache
    page = cache.get(key)
    if page is None:
        body = build()
        if body is None:
            raise NotFound(f"The project {key[1]} does not exist.")
        page = cache.put(key, Page(cache.etag_for(key), body, _content_type(media_type), VARY,
                                   extra_headers))
    return page


def _fast_key(environ, app):
    """What a page found without storage is keyed by: path and negotiated form (None: not cacheable)."""
    if environ.get("QUERY_STRING") or "HTTP_X_DEVPI_ABSOLUTE_URLS" in environ or app.config.get("absolute_urls"):
        return None
    return environ.get("PATH_INFO", ""), negotiate.negotiate_accept(environ.get("HTTP_ACCEPT", ""))


def cached_answer(environ, app):
    """``(answer, pending)``: ``answer`` is ``(status, headers, body, serial)`` of a page whose indexes saw
    no commit since it was built and that anyone may read, else None; ``pending`` is what the full path
    remembers the page under (``request.fast_page``), None when the request is not cacheable.

    Runs before any request object or storage snapshot exists (``WSGIApplication``); the caller makes
    sure the request is anonymous. A None answer sends the request down the full path, which
    remembers the page for next time.
    """
    key = _fast_key(environ, app)
    if key is None:
        return None, None
    cache = app.page_cache
    pending = (key, cache.current())  # taken before the snapshot is opened
    found = cache.get_fast(key)
    if found is None or not found[1]:  # not there, or not public: the full path checks who asks
        return None, pending
    cache.hits += 1  # unlocked: a lost increment in a statistic is not worth a lock per hit
    status, headers, body = found[0].answer(environ)
    return (status, headers, body, pending[1]), pending


def _follows_commits(stage) -> bool:
    """Pages of this index change only by commits of keys scoped to it (not a mirror's)."""
    cls = type(stage)
    return (not stage.is_mirror and cls.project_serial is Stage.project_serial
            and cls.get_project is Stage.get_project and cls.page_headers is Stage.page_headers)


def _anonymous_may_read(request, stage) -> bool:
    """Whether an anonymous caller passes the checks this request passed (route permission, ``pkg_read``
    on the index as ``WSGIApplication`` checks it): then the page is served without asking who calls."""

    def permits(permission, context) -> bool:
        answer = request.app.hook.satchel_permits(request=request, identity=ANONYMOUS, permission=permission,
                                                  context=context)
        return permission in OPEN_PERMISSIONS if answer is None else bool(answer)

    permission = request.route.permission if request.route is not None else None
    return (permission is None or permits(permission, request.matchdict)) and permits("pkg_read", stage)


def _remember_fast(request, page: Page, stage, order) -> None:
    """Let the next request for this path find ``page`` without storage, when that is safe."""
    pending = getattr(request, "fast_page", None)
    if pending is None or not all(_follows_commits(s) for s in order):
        return
    key, clock = pending
    # a missing base joins the order once created: its name is a dependency too
    deps = {s.name for s in order} | {base for s in order for base in s.config.get("bases", ())}
    request.app.page_cache.put_fast(key, page, clock, deps, _anonymous_may_read(request, stage))


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
    prefix, page_dir = _link_prefix(request)
    contributing = contributing_stages(tx, stage, order, normalized)
    key = ("project", normalized, stage.name, media_type, prefix,
           project_validators(tx, order, contributing, normalized))

    def build():
        merged = merged_links(tx, request.app, stage, normalized, contributing=contributing)
        if merged is None:
            return None
        links, versions, status = merged
        if media_type == negotiate.SIMPLE_JSON:
            return render.project_json(normalized, links, versions, prefix, status, page_dir)
        return render.project_html(stage.name, normalized, links, prefix, status, page_dir)

    page = _cached_page(request, key, media_type, build, stage.page_headers(tx, normalized).items())
    _remember_fast(request, page, stage, order)
    return _page_response(request, page)


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

    return _page_response(request, _cached_page(request, key, media_type, build))


def _streamed_list(request, stage, order, media_type: str, href_prefix: str) -> Response:
    """A list including a mirror's upstream names: streamed, never built whole in memory."""
    names = project_names(request.tx, order)  # lazy past the private indexes
    if media_type == negotiate.SIMPLE_JSON:
        chunks = render.list_json_chunks(names)
    else:
        chunks = render.list_html_chunks(stage.name, names, href_prefix)
    zipped = accepts_gzip(request.environ.get("HTTP_ACCEPT_ENCODING", ""))
    response = Response(status=200, app_iter=_gzipped(chunks) if zipped else chunks)
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Type"] = _content_type(media_type)
    response.headers["Vary"] = f"{VARY}, Accept-Encoding"
    return response


def _gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` as one gzip stream, compressed as they come (never the whole body in memory)."""
    compressor = zlib.compressobj(STREAM_GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
    for chunk in chunks:
        data = compressor.compress(chunk)
        if data:
            yield data
    yield compressor.flush()


def simple_redirect_or_serve(view):
    """``+simple`` forms without a trailing slash: installers get the page, browsers a redirect."""

    def handler(request) -> Response:
        if negotiate.asks_simple_api(request) or request.GET.get("format"):
            return view(request)
        return redirect(request.path_prefix + request.path_info + "/", vary=VARY)

    handler.__name__ = view.__name__ + "_noslash"
    handler.__doc__ = view.__doc__
    return handler


simple_project.cached_answer = cached_answer  # WSGIApplication asks it before opening storage
