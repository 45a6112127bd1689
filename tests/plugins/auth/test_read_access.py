"""Per-index read access (``acl_read``): 401 for anonymous, 403 for others, on every read route."""

import base64
import json

import pytest
from webtest import TestApp

from satchel.testing.fixtures import Filler, make_wheel


def basic(user: str, password: str = "pw") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


JSON = {"Accept": "application/json"}


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def world(request, make_app):
    """alice/secret readable by alice and carol; bob is another user; a release, docs and a tox result."""
    app = make_app(storage=request.param)
    filler = Filler(app)
    for name in ("alice", "bob", "carol"):
        filler.user(name)
    filler.index("alice", "secret", acl_read="carol")
    web = TestApp(app.wsgi)
    filename, content = make_wheel("hello-pkg", "1.0")
    web.post("/alice/secret/", params=[(":action", "file_upload"), ("name", "hello-pkg"), ("version", "1.0")],
             upload_files=[("content", filename, content)], headers=basic("alice"))
    docs = _zip({"index.html": b"<h1>docs</h1>"})
    web.post("/alice/secret/", params=[(":action", "doc_upload"), ("name", "hello-pkg"), ("version", "1.0")],
             upload_files=[("content", "hello-pkg-1.0.zip", docs)], headers=basic("alice"))
    links = web.get("/alice/secret/hello-pkg/1.0", headers={**JSON, **basic("alice")}).json["result"]["+links"]
    href = next(link["href"] for link in links if link["rel"] == "releasefile").replace("http://localhost", "")
    tox = web.post(href, json.dumps({"testenvs": {}}).encode(),
                   headers={**JSON, "Content-Type": "application/json", **basic("alice")})
    web.file_href = href
    web.tox_href = "/" + tox.json["result"].split("#")[0]
    web.app_ = app
    return web


def _zip(files):
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def read_paths(world):
    return [
        ("/alice/secret/+simple/", {}),
        ("/alice/secret/+simple/hello-pkg/", {}),
        ("/alice/secret/+simple/hello-pkg/", {"Accept": "application/vnd.pypi.simple.v1+json"}),
        ("/alice/secret/hello-pkg/", {"User-Agent": "pip/24.0"}),
        ("/alice/secret", JSON),
        ("/alice/secret/hello-pkg", JSON),
        ("/alice/secret/hello-pkg/1.0", JSON),
        ("/alice/secret/hello-pkg/1.0/+doc/index.html", {}),
        (world.file_href, {}),
        (world.file_href + ".metadata", {}),
        (world.tox_href, {}),
    ]


def test_anonymous_gets_401_with_basic_challenge(world):
    for path, headers in read_paths(world):
        response = world.get(path, headers=headers, status=401)
        assert response.headers["WWW-Authenticate"].startswith("Basic"), path
        assert "alice/secret" in response.text


def test_other_user_gets_403(world):
    for path, headers in read_paths(world):
        response = world.get(path, headers={**headers, **basic("bob")}, status=403)
        assert "acl_read" in response.text and "WWW-Authenticate" not in response.headers


def test_listed_readers_owner_and_root_read(world):
    for user in ("alice", "carol", "root"):
        password = "" if user == "root" else "pw"
        for path, headers in read_paths(world):
            world.get(path, headers={**headers, **basic(user, password)}, status=200)


def test_head_is_checked_too(world):
    world.head(world.file_href, status=401)
    world.head(world.file_href, headers=basic("carol"), status=200)


def test_etag_and_page_cache_do_not_leak(world):
    page = world.get("/alice/secret/+simple/hello-pkg/", headers=basic("carol"))
    etag = page.headers["ETag"]
    assert "hello_pkg-1.0" in page.text
    for headers in ({}, basic("bob")):
        response = world.get("/alice/secret/+simple/hello-pkg/", headers={"If-None-Match": etag, **headers},
                             status=(401, 403))
        assert "hello_pkg" not in response.text and "ETag" not in response.headers
    world.get("/alice/secret/+simple/hello-pkg/", headers={"If-None-Match": etag, **basic("carol")}, status=304)


