"""twine upload (and uv publish) against ``satchel serve``: success, identical and conflicting re-uploads,
credentials.

twine runs as a user runs it (``python -m twine upload --repository-url ... -u ... -p ...``), non-interactive
and without a keyring. One server per module: alice owns the volatile ``alice/dev`` and the non-volatile
``alice/release``; bob exists but may upload to neither.
"""

import hashlib
import os
import sys
from types import SimpleNamespace

import pytest
import requests
from uv import find_uv_bin

from satchel.testing.server import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory, project_builder, e2e):
    root = tmp_path_factory.mktemp("twine")
    server = ServerProcess(root / "server").start()
    try:
        api = e2e.Api(server.url)
        api.create_user("alice", "secret")
        api.create_user("bob", "bobpw")
        api.create_index("alice", "secret", "dev")
        api.create_index("alice", "secret", "release", volatile=False)

        def twine(index_path, *args, check=False):
            return e2e.run([sys.executable, "-m", "twine", "upload", "--non-interactive",
                            "--disable-progress-bar", "--repository-url", server.url + index_path, *args],
                           cwd=root, check=check)

        yield SimpleNamespace(server=server, api=api, twine=twine, root=root)
    finally:
        server.stop()


def files_on(world, index, project):
    """{filename: sha256} from the index's PEP 691 simple page."""
    response = world.api.get(f"/{index}/+simple/{project}/",
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    return {entry["filename"]: entry["hashes"]["sha256"] for entry in response.json()["files"]}


def output(result):
    return result.stdout + result.stderr


def test_upload_wheel_and_sdist(world, project_builder):
    release = project_builder.build("twine-pkg", "1.0")
    result = world.twine("/alice/dev/", "-u", "alice", "-p", "secret", *release.files)
    assert result.returncode == 0, output(result)
    assert "Uploading twine_pkg-1.0-py3-none-any.whl" in result.stdout
    assert files_on(world, "alice/dev", "twine-pkg") == release.digests()
    verdata = world.api.json("/alice/dev/twine-pkg/1.0")
    assert verdata["summary"] == "twine-pkg, a test project for satchel"
    assert verdata["requires_python"] == ">=3.8"
    for link in verdata["+links"]:
        filename = link["href"].rsplit("/", 1)[1]
        digest = release.digests()[filename]
        assert link["href"].endswith(f"/alice/dev/+f/{digest[:3]}/{digest[3:16]}/{filename}")
        source = release.wheel if filename.endswith(".whl") else release.sdist
        assert world.api.get(link["href"]).content == source.read_bytes()
        assert link["log"][0]["who"] == "alice" and link["log"][0]["what"] == "upload"


def test_upload_url_without_trailing_slash_and_login_token(world, project_builder, e2e):
    """The index URL without its slash is an upload URL too, and a login token works as the password."""
    release = project_builder.build("token-pkg", "0.1")
    login = requests.post(world.server.url + "/+login", json={"user": "alice", "password": "secret"},
                          headers=e2e.JSON, timeout=30)
    token = login.json()["result"]["password"]
    result = world.twine("/alice/dev", "-u", "alice", "-p", token, *release.files)
    assert result.returncode == 0, output(result)
    assert files_on(world, "alice/dev", "token-pkg") == release.digests()


def test_non_volatile_index_keeps_the_original(world, project_builder):
    original = project_builder.build("keep-pkg", "1.0")
    changed = project_builder.build("keep-pkg", "1.0", body="CHANGED = True")
    assert changed.wheel.name == original.wheel.name
    assert changed.wheel.read_bytes() != original.wheel.read_bytes()
    assert world.twine("/alice/release/", "-u", "alice", "-p", "secret", *original.files).returncode == 0
    serial_before = world.api.get("/+api").headers["X-Devpi-Serial"]

    same = world.twine("/alice/release/", "-u", "alice", "-p", "secret", *original.files)
    assert same.returncode == 0, output(same)  # identical bytes: 200, nothing changes

    conflict = world.twine("/alice/release/", "-u", "alice", "-p", "secret", changed.wheel)
    assert conflict.returncode != 0
    assert "409 Conflict" in output(conflict)
    message = " ".join(output(conflict).split())  # twine wraps long lines
    assert "keep_pkg-1.0-py3-none-any.whl already exists in non-volatile index" in message

    assert world.api.get("/+api").headers["X-Devpi-Serial"] == serial_before
    assert files_on(world, "alice/release", "keep-pkg") == original.digests()
    verdata = world.api.json("/alice/release/keep-pkg/1.0")
    wheel_link = next(link for link in verdata["+links"] if link["href"].endswith(".whl"))
    assert world.api.get(wheel_link["href"]).content == original.wheel.read_bytes()
    assert [entry["what"] for entry in wheel_link["log"]] == ["upload"]


def test_volatile_index_replaces_the_file(world, project_builder):
    first = project_builder.build("swap-pkg", "1.0")
    second = project_builder.build("swap-pkg", "1.0", body="SECOND = True")
    assert world.twine("/alice/dev/", "-u", "alice", "-p", "secret", first.wheel).returncode == 0
    result = world.twine("/alice/dev/", "-u", "alice", "-p", "secret", second.wheel)
    assert result.returncode == 0, output(result)
    assert files_on(world, "alice/dev", "swap-pkg") == {
        second.wheel.name: second.digests()[second.wheel.name]}
    verdata = world.api.json("/alice/dev/swap-pkg/1.0")
    (link,) = verdata["+links"]
    assert world.api.get(link["href"]).content == second.wheel.read_bytes()
    overwrites = [entry for entry in link["log"] if entry["what"] == "overwrite"]
    assert [entry["count"] for entry in overwrites] == [1]
    assert link["log"][-1]["what"] == "upload" and link["log"][-1]["who"] == "alice"


def test_upload_without_credentials(world, project_builder, e2e):
    release = project_builder.build("anon-pkg", "1.0")
    result = world.twine("/alice/dev/", release.wheel)
    assert result.returncode != 0
    assert "Credential not found" in output(result)  # non-interactive twine stops before uploading
    # what twine would get from the server: the same form without an Authorization header
    response = requests.post(world.server.url + "/alice/dev/", timeout=30,
                             data={":action": "file_upload", "name": "anon-pkg", "version": "1.0",
                                   "protocol_version": "1", "metadata_version": "2.3"},
                             files={"content": (release.wheel.name, release.wheel.read_bytes())})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="pypi"'
    assert files_on(world, "alice/dev", "anon-pkg") == {}


def test_wrong_password_is_401(world, project_builder):
    """Invalid credentials count as none (devpi): the upload is refused with 401, not 403."""
    release = project_builder.build("wrongpw-pkg", "1.0")
    result = world.twine("/alice/dev/", "-u", "alice", "-p", "not-the-password", release.wheel)
    assert result.returncode != 0
    assert "401 Unauthorized" in output(result)
    assert files_on(world, "alice/dev", "wrongpw-pkg") == {}


def test_other_user_is_403(world, project_builder):
    release = project_builder.build("bob-pkg", "1.0")
    result = world.twine("/alice/dev/", "-u", "bob", "-p", "bobpw", release.wheel)
    assert result.returncode != 0
    assert "403 Forbidden" in output(result)
    assert "no permission to submit" in output(result)
    assert files_on(world, "alice/dev", "bob-pkg") == {}


def test_upload_to_missing_index_is_404(world, project_builder):
    release = project_builder.build("lost-pkg", "1.0")
    result = world.twine("/alice/nope/", "-u", "alice", "-p", "secret", release.wheel)
    assert result.returncode != 0
    assert "404 Not Found" in output(result)


def test_unicode_metadata_and_a_large_file(world, project_builder):
    """A README with non-ASCII text travels as ``description``; an 8 MB incompressible wheel arrives
    intact."""
    readme = "# Grüße aus Zürich 🚀\n\nÜmlauts, ελληνικά, 日本語, `code`.\n" + "line\n" * 2000
    blob = os.urandom(8 * 1024 * 1024)
    release = project_builder.build("big-pkg", "1.0", readme=readme, data={"blob.bin": blob})
    assert release.wheel.stat().st_size > 8 * 1024 * 1024
    result = world.twine("/alice/dev/", "-u", "alice", "-p", "secret", *release.files)
    assert result.returncode == 0, output(result)
    verdata = world.api.json("/alice/dev/big-pkg/1.0")
    assert verdata["description"].rstrip("\n") == readme.rstrip("\n")
    assert verdata["description_content_type"] == "text/markdown"
    assert files_on(world, "alice/dev", "big-pkg") == release.digests()
    wheel_link = next(link for link in verdata["+links"] if link["href"].endswith(".whl"))
    download = world.api.get(wheel_link["href"])
    assert hashlib.sha256(download.content).hexdigest() == release.digests()[release.wheel.name]
    assert int(download.headers["Content-Length"]) == release.wheel.stat().st_size


def test_uv_publish(world, project_builder, e2e):
    """``uv publish`` uses the same legacy upload API; with ``--check-url`` it reads the simple page first."""
    release = project_builder.build("uvpub-pkg", "1.0")
    changed = project_builder.build("uvpub-pkg", "1.0", body="CHANGED = True")

    def publish(*args):
        return e2e.run([find_uv_bin(), "publish", "--no-config", "--publish-url",
                        world.server.url + "/alice/release/", "-u", "alice", "-p", "secret", *args],
                       cwd=world.root, check=False)

    first = publish(*release.files)
    assert first.returncode == 0, output(first)
    assert files_on(world, "alice/release", "uvpub-pkg") == release.digests()
    conflict = publish(changed.wheel)
    assert conflict.returncode != 0 and "409 Conflict" in output(conflict)
    check_url = ["--check-url", world.server.url + "/alice/release/+simple/"]
    skipped = publish(*check_url, *release.files)
    assert skipped.returncode == 0, output(skipped)
    assert output(skipped).count("already exists, skipping") == 2
    mismatch = publish(*check_url, changed.wheel)
    assert mismatch.returncode != 0 and "do not match" in output(mismatch)
    assert files_on(world, "alice/release", "uvpub-pkg") == release.digests()


def test_register_then_upload(world, project_builder, e2e):
    """``twine register`` (``:action=submit``) creates the version from the file's metadata, without files."""
    release = project_builder.build("reg-pkg", "1.0", readme="Registered first.")
    registered = e2e.run([sys.executable, "-m", "twine", "register", "--non-interactive", "--repository-url",
                          world.server.url + "/alice/dev/", "-u", "alice", "-p", "secret", release.wheel],
                         cwd=world.root, check=False)
    assert registered.returncode == 0, output(registered)
    verdata = world.api.json("/alice/dev/reg-pkg/1.0")
    assert verdata["description"] == "Registered first." and verdata["+links"] == []
    assert files_on(world, "alice/dev", "reg-pkg") == {}
    assert world.twine("/alice/dev/", "-u", "alice", "-p", "secret", *release.files).returncode == 0
    assert files_on(world, "alice/dev", "reg-pkg") == release.digests()
