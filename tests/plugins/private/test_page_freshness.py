"""A cached simple page is never served stale once a change was acknowledged, and pages come gzipped.

Each test first makes the page a cache hit that skips storage (the fast lookup), proves it is one,
then changes something through the REST API (or a replica's import) and asks again at once.
"""

import gzip
import json
import threading
import time

import pytest
from webob import Request
from webtest import TestApp

from satchel.app import create_app
from satchel.model import keys
from satchel.testing.fixtures import make_wheel
from satchel.web.pagecache import UNSHARED_CHECK_SECONDS

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
PIP_JSON = {"Accept": f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01",
            "User-Agent": "pip/24.0", "Accept-Encoding": "gzip, deflate"}
PIP_HTML = {"Accept": "text/html", "User-Agent": "pip/24.0", "Accept-Encoding": "gzip, deflate"}
PLAIN_HTML = {"Accept": "text/html", "Accept-Encoding": "identity"}
FORMS = [PIP_JSON, PIP_HTML, PLAIN_HTML]


def body_of(response) -> bytes:
    if response.headers.get("Content-Encoding") == "gzip":
        return gzip.decompress(response.body)
    return response.body


def filenames(response) -> set[str]:
    body = body_of(response)
    if response.headers["Content-Type"] == JSON_TYPE:
        return {entry["filename"] for entry in json.loads(body)["files"]}
    return set(re_anchor_texts(body.decode()))


def re_anchor_texts(html: str):
    import re

    return re.findall(r">([^<>]+)</a>", html)


def fetch(world, path: str, headers: dict, status=200):
    return world.testapp.get(path, headers=headers, status=status)


def warm(world, index: str, project: str = "hello-pkg") -> dict[int, set]:
    """Ask for every form twice; the second answer must come from the fast lookup."""
    path = f"/{index}/+simple/{project}/"
    seen = {}
    for number, headers in enumerate(FORMS):
        fetch(world, path, headers)
        hits = world.app.page_cache.hits
        seen[number] = filenames(fetch(world, path, headers))
        assert world.app.page_cache.hits == hits + 1, "the second request should be a cache hit"
    return seen


def files_everywhere(world, index: str, project: str = "hello-pkg", status=200) -> list[set]:
    return [filenames(fetch(world, f"/{index}/+simple/{project}/", headers)) if status == 200
            else fetch(world, f"/{index}/+simple/{project}/", headers, status=status) and set()
            for headers in FORMS]


def test_upload_shows_at_once(world):
    world.wheel("alice/dev", version="1.0")
    warm(world, "alice/dev")
    world.wheel("alice/dev", version="1.1")
    for names in files_everywhere(world, "alice/dev"):
        assert names == {"hello_pkg-1.0-py3-none-any.whl", "hello_pkg-1.1-py3-none-any.whl"}


def test_delete_and_yank_show_at_once(world, auth):
    world.wheel("alice/dev", version="1.0")
    world.wheel("alice/dev", version="2.0")
    warm(world, "alice/dev")
    world.testapp.delete("/alice/dev/hello-pkg/1.0", headers=auth("alice"))
    for names in files_everywhere(world, "alice/dev"):
        assert names == {"hello_pkg-2.0-py3-none-any.whl"}
    warm(world, "alice/dev")
    world.testapp.patch_json("/alice/dev/hello-pkg/2.0", {"yanked": "bad"}, headers=auth("alice"))
    html = body_of(fetch(world, "/alice/dev/+simple/hello-pkg/", PIP_HTML)).decode()
    assert 'data-yanked="bad"' in html
    data = json.loads(body_of(fetch(world, "/alice/dev/+simple/hello-pkg/", PIP_JSON)))
    assert data["files"][0]["yanked"] == "bad"
    world.testapp.delete("/alice/dev/hello-pkg", headers=auth("alice"))
    for headers in FORMS:
        fetch(world, "/alice/dev/+simple/hello-pkg/", headers, status=404)


