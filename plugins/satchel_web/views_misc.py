"""Status (human form of ``/+status``), search and static files."""

import hashlib
import json
import mimetypes
import re

from webob import Response

from satchel.errors import NotFound
from satchel.views import api

from satchel_web import search_query
from satchel_web.access import readable_index_names
from satchel_web.state import web_state
from satchel_web.pages import page, render, render_cached

STATIC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\Z")
PER_PAGE = 20


@page
def status_page(request):
    """The same facts as the JSON status, as nested tables."""
    status = json.loads(api.status_view(request).body)["result"]
    metrics = status.pop("metrics", [])
    return render(request, "status.html", title="server status", facts=status, metrics=metrics)


@page
def search_page(request):
    text = request.GET.get("query", "").strip()
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    backend = web_state(request.app).search

    def context():
        query = search_query.parse(text)
        result = None
        if query:
            readable = readable_index_names(request)
            result = backend.search(query, readable.__contains__, offset=(number - 1) * PER_PAGE, limit=PER_PAGE)
        pages = -(-result.total // PER_PAGE) if result else 0
        return dict(title=f"search: {text}" if text else "search", text=text, result=result, page=number,
                    pages=pages)

    # a backend that can say which serial it answers at gets its result pages kept under it: read
    # before searching, so a kept page is never older than its key (who asks is part of every key)
    current = getattr(backend, "current_serial", None)
    if current is None:
        return render(request, "search.html", **context())
    return render_cached(request, ("search", text, number, current()), "search.html", context)


def static_file(request):
    """``/+static/NAME``: the theme's file if it has one, else the built-in one."""
    name = request.matchdict["name"]
    if not STATIC_NAME.match(name):
        raise NotFound(f"no static file {name}")
    web = web_state(request.app)
    for directory in web.static_dirs:
        path = directory / name
        if path.is_file():
            data = path.read_bytes()
            break
    else:
        raise NotFound(f"no static file {name}")
    response = Response(body=data, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response.etag = hashlib.sha256(data).hexdigest()[:32]
    response.headers["Cache-Control"] = "max-age=3600, public"
    response.conditional_response = True
    return response
