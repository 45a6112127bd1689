"""Mirror indexes in front of plain upstreams as devpi handles them: bare pages, quoted names, +e paths.

The upstream here is a minimal HTTP server answering exactly the bytes and headers a test sets (no
Content-Type, relative links, quoted file names), like the simple indexes devpi-client's suite runs.
"""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class RawUpstream:
    """``routes[path] = (status, headers, body)``; anything else is a bare 404. Requests are recorded."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                upstream.requests.append(self.path)
                status, headers, body = upstream.routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.origin}/simple"  # as devpi-client's suite gives it: no trailing slash
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, project: str, html: bytes) -> None:
        """A project page as bare bytes: no Content-Type at all."""
        self.routes[f"/simple/{project}/"] = (200, {}, html)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def raw():
    upstream = RawUpstream()
    yield upstream
    upstream.stop()


@pytest.fixture
def mirror(make_world, raw):
    """root/plain: a mirror of the raw upstream (mirror_url without a trailing slash), always re-checking."""
    return make_world(upstream=raw, index_name="root/plain", options={"request_timeout": 2},
                      mirror_cache_expiry=0)


def test_mirror_url_is_stored_as_given(mirror, raw):
    config = mirror.web.get("/root/plain", headers={"Accept": "application/json"}).json["result"]
    assert config["mirror_url"] == f"{raw.origin}/simple"
    raw.page("pkg", b"")
    mirror.page("pkg")
    assert "/simple/pkg/" in raw.requests  # the "/" between URL and project is added when fetching


def test_empty_page_without_content_type_is_a_project_without_releases(mirror, raw):
    raw.page("pkg", b"")
    assert mirror.page("pkg", json=True).json["files"] == []
    raw.page("other", b"\x00\x01 not a page")  # a non-empty page that is no HTML is still refused
    assert "not HTML" in mirror.page("other", status=502).json["message"]


def test_unhashed_links_are_served_under_e_with_the_scheme(mirror, raw):
    raw.page("pkg", b'<a href="../../pkg/pkg-1.0.zip">pkg-1.0.zip</a>')
    raw.routes["/pkg/pkg-1.0.zip"] = (200, {}, b"13")
    links = mirror.links("pkg")
    port = raw.origin.rsplit(":", 1)[1]
    assert links == {"pkg-1.0.zip": f"/root/plain/+e/http_127.0.0.1_{port}_pkg/pkg-1.0.zip"}
    assert mirror.file("pkg", "pkg-1.0.zip").body == b"13"


def test_percent_encoded_file_names_are_releases(mirror, raw):
    quoted = "pkg-1%212017.4%2Bdevpi.zip"
    raw.page("pkg", f'<a href="../../pkg/{quoted}">{quoted}</a>'.encode())
    raw.routes[f"/pkg/{quoted}"] = (200, {}, b"epoch and local")
    (link,) = mirror.page("pkg", json=True).json["files"]
    assert link["filename"] == "pkg-1!2017.4+devpi.zip"
    assert mirror.links("pkg")["pkg-1!2017.4+devpi.zip"].endswith("_pkg/pkg-1!2017.4+devpi.zip")
    assert mirror.page("pkg", json=True).json["versions"] == ["1!2017.4+devpi"]
    assert mirror.file("pkg", "pkg-1!2017.4+devpi.zip").body == b"epoch and local"
    assert raw.requests[-1] == f"/pkg/{quoted}"  # fetched by its URL as upstream wrote it


def test_hashed_links_are_served_under_f_by_the_given_hash(mirror, raw):
    content = b"hashed"
    sha256 = hashlib.sha256(content).hexdigest()
    raw.page("pkg", f'<a href="../../pkg/pkg-1.0.zip#sha256={sha256}">pkg-1.0.zip</a>'
                    f'<a href="../../pkg/pkg-2.0.zip#sha256=1234">pkg-2.0.zip</a>'.encode())
    raw.routes["/pkg/pkg-1.0.zip"] = (200, {}, content)
    raw.routes["/pkg/pkg-2.0.zip"] = (200, {}, b"does not match 1234")
    links = mirror.links("pkg")
    assert links["pkg-1.0.zip"] == f"/root/plain/+f/{sha256[:3]}/{sha256[3:16]}/pkg-1.0.zip"
    assert links["pkg-2.0.zip"] == "/root/plain/+f/123/4/pkg-2.0.zip"  # devpi's path for what upstream says
    assert mirror.file("pkg", "pkg-1.0.zip").body == content
    response = mirror.file("pkg", "pkg-2.0.zip", status=502)  # a wrong hash never verifies
    assert "does not match" in response.json["message"]


def test_download_error_names_the_upstream_status_like_devpi(mirror, raw):
    raw.page("pkg", b'<a href="../../pkg/pkg-1.0.zip">pkg-1.0.zip</a>')
    response = mirror.file("pkg", "pkg-1.0.zip", status=502)
    assert f"error 404 getting {raw.origin}/pkg/pkg-1.0.zip" in response.json["message"]