def test_index_config_and_base_changes_show_at_once(world, auth):
    world.wheel("alice/dev", version="1.0")
    world.wheel("alice/prod", version="2.0")
    warm(world, "alice/prod")
    # a config change of the index itself: bases added
    world.testapp.patch_json("/alice/prod", {"bases": ["alice/dev"]}, headers=auth("alice"))
    for names in files_everywhere(world, "alice/prod"):
        assert names == {"hello_pkg-1.0-py3-none-any.whl", "hello_pkg-2.0-py3-none-any.whl"}
    # a change in a base
    warm(world, "alice/prod")
    world.wheel("alice/dev", version="1.1")
    for names in files_everywhere(world, "alice/prod"):
        assert "hello_pkg-1.1-py3-none-any.whl" in names
    # a base's own config change (its bases) changes the inherited page too
    world.filler.index("bob", "base")
    world.wheel("bob/base", version="0.9", user="bob")
    warm(world, "alice/prod")
    world.testapp.patch_json("/alice/dev", {"bases": ["bob/base"]}, headers=auth("alice"))
    for names in files_everywhere(world, "alice/prod"):
        assert "hello_pkg-0.9-py3-none-any.whl" in names


def test_missing_base_created_later_shows_at_once(world, auth):
    world.wheel("alice/dev", version="1.0")
    with world.app.storage.write() as tx:  # a base named before it exists (the API refuses that)
        config = tx.get(keys.index("alice", "dev"))
        tx.set(keys.index("alice", "dev"), {**config, "bases": ["bob/later"]})
    warm(world, "alice/dev")
    world.filler.index("bob", "later")
    world.wheel("bob/later", version="0.5", user="bob")
    for names in files_everywhere(world, "alice/dev"):
        assert "hello_pkg-0.5-py3-none-any.whl" in names


def test_index_deleted_is_404_at_once(world, auth):
    world.wheel("alice/dev", version="1.0")
    warm(world, "alice/dev")
    world.testapp.delete("/alice/dev", headers=auth("alice"))
    for headers in FORMS:
        fetch(world, "/alice/dev/+simple/hello-pkg/", headers, status=404)


def test_replica_import_shows_at_once(make_world, make_app):
    primary = make_world()
    replica = make_app(storage="memory")
    follower = TestApp(replica.wsgi)

    def sync():
        for serial, changes in primary.app.storage.changes_since(replica.storage.last_serial()):
            replica.storage.import_changes(serial, changes)

    # the replica's own initial root user is serial 0 on both sides; take the primary's from 1 on
    primary.wheel("alice/dev", version="1.0")
    sync()
    for _ in range(2):
        page = follower.get("/alice/dev/+simple/hello-pkg/", headers=PIP_JSON)
    assert filenames(page) == {"hello_pkg-1.0-py3-none-any.whl"}
    primary.wheel("alice/dev", version="1.1")
    sync()
    page = follower.get("/alice/dev/+simple/hello-pkg/", headers=PIP_JSON)
    assert filenames(page) == {"hello_pkg-1.0-py3-none-any.whl", "hello_pkg-1.1-py3-none-any.whl"}


def test_revalidation_after_a_change_gets_the_new_page(world):
    world.wheel("alice/dev", version="1.0")
    warm(world, "alice/dev")
    etag = fetch(world, "/alice/dev/+simple/hello-pkg/", PIP_JSON).headers["ETag"]
    fetch(world, "/alice/dev/+simple/hello-pkg/", {**PIP_JSON, "If-None-Match": etag}, status=304)
    world.wheel("alice/dev", version="1.1")
    changed = fetch(world, "/alice/dev/+simple/hello-pkg/", {**PIP_JSON, "If-None-Match": etag})
    assert changed.headers["ETag"] != etag
    assert "hello_pkg-1.1-py3-none-any.whl" in filenames(changed)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_concurrent_readers_never_see_an_acknowledged_upload_missing(make_world, storage):
    """Readers hammer the cached page while uploads happen; each upload, once answered, is on the page."""
    world = make_world(storage=storage)
    world.wheel("alice/dev", version="1.0")
    stop = threading.Event()
    errors = []

    def reader():
        app = TestApp(world.app.wsgi)
        while not stop.is_set():
            response = app.get("/alice/dev/+simple/hello-pkg/", headers=PIP_JSON, status="*")
            if response.status_int != 200:
                errors.append(response.status)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for minor in range(1, 16):
            filename, content = make_wheel("hello-pkg", f"1.{minor}")
            world.upload("alice/dev", filename, content, name="hello-pkg", version=f"1.{minor}", status=200)
            names = filenames(world.testapp.get("/alice/dev/+simple/hello-pkg/", headers=PIP_JSON))
            assert filename in names
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []


def raw(world, path: str, headers: dict, method: str = "GET"):
    """The answer as sent (WebTest's TestApp would undo the gzip)."""
    return Request.blank(path, headers=headers, method=method).get_response(world.app.wsgi)


