"""A deterministic fake upstream package index (PEP 503/691/658/700) on 127.0.0.1, with injectable faults.

``FakeUpstream`` is a small WSGI app served by waitress in a background thread. Tests add projects and
files, point a mirror at ``up.url``, inspect ``up.requests`` and inject faults with ``up.fail(...)``::

    with FakeUpstream() as up:
        f = up.add_file("hello-pkg", "hello_pkg-1.0-py3-none-any.whl", b"...", requires_python=">=3.8")
        up.fail(f.path, "truncate", times=1)
        ...
        assert up.count(f.path) == 2

Routes (like PyPI): ``/simple/`` project list, ``/simple/<normalized>/`` project page (other spellings
301 to it, unknown projects 404), ``/files/<sha256[:16]>/<filename>`` files with ``.metadata`` (PEP 658)
and ``.provenance`` (PEP 740) companions. Pages are PEP 691 JSON when the ``Accept`` header prefers
``application/vnd.pypi.simple.v1+json`` (or ``?format=`` names it), else PEP 503 HTML. Every 200 answer
has an ``ETag`` (304 on ``If-None-Match``); pages carry ``X-PyPI-Last-Serial``.

Path patterns (``fail``, ``count``) are exact paths or ``fnmatch`` globs where ``*`` matches anything,
``/`` and nothing included: ``"/simple/"`` is only the list page, ``"/simple/?*"`` every project page,
``"/simple/*"`` both, ``f.path`` one file without its ``.metadata``, ``f.path + "*"`` both.
"""

import base64
import dataclasses
import fnmatch
import random
import threading
import time
from typing import NamedTuple, Self

import pytest
from packaging.utils import canonicalize_name
from waitress import create_server, wasyncore
from waitress.channel import ClientDisconnected
from webob import Request, Response

from satchel.testing.fake_upstream_render import (  # noqa: F401  (re-exported)
    HTML_V1,
    JSON_V1,
    TEXT_HTML,
    FakeFile,
    PageRenderer,
    _filename_version,
    _Project,
    _text,
    _wheel_metadata,
)

FAULTS = ("garbage", "wrong-content-type", "redirect-loop", "endless", "truncate", "wrong-hash", "reset")
"""Named fault modes of ``FakeUpstream.fail``; also an int status, ``"delay:SECONDS"``, ``"slow:SECONDS"``."""


class SeenRequest(NamedTuple):
    """One request as the fake upstream saw it (``path`` without the query string)."""

    method: str
    path: str
    headers: dict


@dataclasses.dataclass
class _Fault:
    pattern: str
    mode: object
    times: int | None



