"""DELETE of files, versions and projects (devpi's rules), and yanking over the REST API."""

import json

from satchel.model import keys

JSON = {"Accept": "application/json"}


def setup_release(world, index_name="alice/dev"):
    world.upload(index_name, "hello-pkg-1.0.tar.gz", b"one")
    world.wheel(index_name, version="1.0")
    world.upload(index_name, "hello-pkg-2.0.tar.gz", b"two")


def file_path(world, filename, index_name="alice/dev"):
    with world.app.storage.read() as tx:
        return "/" + tx.get(keys.link(index_name, "hello-pkg", filename))["path"]


def test_delete_file_then_gone(world, auth):
    setup_release(world)
    path = file_path(world, "hello-pkg-1.0.tar.gz")
    response = world.testapp.delete(path, headers={**JSON, **auth("alice")})
    assert response.json["message"] == f"package {path[1:]!r} deleted"
    assert "hello-pkg-1.0.tar.gz" not in world.simple("alice/dev", "hello-pkg")
    response = world.testapp.get(path, headers=JSON, status=410)
    assert response.json["message"] == "file existed, deleted in later serial"
    response = world.testapp.delete(path, headers={**JSON, **auth("alice")}, status=410)
    assert "existed, deleted in later serial" in response.json["message"]
    world.testapp.delete(path + "x", headers={**JSON, **auth("alice")}, status=404)
    assert "1.0" in world.json("/alice/dev/hello-pkg").json["result"]


def test_last_file_removes_version_and_project(world, auth):
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"one")
    path = file_path(world, "hello-pkg-1.0.tar.gz")
    world.testapp.delete(path, headers=auth("alice"))
    world.json("/alice/dev/hello-pkg", status=404)
    assert "hello-pkg" not in world.json("/alice/dev").json["result"]["projects"]


def test_delete_version(world, auth):
    setup_release(world)
    response = world.testapp.delete("/alice/dev/hello-pkg/1.0", headers=auth("alice"))
    assert response.json["message"] == "project 'hello-pkg' version '1.0' deleted"
    assert list(world.json("/alice/dev/hello-pkg").json["result"]) == ["2.0"]
    page = world.simple("alice/dev", "hello-pkg")
    assert "hello-pkg-2.0.tar.gz" in page and "1.0" not in page
    response = world.testapp.delete("/alice/dev/hello-pkg/1.0", headers=auth("alice"), status=404)
    assert response.json["message"] == "The version 1.0 of project hello-pkg does not exist."


def test_delete_project(world, auth):
    setup_release(world)
    response = world.testapp.delete("/alice/dev/Hello_Pkg/", headers=auth("alice"))
    assert response.json["message"] == "project hello-pkg deleted from stage alice/dev"
    world.testapp.get("/alice/dev/+simple/hello-pkg/", status=404)
    world.testapp.delete("/alice/dev/hello-pkg", headers=auth("alice"), status=404)


def test_non_volatile_needs_force(world, auth):
    setup_release(world, "alice/prod")
    path = file_path(world, "hello-pkg-1.0.tar.gz", "alice/prod")
    before = world.serial()
    cases = [(path, "cannot delete version on non-volatile index"),
             ("/alice/prod/hello-pkg/1.0", "cannot delete version on non-volatile index"),
             ("/alice/prod/hello-pkg", "project 'hello-pkg' is on non-volatile index alice/prod")]
    for url, message in cases:
        assert world.testapp.delete(url, headers=auth("alice"), status=403).json["message"] == message
    assert world.serial() == before
    world.testapp.delete(path + "?force=", headers=auth("alice"))
    world.testapp.delete("/alice/prod/hello-pkg/2.0?force", headers=auth("alice"))
    world.testapp.delete("/alice/prod/hello-pkg?force", headers=auth("alice"))
    world.testapp.get("/alice/prod/+simple/hello-pkg/", status=404)


def test_delete_permissions(world, auth):
    setup_release(world)
    before = world.serial()
    for headers in ({}, auth("bob")):
        world.testapp.delete("/alice/dev/hello-pkg", headers=headers, status=403)
        world.testapp.delete("/alice/dev/hello-pkg/1.0", headers=headers, status=403)
    assert world.serial() == before
    world.testapp.delete("/alice/dev/hello-pkg", headers=auth("root", ""))


def test_deleted_version_takes_attachments(world, auth):
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"one")
    world.upload("alice/dev", "hello-pkg-1.0.zip", b"PK\x05\x06" + b"\0" * 18, name="hello-pkg",
                 version="1.0", action="doc_upload")
    world.testapp.get("/alice/dev/hello-pkg/1.0/+doc/", status=404)
    world.testapp.delete("/alice/dev/hello-pkg/1.0", headers=auth("alice"))
    with world.app.storage.read() as tx:
        assert tx.keys("attachments/alice/dev/") == [] and tx.keys("files/alice/dev/") == []


def patch(world, url, body, user="alice", status=200):
    headers = {**JSON, "Content-Type": "application/json", **(world.auth(user) if user else {})}
    return world.testapp.patch(url, json.dumps(body), headers=headers, status=status)


def test_yank_version_and_file(world, auth):
    world.auth = auth
    setup_release(world)
    response = patch(world, "/alice/dev/hello-pkg/1.0", {"yanked": "broken build"})
    assert response.json["result"] == {"yanked": "broken build",
                                       "files": ["hello-pkg-1.0.tar.gz", "hello_pkg-1.0-py3-none-any.whl"]}
    page = world.simple("alice/dev", "hello-pkg")
    assert page.count('data-yanked="broken build"') == 2
    data = json.loads(world.testapp.get("/alice/dev/+simple/hello-pkg/",
                                        headers={"Accept": "application/vnd.pypi.simple.v1+json"}).body)
    assert {f["filename"]: f.get("yanked") for f in data["files"]}["hello-pkg-2.0.tar.gz"] is None
    assert {f["filename"]: f.get("yanked") for f in data["files"]}["hello-pkg-1.0.tar.gz"] == "broken build"
    path = file_path(world, "hello-pkg-1.0.tar.gz")
    patch(world, path, {"yanked": False})
    page = world.simple("alice/dev", "hello-pkg")
    assert page.count("data-yanked") == 1
    patch(world, "/alice/dev/hello-pkg/2.0", {"yanked": True})
    assert 'hello-pkg-2.0.tar.gz</a>' in page
    assert world.simple("alice/dev", "hello-pkg").count('data-yanked=""') == 1
    links = world.json("/alice/dev/hello-pkg/2.0").json["result"]["+links"]
    assert links[0]["yanked"] is True


def test_yank_errors(world, auth):
    world.auth = auth
    setup_release(world)
    before = world.serial()
    patch(world, "/alice/dev/hello-pkg/1.0", {"yanked": 3}, status=400)
    patch(world, "/alice/dev/hello-pkg/1.0", {"yanked": True, "x": 1}, status=400)
    patch(world, "/alice/dev/hello-pkg/9.9", {"yanked": True}, status=404)
    patch(world, "/alice/dev/hello-pkg/1.0", {"yanked": True}, user=None, status=401)
    patch(world, "/alice/dev/hello-pkg/1.0", {"yanked": True}, user="bob", status=403)
    assert world.serial() == before
