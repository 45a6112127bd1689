"""Cache and freshness: expiry, ETag revalidation, single-flight, stale pages for slow or failing upstreams."""

import threading
import time

PAGE = "/simple/hello-pkg/"


def test_within_expiry_no_upstream_request(world):
    world.wheel()
    world.page("hello-pkg")
    world.page("hello-pkg", json=True)
    world.page("hello-pkg")
    assert world.upstream.count(PAGE) == 1


def test_upstream_is_asked_again_once_the_expiry_has_passed(world, fake_clock):
    world.wheel()
    world.page("hello-pkg")
    fake_clock.advance(59)  # the world's mirror_cache_expiry is 60 s
    world.page("hello-pkg")
    assert world.upstream.count(PAGE) == 1
    fake_clock.advance(1)
    world.page("hello-pkg")
    assert world.upstream.count(PAGE) == 2


def test_after_expiry_revalidates_with_etag_and_reuses_on_304(make_world):
    world = make_world(mirror_cache_expiry=0)
    world.wheel()
    first = world.page("hello-pkg").text
    serial = world.app.storage.last_serial()
    second = world.page("hello-pkg").text
    requests = [r for r in world.upstream.requests if r.path == PAGE]
    assert len(requests) == 2
    assert "If-None-Match" not in requests[0].headers
    assert requests[1].headers["If-None-Match"]  # the stored ETag
    assert first == second
    assert world.app.storage.last_serial() == serial  # a 304 writes nothing


def test_after_expiry_new_upstream_files_appear(make_world):
    world = make_world(mirror_cache_expiry=0)
    world.wheel()
    world.page("hello-pkg")
    newer = world.wheel(version="2.0")
    assert newer.filename in world.links("hello-pkg")


def test_expiry_per_index_overrides_the_server_option(make_world):
    world = make_world(options={"mirror_cache_expiry": 0}, mirror_cache_expiry=3600)
    world.wheel()
    world.page("hello-pkg")
    world.page("hello-pkg")
    assert world.upstream.count(PAGE) == 1


def test_refresh_button_rechecks_upstream(world):
    world.wheel()
    world.page("hello-pkg")
    reply = world.web.post("/root/mirror/+simple/hello-pkg/refresh", status=302)
    assert reply.location.endswith("/root/mirror/+simple/hello-pkg/")
    world.page("hello-pkg")
    assert world.upstream.count(PAGE) == 2


def test_single_flight_for_a_cold_page(world, serve):
    world.wheel()
    world.upstream.fail(PAGE, "delay:0.3", times=1)
    server = serve(world.app, threads=12)
    import requests
    results = []

    def fetch():
        results.append(requests.get(server.url + "/root/mirror/+simple/hello-pkg/",
                                    headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=10))

    threads = [threading.Thread(target=fetch) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 10
    assert len({r.content for r in results}) == 1
    assert world.upstream.count(PAGE) == 1


def test_slow_upstream_serves_the_cached_page_at_once_and_refreshes_in_background(make_world):
    world = make_world(mirror_cache_expiry=0)
    world.wheel()
    world.page("hello-pkg")
    newer = world.wheel(version="2.0")
    world.upstream.fail(PAGE, "delay:1.5", times=1)
    started = time.monotonic()
    stale = world.page("hello-pkg", json=True).json
    assert time.monotonic() - started < 1.2  # request timeout 0.5 s, not the upstream's 1.5 s
    assert newer.filename not in {f["filename"] for f in stale["files"]}
    deadline = time.monotonic() + 5
    stored = set()
    while newer.filename not in stored and time.monotonic() < deadline:
        time.sleep(0.05)  # the background refresh stores the new page
        with world.app.storage.read() as tx:
            stored = {link["filename"] for link in tx.get("projects/root/mirror/hello-pkg")["files"]}
    assert newer.filename in stored
    assert world.upstream.count(PAGE) == 2


def test_second_request_during_a_slow_refresh_does_not_wait_again(make_world):
    world = make_world(mirror_cache_expiry=0)
    world.wheel()
    world.page("hello-pkg")
    world.upstream.fail(PAGE, "delay:2", times=1)
    world.page("hello-pkg")
    started = time.monotonic()
    world.page("hello-pkg")
    assert time.monotonic() - started < 0.3
    assert world.upstream.count(PAGE) == 2


def test_failing_upstream_serves_the_cached_page(make_world, caplog):
    world = make_world(mirror_cache_expiry=0)
    wheel = world.wheel()
    world.page("hello-pkg")
    world.upstream.fail(PAGE, 503)
    assert wheel.filename in world.links("hello-pkg")
    assert "upstream answered 503" in caplog.text
    world.upstream.stop()
    assert wheel.filename in world.links("hello-pkg")


def test_failing_upstream_without_cache_is_502(world):
    world.upstream.fail(PAGE, 503)
    reply = world.page("hello-pkg", status=502)
    assert "503" in reply.json["message"]


def test_serial_going_backwards_is_an_upstream_error(make_world):
    world = make_world(mirror_cache_expiry=0)
    world.wheel()
    world.upstream.set_serial(100, "hello-pkg")
    world.page("hello-pkg")
    newer = world.wheel(version="2.0")
    world.upstream.set_serial(50, "hello-pkg")
    assert newer.filename not in world.links("hello-pkg")  # stale page kept
    world.client.patch("/root/mirror", ["mirror_ignore_serial_header=True"], status=200)
    assert newer.filename in world.links("hello-pkg")


def test_etag_survives_a_restart(make_app, make_world, tmp_path):
    world = make_world(mirror_cache_expiry=0, options={"serverdir": str(tmp_path / "keep")})
    world.wheel()
    world.page("hello-pkg")
    world.app.close()
    app = make_app(**world.storage_options, serverdir=str(tmp_path / "keep"), request_timeout=0.5)
    from .conftest import MirrorWorld
    again = MirrorWorld(app, world.upstream, index_name=None)
    again.index_name = "root/mirror"
    again.page("hello-pkg")
    assert world.upstream.requests[-1].headers.get("If-None-Match")
