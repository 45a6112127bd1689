"""Mirror files: first download streamed and stored once verified, concurrency, Range/ETag, PEP 658, offline."""

import os
import threading

import pytest
import requests

from satchel.model import keys

from .conftest import JSON_V1


def _entry(world, path):
    with world.app.storage.read() as tx:
        return tx.get(keys.file(path.lstrip("/")))


def test_first_download_streams_and_stores(world):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    first = world.web.get(path)
    assert first.body == wheel.content
    entry = _entry(world, path)
    assert entry["sha256"] == wheel.sha256 and entry["project"] == "hello-pkg" and entry["version"] == "1.0"
    assert world.app.storage.blobs.exists(wheel.sha256)
    again = world.web.get(path)
    assert again.body == wheel.content
    assert again.headers["Cache-Control"].startswith("max-age=")
    assert world.upstream.count(wheel.path) == 1


def test_big_file_is_streamed_and_verified(world):
    content = os.urandom(3 << 20)  # over the prefetch size: streamed with the last chunk held back
    big = world.upstream.add_file("big", "big-1.0.tar.gz", content)
    path = world.links("big")[big.filename]
    assert world.web.get(path).body == content
    assert _entry(world, path)["size"] == len(content)


@pytest.mark.parametrize("fault", ["wrong-hash", "truncate", "reset", 500])
def test_bad_download_stores_nothing_and_the_next_request_retries(world, fault, caplog):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    world.upstream.fail(wheel.path, fault, times=1)
    reply = world.web.get(path, status=502)
    assert wheel.filename in reply.json["message"]
    assert _entry(world, path) is None and not world.app.storage.blobs.exists(wheel.sha256)
    assert "download of" in caplog.text or "upstream" in caplog.text
    assert world.web.get(path).body == wheel.content
    assert world.upstream.count(wheel.path) == 2


@pytest.mark.parametrize("fault", ["wrong-hash", "truncate"])
def test_bad_big_download_cuts_the_connection(world, serve, fault):
    content = os.urandom(3 << 20)
    big = world.upstream.add_file("big", "big-1.0.tar.gz", content)
    path = world.links("big")[big.filename]
    world.upstream.fail(big.path, fault, times=1)
    server = serve(world.app)
    with pytest.raises(requests.RequestException):
        reply = requests.get(server.url + path, timeout=10)
        reply.raise_for_status()
        assert len(reply.content) != len(content)  # never the whole (corrupt) file
        raise requests.RequestException("short body")
    assert _entry(world, path) is None
    assert requests.get(server.url + path, timeout=10).content == content


def test_endless_file_body_is_cut(world):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    world.upstream.fail(wheel.path, "endless", times=1)
    reply = world.web.get(path, status=502)
    assert "more than" in reply.json["message"]
    assert _entry(world, path) is None


