"""A mirror whose upstream is another satchel index: its HTML pages (one bare anchor a line) and its JSON."""

import hashlib
from types import SimpleNamespace

import pytest

from satchel.testing.fixtures import Filler, make_wheel

PIP = {"User-Agent": "pip/24.0 CPython/3.11"}
JSON_V1 = "application/vnd.pypi.simple.v1+json"


def _recorded(wsgi, only_html: bool, types: dict):
    """The upstream app, noting each page's Content-Type; ``only_html``: as an HTML-only index (or one
    behind a proxy dropping Accept) would answer."""

    def app(environ, start_response):
        if only_html:
            environ["HTTP_ACCEPT"] = "text/html"

        def noting(status, headers, exc_info=None):
            types[environ["PATH_INFO"]] = dict(headers).get("Content-Type", "").split(";")[0]
            return start_response(status, headers, exc_info)

        return wsgi(environ, noting)

    return app


def _upstream_files(app) -> dict:
    from webtest import TestApp

    page = TestApp(app.wsgi).get("/alice/dev/+simple/hello-pkg/", headers={**PIP, "Accept": JSON_V1})
    return {entry["filename"]: entry for entry in page.json["files"]}


@pytest.fixture
def upstream(make_app):
    app = make_app(storage="memory", no_root_pypi=True)
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0", requires_python=">=3.8")
    filler.file("alice/dev", "hello-pkg", "1.1", filename="hello-pkg-1.1.tar.gz", content=b"sdist 1.1",
                yanked="broken build")
    filler.file("alice/dev", "other-pkg", "0.1")
    return app


@pytest.mark.parametrize("form", ["html", "json"])
def test_mirror_of_a_satchel_index_reads_its_pages(make_world, serve, upstream, form):
    types = {}
    server = serve(SimpleNamespace(wsgi=_recorded(upstream.wsgi, form == "html", types)))
    world = make_world(upstream=SimpleNamespace(url=f"{server.url}/alice/dev/+simple/"))
    listing = world.web.get("/root/mirror/+simple/", headers={**PIP, "Accept": JSON_V1})
    assert [entry["name"] for entry in listing.json["projects"]] == ["hello-pkg", "other-pkg"]
    files = {f["filename"]: f for f in world.page("hello-pkg", json=True).json["files"]}
    wheel_name = make_wheel("hello-pkg", "1.0")[0]
    assert set(files) == {wheel_name, "hello-pkg-1.1.tar.gz"}
    assert files[wheel_name]["requires-python"] == ">=3.8"
    theirs = _upstream_files(upstream)
    assert all(files[name]["hashes"] == theirs[name]["hashes"] for name in files)
    assert files[wheel_name]["core-metadata"] == theirs[wheel_name]["core-metadata"]
    assert files["hello-pkg-1.1.tar.gz"]["yanked"] == "broken build"
    page_type = "text/html" if form == "html" else JSON_V1
    assert types["/alice/dev/+simple/hello-pkg/"] == page_type and types["/alice/dev/+simple/"] == "text/html"
    for name in files:  # fetched from the upstream through the links read from its page
        assert hashlib.sha256(world.file("hello-pkg", name).body).hexdigest() == theirs[name]["hashes"]["sha256"]
