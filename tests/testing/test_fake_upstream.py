"""The fake upstream index the mirror tests run against: pages, files, negotiation, caching, faults."""

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pypi_simple
import pytest
import requests
from satchel.testing.fake_upstream import JSON_V1, FakeUpstream
from satchel.testing.fixtures import make_wheel


PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
              "text/html; q=0.01")


@pytest.fixture
def up(fake_upstream):
    """An upstream with one project of two files and one empty project."""
    filename, content = make_wheel("hello-pkg", "1.0")
    fake_upstream.wheel = fake_upstream.add_file(
        "Hello_Pkg", filename, content, requires_python="<4,>=3.8", metadata=True,
        upload_time="2024-01-01T00:00:00Z")
    fake_upstream.sdist = fake_upstream.add_file("hello-pkg", "hello-pkg-0.9.tar.gz", yanked="broken <build>")
    fake_upstream.add_project("empty-proj")
    return fake_upstream


def client(up):
    return pypi_simple.PyPISimple(endpoint=up.url)


# -- pages -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", [pypi_simple.ACCEPT_JSON_ONLY, pypi_simple.ACCEPT_HTML_ONLY])
def test_project_page_parses_with_pypi_simple(up, accept):
    with client(up) as pypi:
        page = pypi.get_project_page("hello-pkg", accept=accept)
    assert page.project == "hello-pkg" and page.repository_version == "1.1" and page.last_serial == "2"
    sdist, wheel = page.packages
    assert wheel.filename == up.wheel.filename and wheel.url == up.wheel.url
    assert wheel.url.startswith(up.files_url_base)
    assert wheel.digests == {"sha256": hashlib.sha256(up.wheel.content).hexdigest()}
    assert wheel.requires_python == "<4,>=3.8"
    assert wheel.has_metadata and wheel.metadata_digests == {"sha256": up.wheel.metadata_sha256}
    assert not wheel.is_yanked
    assert sdist.is_yanked and sdist.yanked_reason == "broken <build>" and sdist.has_metadata in (None, False)
    if accept == pypi_simple.ACCEPT_JSON_ONLY:
        assert wheel.size == len(up.wheel.content) and wheel.upload_time.year == 2024
        assert page.versions == ["0.9", "1.0"]


def test_html_escapes_attributes(up):
    body = requests.get(up.url + "hello-pkg/").text
    assert 'data-requires-python="&lt;4,&gt;=3.8"' in body
    assert 'data-yanked="broken &lt;build&gt;"' in body
    assert f'data-core-metadata="sha256={up.wheel.metadata_sha256}"' in body
    assert f'data-dist-info-metadata="sha256={up.wheel.metadata_sha256}"' in body
    assert f'{up.wheel.url}#sha256={up.wheel.sha256}"' in body
    assert "<!--SERIAL 2-->" in body


def test_json_file_fields(up):
    data = requests.get(up.url + "hello-pkg/", headers={"Accept": JSON_V1}).json()
    assert data["meta"] == {"api-version": "1.1", "_last-serial": 2}
    wheel = data["files"][1]
    assert wheel == {
        "filename": up.wheel.filename, "url": up.wheel.url, "hashes": {"sha256": up.wheel.sha256},
        "requires-python": "<4,>=3.8", "yanked": False, "size": len(up.wheel.content),
        "core-metadata": {"sha256": up.wheel.metadata_sha256},
        "data-dist-info-metadata": {"sha256": up.wheel.metadata_sha256},
        "upload-time": "2024-01-01T00:00:00Z", "provenance": None}
    assert data["files"][0]["yanked"] == "broken <build>" and data["files"][0]["core-metadata"] is False


@pytest.mark.parametrize("accept", [pypi_simple.ACCEPT_JSON_ONLY, pypi_simple.ACCEPT_HTML_ONLY])
def test_project_list(up, accept):
    with client(up) as pypi:
        page = pypi.get_index_page(accept=accept)
    assert page.projects == ["empty-proj", "Hello_Pkg"] and page.last_serial == "3"
    with client(up) as pypi:
        assert pypi.get_project_page("empty-proj", accept=accept).packages == []