def test_fifty_concurrent_clients_one_upstream_download(make_world, serve):
    world = make_world(options={"threads": 60})  # as `serve --threads 60`: storage connections to match
    content = os.urandom(2 << 20)
    big = world.upstream.add_file("big", "big-1.0.tar.gz", content)
    path = world.links("big")[big.filename]
    world.upstream.fail(big.path, "slow:0.5", times=1)
    server = serve(world.app, threads=60)
    bodies = []
    barrier = threading.Barrier(50)

    def download():
        barrier.wait()
        bodies.append(requests.get(server.url + path, timeout=30).content)

    threads = [threading.Thread(target=download) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(bodies) == 50 and all(body == content for body in bodies)
    assert world.upstream.count(big.path) == 1


def test_range_and_etag_on_cached_files(world):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    world.web.get(path)
    part = world.web.get(path, headers={"Range": "bytes=0-9"}, status=206)
    assert part.body == wheel.content[:10]
    etag = world.web.get(path).headers["ETag"]
    world.web.get(path, headers={"If-None-Match": etag}, status=304)


def test_head_of_an_uncached_file(world):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    reply = world.web.head(path)
    assert int(reply.headers["Content-Length"]) == len(wheel.content)
    assert world.web.get(path).body == wheel.content
    assert world.upstream.count(wheel.path) == 1


def test_core_metadata_from_upstream(world):
    wheel = world.wheel(metadata=True)
    path = world.links("hello-pkg")[wheel.filename]
    assert world.web.get(path + ".metadata").body == wheel.metadata
    assert world.upstream.count(wheel.path + ".metadata") == 1
    assert world.upstream.count(wheel.path) == 0  # the wheel itself was not needed
    world.web.get(path + ".metadata")
    assert world.upstream.count(wheel.path + ".metadata") == 1


def test_core_metadata_with_wrong_hash_is_502(world):
    wheel = world.wheel(metadata=True)
    path = world.links("hello-pkg")[wheel.filename]
    world.upstream.fail(wheel.path + ".metadata", "wrong-hash", times=1)
    assert "sha256" in world.web.get(path + ".metadata", status=502).json["message"]
    assert world.web.get(path + ".metadata").body == wheel.metadata


def test_core_metadata_extracted_from_the_cached_wheel(world):
    wheel = world.wheel()  # upstream has no .metadata
    path = world.links("hello-pkg")[wheel.filename]
    world.web.get(path + ".metadata", status=404)
    world.web.get(path)
    assert world.web.get(path + ".metadata").body.startswith(b"Metadata-Version: 2.1\nName: hello-pkg")
    assert world.upstream.count(wheel.path + ".metadata") == 0


def test_provenance_is_served_from_here(world):
    wheel = world.wheel(provenance=b'{"version": 1}')
    path = world.links("hello-pkg")[wheel.filename]
    assert world.web.get(path + ".provenance").body == b'{"version": 1}'


def test_offline_mode_never_contacts_upstream(make_world, make_app, tmp_path):
    world = make_world(options={"serverdir": str(tmp_path / "srv")})
    wheel = world.wheel()
    other = world.wheel(version="2.0")
    world.file("hello-pkg", wheel.filename)
    world.upstream.add_file("never-fetched", "never_fetched-1.0.tar.gz")
    world.app.close()
    world.upstream.clear_requests()
    app = make_app(**world.storage_options, serverdir=str(tmp_path / "srv"), offline_mode=True,
                   mirror_cache_expiry=0)
    from .conftest import MirrorWorld
    offline = MirrorWorld(app, world.upstream, index_name=None)
    offline.index_name = "root/mirror"
    links = offline.links("hello-pkg")
    assert set(links) == {wheel.filename}  # only cached files
    assert offline.web.get(links[wheel.filename]).body == wheel.content
    offline.page("never-fetched", status=404)
    assert other.filename not in links
    offline.web.get("/root/mirror/+simple/", headers={"Accept": JSON_V1})
    assert world.upstream.requests == []


def test_upstream_unreachable_cached_files_still_served(make_world):
    world = make_world(mirror_cache_expiry=0)
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    world.web.get(path)
    world.upstream.stop()
    assert world.links("hello-pkg")[wheel.filename] == path
    assert world.web.get(path).body == wheel.content


def test_uncached_file_with_upstream_down_is_502(world):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    world.upstream.stop()
    assert "unreachable" in world.web.get(path, status=502).json["message"]


def test_file_url_known_only_by_its_name(world, make_app):
    """A URL from a lock file, before the page was ever fetched (devpi: parse the project, fetch, retry)."""
    wheel = world.wheel()
    path = f"/root/mirror/+f/{wheel.sha256[:3]}/{wheel.sha256[3:16]}/{wheel.filename}"
    assert world.web.get(path).body == wheel.content
    sdist = world.upstream.add_file("foo-bar-2", "foo-bar-2-1.0.tar.gz")
    world.links("foo-bar-2")
    assert world.web.get(f"/root/mirror/+f/{sdist.sha256[:3]}/{sdist.sha256[3:16]}/{sdist.filename}").body \
        == sdist.content
    world.web.get(f"/root/mirror/+f/{wheel.sha256[:3]}/{wheel.sha256[3:16]}/nope-1.0.tar.gz", status=404)


def test_external_urls_redirect_to_upstream(make_world):
    world = make_world(mirror_use_external_urls=True)
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    assert world.web.get(path, status=302).location == wheel.url
    assert world.upstream.count(wheel.path) == 0


def test_deleted_mirror_index(world):
    wheel = world.wheel()
    path = world.links("hello-pkg")[wheel.filename]
    world.web.get(path)
    world.client.delete("/root/mirror", status=201)
    world.web.get(path, status=404)
    world.page("hello-pkg", status=404)
    world.client.put("/root/mirror", {"type": "stage", "bases": []}, status=200)
    world.web.get(path, status=(404, 410))
    world.page("hello-pkg", status=404)
