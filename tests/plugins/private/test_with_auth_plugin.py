"""The private plugin's views under the real auth plugin (its credentials and devpi's ACL)."""

import json

import pytest
from webtest import TestApp

from satchel.testing.fixtures import Filler, make_wheel

pytest.importorskip("satchel_auth")


def test_upload_push_and_delete_with_real_auth(make_app, auth):
    app = make_app()
    filler = Filler(app)
    filler.user("alice")
    filler.user("bob")
    filler.index("alice", "dev")
    filler.index("alice", "prod", volatile=False)
    testapp = TestApp(app.wsgi)
    filename, content = make_wheel("hello-pkg", "1.0")
    form = {":action": "file_upload", "name": "hello-pkg", "version": "1.0"}

    def upload(headers):
        return testapp.post("/alice/dev/", params=form, upload_files=[("content", filename, content)],
                            headers=headers, status="*")

    assert upload({}).status_code == 401
    assert upload(auth("bob")).status == "403 no permission to submit"
    assert upload(auth("alice")).status_code == 200
    body = json.dumps({"name": "hello-pkg", "version": "1.0", "targetindex": "alice/prod"}).encode()
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    response = testapp.post("/alice/dev", body, headers={**headers, **auth("bob")}, status=401)
    assert response.json["message"] == "user 'bob' cannot upload to 'alice/prod'"
    testapp.post("/alice/dev", body, headers={**headers, **auth("alice")})
    testapp.delete("/alice/dev/hello-pkg/1.0", headers={**headers, **auth("bob")}, status=403)
    testapp.delete("/alice/dev/hello-pkg/1.0", headers={**headers, **auth("alice")})
    testapp.get("/alice/dev/+simple/hello-pkg/", status=404)
    assert filename in testapp.get("/alice/prod/+simple/hello-pkg/").text
