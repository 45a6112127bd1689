"""The simple API through WSGI: PEP 503 HTML, PEP 691 JSON, negotiation, inheritance, caching."""

import re
from urllib.parse import urljoin

import pytest

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def dev(filler):
    filler.user("alice")
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0", requires_python=">=3.8")
    filler.file("alice/dev", "hello-pkg", "1.1", filename="hello-pkg-1.1.tar.gz", content=b"sdist 1.1",
                yanked="broken build")
    return filler


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_project_page_html(testapp, dev):
    response = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"Accept": "text/html"})
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    links = hrefs(response.text)
    assert len(links) == 2
    assert links[0].startswith("../../+f/")  # the shortest relative link
    assert re.search(r"#sha256=[0-9a-f]{64}$", links[0])
    assert 'data-requires-python="&gt;=3.8"' in response.text
    assert 'data-yanked="broken build"' in response.text
    assert 'data-core-metadata="sha256=' in response.text
    assert response.text.count('data-dist-info-metadata="true"') == 1  # kept for older pip (PEP 714)
    assert 'data-requires-python=""' not in response.text  # the sdist has none: no empty attribute
    anchors = [line for line in response.text.splitlines() if "href=" in line]
    # one anchor a line and nothing around it: no origin text, no <br> (installers read neither)
    assert len(anchors) == 2 and all(re.fullmatch(r"<a [^<]*>[^<]+</a>", line) for line in anchors)
    assert "<br" not in response.text and "alice/dev <a" not in response.text


def test_project_page_json_pep691_and_pep700(testapp, dev):
    response = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"Accept": PIP_ACCEPT})
    assert response.headers["Content-Type"] == JSON_TYPE
    data = response.json
    assert data["meta"]["api-version"] == "1.1"
    assert data["name"] == "hello-pkg"
    assert data["versions"] == ["1.0", "1.1"]
    wheel, sdist = data["files"]
    assert wheel["filename"] == "hello_pkg-1.0-py3-none-any.whl"
    assert wheel["requires-python"] == ">=3.8"
    assert set(wheel["hashes"]) == {"sha256"}
    assert wheel["core-metadata"]["sha256"]
    assert wheel["dist-info-metadata"] is True
    assert "requires-python" not in data["files"][1]
    assert wheel["size"] > 0 and wheel["upload-time"].endswith("Z")
    assert sdist["yanked"] == "broken build"
    assert "core-metadata" not in sdist


def test_links_resolve_to_files_with_matching_hash(testapp, dev):
    import hashlib

    data = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"Accept": JSON_TYPE}).json
    for entry in data["files"]:
        url = "/alice/dev/+simple/hello-pkg/" + entry["url"]
        # resolve ../ segments as a client would
        parts = []
        for part in url.split("/"):
            if part == "..":
                parts.pop()
            else:
                parts.append(part)
        body = testapp.get("/".join(parts)).body
        assert hashlib.sha256(body).hexdigest() == entry["hashes"]["sha256"]


@pytest.mark.parametrize("fmt, expected", [
    ("application/vnd.pypi.simple.v1+json", JSON_TYPE),
    ("application/vnd.pypi.simple.latest+json", JSON_TYPE),
    ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
    ("text/html", "text/html; charset=UTF-8"),
])
def test_format_query_overrides_accept(testapp, dev, fmt, expected):
    response = testapp.get("/alice/dev/+simple/hello-pkg/", params={"format": fmt},
                           headers={"Accept": "text/html"})
    assert response.headers["Content-Type"] == expected


def test_unknown_format_is_406(testapp, dev):
    response = testapp.get("/alice/dev/+simple/hello-pkg/", params={"format": "image/png"}, status=406)
    assert "unsupported format" in response.json["message"]


@pytest.mark.parametrize("accept, expected", [
    ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.6", JSON_TYPE),
    ("application/vnd.pypi.simple.v1+json;q=0.1, text/html", "text/html; charset=UTF-8"),
    ("*/*", "text/html; charset=UTF-8"),
    ("application/json", "text/html; charset=UTF-8"),
])
def test_negotiation_by_q_values(testapp, dev, accept, expected):
    response = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"Accept": accept})
    assert response.headers["Content-Type"] == expected


def test_non_normalized_name_redirects(testapp, dev):
    response = testapp.get("/alice/dev/+simple/Hello_Pkg/", status=302)
    assert response.location.endswith("/alice/dev/+simple/hello-pkg/")


def test_unknown_project_and_index(testapp, dev):
    response = testapp.get("/alice/dev/+simple/nothing/", headers={"Accept": "application/json"}, status=404)
    assert response.json["message"] == "The project nothing does not exist."
    response = testapp.get("/alice/nope/+simple/hello-pkg/", headers={"Accept": "application/json"}, status=404)
    assert "alice/nope" in response.json["message"]


def test_unicode_project_name_is_400(testapp, dev):
    response = testapp.get("/alice/dev/+simple/h%C3%A9llo/", headers={"Accept": "application/json"}, status=400)
    assert response.json["message"] == "unicode project names not allowed"