class FakeUpstream(PageRenderer):
    """A PyPI-like simple index on ``127.0.0.1`` with an ephemeral port; thread-safe; see the module doc.

    ``auth=(user, password)`` demands HTTP Basic auth on every path (401 otherwise). ``relative_urls=True``
    links files relative to the page (``../../files/...``) as devpi does, instead of absolute URLs.
    ``api_version`` is the PEP 629/691 version announced by every page. ``threads`` is waitress' pool size.
    """

    endless_seconds = 60.0
    """An ``"endless"`` body is cut (connection closed) after this long even if nobody stops the server."""

    def __init__(self, *, auth: tuple[str, str] | None = None, relative_urls: bool = False,
                 api_version: str = "1.1", threads: int = 16):
        self.auth = auth
        self.relative_urls = relative_urls
        self.api_version = api_version
        self.threads = threads
        self.port: int | None = None
        self.serial = 0
        self._projects: dict[str, _Project] = {}
        self._faults: list[_Fault] = []
        self._requests: list[SeenRequest] = []
        self._cache: dict = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen and serve in a daemon thread; after ``stop()`` this restarts on the same port."""
        if self._thread is not None:
            return self
        self._stopping.clear()
        self._server = create_server(self, host="127.0.0.1", port=self.port or 0, threads=self.threads,
                                     connection_limit=1000, channel_timeout=30, asyncore_use_poll=True,
                                     expose_tracebacks=True, ident="satchel-fake-upstream")
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._serve, name=f"fake-upstream-{self.port}", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        server = self._server
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        # Everything asyncore happens on this thread: drop connections, then wait for the workers
        # (which wake up from delays and endless bodies through ``_stopping``).
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=5)

    def stop(self) -> None:
        """Close the listening socket and every connection; in-flight delayed/endless answers end at once."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("FakeUpstream has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The index root, ``http://127.0.0.1:PORT/simple/``."""
        return self.origin + "/simple/"

    @property
    def files_url_base(self) -> str:
        """Where files are served, ``http://127.0.0.1:PORT/files/``."""
        return self.origin + "/files/"

    # -- content -----------------------------------------------------------------------------------

    def _changed(self) -> int:
        self.serial += 1
        self._cache.clear()
        return self.serial

    def add_project(self, name: str, *, status: str | None = None, status_reason: str | None = None) -> None:
        """List ``name`` (display spelling kept); PEP 792 ``status``/``status_reason`` shown if given."""
        with self._lock:
            project = self._projects.get(canonicalize_name(name))
            if project is None:
                project = self._projects[canonicalize_name(name)] = _Project(name, 0)
            project.status, project.status_reason = status, status_reason
            project.serial = self._changed()

    def add_projects(self, names) -> None:
        """Bulk ``add_project`` for big project lists (one serial bump)."""
        with self._lock:
            serial = self._changed()
            for name in names:
                self._projects.setdefault(canonicalize_name(name), _Project(name, serial))

    def remove_project(self, name: str) -> None:
        """Forget a project and its files (its pages and files 404 afterwards)."""
        with self._lock:
            if self._projects.pop(canonicalize_name(name), None) is not None:
                self._changed()

    def add_file(self, project: str, filename: str, content: bytes | None = None, *,
                 requires_python: str | None = None, yanked: bool | str = False,
                 metadata: bytes | bool | None = None, upload_time: str | None = None, hash: bool = True,
                 provenance: bytes | None = None, version: str | None = None) -> FakeFile:
        """Add (or replace, by filename) a release file and return it.

        ``content`` defaults to a few bytes naming the file. ``yanked``: ``True`` or a reason string.
        ``metadata``: PEP 658 core metadata bytes, ``True`` to take ``*.dist-info/METADATA`` from the wheel,
        ``None`` for none. ``hash=False`` advertises no hashes at all (no ``#sha256=``, ``"hashes": {}``,
        ``core-metadata: true``). ``upload_time`` is the PEP 700 string, e.g. ``"2024-01-01T00:00:00Z"``.
        ``provenance``: PEP 740 provenance bytes, served at ``<file>.provenance``. ``version`` overrides
        the one parsed from the filename for the PEP 700 ``versions`` list.
        """
        if content is None:
            content = f"fake upstream content of {filename}\n".encode()
        if metadata is True:
            metadata = _wheel_metadata(content)
        if version is None:
            version = _filename_version(filename)
        with self._lock:
            key = canonicalize_name(project)
            proj = self._projects.get(key)
            if proj is None:
                proj = self._projects[key] = _Project(project, 0)
            file = FakeFile(key, filename, content, requires_python, yanked, metadata or None, upload_time,
                            hash, provenance, version, upstream=self)
            proj.files[filename] = file
            proj.serial = self._changed()
            return file

    def remove_file(self, project: str, filename: str) -> None:
        """Unlist one file and stop serving it."""
        with self._lock:
            proj = self._projects.get(canonicalize_name(project))
            if proj is not None and proj.files.pop(filename, None) is not None:
                proj.serial = self._changed()

    def set_serial(self, serial: int, project: str | None = None) -> None:
        """Set the ``X-PyPI-Last-Serial`` value: of one project's page, or (no project) of the list and
        every page; later changes count on from the global value."""
        with self._lock:
            self._cache.clear()
            if project is not None:
                self._projects[canonicalize_name(project)].serial = serial
                return
            self.serial = serial
            for proj in self._projects.values():
                proj.serial = serial

    def file(self, project: str, filename: str) -> FakeFile:
        """The ``FakeFile`` added under that project and filename (``KeyError`` if there is none)."""
        with self._lock:
            return self._projects[canonicalize_name(project)].files[filename]

    # -- faults and request log --------------------------------------------------------------------

    def fail(self, pattern: str, status: int | str = 503, times: int | None = None) -> None:
        """Make requests matching ``pattern`` (exact path or glob) misbehave; the newest matching fault wins.

        ``status``: an HTTP status (answered with a short text body), or ``"garbage"`` (random bytes,
        normal content type), ``"wrong-content-type"`` (JSON labelled ``image/png``), ``"redirect-loop"``
        (302 to itself), ``"endless"`` (a body that never ends, until ``stop()`` or ``endless_seconds``),
        ``"delay:S"`` (answer normally after S seconds), ``"slow:S"`` (normal answer dribbled over S
        seconds), ``"truncate"`` (full Content-Length, half the bytes, then close), ``"wrong-hash"``
        (same length, different bytes), ``"reset"`` (close the connection without any answer).
        ``times=N``: only the next N matching requests, then the fault is gone.
        """
        mode = _parse_fault(status)
        with self._lock:
            self._faults.append(_Fault(pattern, mode, times))

    def clear_faults(self) -> None:
        """Remove every fault: all paths answer normally again."""
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[SeenRequest]:
        """A copy of every request seen so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def count(self, pattern: str = "*", method: str | None = None) -> int:
        """How many requests (optionally of ``method``) had a path matching ``pattern``."""
        return sum(1 for seen in self.requests
                   if _matches(pattern, seen.path) and (method is None or seen.method == method))

    def clear_requests(self) -> None:
        """Forget the request log (``requests``/``count`` start from zero)."""
        with self._lock:
            self._requests.clear()

    def _take_fault(self, path: str):
        with self._lock:
            for fault in reversed(self._faults):
                if _matches(fault.pattern, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault.mode
        return None

    # -- WSGI ----------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        req = Request(environ)
        path = req.path_info
        with self._lock:
            self._requests.append(SeenRequest(req.method, path, dict(req.headers)))
        if self.auth is not None and not _authorized(req, self.auth):
            resp = Response("authentication required\n", status=401, content_type="text/plain")
            resp.headers["WWW-Authenticate"] = 'Basic realm="fake-upstream"'
            return resp(environ, start_response)
        mode = self._take_fault(path)
        if mode is None:
            return self._conditional(req, self._answer(req))(environ, start_response)
        return self._faulty(req, mode)(environ, start_response)


    # -- faults ---------------------------------------------------------------------------------------

    def _faulty(self, req: Request, mode) -> Response:
        path = req.path_info
        if isinstance(mode, int):
            return _text(mode, f"fake upstream fault: status {mode}")
        kind, seconds = mode
        if kind == "reset":
            raise ClientDisconnected("fake upstream fault: reset")
        if kind == "redirect-loop":
            return Response(status=302, location=req.url)
        if kind == "delay":
            if self._stopping.wait(seconds):
                raise ClientDisconnected("fake upstream stopped during a delay")
            return self._conditional(req, self._answer(req))
        as_json = JSON_V1 if kind == "wrong-content-type" and path.startswith("/simple/") else None
        resp = self._answer(req, as_json)
        body = resp.body
        if kind not in ("truncate", "slow"):  # the body changes: the real one's ETag would be a lie
            resp.headers.pop("ETag", None)
        if kind == "wrong-content-type":
            resp.status, resp.content_type = 200, "image/png"
            return resp
        if kind == "garbage":
            resp.status = 200
            resp.body = random.Random(path).randbytes(max(len(body), 256))
            return resp
        if kind == "wrong-hash":
            resp.status = 200
            resp.body = body[:-1] + bytes([body[-1] ^ 0xFF]) if body else b"\0"
            return resp
        if kind == "truncate":
            resp.app_iter, resp.content_length = [body[:len(body) // 2]], len(body)
            return resp
        if kind == "slow":
            resp.app_iter, resp.content_length = self._dribble(body, seconds), len(body)
            return resp
        if kind == "endless":
            resp.status = 200
            resp.app_iter = self._endless(body)
            resp.headers.pop("Content-Length", None)
            return resp
        raise AssertionError(kind)

    def _dribble(self, body: bytes, seconds: float):
        pieces = 20
        step = max(1, -(-len(body) // pieces))
        for start in range(0, len(body), step):
            if start and self._stopping.wait(seconds / pieces):
                raise ClientDisconnected("fake upstream stopped during a slow answer")
            yield body[start:start + step]

    def _endless(self, body: bytes):
        yield body or b" "
        deadline = time.monotonic() + self.endless_seconds
        while time.monotonic() < deadline:
            if self._stopping.wait(0.01):
                break
            yield b"\n" * 4096
        raise ClientDisconnected("fake upstream endless body cut")


def _parse_fault(status):
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        return status
    if isinstance(status, str):
        if status in FAULTS:
            return (status, 0.0)
        kind, _, seconds = status.partition(":")
        if kind in ("delay", "slow"):
            try:
                return (kind, float(seconds))
            except ValueError:
                pass
    raise ValueError(f"unknown fault {status!r}; use an HTTP status, one of {FAULTS}, 'delay:S' or 'slow:S'")


def _matches(pattern: str, path: str) -> bool:
    return path == pattern or fnmatch.fnmatchcase(path, pattern)


def _authorized(req: Request, auth: tuple[str, str]) -> bool:
    scheme, _, value = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        return base64.b64decode(value).decode() == f"{auth[0]}:{auth[1]}"
    except ValueError:
        return False



@pytest.fixture
def fake_upstream():
    """A started ``FakeUpstream`` on 127.0.0.1, stopped after the test."""
    with FakeUpstream() as upstream:
        yield upstream
