"""Who may point the server at a URL, upstream credentials, the auth hook, /+status and mirror-prune."""

import logging
import subprocess
import sys
import time

import pytest
import requests

from satchel.errors import Forbidden
from satchel.identity import Identity
from satchel.model import keys
from satchel.model.indexes import create_index
from satchel.plugin import hookimpl
from satchel.testing.client import DevpiClient
from satchel.testing.fake_upstream import FakeUpstream
from satchel_mirror.prune import prune
from satchel_mirror.upstream import Upstream

from .conftest import JSON_V1, PIP


@pytest.fixture
def alice(world):
    client = DevpiClient(world.app)
    client.put("/alice", {"password": "secret"}, status=201)
    client.login("alice", "secret")
    return client


def test_only_root_may_create_a_mirror(world, alice):
    reply = alice.put("/alice/mine", {"type": "mirror", "mirror_url": world.upstream.url}, status=403)
    assert "mirror" in reply.json["message"]
    alice.put("/alice/dev", {"type": "stage"}, status=200)
    world.client.put("/alice/mirror2", {"type": "mirror", "mirror_url": world.upstream.url}, status=200)


def test_only_root_may_change_mirror_url(world, alice):
    world.client.put("/alice/mirror2", {"type": "mirror", "mirror_url": world.upstream.url}, status=200)
    alice.patch("/alice/mirror2", ["mirror_url=http://127.0.0.1:9/simple/"], status=403)
    alice.patch("/alice/mirror2", ["title=Mine"], status=200)  # other keys are the owner's business
    world.client.patch("/alice/mirror2", ["mirror_url=http://127.0.0.1:9/simple/"], status=200)


@pytest.mark.parametrize("spec, status", [("alice", 200), ("carol", 403)])
def test_mirror_admins_option(make_world, spec, status):
    world = make_world(options={"mirror_admins": spec})
    client = DevpiClient(world.app)
    client.put("/alice", {"password": "secret"}, status=201)
    client.login("alice", "secret")
    client.put("/alice/mine", {"type": "mirror", "mirror_url": world.upstream.url}, status=status)


@pytest.mark.parametrize("spec", [":AUTHENTICATED:", "carol,:authenticated:"])
def test_mirror_admins_authenticated_means_any_logged_in_user(make_world, spec):
    """devpi's behaviour on request: every logged-in user may create mirrors and change their URL."""
    world = make_world(options={"mirror_admins": spec})
    client = DevpiClient(world.app)
    for user in ("alice", "bob"):
        client.put(f"/{user}", {"password": "secret"}, status=201)
        client.login(user, "secret")
        client.put(f"/{user}/mine", {"type": "mirror", "mirror_url": world.upstream.url}, status=200)
        client.patch(f"/{user}/mine", ["mirror_url=http://127.0.0.1:9/simple/"], status=200)
    with world.app.storage.write() as tx:  # without a login there is still no mirror
        with pytest.raises(Forbidden, match="only root"):
            create_index(tx, world.app, "alice", "anon", {"type": "mirror", "mirror_url": world.upstream.url},
                         identity=Identity(None))


@pytest.mark.parametrize("body", [{"type": "mirror"}, {"type": "mirror", "mirror_url": ""}])
def test_mirror_without_url_follows_pypi(world, body):
    """As devpi: ``type=mirror`` alone makes a mirror of PyPI (nothing is fetched at creation)."""
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    result = world.client.put("/root/pypi2", body, status=200).json["result"]
    assert result["mirror_url"] == PYPI_SIMPLE_ENDPOINT
    assert world.client.get("/root/pypi2").json["result"]["mirror_url"] == PYPI_SIMPLE_ENDPOINT
    assert "URL" in world.client.put("/root/bad", {"type": "mirror", "mirror_url": "ftp://x/"}, status=400).json[
        "message"]
    world.client.get("/root/bad", status=404)