def test_etag_and_304(testapp, dev):
    first = testapp.get("/alice/dev/+simple/hello-pkg/")
    etag = first.headers["ETag"]
    again = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"If-None-Match": etag}, status=304)
    assert again.body == b""
    # a new upload changes the page and its ETag
    dev.file("alice/dev", "hello-pkg", "1.2")
    changed = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"If-None-Match": etag}, status=200)
    assert changed.headers["ETag"] != etag
    assert "hello_pkg-1.2-py3-none-any.whl" in changed.text


def test_json_and_html_have_different_etags(testapp, dev):
    html = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"Accept": "text/html"})
    data = testapp.get("/alice/dev/+simple/hello-pkg/", headers={"Accept": JSON_TYPE})
    assert html.headers["ETag"] != data.headers["ETag"]
    assert "Accept" in html.headers["Vary"]


def test_project_list(testapp, dev):
    dev.file("alice/dev", "other", "0.1")
    html = testapp.get("/alice/dev/+simple/")
    assert hrefs(html.text) == ["hello-pkg/", "other/"]
    assert '<a href="hello-pkg/">hello-pkg</a>\n<a href="other/">other</a>\n</body>' in html.text
    data = testapp.get("/alice/dev/+simple/", headers={"Accept": JSON_TYPE}).json
    assert data["projects"] == [{"name": "hello-pkg"}, {"name": "other"}]


def test_project_list_post_is_405(testapp, dev):
    testapp.post("/alice/dev/+simple/", status=405)


def test_noslash_forms(testapp, dev):
    browser = testapp.get("/alice/dev/+simple", headers={"User-Agent": "Mozilla/5.0"}, status=302)
    assert browser.location.endswith("/alice/dev/+simple/")
    installer = testapp.get("/alice/dev/+simple", headers={"User-Agent": "pip/24.0"}, status=200)
    assert hrefs(installer.text) == ["+simple/hello-pkg/"]
    project = testapp.get("/alice/dev/+simple/hello-pkg", headers={"User-Agent": "pip/24.0"})
    assert urljoin("/alice/dev/+simple/hello-pkg", hrefs(project.text)[0]).startswith("/alice/dev/+f/")


@pytest.mark.parametrize("headers", [
    {"User-Agent": "pip/24.0 {\"installer\": 1}"},
    {"User-Agent": "uv/0.13.8"},
    {"User-Agent": "Python-urllib/3.11 setuptools/68"},
    {"Accept": PIP_ACCEPT, "User-Agent": "curl/8"},
])
def test_installers_get_simple_pages_at_index_url(testapp, dev, headers):
    listing = testapp.get("/alice/dev/", headers=headers)
    assert listing.headers["Content-Type"] in ("text/html; charset=UTF-8", JSON_TYPE)
    assert "hello-pkg" in listing.text
    page = testapp.get("/alice/dev/hello-pkg/", headers=headers)
    assert "hello_pkg-1.0-py3-none-any.whl" in page.text
    noslash = testapp.get("/alice/dev/hello-pkg", headers=headers)
    assert noslash.status_int == 200
    # links from /alice/dev/hello-pkg/ climb only to the index
    link = re.search(r'(?:href=|"url": )"([^"#]+)', page.text).group(1)
    assert link.startswith("../+f/")
    assert urljoin("/alice/dev/hello-pkg/", link).startswith("/alice/dev/+f/")


def test_json_clients_still_get_the_rest_api(testapp, dev):
    headers = {"Accept": "application/json", "User-Agent": "devpi-client/7.3.0"}
    response = testapp.get("/alice/dev", headers=headers)
    assert response.json["type"] == "indexconfig"
    assert response.json["result"]["projects"] == ["hello-pkg"]
    project = testapp.get("/alice/dev/hello-pkg", headers=headers)
    assert project.json["type"] == "projectconfig"
    assert set(project.json["result"]) == {"1.0", "1.1"}


def test_inheritance_merges_bases(testapp, dev):
    dev.index("alice", "prod", bases=["alice/dev"])
    dev.file("alice/prod", "hello-pkg", "2.0")
    data = testapp.get("/alice/prod/+simple/hello-pkg/", headers={"Accept": JSON_TYPE}).json
    names = [f["filename"] for f in data["files"]]
    assert names == ["hello_pkg-2.0-py3-none-any.whl", "hello_pkg-1.0-py3-none-any.whl", "hello-pkg-1.1.tar.gz"]
    html = testapp.get("/alice/prod/+simple/hello-pkg/").text
    own, *based = hrefs(html)
    assert own.startswith("../../+f/")  # the page's own index
    assert len(based) == 2 and all(href.startswith("../../../dev/+f/") for href in based)
    listing = testapp.get("/alice/prod/+simple/", headers={"Accept": JSON_TYPE}).json
    assert listing["projects"] == [{"name": "hello-pkg"}]


def test_base_change_invalidates_cached_page(testapp, dev, app):
    from satchel.model import keys

    dev.index("alice", "prod")
    before = testapp.get("/alice/prod/+simple/hello-pkg/", headers={"Accept": "application/json"}, status=404)
    assert before.status_int == 404
    with app.storage.write() as tx:
        config = tx.get(keys.index("alice", "prod"))
        tx.set(keys.index("alice", "prod"), {**config, "bases": ["alice/dev"]})
    after = testapp.get("/alice/prod/+simple/hello-pkg/")
    assert "hello-pkg-1.1.tar.gz" in after.text