@pytest.mark.parametrize("accept, content_type", [
    (None, "text/html; charset=utf-8"),
    ("*/*", "text/html; charset=utf-8"),
    ("text/html", "text/html; charset=utf-8"),
    ("application/json", "text/html; charset=utf-8"),
    (pypi_simple.ACCEPT_HTML_ONLY, "application/vnd.pypi.simple.v1+html"),
    (pypi_simple.ACCEPT_JSON_ONLY, "application/vnd.pypi.simple.v1+json"),
    (pypi_simple.ACCEPT_ANY, "application/vnd.pypi.simple.v1+html"),  # a tie: PyPI picks HTML too
    (PIP_ACCEPT, "application/vnd.pypi.simple.v1+json"),
    ("application/vnd.pypi.simple.latest+json", "application/vnd.pypi.simple.v1+json"),
])
def test_content_negotiation(up, accept, content_type):
    for path in ("", "hello-pkg/"):
        resp = requests.get(up.url + path, headers={"Accept": accept} if accept else {})
        assert resp.headers["Content-Type"] == content_type and resp.headers["Vary"] == "Accept"
        assert resp.content.startswith(b"{") == content_type.endswith("json")


def test_format_query_parameter(up):
    resp = requests.get(up.url + "hello-pkg/", params={"format": JSON_V1})
    assert resp.headers["Content-Type"] == JSON_V1


def test_names_are_normalized_by_redirect(up):
    for path in ("Hello_Pkg/", "hello.pkg/", "hello-pkg"):
        resp = requests.get(up.url + path, allow_redirects=False)
        assert resp.status_code == 301 and resp.headers["Location"] == up.url + "hello-pkg/"
    assert requests.get(up.url + "HELLO_PKG/").url == up.url + "hello-pkg/"
    assert requests.get(up.url + "no-such/").status_code == 404
    assert requests.get(up.url + "No_Such/").status_code == 404
    assert requests.get(up.origin + "/elsewhere").status_code == 404
    with client(up) as pypi, pytest.raises(pypi_simple.NoSuchProjectError):
        pypi.get_project_page("no-such")


def test_remove_project_and_file(up):
    up.remove_file("hello-pkg", up.sdist.filename)
    assert requests.get(up.sdist.url).status_code == 404
    up.remove_project("HELLO-pkg")
    assert requests.get(up.url + "hello-pkg/").status_code == 404
    assert requests.get(up.wheel.url).status_code == 404
    assert "hello-pkg" not in requests.get(up.url).text


def test_hash_false_advertises_no_hashes(fake_upstream):
    filename, content = make_wheel("nohash", "2.0")
    file = fake_upstream.add_file("nohash", filename, content, metadata=True, hash=False)
    html = requests.get(fake_upstream.url + "nohash/").text
    assert "#sha256=" not in html and 'data-core-metadata="true"' in html
    entry = requests.get(fake_upstream.url + "nohash/", headers={"Accept": JSON_V1}).json()["files"][0]
    assert entry["hashes"] == {} and entry["core-metadata"] is True and entry["url"] == file.url
    with client(fake_upstream) as pypi:
        for accept in (pypi_simple.ACCEPT_JSON_ONLY, pypi_simple.ACCEPT_HTML_ONLY):
            (package,) = pypi.get_project_page("nohash", accept=accept).packages
            assert package.digests == {} and package.has_metadata


def test_project_status_and_provenance(fake_upstream):
    fake_upstream.add_project("old-thing", status="archived", status_reason="moved <elsewhere>")
    file = fake_upstream.add_file("old-thing", "old_thing-1.0-py3-none-any.whl", provenance=b'{"version": 1}')
    with client(fake_upstream) as pypi:
        for accept in (pypi_simple.ACCEPT_JSON_ONLY, pypi_simple.ACCEPT_HTML_ONLY):
            page = pypi.get_project_page("old-thing", accept=accept)
            assert page.status == pypi_simple.ProjectStatus.ARCHIVED
            assert page.status_reason == "moved <elsewhere>"
            assert page.packages[0].provenance_url == file.url + ".provenance"
    assert requests.get(file.url + ".provenance").content == b'{"version": 1}'


