"""The legacy upload API: twine/devpi-client uploads, registration, and every refused input."""

import hashlib
import json

import pytest
from urllib.parse import urljoin
from webob import Request

from satchel.model import keys

from satchel_private.filenames import pyversion_filetype
from satchel_private.legacy import reason_phrase

SDIST = "hello-pkg-1.0.tar.gz"


def test_wheel_upload_stores_file_metadata_and_hash(world):
    response = world.wheel("alice/dev", summary="greets", requires_python=">=3.8")
    assert response.status_code == 200 and response.body == b""
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    files = json.loads(world.testapp.get("/alice/dev/+simple/hello-pkg/",
                                         headers={"Accept": "application/vnd.pypi.simple.v1+json"}).body)["files"]
    (wheel,) = files
    assert wheel["filename"] == "hello_pkg-1.0-py3-none-any.whl"
    assert wheel["requires-python"] == ">=3.8" and wheel["upload-time"].endswith("Z")
    url = urljoin("/alice/dev/+simple/hello-pkg/", wheel["url"])
    content = world.testapp.get(url).body
    assert hashlib.sha256(content).hexdigest() == wheel["hashes"]["sha256"]
    metadata = world.testapp.get(url + ".metadata").body
    assert b"Name: hello-pkg" in metadata and wheel["core-metadata"]
    verdata = world.json("/alice/dev/hello-pkg/1.0").json["result"]
    assert verdata["summary"] == "greets" and verdata["classifiers"] == []
    (link,) = verdata["+links"]
    assert link["rel"] == "releasefile" and link["hash_spec"] == "sha256=" + wheel["hashes"]["sha256"]
    assert link["log"][0]["what"] == "upload" and link["log"][0]["who"] == "alice"
    assert link["log"][0]["dst"] == "alice/dev" and len(link["log"][0]["when"]) == 6


def test_sdist_upload_and_repeatable_fields(world):
    world.upload("alice/dev", SDIST, b"sdist bytes", classifiers=["A :: B", "C :: D"], summary="UNKNOWN")
    verdata = world.json("/alice/dev/hello-pkg/1.0").json["result"]
    assert verdata["classifiers"] == ["A :: B", "C :: D"] and verdata["summary"] == ""
    assert "data-requires-python" not in world.simple("alice/dev", "hello-pkg")  # no empty attribute


def test_register_then_upload_keeps_registered_metadata(world):
    response = world.upload("alice/dev", SDIST, b"x", action="submit", summary="first")
    assert response.status_code == 200
    assert world.json("/alice/dev/hello-pkg/1.0").json["result"]["summary"] == "first"
    world.upload("alice/dev", SDIST, b"x", author="me")
    verdata = world.json("/alice/dev/hello-pkg/1.0").json["result"]
    assert verdata["summary"] == "first" and verdata["author"] == "me"


def test_volatile_overwrite_logs_it(world):
    world.upload("alice/dev", SDIST, b"one")
    world.upload("alice/dev", SDIST, b"two")
    (link,) = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    assert link["hashes"]["sha256"] == hashlib.sha256(b"two").hexdigest()
    # as devpi: the replaced file's log goes, an overwrite entry counts the overwrites
    assert [(entry["what"], entry.get("count")) for entry in link["log"]] == [("overwrite", 1), ("upload", None)]
    world.upload("alice/dev", SDIST, b"three")
    (link,) = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    assert [(entry["what"], entry.get("count")) for entry in link["log"]] == [("overwrite", 2), ("upload", None)]


def test_non_volatile_refuses_different_bytes_and_accepts_identical(world):
    world.upload("alice/prod", SDIST, b"original")
    serial = world.serial()
    response = world.upload("alice/prod", SDIST, b"changed")
    assert response.status == "409 hello-pkg-1.0.tar.gz already exists in non-volatile index"
    assert world.serial() == serial
    response = world.upload("alice/prod", SDIST, b"original")
    assert response.status == "200 Upload of identical file to non volatile index."
    assert world.serial() == serial
    page = world.simple("alice/prod", "hello-pkg")
    assert hashlib.sha256(b"original").hexdigest() in page


