"""A misbehaving upstream: a clear 502/504 with a message, a log line, nothing corrupt stored."""

import time

import pytest

from satchel.model import keys
from satchel_mirror.state import BACKOFF_FIRST

from .test_pages import HtmlOnlyUpstream

PAGE = "/simple/hello-pkg/"


def _record(world):
    with world.app.storage.read() as tx:
        return tx.get(keys.project("root/mirror", "hello-pkg"))


@pytest.mark.parametrize("fault, status, words", [
    ("garbage", 502, "unreadable"),
    ("wrong-content-type", 502, "unreadable"),
    ("redirect-loop", 502, "redirects"),
    (500, 502, "500"),
    (503, 502, "503"),
    ("reset", 502, "unreachable"),
    ("endless", 504, "longer than"),
])
def test_bad_page_without_cache(world, caplog, fault, status, words):
    world.wheel()
    world.upstream.fail(PAGE, fault)
    started = time.monotonic()
    reply = world.page("hello-pkg", status=status)
    assert time.monotonic() - started < 8
    assert words in reply.json["message"]
    assert "mirror root/mirror" in caplog.text and words in caplog.text
    assert _record(world) is None
    world.upstream.clear_faults()
    assert world.links("hello-pkg")  # recovers once upstream does


@pytest.mark.parametrize("fault", ["garbage", "wrong-content-type", "redirect-loop", 502, "endless"])
def test_bad_page_with_cache_keeps_the_stored_page(make_world, caplog, fault):
    world = make_world(mirror_cache_expiry=0)
    wheel = world.wheel()
    world.page("hello-pkg")
    stored = _record(world)
    world.upstream.fail(PAGE, fault)
    assert wheel.filename in world.links("hello-pkg")
    time.sleep(0.1)
    assert _record(world) == stored


def test_garbage_html_page(make_world):
    with HtmlOnlyUpstream() as up:
        world = make_world(up)
        world.wheel()
        up.fail(PAGE, "garbage")
        assert "not HTML" in world.page("hello-pkg", status=502).json["message"]
        assert _record(world) is None


def test_garbage_project_list_is_not_stored(world, caplog):
    world.wheel()
    world.upstream.fail("/simple/", "garbage")
    reply = world.web.get("/root/mirror/+simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert reply.json["projects"] == []  # nothing known yet; the list is not replaced by garbage
    assert "project list" in caplog.text
    with world.app.storage.read() as tx:
        assert tx.get(keys.index_state("root/mirror", "names")) is None


def test_upstream_error_messages_are_json_for_installers(world):
    world.upstream.fail(PAGE, 503)
    reply = world.page("hello-pkg", status=502)
    assert reply.content_type == "application/json"
    assert reply.json["message"]


@pytest.fixture
def cached_world(make_world, fake_clock):
    """Two projects cached and always expired; the back-off passes when the test moves ``world.clock``."""
    world = make_world(mirror_cache_expiry=0)
    world.clock = fake_clock
    world.wheel("hello-pkg")
    world.wheel("other-pkg")
    assert world.links("hello-pkg") and world.links("other-pkg")
    world.upstream.clear_requests()
    return world


def _mirror_status(world) -> dict:
    return world.status()["root/mirror"]


@pytest.mark.parametrize("fault", [503, "reset", "endless"])
def test_upstream_down_backs_off_and_serves_stored_pages(cached_world, fault):
    world = cached_world
    world.upstream.fail("/simple/*", fault)
    assert "hello_pkg-1.0-py3-none-any.whl" in world.links("hello-pkg")  # stale, after asking upstream
    deadline = time.monotonic() + 5
    while _mirror_status(world)["upstream-retry-in"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # an endless page fails in the background
    asked = world.upstream.count("/simple/*")
    assert asked >= 1 and _mirror_status(world)["upstream-retry-in"] > 0
    assert "other_pkg-1.0-py3-none-any.whl" in world.links("other-pkg")
    assert "hello_pkg-1.0-py3-none-any.whl" in world.links("hello-pkg")
    assert world.upstream.count("/simple/*") == asked  # served from storage, upstream not asked again
    world.upstream.clear_faults()
    world.clock.advance(_mirror_status(world)["upstream-retry-in"])  # the back-off is over
    world.wheel("other-pkg", "2.0")
    assert "other_pkg-2.0-py3-none-any.whl" in world.links("other-pkg")
    assert _mirror_status(world)["upstream-retry-in"] == 0


def test_back_off_grows_while_upstream_stays_down(cached_world):
    world = cached_world
    world.upstream.fail("/simple/*", 503)
    pauses = []
    for _ in range(3):
        world.links("hello-pkg")
        pauses.append(_mirror_status(world)["upstream-retry-in"])
        world.links("hello-pkg")  # within the pause: served from storage, upstream not asked
        world.clock.advance(pauses[-1])
    assert pauses == [BACKOFF_FIRST, 2 * BACKOFF_FIRST, 4 * BACKOFF_FIRST]
    assert world.upstream.count("/simple/*") == 3


def test_refresh_and_unknown_projects_still_ask_upstream_while_backing_off(cached_world):
    world = cached_world
    world.upstream.fail("/simple/*", 503, times=1)
    world.links("hello-pkg")
    assert _mirror_status(world)["upstream-retry-in"] > 0
    world.wheel("new-pkg")
    assert "new_pkg-1.0-py3-none-any.whl" in world.links("new-pkg")  # nothing stored: upstream is asked
    world.wheel("other-pkg", "2.0")
    world.web.post("/root/mirror/+simple/other-pkg/refresh", status=302)
    assert "other_pkg-2.0-py3-none-any.whl" in world.links("other-pkg")  # an explicit refresh asks at once


def test_a_bad_page_of_one_project_does_not_back_off(cached_world):
    world = cached_world
    world.upstream.fail("/simple/hello-pkg/", "garbage")
    world.links("hello-pkg")
    assert _mirror_status(world)["upstream-retry-in"] == 0
    world.wheel("other-pkg", "2.0")
    assert "other_pkg-2.0-py3-none-any.whl" in world.links("other-pkg")


def test_a_request_for_an_unknown_file_does_not_end_the_back_off(cached_world):
    world = cached_world
    world.upstream.fail("/simple/*", 503)
    world.links("hello-pkg")
    asked = world.upstream.count("/simple/*")
    world.web.get("/root/mirror/+f/abc/def0123456789/hello_pkg-9.9-py3-none-any.whl", status=404)
    assert _mirror_status(world)["upstream-retry-in"] > 0
    assert world.upstream.count("/simple/*") == asked
