"""Project pages of a mirror: fetched JSON-first (HTML fallback), every upstream field kept, links local."""

import pytest

from satchel.testing.fake_upstream import TEXT_HTML, FakeUpstream

from .conftest import JSON_V1, PIP


class HtmlOnlyUpstream(FakeUpstream):
    """An old index that answers HTML whatever the client asks for."""

    def _page(self, req, name, media_type):
        return super()._page(req, name, TEXT_HTML)


def _rich_project(world):
    up = world.upstream
    up.add_project("hello-pkg", status="archived", status_reason="moved")
    wheel = world.wheel(requires_python=">=3.8", metadata=True, upload_time="2024-01-02T03:04:05Z",
                        provenance=b'{"attestation_bundles": []}')
    sdist = up.add_file("hello-pkg", "hello-pkg-0.9.tar.gz", yanked="broken build")
    return wheel, sdist


def test_json_is_asked_first_and_every_field_is_kept(world):
    wheel, sdist = _rich_project(world)
    files = {f["filename"]: f for f in world.page("hello-pkg", json=True).json["files"]}
    accept = world.upstream.requests[-1].headers["Accept"]
    assert accept.startswith(JSON_V1) and "text/html" in accept
    whl = files[wheel.filename]
    assert whl["hashes"] == {"sha256": wheel.sha256}
    assert whl["requires-python"] == ">=3.8"
    assert whl["core-metadata"] == {"sha256": wheel.metadata_sha256}
    assert whl["size"] == len(wheel.content)
    assert whl["upload-time"] == "2024-01-02T03:04:05Z"
    assert files[sdist.filename]["yanked"] == "broken build"
    assert "core-metadata" not in files[sdist.filename]
    html = world.page("hello-pkg").text
    assert 'data-requires-python="&gt;=3.8"' in html and 'data-yanked="broken build"' in html
    assert f"#sha256={wheel.sha256}" in html
    with world.app.storage.read() as tx:
        record = world.stage().get_project(tx, "hello-pkg")
    assert record["status"] == {"status": "archived", "reason": "moved"}
    stored = {link["filename"]: link for link in record["files"]}
    assert stored[wheel.filename]["provenance"] is True
    assert stored[wheel.filename]["provenance_url"] == wheel.url + ".provenance"


def test_status_and_provenance_are_rendered(world):
    _rich_project(world)
    page = world.page("hello-pkg", json=True).json
    assert page["project-status"]["status"] == "archived"
    assert any("provenance" in f for f in page["files"])


def test_links_point_at_the_server_never_upstream(world):
    wheel, _ = _rich_project(world)
    for json in (False, True):
        body = world.page("hello-pkg", json=json).text
        assert world.upstream.origin not in body and "127.0.0.1" not in body
    assert set(world.links("hello-pkg")) == {wheel.filename, "hello-pkg-0.9.tar.gz"}
    assert world.links("hello-pkg")[wheel.filename].startswith("/root/mirror/+f/")


def test_html_fallback(make_world):
    with HtmlOnlyUpstream() as up:
        world = make_world(up)
        wheel = world.wheel(requires_python=">=3.7", metadata=True)
        up.add_file("hello-pkg", "hello-pkg-0.9.tar.gz", yanked=True)
        files = {f["filename"]: f for f in world.page("hello-pkg", json=True).json["files"]}
        assert up.requests[-1].path == "/simple/hello-pkg/"
        assert files[wheel.filename]["hashes"] == {"sha256": wheel.sha256}
        assert files[wheel.filename]["requires-python"] == ">=3.7"
        assert files[wheel.filename]["core-metadata"] == {"sha256": wheel.metadata_sha256}
        assert files["hello-pkg-0.9.tar.gz"]["yanked"] is True
        assert world.file("hello-pkg", wheel.filename).body == wheel.content


def test_relative_upstream_links(make_world):
    with FakeUpstream(relative_urls=True) as up:
        world = make_world(up)
        wheel = world.wheel()
        assert world.file("hello-pkg", wheel.filename).body == wheel.content


def test_files_without_hash_are_served_under_e(world):
    file = world.upstream.add_file("nohash", "nohash-1.0.tar.gz", hash=False)
    links = world.links("nohash")
    path = links["nohash-1.0.tar.gz"]
    assert "/+e/" in path
    assert "#sha256" not in world.page("nohash").text
    assert world.web.get(path).body == file.content
    assert world.upstream.count(file.path) == 1
    assert world.web.get(path).body == file.content  # now from the store
    assert world.upstream.count(file.path) == 1


def test_other_spellings_redirect_to_the_normalized_page(world):
    world.wheel()
    response = world.web.get("/root/mirror/+simple/Hello_Pkg/", headers=PIP, status=302)
    assert response.location.endswith("/root/mirror/+simple/hello-pkg/")
    assert world.upstream.count("/simple/?*") == 0


@pytest.mark.parametrize("name", ["foo%3Fbar", "foo%23bar", "foo%20bar", "-foo", "foo..", "a;b", "%2e%2e"])
def test_odd_project_names_never_reach_upstream(world, name):
    world.web.get(f"/root/mirror/+simple/{name}/", headers=PIP, status=(302, 400, 404))
    assert all(r.path.startswith("/simple/") and r.path.count("/") == 3 for r in world.upstream.requests)
    assert world.upstream.count("/simple/?*") == 0


def test_unicode_project_name_is_refused(world):
    world.web.get("/root/mirror/+simple/h%C3%A9llo/", headers=PIP, status=400)
    assert world.upstream.requests == []


def test_never_seen_project_missing_upstream_is_404(world):
    reply = world.page("no-such-project", status=404)
    assert "no-such-project" in reply.json["message"]
    assert world.upstream.count("/simple/no-such-project/") == 1
    world.page("no-such-project", status=404)  # negative answer cached until expiry
    assert world.upstream.count("/simple/no-such-project/") == 1


def test_project_removed_upstream_keeps_its_last_links(make_world):
    """As devpi: a project gone upstream is served as last seen, and its cached files too."""
    world = make_world(mirror_cache_expiry=0)
    wheel = world.wheel()
    world.file("hello-pkg", wheel.filename)
    world.upstream.remove_project("hello-pkg")
    world.upstream.clear_requests()
    assert list(world.links("hello-pkg")) == [wheel.filename]
    assert world.upstream.count("/simple/hello-pkg/") >= 1  # asked, answered 404
    assert world.file("hello-pkg", wheel.filename).body == wheel.content