def test_upload_without_credentials_gets_basic_challenge(world):
    response = world.upload("alice/dev", SDIST, b"x", user=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pypi"'
    # devpi-client prints the reason phrase: the standard one, as devpi-server sends it
    assert response.status == "401 Unauthorized"
    assert response.json["message"] == "authentication required"


def test_upload_with_wrong_password_is_anonymous(world, auth):
    response = world.testapp.post("/alice/dev/", params={":action": "file_upload", "name": "x", "version": "1"},
                                  upload_files=[("content", "x-1.tar.gz", b"x")],
                                  headers=auth("alice", "wrong"), status="*")
    assert response.status_code == 401


def test_upload_to_someone_elses_index_is_forbidden(world):
    response = world.upload("alice/dev", SDIST, b"x", user="bob")
    assert response.status == "403 no permission to submit"
    assert response.json["message"] == "no permission to submit"


@pytest.mark.parametrize("filename, fields, message", [
    ("../hello-pkg-1.0.tar.gz", {}, "invalid filename"),
    ("sub/hello-pkg-1.0.tar.gz", {}, "invalid filename"),
    ("sub\\hello-pkg-1.0.tar.gz", {}, "invalid filename"),
    ("hello-pkg-1.0..tar.gz", {}, "invalid filename"),
    ("hello-pkg-2.0.tar.gz", {}, "does not contain version '1.0'"),
    ("other-1.0.tar.gz", {}, "does not match project name 'hello-pkg'"),
    ("hello_pkg-1.0-py3-none-any.whl", {"name": "other"}, "does not match project name 'other'"),
    ("hello-pkg-1.0.rar", {}, "is not a valid archive name"),
    ("hello-pkg-1.0-x-y.whl", {}, "invalid filename"),
    ("hello-pkg-1.0.tar.gz", {"name": "bad name!"}, "invalid metadata"),
    ("hello-pkg-1.0.tar.gz", {"version": "1.0\""}, "invalid metadata"),
    # legacy built formats: still the form's project and version, and a real NAME-VERSION
    ("other-1.0.linux-x86_64.tar.gz", {}, "does not match project name 'hello-pkg'"),
    ("hello-pkg-1.0.linux-x86_64.tar.gz", {"version": "1.0.0"}, "does not contain version"),
    ("hello-pkg-1.0.linux-x86_64.tar.gz", {"version": "0"}, "does not match version '0'"),
    ("1.0.linux-x86_64.tar.gz", {}, "invalid filename"),
    ("hello_pkg-1.0-x-py3.11.egg", {}, "invalid filename"),
    ("other-1.0-py3.11.egg", {}, "does not match project name 'hello-pkg'"),
    ("hello-pkg-1.0-garbage.tar.gz", {}, "invalid filename"),
])
def test_bad_filenames_and_metadata_are_refused(world, filename, fields, message):
    before, page = world.serial(), world.simple("alice/dev", "hello-pkg")
    fields = {"name": "hello-pkg", "version": "1.0", **fields}
    response = world.upload("alice/dev", filename, b"content", **fields)
    assert response.status_code == 400
    assert message in response.status and message in response.json["message"]
    assert world.serial() == before and world.simple("alice/dev", "hello-pkg") == page


@pytest.mark.parametrize("filename, filetype", [
    ("hello-pkg-1.0.linux-x86_64.tar.gz", ("any", "bdist_dumb")),
    ("hello_pkg-1.0.macosx-10.9-x86_64.tar.gz", ("any", "bdist_dumb")),
    ("hello-pkg-1.0.win-amd64.zip", ("any", "bdist_dumb")),
    ("hello_pkg-1.0-py3.11.egg", ("3.11", "bdist_egg")),
    ("hello_pkg-1.0.egg", ("any", "bdist_egg")),
])
def test_legacy_built_formats_are_accepted_like_devpi(world, auth, filename, filetype):
    """bdist_dumb archives and eggs are releases of their version, listed, and removable with it."""
    world.upload("alice/dev", SDIST, b"sdist")
    response = world.upload("alice/dev", filename, b"built", name="hello-pkg", version="1.0")
    assert response.status_code == 200, response.status
    links = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    assert sorted(link["href"].rsplit("/", 1)[1] for link in links) == sorted([SDIST, filename])
    assert filename in world.simple("alice/dev", "hello-pkg")
    assert pyversion_filetype(filename) == filetype
    world.testapp.delete("/alice/dev/hello-pkg/1.0", headers=auth("alice"))
    assert filename not in world.simple("alice/dev", "hello-pkg")


def test_sdist_names_are_not_taken_for_legacy_ones():
    # a project whose name holds ".win" is an sdist, not a Windows bdist_dumb
    assert pyversion_filetype("pkg.windows-1.0.tar.gz") == ("source", "sdist")
    assert pyversion_filetype("hello-1.0.zip") == ("source", "sdist")


def test_zero_byte_file_is_refused(world):
    before = world.serial()
    response = world.upload("alice/dev", SDIST, b"")
    assert response.status_code == 400 and "is empty" in response.json["message"]
    assert world.serial() == before


def test_unknown_action_and_missing_content(world, auth):
    response = world.upload("alice/dev", SDIST, b"x", action="frobnicate")
    assert response.status == "400 action 'frobnicate' not supported"
    response = world.testapp.post("/alice/dev/", params={":action": "file_upload", "name": "a", "version": "1"},
                                  headers=auth("alice"), status="*")
    assert response.status == "400 content file field not found"


def _multipart(boundary: str, filename: str, content: bytes) -> bytes:
    parts = [(":action", b"file_upload"), ("name", b"hello-pkg"), ("version", b"1.0")]
    body = b""
    for name, value in parts:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


class CountingInput:
    """A wsgi.input that records how much was read."""

    def __init__(self, data: bytes):
        self.data, self.position = data, 0

    def read(self, size=-1):
        end = len(self.data) if size is None or size < 0 else self.position + size
        chunk = self.data[self.position:end]
        self.position += len(chunk)
        return chunk

    def readline(self, size=-1):
        return self.read(size)


def _raw_post(world, body: bytes, content_length: int | None = None, stream=None):
    request = Request.blank("/alice/dev/", method="POST", headers={"X-Devpi-Auth": "YWxpY2U6cHc="})
    request.content_type = "multipart/form-data; boundary=XyZ"
    request.environ["wsgi.input"] = stream or CountingInput(body)
    request.environ["CONTENT_LENGTH"] = str(len(body) if content_length is None else content_length)
    return request.get_response(world.app.wsgi)


def test_raw_multipart_upload_works(world):
    response = _raw_post(world, _multipart("XyZ", SDIST, b"payload"))
    assert response.status_code == 200, response.status


@pytest.mark.parametrize("cut", ["inside-file", "before-closing", "short-of-length"])
def test_truncated_multipart_is_refused(world, cut):
    body = _multipart("XyZ", SDIST, b"payload" * 100)
    before = world.serial()
    if cut == "inside-file":
        response = _raw_post(world, body[: body.index(b"payload") + 50])
    elif cut == "before-closing":
        response = _raw_post(world, body[: body.rindex(b"--XyZ--")])
    else:
        response = _raw_post(world, body[:-40], content_length=len(body))
    assert response.status_code == 400, response.status
    assert "truncated" in response.status
    assert world.serial() == before
    assert "hello-pkg" not in world.testapp.get("/alice/dev/+simple/").text


def test_body_over_limit_is_refused_without_reading_it(make_world):
    world = make_world(max_request_body_size=1000)
    body = _multipart("XyZ", SDIST, b"x" * 5000)
    stream = CountingInput(body)
    before = world.serial()
    response = _raw_post(world, body, stream=stream)
    assert response.status_code == 413 and "larger than the limit" in response.status
    assert stream.position == 0
    assert world.serial() == before
    assert world.upload("alice/dev", SDIST, b"small").status_code == 200


def test_upload_to_missing_index(world):
    response = world.upload("alice/nope", SDIST, b"x")
    assert response.status_code == 404


def test_blob_written_and_stored_hash(world):
    world.upload("alice/dev", SDIST, b"abc")
    sha256 = hashlib.sha256(b"abc").hexdigest()
    with world.app.storage.read() as tx:
        link = tx.get(keys.link("alice/dev", "hello-pkg", SDIST))
        entry = tx.get(keys.file(link["path"]))
    assert link["hashes"] == {"sha256": sha256} and entry["size"] == 3
    assert world.app.storage.blobs.exists(sha256)


def test_reason_phrase_is_one_latin1_line():
    assert reason_phrase("a\r\nb  \u2603") == "a b ?"