def test_relative_urls():
    with FakeUpstream(relative_urls=True) as up:
        file = up.add_file("rel", "rel-1.0.tar.gz")
        html = requests.get(up.url + "rel/").text
        assert f'href="../../files/{file.sha256[:16]}/rel-1.0.tar.gz#sha256=' in html
        with client(up) as pypi:
            for accept in (pypi_simple.ACCEPT_JSON_ONLY, pypi_simple.ACCEPT_HTML_ONLY):
                (package,) = pypi.get_project_page("rel", accept=accept).packages
                assert package.url == file.url and requests.get(package.url).content == file.content


def test_basic_auth():
    with FakeUpstream(auth=("alice", "s3cret")) as up:
        up.add_project("private")
        assert requests.get(up.url + "private/").status_code == 401
        assert requests.get(up.url + "private/", auth=("alice", "wrong")).status_code == 401
        assert requests.get(up.url + "private/", auth=("alice", "s3cret")).status_code == 200
        with_credentials = up.url.replace("http://", "http://alice:s3cret@")
        assert requests.get(with_credentials + "private/").status_code == 200


# -- files ----------------------------------------------------------------------------------------------

def test_files_and_metadata(up, tmp_path):
    resp = requests.get(up.wheel.url)
    assert resp.content == up.wheel.content and resp.headers["Content-Length"] == str(len(up.wheel.content))
    assert resp.headers["Content-Type"] == "application/octet-stream"
    metadata = requests.get(up.wheel.url + ".metadata").content
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: hello-pkg\n")
    assert hashlib.sha256(metadata).hexdigest() == up.wheel.metadata_sha256
    assert requests.get(up.sdist.url + ".metadata").status_code == 404
    assert requests.get(up.files_url_base + "0000000000000000/" + up.wheel.filename).status_code == 404
    head = requests.head(up.wheel.url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(up.wheel.content))
    with client(up) as pypi:
        wheel = pypi.get_project_page("hello-pkg", accept=pypi_simple.ACCEPT_JSON_ONLY).packages[1]
        assert pypi.get_package_metadata_bytes(wheel) == metadata
        pypi.download_package(wheel, tmp_path / wheel.filename, verify=True)
        assert (tmp_path / wheel.filename).read_bytes() == up.wheel.content


def test_add_file_replaces_by_filename(up):
    old = up.wheel
    new = up.add_file("hello-pkg", old.filename, b"new bytes")
    assert requests.get(new.url).content == b"new bytes"
    assert requests.get(old.url).status_code == 404
    assert up.file("HELLO_pkg", old.filename) is new


