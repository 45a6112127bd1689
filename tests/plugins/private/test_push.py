"""devpi push: between indexes of this server, and to an external upload URL."""

import json

import pytest

from satchel.model import keys

pytestmark = pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def push(world, body, index_name="alice/dev", user="alice", status=200, method="PUSH"):
    headers = {**JSON, **(world.auth(user) if user else {})}
    return world.testapp.request(f"/{index_name}", method=method, body=json.dumps(body).encode(),
                                 headers=headers, status=status)


@pytest.fixture
def source(world, auth):
    world.auth = auth
    world.filler.index("bob", "target")
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"sdist", summary="hi")
    world.wheel("alice/dev")
    world.upload("alice/dev", "hello-pkg-1.0.zip", b"PK\x05\x06" + b"\0" * 18, name="hello-pkg",
                 version="1.0", action="doc_upload")
    links = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    sdist = next(link["href"] for link in links if link["href"].endswith(".tar.gz"))
    world.testapp.post(sdist.replace("http://localhost", ""), b'{"ok": 1}', headers=JSON)
    return world


def test_internal_push_copies_everything(source):
    world = source
    response = push(world, {"name": "hello-pkg", "version": "1.0", "targetindex": "alice/prod"})
    actions = [row[1] for row in response.json["result"]]
    assert actions == ["register", "store_releasefile", "store_toxresult", "store_releasefile", "store_doczip"]
    assert response.json["result"][0] == [200, "register", "hello-pkg", "1.0", "->", "alice/prod"]
    verdata = world.json("/alice/prod/hello-pkg/1.0").json["result"]
    assert verdata["summary"] == "hi"
    rels = sorted(link["rel"] for link in verdata["+links"])
    assert rels == ["doczip", "releasefile", "releasefile", "toxresult"]
    release = next(link for link in verdata["+links"] if link["href"].endswith(".tar.gz"))
    assert [entry["what"] for entry in release["log"]] == ["upload", "push"]
    assert release["log"][1]["src"] == "alice/dev" and release["log"][1]["dst"] == "alice/prod"
    source_links = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    assert {link["hash_spec"] for link in source_links if link["rel"] == "releasefile"} == \
        {link["hash_spec"] for link in verdata["+links"] if link["rel"] == "releasefile"}
    with world.app.storage.read() as tx:
        pushed = tx.get(keys.file(release["href"].split("localhost/")[1]))
        original = tx.get(keys.file(next(
            link for link in source_links if link["href"].endswith(".tar.gz"))["href"].split("localhost/")[1]))
    assert pushed["last_modified"] == original["last_modified"]
    assert "hello-pkg-1.0.tar.gz" in world.simple("alice/prod", "hello-pkg")
    # a second push to the non-volatile index conflicts and changes nothing
    before = world.serial()
    response = push(world, {"name": "hello-pkg", "version": "1.0", "targetindex": "alice/prod"}, status=409)
    assert response.json["message"] == "hello-pkg-1.0.tar.gz already exists in non-volatile index"
    assert world.serial() == before


def test_push_over_a_file_in_a_volatile_index_logs_the_overwrite_first(world, auth):
    """As devpi: the target's old file goes, its log starts with overwrite, then the source's log and push."""
    world.auth = auth
    world.filler.index("alice", "stage")
    world.upload("alice/stage", "hello-pkg-1.0.tar.gz", b"old bytes")
    world.upload("alice/dev", "hello-pkg-1.0.tar.gz", b"new bytes")
    push(world, {"name": "hello-pkg", "version": "1.0", "targetindex": "alice/stage"})
    (link,) = world.json("/alice/stage/hello-pkg/1.0").json["result"]["+links"]
    assert [(entry["what"], entry.get("count")) for entry in link["log"]] == [
        ("overwrite", 1), ("upload", None), ("push", None)]
    assert link["log"][1]["dst"] == "alice/dev" and link["log"][2]["dst"] == "alice/stage"
    (source_link,) = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    assert [entry["what"] for entry in source_link["log"]] == ["upload"]
    assert source_link["hash_spec"] == link["hash_spec"]