def test_gzip_per_encoding_etag_and_vary(world):
    for version in range(1, 30):
        world.wheel("alice/dev", version=f"1.{version}")
    path = "/alice/dev/+simple/hello-pkg/"
    for accept in (PIP_JSON["Accept"], "text/html"):
        for _ in range(2):  # built, then from the fast lookup
            plain = raw(world, path, {"Accept": accept})
            zipped = raw(world, path, {"Accept": accept, "Accept-Encoding": "gzip"})
            assert "Content-Encoding" not in plain.headers
            assert zipped.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(zipped.body) == plain.body
            assert len(zipped.body) < len(plain.body) / 2.5  # the hashes in every line hardly compress
            assert int(zipped.headers["Content-Length"]) == len(zipped.body)
            for response in (plain, zipped):
                assert "Accept-Encoding" in response.headers["Vary"]
            assert plain.headers["ETag"] != zipped.headers["ETag"]
            # each ETag revalidates its own representation only
            assert raw(world, path, {"Accept": accept, "Accept-Encoding": "gzip",
                                     "If-None-Match": zipped.headers["ETag"]}).status_int == 304
            assert raw(world, path, {"Accept": accept, "If-None-Match": zipped.headers["ETag"]}).status_int == 200
            refused = raw(world, path, {"Accept": accept, "Accept-Encoding": "gzip;q=0, identity"})
            assert "Content-Encoding" not in refused.headers
            head = raw(world, path, {"Accept": accept, "Accept-Encoding": "gzip"}, method="HEAD")
            assert head.headers["Content-Length"] == zipped.headers["Content-Length"] and head.body == b""


