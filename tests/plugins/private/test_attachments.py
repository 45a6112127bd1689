"""Doc zips (stored, listed, served unpacked) and tox results (devpi test)."""

import json

import pytest

from satchel.testing.fixtures import make_zip


DOCS = make_zip({"index.html": b"<h1>docs</h1>", "api/index.html": b"api", "style.css": b"body{}"})


def upload_docs(world, content=DOCS, version="1.0", index_name="alice/dev", **kwargs):
    return world.upload(index_name, "hello-pkg-1.0.zip", content, name="hello-pkg", version=version,
                        action="doc_upload", **kwargs)


def test_doc_upload_is_listed_and_served_unpacked(world):
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"sdist")
    assert upload_docs(world).status_code == 200
    links = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    doczip = next(link for link in links if link["rel"] == "doczip")
    assert doczip["href"].endswith("/hello-pkg-1.0.doc.zip") and doczip["log"][0]["what"] == "upload"
    assert world.testapp.get(doczip["href"].replace("http://localhost", "")).body == DOCS
    assert world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/").body == b"<h1>docs</h1>"
    assert world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/index.html").body == b"<h1>docs</h1>"
    assert world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/api/").body == b"api"
    response = world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/style.css")
    assert response.content_type == "text/css" and response.body == b"body{}"
    assert world.testapp.get("/alice/dev/hello-pkg/1.0/+doc", status=302).location.endswith("+doc/")
    assert world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/api", status=302).location.endswith("api/")
    world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/missing.html", status=404)
    assert world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/../../index.html").body == b"<h1>docs</h1>"
    assert "doc.zip" not in world.simple("alice/dev", "hello-pkg")


def test_doc_upload_without_version_uses_latest_release(world):
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"a")
    world.upload("alice/dev", "hello-pkg-2.0.tar.gz", b"b")
    assert upload_docs(world, version="").status_code == 200
    links = world.json("/alice/dev/hello-pkg/2.0").json["result"]["+links"]
    assert [link["rel"] for link in links] == ["releasefile", "doczip"]


def test_doc_upload_without_any_release(world):
    response = upload_docs(world, version="")
    assert response.status_code == 400 and "no releases to derive one from" in response.status


def test_doc_upload_creates_missing_version(world):
    assert upload_docs(world, version="3.0").status_code == 200
    assert world.json("/alice/dev/hello-pkg/3.0").json["result"]["version"] == "3.0"


@pytest.mark.parametrize("content, message", [
    (b"not a zip", "not a valid zip"),
    (make_zip({"../evil.html": b"x"}), "unsafe path"),
    (make_zip({"/etc/passwd": b"x"}), "unsafe path"),
    (make_zip({"a\\b.html": b"x"}), "unsafe path"),
])
def test_bad_doczips_are_refused(world, content, message):
    before = world.serial()
    response = upload_docs(world, content=content)
    assert response.status_code == 400 and message in response.json["message"]
    assert world.serial() == before


def test_doczip_on_non_volatile_index(world):
    assert upload_docs(world, index_name="alice/prod").status_code == 200
    assert upload_docs(world, index_name="alice/prod").status == "200 Upload of identical file to non volatile index."
    other = make_zip({"index.html": b"other"})
    response = upload_docs(world, content=other, index_name="alice/prod")
    assert response.status_code == 409 and "already exists in non-volatile index" in response.status


def _release_href(world, version="1.0"):
    links = world.json(f"/alice/dev/hello-pkg/{version}").json["result"]["+links"]
    return next(link["href"] for link in links if link["rel"] == "releasefile").replace("http://localhost", "")


def test_toxresult_is_stored_and_listed(world):
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"sdist")
    href = _release_href(world)
    body = json.dumps({"reportversion": "1", "testenvs": {}}).encode()
    response = world.testapp.post(href, body, headers={"Accept": "application/json",
                                                       "Content-Type": "application/json"})
    assert response.json["type"] == "toxresultpath"
    path, _, digest = response.json["result"].partition("#sha256=")
    assert path.startswith(href.lstrip("/").rsplit("/", 1)[0]) and ".toxresult-" in path and path.endswith("-0")
    assert world.testapp.get("/" + path).body == body
    links = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    tox = next(link for link in links if link["rel"] == "toxresult")
    assert tox["for_href"].endswith(href) and tox["hashes"]["sha256"] == digest
    second = world.testapp.post(href, body, headers={"Content-Type": "application/json"})
    assert second.json["result"].split("#")[0].endswith("-1")


def test_toxresult_errors(world):
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"sdist")
    href = _release_href(world)
    before = world.serial()
    response = world.testapp.post(href, b"{not json", status=400)
    assert response.json["message"] == "Bad request: could not decode json"
    response = world.testapp.post(href + "x", b"{}", status=404)
    assert response.json["message"].startswith("no release file found at alice/dev/+f/")
    with world.app.storage.write() as tx:
        config = tx.get("indexes/alice/dev")
        config["acl_toxresult_upload"] = ["alice"]
        tx.set("indexes/alice/dev", config)
    response = world.testapp.post(href, b"{}", status=403)
    assert "devpi test --no-upload" in response.json["message"]
    assert world.serial() == before + 1