def test_authenticated_principal_and_bad_password(world):
    world.patch_json("/alice/secret", {"acl_read": ":authenticated:"}, headers={**JSON, **basic("alice")})
    config = world.get("/alice/secret", headers={**JSON, **basic("bob")}).json["result"]
    assert config["acl_read"] == [":AUTHENTICATED:"]
    world.get(world.file_href, headers=basic("bob"), status=200)
    world.get(world.file_href, headers=basic("bob", "wrong"), status=401)  # bad credentials: anonymous


def test_opening_again_and_default_is_open(world):
    assert world.get("/root/pypi", headers=JSON).json["result"]["acl_read"] == [":ANONYMOUS:"]
    world.patch_json("/alice/secret", {"acl_read": ":ANONYMOUS:"}, headers={**JSON, **basic("alice")})
    world.get(world.file_href, status=200)


def test_index_api_stays_reachable(world):
    """devpi-client asks /U/I/+api before it logs in; it only tells URLs."""
    assert world.get("/alice/secret/+api", headers=JSON).json["result"]["index"].endswith("/alice/secret")


def test_reading_needs_every_base(world):
    world.put_json("/bob/open", {"bases": []}, headers={**JSON, **basic("bob")})
    world.patch_json("/alice/secret", {"acl_read": "carol,bob"}, headers={**JSON, **basic("alice")})
    world.put_json("/bob/inherits", {"bases": ["alice/secret"]}, headers={**JSON, **basic("bob")})
    world.get("/bob/inherits/+simple/hello-pkg/", headers=basic("bob"), status=200)
    # alice takes bob's read access away: his index now refuses, although it is open itself
    world.patch_json("/alice/secret", {"acl_read": "carol"}, headers={**JSON, **basic("alice")})
    world.get("/bob/inherits/+simple/hello-pkg/", headers=basic("bob"), status=403)
    world.get("/bob/inherits/+simple/hello-pkg/", status=401)
    world.get("/bob/open/+simple/", status=200)


def test_bases_the_user_cannot_read_are_refused(world):
    serial = world.app_.storage.last_serial()
    response = world.put_json("/bob/sneaky", {"bases": ["alice/secret"]}, headers={**JSON, **basic("bob")},
                              status=403)
    assert "alice/secret" in response.json["message"] and "acl_read" in response.json["message"]
    world.put_json("/bob/plain", {}, headers={**JSON, **basic("bob")})
    world.patch_json("/bob/plain", {"bases": ["alice/secret"]}, headers={**JSON, **basic("bob")}, status=403)
    # an index inheriting from the secret one is refused as a base too
    world.put_json("/carol/inherits", {"bases": ["alice/secret"]}, headers={**JSON, **basic("carol")})
    world.patch_json("/bob/plain", {"bases": ["carol/inherits"]}, headers={**JSON, **basic("bob")}, status=403)
    assert world.get("/bob/plain", headers=JSON).json["result"]["bases"] == []
    assert world.app_.storage.last_serial() == serial + 2  # only the two creations were stored


def test_root_and_user_lists_hide_unreadable_indexes(world):
    listed = world.get("/", headers=JSON).json["result"]
    assert "secret" not in listed["alice"]["indexes"] and "pypi" in listed["root"]["indexes"]
    assert "secret" not in world.get("/alice", headers={**JSON, **basic("bob")}).json["result"]["indexes"]
    assert "secret" in world.get("/alice", headers={**JSON, **basic("carol")}).json["result"]["indexes"]
    assert "secret" in world.get("/", headers={**JSON, **basic("root", "")}).json["result"]["alice"]["indexes"]


def test_bad_acl_read_value(world):
    response = world.patch_json("/alice/secret", {"acl_read": 5}, headers={**JSON, **basic("alice")}, status=400)
    assert "message" in response.json
