"""JSON API reads, devpi headers, errors, and file serving through WSGI."""

import hashlib

import pytest

JSON = {"Accept": "application/json"}


@pytest.fixture
def dev(filler):
    filler.user("alice")
    filler.index("alice", "dev")
    return filler


def test_every_response_has_devpi_headers(testapp, app):
    for path, status in (("/+api", 200), ("/no/such/thing/at/all", 404)):
        response = testapp.get(path, headers=JSON, status=status)
        assert response.headers["X-Devpi-Api-Version"] == "2"
        assert response.headers["X-Devpi-Uuid"] == app.node_uuid
        assert response.headers["X-Devpi-Primary-Uuid"] == app.node_uuid
        assert int(response.headers["X-Devpi-Serial"]) == app.storage.last_serial()


def test_json_content_type_has_no_charset(testapp):
    assert testapp.get("/+api", headers=JSON).headers["Content-Type"] == "application/json"


def test_api_config_root_and_index(testapp, dev):
    root = testapp.get("/+api", headers=JSON).json
    assert root["type"] == "apiconfig"
    assert root["result"]["login"] == "http://localhost/+login"
    assert root["result"]["authstatus"] == ["noauth", "", []]
    assert "index" not in root["result"]
    index = testapp.get("/alice/dev/+api", headers=JSON).json["result"]
    assert index["index"] == "http://localhost/alice/dev"
    assert index["simpleindex"] == "http://localhost/alice/dev/+simple/"
    assert index["pypisubmit"] == "http://localhost/alice/dev/"
    testapp.get("/alice/nope/+api", headers=JSON, status=404)


def test_outside_url_header(testapp, dev):
    result = testapp.get("/alice/dev/+api", headers={**JSON, "X-Outside-Url": "https://pkgs.example/sub"}).json
    assert result["result"]["simpleindex"] == "https://pkgs.example/sub/alice/dev/+simple/"


def test_status(testapp, app):
    result = testapp.get("/+status", headers=JSON).json["result"]
    assert result["uuid"] == app.node_uuid
    assert result["storage"] == app.storage.name
    assert result["serial"] == app.storage.last_serial()
    assert "satchel" in result["versioninfo"]


def test_users_and_indexes(testapp, dev):
    users = testapp.get("/", headers=JSON).json
    assert users["type"] == "list:userconfig"
    assert set(users["result"]) == {"root", "alice"}
    alice = testapp.get("/alice", headers=JSON).json["result"]
    assert alice["username"] == "alice"
    assert "pwhash" not in alice and "password" not in alice
    assert alice["indexes"]["dev"]["type"] == "stage"
    assert testapp.get("/alice/", headers=JSON).json == testapp.get("/alice", headers=JSON).json
    testapp.get("/bob", headers=JSON, status=404)


def test_index_config(testapp, dev):
    dev.file("alice/dev", "hello-pkg", "1.0")
    result = testapp.get("/alice/dev", headers=JSON).json["result"]
    assert result["projects"] == ["hello-pkg"]
    assert result["acl_upload"] == ["alice"]
    assert result["volatile"] is True and result["bases"] == []
    assert "projects" not in testapp.get("/alice/dev?no_projects=", headers=JSON).json["result"]
    message = testapp.get("/alice/nope", headers=JSON, status=404).json["message"]
    assert message == "The stage alice/nope could not be found."


def test_project_and_version_data(testapp, dev):
    dev.file("alice/dev", "hello-pkg", "1.0")
    project = testapp.get("/alice/dev/hello-pkg/", headers=JSON).json
    links = project["result"]["1.0"]["+links"]
    assert links[0]["rel"] == "releasefile"
    assert links[0]["hash_spec"] == "sha256=" + links[0]["hashes"]["sha256"]
    version = testapp.get("/alice/dev/hello-pkg/1.0", headers=JSON).json
    assert version["type"] == "versiondata" and version["result"]["version"] == "1.0"
    testapp.get("/alice/dev/hello-pkg/9.9", headers=JSON, status=404)
    testapp.get("/alice/dev/nothing", headers=JSON, status=404)


def test_project_without_accept_is_415(testapp, dev):
    dev.file("alice/dev", "hello-pkg", "1.0")
    testapp.get("/alice/dev/hello-pkg", status=415)


def test_errors_are_html_for_browsers(testapp):
    response = testapp.get("/a/b/c/d/e", headers={"Accept": "text/html"}, status=404)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "no resource" in response.text


