"""The project list (streamed, satchel_mirror_initialnames once) and private indexes inheriting a mirror."""

import gzip
import time

import pytest

from satchel.plugin import hookimpl
from satchel.testing.fixtures import Filler

from .conftest import JSON_V1, PIP


class NamesRecorder:
    """A test plugin implementing satchel_mirror_initialnames."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def satchel_mirror_initialnames(self, stage, projectnames):
        self.calls.append((stage.name, list(projectnames)))


def test_project_list_is_streamed_and_initialnames_fires_once(make_world):
    recorder = NamesRecorder()
    world = make_world(options={"plugins": [recorder], "mirror_cache_expiry": 0})
    world.upstream.add_projects(f"Project_{i}" for i in range(5000))
    reply = world.web.get("/root/mirror/+simple/", headers={"Accept": JSON_V1})
    names = [p["name"] for p in reply.json["projects"]]
    assert len(names) == 5000 and "project-0" in names
    assert reply.headers.get("Content-Length") is None or int(reply.headers["Content-Length"]) > 0
    html = world.web.get("/root/mirror/+simple/", headers=PIP).text
    assert '<a href="project-4999/">project-4999</a>' in html
    assert recorder.calls == [("root/mirror", names)]
    world.web.get("/root/mirror/+simple/", headers={"Accept": JSON_V1})  # expired: refreshed aside, 304
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the refresh runs in the background
        list_requests = [r for r in world.upstream.requests if r.path == "/simple/"]
        if list_requests[-1].headers.get("If-None-Match"):
            break
        time.sleep(0.02)
    assert list_requests[-1].headers.get("If-None-Match")
    assert len(recorder.calls) == 1


def test_mirror_no_project_list(make_world):
    world = make_world(mirror_no_project_list=True)
    world.upstream.add_projects(["alpha", "beta"])
    wheel = world.wheel()
    assert world.web.get("/root/mirror/+simple/", headers={"Accept": JSON_V1}).json["projects"] == []
    assert world.upstream.count("/simple/") == 0
    world.file("hello-pkg", wheel.filename)  # pages still work
    assert [p["name"] for p in world.web.get("/root/mirror/+simple/", headers={"Accept": JSON_V1})
            .json["projects"]] == ["hello-pkg"]


@pytest.fixture
def inheriting(world):
    """alice/dev (private) with bases [root/mirror]."""
    filler = Filler(world.app)
    filler.user("alice")
    filler.index("alice", "dev", bases=["root/mirror"])
    world.filler = filler
    return world


def test_private_and_mirrored_files_in_one_page(inheriting):
    world = inheriting
    mirrored = world.wheel(project="other-pkg")
    world.filler.file("alice/dev", "own-pkg", "1.0")
    links = world.links("other-pkg", index_name="alice/dev")
    assert set(links) == {mirrored.filename}
    assert links[mirrored.filename].startswith("/root/mirror/+f/")
    assert world.web.get(links[mirrored.filename]).body == mirrored.content
    page = world.page("other-pkg", index_name="alice/dev").text
    assert '<a href="../../../../root/mirror/+f/' in page and "<br" not in page


def test_private_project_shadows_the_mirror(inheriting):
    world = inheriting
    world.wheel(project="own-pkg", version="9.9")
    world.filler.file("alice/dev", "own-pkg", "1.0")
    assert set(world.links("own-pkg", index_name="alice/dev")) == {"own_pkg-1.0-py3-none-any.whl"}


def test_whitelist_lets_mirror_releases_in(inheriting):
    world = inheriting
    world.wheel(project="own-pkg", version="9.9")
    world.filler.file("alice/dev", "own-pkg", "1.0")
    world.client.patch("/alice/dev", ["mirror_whitelist+=own-pkg"], status=200)
    assert set(world.links("own-pkg", index_name="alice/dev")) == {"own_pkg-1.0-py3-none-any.whl",
                                                              "own_pkg-9.9-py3-none-any.whl"}


def test_shadowed_private_project_name_never_goes_upstream(inheriting):
    world = inheriting
    world.filler.file("alice/dev", "secret-pkg", "1.0")
    world.links("secret-pkg", index_name="alice/dev")
    assert world.upstream.count("/simple/secret-pkg/") == 0


def test_list_of_an_inheriting_index(inheriting):
    world = inheriting
    world.upstream.add_projects(["alpha", "beta"])
    world.filler.file("alice/dev", "own-pkg", "1.0")
    names = [p["name"] for p in world.web.get("/alice/dev/+simple/", headers={"Accept": JSON_V1}).json["projects"]]
    assert names[0] == "own-pkg" and {"alpha", "beta"} <= set(names)


def _as_sent(world, path: str, headers: dict):
    """The answer as sent (undone by nothing)."""
    from webob import Request

    return Request.blank(path, headers=headers).get_response(world.app.wsgi)


@pytest.mark.parametrize("accept", [JSON_V1, "text/html", "application/json"])
def test_mirror_lists_are_gzipped_when_accepted(world, accept):
    world.upstream.add_projects(f"project-{i}" for i in range(5000))
    # the simple list (streamed, compressed as it goes) and devpi's index JSON with every name
    path = "/root/mirror" if accept == "application/json" else "/root/mirror/+simple/"
    plain = _as_sent(world, path, {**PIP, "Accept": accept})
    zipped = _as_sent(world, path, {**PIP, "Accept": accept, "Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers and b"project-4999" in plain.body
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body) / 4
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in zipped.headers["Vary"]
    refused = _as_sent(world, path, {**PIP, "Accept": accept, "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers and refused.body == plain.body
