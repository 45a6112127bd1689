"""Big cached pages go to the server through ``wsgi.file_wrapper``; what the client gets does not change."""

import gzip
import io

import pytest
import requests

from satchel.web import bodies

PAGE = "/alice/dev/+simple/hello-pkg/"
HTML = {"Accept": "text/html", "User-Agent": "pip/24.0", "Accept-Encoding": "identity"}
HTML_GZIP = {**HTML, "Accept-Encoding": "gzip"}
JSON = {"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "pip/24.0", "Accept-Encoding": "identity"}


class Wrapper:
    """Stands for a server's ``wsgi.file_wrapper``: remembers what it wrapped."""

    made: list = []

    def __init__(self, filelike, block_size=8192):
        self.filelike = filelike
        Wrapper.made.append(self)

    def __iter__(self):
        return iter([self.filelike.read()])


@pytest.fixture
def big_page(app, filler):
    """alice/dev/hello-pkg with enough files for a page past ``FILE_WRAPPER_MIN_BYTES``."""
    filler.user("alice")
    filler.index("alice", "dev")
    for number in range(260):
        filler.file("alice/dev", "hello-pkg", f"1.0.{number}")
    return app


def test_small_bodies_and_servers_without_a_file_wrapper_get_the_bytes_themselves():
    big = b"x" * bodies.FILE_WRAPPER_MIN_BYTES
    assert bodies.app_iter({"wsgi.file_wrapper": Wrapper}, b"small") == [b"small"]
    assert bodies.app_iter({}, big) == [big]


def test_a_big_body_is_wrapped_without_a_copy():
    big = bytes(range(256)) * (bodies.FILE_WRAPPER_MIN_BYTES // 256 + 1)
    wrapped = bodies.app_iter({"wsgi.file_wrapper": Wrapper}, big)
    assert isinstance(wrapped, Wrapper) and isinstance(wrapped.filelike, io.BytesIO)
    assert wrapped.filelike.read() is big  # a whole unread BytesIO hands back the very bytes


def test_a_cache_hit_of_a_big_page_goes_through_the_file_wrapper(big_page, testapp):
    first = testapp.get(PAGE, headers=HTML)
    assert len(first.body) >= bodies.FILE_WRAPPER_MIN_BYTES
    Wrapper.made = []
    hits = big_page.page_cache.hits
    again = testapp.get(PAGE, headers=HTML, extra_environ={"wsgi.file_wrapper": Wrapper})
    assert big_page.page_cache.hits == hits + 1 and len(Wrapper.made) == 1
    assert again.body == first.body
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Length"] == str(len(first.body))


def test_a_real_server_answers_big_pages_alike_plain_gzipped_conditional_and_head(big_page, serve):
    url = serve(big_page).url + PAGE
    with requests.Session() as session:
        for headers in (HTML, JSON):
            built = session.get(url, headers=headers)  # the miss renders and caches
            hit = session.get(url, headers=headers)  # through the file wrapper
            assert built.status_code == hit.status_code == 200
            assert len(hit.content) >= bodies.FILE_WRAPPER_MIN_BYTES
            assert hit.content == built.content
            assert hit.headers["Content-Length"] == str(len(built.content))
            assert hit.headers["ETag"] == built.headers["ETag"]
        plain = session.get(url, headers=HTML)
        zipped = session.get(url, headers=HTML_GZIP, stream=True)
        raw = zipped.raw.read(decode_content=False)
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.headers["Content-Length"] == str(len(raw))
        assert gzip.decompress(raw) == plain.content
        assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
        assert "Accept-Encoding" in zipped.headers["Vary"]
        unchanged = session.get(url, headers={**HTML, "If-None-Match": plain.headers["ETag"]})
        assert unchanged.status_code == 304 and unchanged.content == b""
        head = session.head(url, headers=HTML)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(plain.content))
