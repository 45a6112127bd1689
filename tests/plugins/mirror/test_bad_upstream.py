"""A misbehaving upstream: a clear 502/504 with a message, a log line, nothing corrupt stored."""

import time

import pytest

from satchel.model import keys

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