def test_push_options(source):
    world = source
    response = push(world, {"name": "hello-pkg", "version": "1.0", "targetindex": "alice/prod", "no_docs": True})
    assert "store_doczip" not in [row[1] for row in response.json["result"]]
    world.filler.index("alice", "docs")
    response = push(world, {"name": "hello-pkg", "version": "1.0", "targetindex": "alice/docs",
                            "only_docs": True})
    assert [row[1] for row in response.json["result"]] == ["register", "store_doczip"]


@pytest.mark.parametrize("body, status, message", [
    ({"name": "hello-pkg", "version": "9.9", "targetindex": "alice/prod"}, 400,
     "there are no files for hello-pkg 9.9 on stage alice/dev"),
    ({"name": "hello-pkg", "targetindex": "alice/prod"}, 400, "a push needs 'name' and 'version'"),
    ({"name": "hello-pkg", "version": "1.0", "targetindex": "alice"}, 400, "targetindex not in format user/index"),
    ({"name": "hello-pkg", "version": "1.0", "targetindex": "alice/nope"}, 404,
     "The stage alice/nope could not be found."),
    ({"name": "hello-pkg", "version": "1.0", "targetindex": "alice/prod", "x": 1}, 400,
     "unknown additional options: x"),
    ({"name": "hello-pkg", "version": "1.0", "no_docs": True, "only_docs": True}, 400,
     "can't use 'no_docs' and 'only_docs' together"),
    ({"name": "hello-pkg", "version": "1.0", "targetindex": "bob/target"}, 401,
     "user 'alice' cannot upload to 'bob/target'"),
])
def test_push_errors(source, body, status, message):
    before = source.serial()
    response = push(source, body, status=status)
    assert response.json["message"] == message
    assert source.serial() == before


def test_push_needs_json(source):
    response = push(source, {}, status=400)
    assert response.json["message"] == "a push needs 'name' and 'version'"
    response = source.testapp.post("/alice/dev", b"nope", headers=JSON, status=400)
    assert response.json["message"] == "Bad request: could not decode json"


def test_anonymous_push_is_refused(source):
    response = push(source, {"name": "hello-pkg", "version": "1.0", "targetindex": "alice/prod"}, user=None,
                    status=401)
    assert response.json["message"] == "user None cannot upload to 'alice/prod'"


@pytest.fixture
def served(world, serve):
    """``world``'s app on a real port, so that it can push to itself over HTTP."""
    return serve(world.app, threads=4).url


def test_external_push_to_this_server(source, served):
    world = source
    body = {"name": "hello-pkg", "version": "1.0", "posturl": f"{served}/alice/prod/",
            "username": "alice", "password": "pw", "register_project": True}
    response = push(world, body, method="POST")
    rows = response.json["result"]
    assert [row[0] for row in rows] == [200, 200, 200, 200]
    assert [row[1] for row in rows] == ["register", "upload", "upload", "docfile"]
    verdata = world.json("/alice/prod/hello-pkg/1.0").json["result"]
    assert verdata["summary"] == "hi"
    assert sorted(link["rel"] for link in verdata["+links"]) == ["doczip", "releasefile", "releasefile"]


def test_external_push_reports_failures(source, served):
    body = {"name": "hello-pkg", "version": "1.0", "posturl": f"{served}/alice/prod/",
            "username": "bob", "password": "pw"}
    response = push(source, body, status=502)
    assert {row[0] for row in response.json["result"]} == {403}
    assert response.json["result"][0][3] == "no permission to submit"
    unreachable = {**body, "posturl": "http://127.0.0.1:9/"}
    response = push(source, unreachable, status=502)
    assert response.json["result"][0][0] == -1
