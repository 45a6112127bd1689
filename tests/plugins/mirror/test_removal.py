"""``DELETE`` on a mirror index: cached files and pages are dropped and fetched again on demand."""

import pytest

from satchel.model import keys
from satchel.testing.fixtures import Filler


@pytest.fixture
def cached(world):
    """hello-pkg 1.0 and 2.0 cached (page and both files); the upstream's request log cleared."""
    wheels = [world.wheel(version="1.0"), world.wheel(version="2.0")]
    for wheel in wheels:
        assert world.file("hello-pkg", wheel.filename).body == wheel.content
    world.upstream.clear_requests()
    return wheels


def _cached_files(world) -> list[str]:
    with world.app.storage.read() as tx:
        return sorted(entry["filename"] for _, entry in tx.items(keys.file("root/mirror/")))


def _page_stored(world) -> bool:
    with world.app.storage.read() as tx:
        return tx.get(keys.project("root/mirror", "hello-pkg")) is not None


def test_delete_version_drops_its_files_but_keeps_the_page(world, cached):
    old, new = cached
    reply = world.client.delete("/root/mirror/hello-pkg/1.0", status=200)
    assert "1 cached files" in reply.json["message"]
    assert _cached_files(world) == [new.filename]
    assert not world.app.storage.blobs.exists(old.sha256)
    assert world.app.storage.blobs.exists(new.sha256)
    assert set(world.links("hello-pkg")) == {old.filename, new.filename}  # still listed
    assert world.file("hello-pkg", old.filename).body == old.content  # fetched again on demand
    assert world.upstream.count(old.path) == 1
    world.client.delete("/root/mirror/hello-pkg/3.0", status=404)


def test_delete_file_url(world, cached):
    old, new = cached
    url = world.links("hello-pkg")[old.filename]
    world.client.delete(url, status=200)
    assert _cached_files(world) == [new.filename]
    world.client.delete(url, status=404)
    assert world.web.get(url).body == old.content
    assert world.upstream.count(old.path) == 1


def test_delete_project_drops_files_and_page(world, cached):
    reply = world.client.delete("/root/mirror/hello-pkg", status=200)
    assert "2 cached files" in reply.json["message"]
    assert _cached_files(world) == [] and not _page_stored(world)
    assert not any(world.app.storage.blobs.exists(wheel.sha256) for wheel in cached)
    world.wheel(version="3.0")
    assert len(world.links("hello-pkg")) == 3  # asked upstream again at once, despite the expiry
    assert world.upstream.count("/simple/hello-pkg/") == 1
    world.client.delete("/root/mirror/never-seen", status=404)


def test_bytes_another_index_holds_are_kept(world, cached):
    old, _ = cached
    world.client.put("/root/dev", {"type": "stage"}, status=200)
    Filler(world.app).file("root/dev", "hello-pkg", "1.0", filename=old.filename, content=old.content)
    world.client.delete("/root/mirror/hello-pkg/1.0", status=200)
    assert world.app.storage.blobs.exists(old.sha256)
    assert world.web.get("/root/dev/+simple/hello-pkg/").status_int == 200


def test_only_the_owner_or_root_may_delete(world, cached):
    world.client.put("/alice", {"password": "secret"}, status=201)
    before = _cached_files(world)
    world.client.logoff()
    assert "anonymous" in world.client.delete("/root/mirror/hello-pkg", status=403).json["message"]
    world.client.login("alice", "secret")
    world.client.delete("/root/mirror/hello-pkg/1.0", status=403)
    world.client.delete(world.links("hello-pkg")[cached[0].filename], status=403)
    assert _cached_files(world) == before and _page_stored(world)


def test_non_volatile_mirror_needs_force(world, cached):
    world.client.patch("/root/mirror", ["volatile=False"], status=200)
    before = _cached_files(world)
    reply = world.client.delete("/root/mirror/hello-pkg", status=403)
    assert "force" in reply.json["message"]
    assert _cached_files(world) == before and _page_stored(world)
    world.client.delete("/root/mirror/hello-pkg?force", status=200)
    assert _cached_files(world) == []


def test_private_index_deletes_are_unchanged(world):
    world.client.put("/root/dev", {"type": "stage"}, status=200)
    Filler(world.app).file("root/dev", "own-pkg", "1.0")
    world.client.delete("/root/dev/own-pkg/1.0", status=200)
    world.client.delete("/root/dev/own-pkg/1.0", status=404)


def test_project_json_lists_mirror_releases_with_their_links(world, cached):
    """What ``devpi list`` and ``devpi remove`` read before deleting on a mirror."""
    result = world.client.get("/root/mirror/hello-pkg").json["result"]
    assert sorted(result) == ["1.0", "2.0"]
    assert result["1.0"]["name"] == "hello-pkg" and result["1.0"]["version"] == "1.0"
    (link,) = result["1.0"]["+links"]
    assert link["rel"] == "releasefile" and link["href"].endswith(cached[0].filename)
    assert link["hash_spec"] == f"sha256={cached[0].sha256}"
    version = world.client.get("/root/mirror/hello-pkg/2.0").json["result"]
    assert [entry["href"].rsplit("/", 1)[1] for entry in version["+links"]] == [cached[1].filename]
    world.client.get("/root/mirror/hello-pkg/3.0", status=404)


def test_metadata_cached_without_its_wheel_goes_with_the_version(world):
    wheel = world.wheel(version="1.0", metadata=True)
    url = world.links("hello-pkg")[wheel.filename]
    assert world.web.get(url + ".metadata").body == wheel.metadata  # what pip fetches first
    assert _cached_files(world) == [wheel.filename + ".metadata"]
    world.client.delete("/root/mirror/hello-pkg/1.0", status=200)
    assert _cached_files(world) == []
    assert world.web.get(url + ".metadata").body == wheel.metadata
    world.client.delete("/root/mirror/hello-pkg", status=200)
    assert _cached_files(world) == [] and not _page_stored(world)
