"""pip and uv get gzipped simple pages from a real ``satchel serve`` (seen by a recording relay between them)."""

import http.client
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from uv import find_uv_bin

from satchel.testing.fixtures import filled_server

pytestmark = pytest.mark.slow
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "date", "server", "content-length"}


class Relay(ThreadingHTTPServer):
    """Passes requests to the server unchanged and records what each answer's encoding was."""

    daemon_threads = True

    def __init__(self, target_url: str):
        super().__init__(("127.0.0.1", 0), RelayHandler)
        self.target = urlsplit(target_url)
        self.seen: list[tuple[str, str, str, str]] = []  # path, User-Agent, Accept-Encoding, Content-Encoding
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class RelayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the http.server naming
        relay = self.server
        conn = http.client.HTTPConnection(relay.target.hostname, relay.target.port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request("GET", self.path, headers=headers)
            answer = conn.getresponse()
            body = answer.read()  # as sent: http.client does not undo a Content-Encoding
        finally:
            conn.close()
        with relay.lock:
            relay.seen.append((self.path, self.headers.get("User-Agent", ""),
                               self.headers.get("Accept-Encoding", ""), answer.getheader("Content-Encoding", "")))
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    """A server holding a project with a page big enough to compress, behind a recording relay."""
    def fill(filler):
        filler.user("alice")
        filler.index("alice", "dev")
        for minor in range(30):
            filler.file("alice/dev", "big-pkg", f"1.{minor}", requires_python=">=3.8")

    with filled_server(tmp_path_factory.mktemp("gzip") / "server", fill) as process:
        server = Relay(process.url)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


def page_answers(relay: Relay, agent: str) -> list[tuple[str, str, str, str]]:
    with relay.lock:
        return [seen for seen in relay.seen if "/+simple/big-pkg" in seen[0] and seen[1].startswith(agent)]


def test_pip_gets_gzipped_pages(relay, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir", "--isolated", "download",
         "--index-url", relay.url + "/alice/dev/+simple/", "--dest", str(tmp_path), "--no-deps", "big-pkg"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["big_pkg-1.29-py3-none-any.whl"]
    answers = page_answers(relay, "pip/")
    assert answers, relay.seen
    for _, _, accept_encoding, content_encoding in answers:
        assert "gzip" in accept_encoding and content_encoding == "gzip"
    files = [seen for seen in relay.seen if seen[0].endswith(".whl")]
    assert files and all(seen[3] == "" for seen in files)  # files are never compressed


def test_uv_gets_gzipped_pages(relay, tmp_path):
    env = {**os.environ, "UV_NO_CACHE": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"}
    env.pop("UV_INDEX_URL", None)
    result = subprocess.run(
        [find_uv_bin(), "pip", "install", "--python", sys.executable, "--index-url",
         relay.url + "/alice/dev/+simple/", "--target", str(tmp_path / "t"), "--no-deps", "big-pkg"],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "t").glob("*.dist-info")) == ["big_pkg-1.29.dist-info"]
    answers = page_answers(relay, "uv/")
    assert answers, relay.seen
    for _, _, accept_encoding, content_encoding in answers:
        assert "gzip" in accept_encoding and content_encoding == "gzip"