def test_credentials_in_mirror_url_work_and_never_show(make_world, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeUpstream(auth=("user", "s3cret-pw")) as up:
        url = up.url.replace("http://", "http://user:s3cret-pw@")
        world = make_world(up, mirror_url=url)
        wheel = world.wheel()
        up.fail("/simple/broken/", 503)
        shown = [
            world.client.get("/root/mirror").text,
            world.client.get("/root").text,
            world.client.get("/+api").text,
            world.page("hello-pkg").text,
            world.page("hello-pkg", json=True).text,
            world.web.get("/root/mirror/+simple/", headers={"Accept": JSON_V1}).text,
            world.file("hello-pkg", wheel.filename, headers={"Accept": "application/json"}).text,
            world.page("broken", status=502).text,
            world.web.get("/+status", headers={"Accept": "application/json"}).text,
        ]
        assert world.file("hello-pkg", wheel.filename).body == wheel.content
        for text in shown + [caplog.text]:
            assert "s3cret-pw" not in text
        assert "user:****@" in world.client.get("/root/mirror").json["result"]["mirror_url"]


def test_upstream_auth_hook_supplies_the_header(make_world):
    class AuthPlugin:
        @hookimpl
        def satchel_mirror_upstream_auth(self, stage, url):
            return "Basic " + __import__("base64").b64encode(b"user:from-hook").decode()

    with FakeUpstream(auth=("user", "from-hook")) as up:
        world = make_world(up, options={"plugins": [AuthPlugin()]})
        wheel = world.wheel()
        assert world.file("hello-pkg", wheel.filename).body == wheel.content
        assert up.requests[0].headers["Authorization"].startswith("Basic ")


def test_credentials_only_go_to_the_upstream_host(fake_upstream):
    with FakeUpstream() as other:
        file = other.add_file("x", "x-1.0.tar.gz")
        session = requests.Session()
        upstream = Upstream(session, fake_upstream.url.replace("http://", "http://u:pw@"), 2.0)
        upstream.open_file(file.url).close()
        upstream.open_file(fake_upstream.url).close()
    assert "Authorization" not in other.requests[0].headers
    assert "Authorization" in fake_upstream.requests[0].headers


def test_status_shows_each_mirror(make_world):
    world = make_world()
    wheel = world.wheel()
    world.file("hello-pkg", wheel.filename)
    world.upstream.fail("/simple/broken/", 503)
    world.page("broken", status=502)
    status = world.status()["root/mirror"]
    assert status["pages-cached"] == 1 and status["files-cached"] == 1
    assert status["bytes-cached"] == len(wheel.content)
    assert status["upstream-failures"] == 1 and "503" in status["last-error"]
    assert status["last-upstream-contact"].endswith("Z")
    assert status["mirror_url"] == world.upstream.url


def _age(world, path, day="2000-01-01"):
    with world.app.storage.write() as tx:
        tx.set(keys.file(path.lstrip("/")), {**tx.get(keys.file(path.lstrip("/"))), "last_access": day})


def _last_access(world, path):
    with world.app.storage.read() as tx:
        return tx.get(keys.file(path.lstrip("/")))["last_access"]


def test_prune_deletes_old_files_and_frees_disk(world):
    wheel = world.wheel()
    keep = world.wheel(version="2.0")
    links = world.links("hello-pkg")
    old, recent = links[wheel.filename], links[keep.filename]
    world.web.get(old)
    world.web.get(recent)
    _age(world, old)
    _age(world, recent)
    world.web.get(recent)  # requested today: its last access is recorded (in the background)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    deadline = time.monotonic() + 5
    while _last_access(world, recent) != today and time.monotonic() < deadline:
        time.sleep(0.02)
    blob = world.app.storage.blobs.path(wheel.sha256)
    assert blob.exists()
    count, freed = prune(world.app, 5)
    assert (count, freed) == (1, len(wheel.content))
    assert not blob.exists()
    assert world.app.storage.blobs.exists(keep.sha256)
    assert world.web.get(old).body == wheel.content  # downloaded again on demand
    assert world.upstream.count(wheel.path) == 2


def test_prune_command(make_world, tmp_path):
    world = make_world(options={"serverdir": str(tmp_path / "srv")})
    wheel = world.wheel()
    world.file("hello-pkg", wheel.filename)
    world.app.close()
    done = subprocess.run([sys.executable, "-m", "satchel", "mirror-prune", "0", "root/mirror",
                           "--serverdir", str(tmp_path / "srv"), *world.storage_args()],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "removed 0 cached mirror files" in done.stderr  # requested today
    bad = subprocess.run([sys.executable, "-m", "satchel", "mirror-prune", "x", "--serverdir",
                          str(tmp_path / "srv"), *world.storage_args()], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "DAYS" in bad.stderr.upper()


def test_html_pages_for_browsers_work_too(world):
    world.wheel()
    assert "hello_pkg-1.0" in world.web.get("/root/mirror/+simple/hello-pkg/", headers={
        "Accept": "text/html"}).text
    assert world.web.get("/root/mirror/+simple/hello-pkg/", headers=PIP).status_int == 200