# -- caching headers and serials ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["", "hello-pkg/"])
def test_etag_and_304(up, path):
    first = requests.get(up.url + path)
    etag = first.headers["ETag"]
    again = requests.get(up.url + path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert again.headers["X-PyPI-Last-Serial"] == first.headers["X-PyPI-Last-Serial"]
    assert requests.get(up.url + path, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    as_json = requests.get(up.url + path, headers={"Accept": JSON_V1, "If-None-Match": etag})
    assert as_json.status_code == 200 and as_json.headers["ETag"] != etag
    up.add_file("hello-pkg", "hello-pkg-2.0.tar.gz")
    changed = requests.get(up.url + path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_file_etag(up):
    etag = requests.get(up.wheel.url).headers["ETag"]
    assert requests.get(up.wheel.url, headers={"If-None-Match": etag}).status_code == 304


def test_serials(up):
    def serial(path=""):
        return requests.get(up.url + path).headers["X-PyPI-Last-Serial"]
    assert (serial(), serial("hello-pkg/"), serial("empty-proj/")) == ("3", "2", "3")
    up.add_file("hello-pkg", "hello-pkg-2.0.tar.gz")
    assert (serial(), serial("hello-pkg/"), serial("empty-proj/")) == ("4", "4", "3")
    up.set_serial(100)
    assert (serial(), serial("hello-pkg/"), serial("empty-proj/")) == ("100", "100", "100")
    up.set_serial(7, project="Hello_Pkg")
    assert (serial(), serial("hello-pkg/")) == ("100", "7")
    page = requests.get(up.url + "hello-pkg/", headers={"Accept": JSON_V1}).json()
    assert page["meta"]["_last-serial"] == 7
    up.add_project("new-proj")
    assert serial("new-proj/") == "101"


# -- request log -------------------------------------------------------------------------------------------

def test_request_log_and_count(up):
    requests.get(up.url, headers={"X-Probe": "1"})
    requests.get(up.url + "hello-pkg/?x=1")
    requests.get(up.wheel.url)
    requests.get(up.wheel.url + ".metadata")
    requests.head(up.wheel.url)
    method, path, headers = up.requests[0]
    assert (method, path, headers["X-Probe"]) == ("GET", "/simple/", "1")
    assert up.requests[1].path == "/simple/hello-pkg/"
    assert up.count() == 5 and up.count("/simple/") == 1 and up.count("/simple/*") == 2
    assert up.count(up.wheel.path) == 2 and up.count(up.wheel.path, method="GET") == 1
    assert up.count(up.wheel.path + "*") == 3 and up.count("/files/*") == 3
    up.clear_requests()
    assert up.requests == [] and up.count() == 0


def test_concurrent_requests_are_all_counted(up):
    up.fail(up.wheel.path, "delay:0.3")
    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        bodies = list(pool.map(lambda _: requests.get(up.wheel.url, timeout=10).content, range(50)))
    assert bodies == [up.wheel.content] * 50
    assert up.count(up.wheel.path) == 50
    assert time.monotonic() - started < 4  # served in parallel, not one after another


# -- faults ------------------------------------------------------------------------------------------------

def test_fault_status(up):
    up.fail("/simple/?*", 503)
    resp = requests.get(up.url + "hello-pkg/")
    assert resp.status_code == 503 and "fault" in resp.text
    assert requests.get(up.url).status_code == 200  # "/simple/?*" does not match "/simple/" itself
    with client(up) as pypi, pytest.raises(requests.HTTPError):
        pypi.get_project_page("hello-pkg")
    up.clear_faults()
    assert requests.get(up.url + "hello-pkg/").status_code == 200


def test_fault_times_and_precedence(up):
    up.fail("/simple/hello-pkg/", 500, times=2)
    assert [requests.get(up.url + "hello-pkg/").status_code for _ in range(3)] == [500, 500, 200]
    up.fail("*", 502)
    up.fail(up.wheel.path, 404, times=1)  # newest matching fault wins
    assert requests.get(up.wheel.url).status_code == 404
    assert requests.get(up.wheel.url).status_code == 502
    assert up.count(up.wheel.path) == 2  # faulted requests are logged too
    with pytest.raises(ValueError):
        up.fail("*", "explode")


@pytest.mark.parametrize("accept", [pypi_simple.ACCEPT_JSON_ONLY, pypi_simple.ACCEPT_HTML_ONLY])
def test_fault_garbage(up, accept):
    normal = requests.get(up.url + "hello-pkg/", headers={"Accept": accept})
    up.fail("/simple/hello-pkg/", "garbage")
    resp = requests.get(up.url + "hello-pkg/", headers={"Accept": accept})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == normal.headers["Content-Type"]
    assert resp.content != normal.content and len(resp.content) >= len(normal.content)
    again = requests.get(up.url + "hello-pkg/", headers={"Accept": accept})
    assert again.content == resp.content  # deterministic
    with pytest.raises(ValueError):
        json.loads(resp.content)
    if accept == pypi_simple.ACCEPT_JSON_ONLY:
        with client(up) as pypi, pytest.raises(ValueError):
            pypi.get_project_page("hello-pkg", accept=accept)


def test_fault_wrong_content_type(up):
    up.fail("/simple/*", "wrong-content-type")
    resp = requests.get(up.url + "hello-pkg/")
    assert resp.headers["Content-Type"] == "image/png" and resp.json()["name"] == "hello-pkg"
    with client(up) as pypi, pytest.raises(pypi_simple.UnsupportedContentTypeError):
        pypi.get_project_page("hello-pkg")


def test_fault_redirect_loop(up):
    up.fail("/simple/hello-pkg/", "redirect-loop")
    resp = requests.get(up.url + "hello-pkg/", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == up.url + "hello-pkg/"
    with pytest.raises(requests.TooManyRedirects):
        requests.get(up.url + "hello-pkg/")


def test_fault_delay(up):
    up.fail("/simple/hello-pkg/", "delay:0.4", times=1)
    started = time.monotonic()
    assert requests.get(up.url + "hello-pkg/").status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(requests.Timeout):
        up.fail("/simple/hello-pkg/", "delay:0.5", times=1)
        requests.get(up.url + "hello-pkg/", timeout=0.1)


def test_fault_slow(up):
    up.fail(up.wheel.path, "slow:0.4")
    started = time.monotonic()
    resp = requests.get(up.wheel.url)
    assert resp.content == up.wheel.content and time.monotonic() - started >= 0.3


def test_fault_truncate(up):
    up.fail(up.wheel.path, "truncate", times=1)
    with requests.get(up.wheel.url, stream=True) as resp:
        assert resp.headers["Content-Length"] == str(len(up.wheel.content))
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            _ = resp.content
    assert requests.get(up.wheel.url).content == up.wheel.content


def test_fault_wrong_hash(up, tmp_path):
    up.fail(up.wheel.path, "wrong-hash")
    resp = requests.get(up.wheel.url)
    assert resp.status_code == 200 and len(resp.content) == len(up.wheel.content)
    assert hashlib.sha256(resp.content).hexdigest() != up.wheel.sha256
    with client(up) as pypi:
        wheel = pypi.get_project_page("hello-pkg").packages[1]
        with pytest.raises(pypi_simple.DigestMismatchError):
            pypi.download_package(wheel, tmp_path / wheel.filename, verify=True)


def test_fault_reset(up):
    up.fail("/simple/hello-pkg/", "reset", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(up.url + "hello-pkg/")
    assert requests.get(up.url + "hello-pkg/").status_code == 200


def test_fault_endless(up):
    up.fail(up.wheel.path, "endless")
    with requests.get(up.wheel.url, stream=True, timeout=5) as resp:
        assert resp.status_code == 200 and "Content-Length" not in resp.headers
        received = 0
        for chunk in resp.iter_content(65536):
            received += len(chunk)
            if received > 3 * len(up.wheel.content) + 100_000:
                break
    assert received > 100_000


# -- lifecycle ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["endless", "delay:30", "slow:30"])
def test_stop_ends_in_flight_requests_promptly(fault):
    up = FakeUpstream().start()
    file = up.add_file("p", "p-1.0.tar.gz", b"x" * 100_000)
    up.fail(file.path, fault)
    outcome = {}

    def fetch():
        try:
            with requests.get(file.url, stream=True, timeout=30) as resp:
                outcome["bytes"] = sum(len(chunk) for chunk in resp.iter_content(65536))
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=fetch)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    up.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and time.monotonic() - started < 2
    assert "error" in outcome  # cut off, never a clean (complete-looking) answer
    with pytest.raises(requests.ConnectionError):
        requests.get(up.url, timeout=2)


def test_restart_keeps_port_and_content():
    with FakeUpstream() as up:
        up.add_project("kept")
        url = up.url
        up.stop()
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=2)
        up.start()
        assert up.url == url and requests.get(url + "kept/").status_code == 200
    assert up.start() is up
    up.stop()
    up.stop()  # idempotent


def test_fixture_yields_a_started_upstream(fake_upstream):
    assert requests.get(fake_upstream.url).status_code == 200
    assert fake_upstream.url == f"http://127.0.0.1:{fake_upstream.port}/simple/"
    assert fake_upstream.files_url_base == f"http://127.0.0.1:{fake_upstream.port}/files/"
