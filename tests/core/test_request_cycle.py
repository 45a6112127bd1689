"""The request cycle: bad names, malformed JSON, rollback of a failing write, route table."""

import pytest
from webtest import TestApp

from satchel.errors import Conflict
from satchel.plugin import hookimpl
from satchel.web import routes
from satchel.web.responses import json_response

JSON = {"Accept": "application/json"}


class WritingRoutes:
    """A plugin with write routes, as the private and auth plugins will have."""

    @hookimpl
    def satchel_add_routes(self, router):
        router.add("notes_put", r"/\+notes/(?P<name>[a-z]+)", self.put_note, methods=("PUT",))
        router.add("notes_get", r"/\+notes/(?P<name>[a-z]+)", self.get_note)

    @staticmethod
    def put_note(request):
        data = request.json_object()
        name = request.matchdict["name"]
        request.tx.set(f"test-notes/{name}", data)
        request.tx.set(f"test-notes/{name}-copy", data)
        if data.get("explode") == "conflict":
            raise Conflict("note conflicts")
        if data.get("explode") == "crash":
            raise RuntimeError("storage went away")
        return json_response(data, "note", status=201)

    @staticmethod
    def get_note(request):
        return json_response(request.tx.get(f"test-notes/{request.matchdict['name']}"), "note")


@pytest.fixture
def client(make_app, request):
    app = make_app(storage="sqlite", plugins=[WritingRoutes()])
    return TestApp(app.wsgi), app


@pytest.mark.parametrize("path", ["/al!ce", "/al%20ce/dev/+simple/x/", "/alice/d*v", "/alice/d~v/+api"])
def test_invalid_names_are_400(client, path):
    testapp, _ = client
    message = testapp.get(path, headers=JSON, status=400).json["message"]
    assert "contains characters that aren't allowed" in message


def test_malformed_json_is_400(client):
    testapp, app = client
    serial = app.storage.last_serial()
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = testapp.put("/+notes/a", body, headers=JSON, status=400)
        assert response.json["message"].startswith("Bad request")
    assert app.storage.last_serial() == serial


def test_write_commits_and_reports_serial(client):
    testapp, app = client
    response = testapp.put_json("/+notes/a", {"text": "hi"}, headers=JSON, status=201)
    assert int(response.headers["X-Devpi-Serial"]) == app.storage.last_serial()
    assert testapp.get("/+notes/a", headers=JSON).json["result"] == {"text": "hi"}


@pytest.mark.parametrize("explode, status", [("conflict", 409), ("crash", 500)])
def test_failing_write_rolls_everything_back(client, explode, status):
    testapp, app = client
    serial = app.storage.last_serial()
    response = testapp.put_json("/+notes/b", {"explode": explode}, headers=JSON, status=status)
    assert "message" in response.json
    assert app.storage.last_serial() == serial
    with app.storage.read() as tx:
        assert tx.get("test-notes/b") is None and tx.get("test-notes/b-copy") is None


def test_route_table_snapshot(make_app):
    app = make_app(disable_plugins=["auth", "mirror", "replica", "private", "ops", "web"])
    table = app.router.table()
    assert [name for name, _, _ in table][:19] == [
        "status", "api_root", "api_user", "api_index", "file",
        "simple_list_noslash", "simple_list", "simple_project_noslash", "simple_project",
        "version", "installer_simple", "installer_simple_project", "project", "index",
        "index_create", "index_modify", "index_delete", "user", "root",
    ] == list(routes.CORE_ROUTES)
    writes = {"index_create": ["PUT"], "index_modify": ["PATCH"], "index_delete": ["DELETE"]}
    assert all(methods == writes.get(name, ["GET", "HEAD"]) for name, _, methods in table[:19])
