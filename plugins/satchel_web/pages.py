"""Rendering pages: content negotiation, the Jinja2 environment (theme first), ETag and 304."""

import functools
import hashlib
from collections.abc import Callable

from webob import Response

from satchel import __version__
from satchel.errors import SatchelError
from satchel.web import negotiate

from satchel_web.state import web_state


def wants_page(request) -> bool:
    """A browser: asks for HTML, not for JSON, and is no installer (pip, uv keep simple pages)."""
    accept = request.headers.get("Accept", "")
    if "text/html" not in accept or "json" in accept:
        return False
    return not negotiate.asks_simple_api(request) and "format" not in request.GET


def _body(request, template: str, context: dict) -> bytes:
    prefix = request.path_prefix
    return web_state(request.app).env.get_template(template).render(
        request=request, prefix=prefix, url=lambda path="": prefix + "/" + path.lstrip("/"),
        satchel_version=__version__, query=request.GET.get("query", ""), identity=request.identity,
        **context).encode("utf-8")


def _response(body: bytes, status: int = 200, etag: str | None = None) -> Response:
    response = Response(body=body, status=status, content_type="text/html", charset="UTF-8")
    response.headers["Vary"] = "Accept, User-Agent, Authorization, Cookie"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if status == 200:
        response.etag = etag or _etag(body)
        response.conditional_response = True  # WebOb answers If-None-Match with 304
    return response


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def render(request, template: str, status: int = 200, **context) -> Response:
    """The page, with an ETag from its bytes; ``If-None-Match`` gets 304."""
    return _response(_body(request, template, context), status)


def render_cached(request, key: tuple, template: str, context: Callable[[], dict]) -> Response:
    """``render``, kept in the page cache under ``key`` (the serials the page was built from);
    ``context()`` is only called to build a page not cached yet. The key is completed here with
    what every page depends on besides stored data (URL prefix, host, search box, who asks)."""
    cache = web_state(request.app).pages
    key = (template, request.path_prefix, request.base_url, request.GET.get("query", ""),
           request.identity.username, tuple(request.identity.groups), *key)
    entry = cache.get(key)
    if entry is None:
        body = _body(request, template, context())
        entry = (body, _etag(body))
        cache.put(key, *entry)
    body, etag = entry
    return _response(body, etag=etag)


def page(view):
    """A page view: a ``SatchelError`` becomes an HTML error page with its status."""

    @functools.wraps(view)
    def wrapper(request):
        try:
            return view(request)
        except SatchelError as exc:
            return render(request, "error.html", status=exc.status, message=exc.message, code=exc.status,
                          title=f"{exc.status} {exc.message}"[:120])

    return wrapper