def test_writes_without_auth_plugin_are_refused(testapp, dev):
    # core has no write routes on the index; the private and auth plugins add them
    testapp.put("/alice/dev/+simple/", headers=JSON, status=405)


def test_file_download(testapp, dev):
    link = dev.file("alice/dev", "hello-pkg", "1.0")
    response = testapp.get("/" + link["path"])
    assert hashlib.sha256(response.body).hexdigest() == link["hashes"]["sha256"]
    assert response.headers["Cache-Control"] == "max-age=365000000, immutable, public"
    assert response.headers["Content-Length"] == str(link["size"])
    assert response.headers["ETag"] == f'"{link["hashes"]["sha256"]}"'
    assert response.headers["Last-Modified"]


def test_file_download_with_quoted_plus(testapp, dev):
    link = dev.file("alice/dev", "hello-pkg", "1.0")
    response = testapp.get("/" + link["path"].replace("+f", "%2Bf"))
    assert hashlib.sha256(response.body).hexdigest() == link["hashes"]["sha256"]


def test_file_range_and_conditional(testapp, dev):
    link = dev.file("alice/dev", "hello-pkg", "1.0", filename="hello-pkg-1.0.tar.gz", content=b"0123456789")
    partial = testapp.get("/" + link["path"], headers={"Range": "bytes=2-5"}, status=206)
    assert partial.body == b"2345"
    etag = f'"{link["hashes"]["sha256"]}"'
    testapp.get("/" + link["path"], headers={"If-None-Match": etag}, status=304)


def test_plain_file_get_hands_the_open_file_to_the_servers_file_wrapper(app, dev):
    """The common GET gives waitress its own ``wsgi.file_wrapper`` object (sent from its I/O loop, no read
    loop in a worker thread); Range and conditional requests go through WebOb instead."""
    from waitress.buffers import ReadOnlyFileBasedBuffer
    from webob import Request

    link = dev.file("alice/dev", "hello-pkg", "1.0")
    etag = f'"{link["hashes"]["sha256"]}"'
    for headers, status, handed in (({}, "200 OK", True), ({"Range": "bytes=0-9"}, "206 Partial Content", False),
                                    ({"If-None-Match": etag}, "304 Not Modified", False)):
        environ = Request.blank("/" + link["path"], headers=headers).environ
        environ["wsgi.file_wrapper"] = ReadOnlyFileBasedBuffer
        started = []
        body = app.wsgi(environ, lambda answer, headerlist, exc_info=None: started.append(answer))
        try:
            assert started == [status] and (type(body) is ReadOnlyFileBasedBuffer) is handed
            if handed:
                assert hashlib.sha256(b"".join(body)).hexdigest() == link["hashes"]["sha256"]
        finally:
            if hasattr(body, "close"):  # as a WSGI server does
                body.close()


def test_file_head(testapp, dev):
    link = dev.file("alice/dev", "hello-pkg", "1.0")
    response = testapp.head("/" + link["path"])
    assert response.body == b""
    assert response.headers["Content-Length"] == str(link["size"])


def test_file_metadata_json_and_core_metadata(testapp, dev):
    link = dev.file("alice/dev", "hello-pkg", "1.0")
    meta = testapp.get("/" + link["path"], headers=JSON).json
    assert meta["type"] == "releasefilemeta"
    assert meta["result"]["hashes"] == link["hashes"]
    metadata = testapp.get("/" + link["path"] + ".metadata")
    assert b"Name: hello-pkg" in metadata.body
    assert hashlib.sha256(metadata.body).hexdigest() == link["core_metadata"]["sha256"]


def test_unknown_file_is_404(testapp, dev):
    response = testapp.get("/alice/dev/+f/abc/def/x-1.0.tar.gz", headers=JSON, status=404)
    assert response.json["message"] == "no such file"


def test_x_accel_redirect_behind_nginx(testapp, dev, app):
    link = dev.file("alice/dev", "hello-pkg", "1.0")
    sha256 = link["hashes"]["sha256"]
    response = testapp.get("/" + link["path"], headers={"X-Satchel-Accel": "/+blobs-internal/"})
    if app.storage.blobs.path(sha256) is None:  # blobs that are not files: sent by satchel itself
        assert "X-Accel-Redirect" not in response.headers and response.body
        return
    assert response.headers["X-Accel-Redirect"] == f"/+blobs-internal/{sha256[:2]}/{sha256}"
    assert response.body == b""
    assert response.headers["Cache-Control"] == "max-age=365000000, immutable, public"