def test_files_are_never_compressed(world):
    world.wheel("alice/dev", version="1.0")
    with world.app.storage.read() as tx:
        path = "/" + tx.get(keys.link("alice/dev", "hello-pkg", "hello_pkg-1.0-py3-none-any.whl"))["path"]
    response = raw(world, path, {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
    assert response.body.startswith(b"PK")


def test_doc_zips_and_their_members_are_never_compressed(world):
    from satchel.testing.fixtures import make_zip

    member = json.dumps({"entries": ["some text"] * 5000}).encode()  # large, JSON, very compressible
    docs = make_zip({"index.html": b"<h1>docs</h1>", "search.json": member})
    world.upload("alice/dev", "hello-pkg-1.0.zip", docs, name="hello-pkg", version="1.0", action="doc_upload")
    links = world.json("/alice/dev/hello-pkg/1.0").json["result"]["+links"]
    doczip = next(link for link in links if link["rel"] == "doczip")["href"].replace("http://localhost", "")
    for path, body in ((doczip, docs), ("/alice/dev/hello-pkg/1.0/+doc/search.json", member)):
        response = raw(world, path, {"Accept-Encoding": "gzip"})
        assert "Content-Encoding" not in response.headers and response.body == body


def test_large_json_api_answers_are_gzipped(world):
    for version in range(1, 40):
        world.wheel("alice/dev", version=f"1.{version}")
    plain = raw(world, "/alice/dev/hello-pkg", {"Accept": "application/json"})
    zipped = raw(world, "/alice/dev/hello-pkg", {"Accept": "application/json", "Accept-Encoding": "gzip"})
    assert len(plain.body) >= 8192 and "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.body)) == json.loads(plain.body)
    assert "Accept-Encoding" in zipped.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    head = raw(world, "/alice/dev/hello-pkg", {"Accept": "application/json", "Accept-Encoding": "gzip"}, "HEAD")
    assert head.body == b"" and head.headers["Content-Length"] == zipped.headers["Content-Length"]
    assert head.headers["Content-Encoding"] == "gzip"
    small = raw(world, "/+api", {"Accept": "application/json", "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


def test_index_json_with_many_projects_is_gzipped(world):
    from satchel.model import indexes, projects

    with world.app.storage.write() as tx:
        stage = indexes.get_stage(tx, world.app, "alice", "dev")
        for number in range(600):
            projects.add_release_file(tx, world.app, stage, project=f"project-{number}", version="1.0",
                                      filename=f"project-{number}-1.0.tar.gz", content=b"sdist")
    plain = raw(world, "/alice/dev", {"Accept": "application/json"})
    zipped = raw(world, "/alice/dev", {"Accept": "application/json", "Accept-Encoding": "gzip"})
    assert len(json.loads(plain.body)["result"]["projects"]) == 600
    assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert "Accept-Encoding" in zipped.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]


def test_read_restricted_pages_are_never_served_from_the_fast_lookup_to_strangers(world, auth):
    world.wheel("alice/dev", version="1.0")
    warm(world, "alice/dev")
    # restricting reading takes effect at once for a page anonymous callers had cached
    world.testapp.patch_json("/alice/dev", {"acl_read": ["alice"]}, headers=auth("alice"))
    for headers in FORMS:
        fetch(world, "/alice/dev/+simple/hello-pkg/", headers, status=401)
        fetch(world, "/alice/dev/+simple/hello-pkg/", {**headers, **auth("bob")}, status=403)
    # the reader's own requests, cached, still don't open the page to others
    for _ in range(2):
        names = filenames(fetch(world, "/alice/dev/+simple/hello-pkg/", {**PIP_JSON, **auth("alice")}))
        assert names == {"hello_pkg-1.0-py3-none-any.whl"}
    fetch(world, "/alice/dev/+simple/hello-pkg/", PIP_JSON, status=401)
    # a base restricted later closes the inheriting index's page too
    world.testapp.patch_json("/alice/dev", {"acl_read": [":ANONYMOUS:"]}, headers=auth("alice"))
    world.testapp.patch_json("/alice/prod", {"bases": ["alice/dev"]}, headers=auth("alice"))
    warm(world, "alice/prod")
    world.testapp.patch_json("/alice/dev", {"acl_read": ["alice"]}, headers=auth("alice"))
    fetch(world, "/alice/prod/+simple/hello-pkg/", PIP_JSON, status=401)


def upload_elsewhere(app, version: str, auth) -> str:
    filename, content = make_wheel("hello-pkg", version)
    TestApp(app.wsgi).post("/alice/dev/", params=[(":action", "file_upload"), ("name", "hello-pkg"),
                                                  ("version", version), ("protocol_version", "1")],
                           upload_files=[("content", filename, content)], headers=auth("alice"))
    return filename


def test_commits_of_another_process(make_world, tmp_path, auth):
    """Two apps on one sqlite serverdir stand for two processes: neither sees the other's commit listeners."""
    serverdir = str(tmp_path / "shared")
    serving = make_world(storage="sqlite", serverdir=serverdir)
    serving.wheel("alice/dev", version="1.0")
    other = create_app({"storage": "sqlite", "serverdir": serverdir})
    try:
        # a process serving requests beside a writer (shared): seen on the very next request
        serving.app.page_cache.shared = True
        warm(serving, "alice/dev")
        filename = upload_elsewhere(other, "1.1", auth)
        for names in files_everywhere(serving, "alice/dev"):
            assert filename in names
        # otherwise (a command beside a server) within UNSHARED_CHECK_SECONDS
        serving.app.page_cache.shared = False
        warm(serving, "alice/dev")
        filename = upload_elsewhere(other, "1.2", auth)
        time.sleep(UNSHARED_CHECK_SECONDS + 0.1)
        for names in files_everywhere(serving, "alice/dev"):
            assert filename in names
    finally:
        other.close()


def test_cached_page_hits_are_counted_in_the_metrics(world):
    from prometheus_client.parser import text_string_to_metric_families

    world.wheel("alice/dev", version="1.0")
    warm(world, "alice/dev")  # three forms, each built once and then a hit
    samples = {(sample.name, frozenset(sample.labels.items())): sample.value
               for family in text_string_to_metric_families(world.testapp.get("/+metrics").text)
               for sample in family.samples}
    labels = frozenset({"route": "simple_project", "method": "GET", "status": "200"}.items())
    assert samples[("satchel_http_requests_total", labels)] == 6


def test_requests_with_credentials_take_the_full_path(world, auth):
    """Credentials may narrow rights below anonymous: such requests are checked even for a cached public page."""
    world.wheel("alice/dev", version="1.0")
    warm(world, "alice/dev")
    token = world.testapp.post("/alice/+token-create", json.dumps({"allowed": ["upload"]}),
                               headers={"Accept": "application/json", "Content-Type": "application/json",
                                        **auth("alice")}).json["result"]["token"]
    refused = fetch(world, "/alice/dev/+simple/hello-pkg/", {**PIP_JSON, "Authorization": f"Bearer {token}"},
                    status=403)
    assert "pkg_read" in refused.json["message"]
    # a reader with credentials is answered (through the full path), and anonymous still from the cache
    assert filenames(fetch(world, "/alice/dev/+simple/hello-pkg/", {**PIP_JSON, **auth("bob")}))
    hits = world.app.page_cache.hits
    fetch(world, "/alice/dev/+simple/hello-pkg/", PIP_JSON)
    assert world.app.page_cache.hits == hits + 1
