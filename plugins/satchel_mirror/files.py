"""Mirror files: the first request streams from upstream while storing and hashing; later ones are local."""

import hashlib
import logging
import os
import tempfile
import threading
import time

from pypi_simple.errors import UnparsableFilenameError
from pypi_simple.filenames import parse_filename
from webob import Response

from satchel.errors import NotFound, UpstreamError
from satchel.model import keys
from satchel.model.indexes import get_stage, require_stage
from satchel.model.projects import wheel_metadata
from satchel.names import normalize_project
from satchel.views.files import file_response, lookup_file
from satchel.web.responses import redirect

log = logging.getLogger(__name__)
CHUNK = 1 << 16
WAIT_FOR_OTHER_DOWNLOAD = 300


def is_mirror_request(request) -> bool:
    """Route predicate: does the path name a mirror index?"""
    match = request.matchdict
    with request.app.storage.read() as tx:
        stage = get_stage(tx, request.app, match["user"], match["index"])
    return stage is not None and stage.is_mirror


def _relpath(request) -> str:
    match = request.matchdict
    return f"{match['user']}/{match['index']}/{match['kind']}/{match['relpath']}"


def find_link(stage, tx, relpath: str) -> dict | None:
    """The upstream link served at ``relpath``: the project comes from the file name."""
    filename = relpath.rsplit("/", 1)[-1]
    try:
        project = parse_filename(filename)[0]
    except UnparsableFilenameError:
        return None
    if not project:
        return None
    record = stage.get_project(tx, normalize_project(project))
    for link in (record or {}).get("files", ()):
        if link["path"] == relpath:
            return link
    return None


def serve_mirror_file(request) -> Response:
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    relpath = _relpath(request)
    metadata = relpath.endswith(".metadata")
    try:
        entry, sha256, filename = lookup_file(request.tx, relpath)
        if request.app.storage.blobs.exists(sha256):
            return file_response(request, entry, sha256, filename)
    except NotFound:
        pass
    link = find_link(stage, request.tx, relpath[: -len(".metadata")] if metadata else relpath)
    if link is None:
        raise NotFound("no such file")
    if request.app.config.get("offline_mode"):
        raise NotFound(f"{link['filename']} is not cached and the server is offline")
    if stage.config.get("mirror_use_external_urls") and not metadata:
        return redirect(link["url"])
    if metadata:
        return _metadata(request, stage, link)
    return Download(request, stage, link).response()


def _metadata(request, stage, link) -> Response:
    if not link.get("core_metadata"):
        raise NotFound("no core metadata for this file")
    upstream = stage.state.upstream(stage)
    response = upstream.open_file(link["url"] + ".metadata")
    with response:
        data = response.content
    expected = link["core_metadata"].get("sha256") if isinstance(link["core_metadata"], dict) else None
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise UpstreamError(f"core metadata of {link['filename']} does not match its hash")
    blob = request.app.storage.blobs.put_bytes(data)
    entry = {"sha256": blob.sha256, "size": blob.size, "filename": link["filename"] + ".metadata",
             "url": link["url"] + ".metadata", "last_modified": _now()}
    with request.write() as tx:
        tx.set(keys.file(link["path"] + ".metadata"), entry)
    return file_response(request, entry, blob.sha256, entry["filename"])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Download:
    """One file's first download. Concurrent requests for it wait for this one, then read the blob."""

    def __init__(self, request, stage, link):
        self.request, self.stage, self.link = request, stage, link
        self.state = stage.state

    def response(self) -> Response:
        path = self.link["path"]
        with self.state.lock:
            done = self.state.downloads.get(path)
            leader = done is None
            if leader:
                done = self.state.downloads[path] = threading.Event()
        if not leader:
            done.wait(WAIT_FOR_OTHER_DOWNLOAD)
            return self._stored_response()
        try:
            upstream = self.state.upstream(self.stage).open_file(self.link["url"])
        except BaseException:
            self._finish(done)
            raise
        response = Response(app_iter=self._stream(upstream, done))
        response.headers["Content-Type"] = upstream.headers.get("Content-Type", "application/octet-stream")
        if upstream.headers.get("Content-Length"):
            response.headers["Content-Length"] = upstream.headers["Content-Length"]
        response.headers["X-Accel-Buffering"] = "no"
        return response

    def _finish(self, done: threading.Event) -> None:
        with self.state.lock:
            self.state.downloads.pop(self.link["path"], None)
        done.set()

    def _stored_response(self) -> Response:
        with self.request.app.storage.read() as tx:
            entry = tx.get(keys.file(self.link["path"]))
        if entry is None:
            raise UpstreamError(f"download of {self.link['filename']} from upstream failed")
        return file_response(self.request, entry, entry["sha256"], entry["filename"])

    def _stream(self, upstream, done: threading.Event):
        """Yield upstream bytes while writing and hashing them; the last chunk only once verified."""
        app = self.request.app
        fd, tmpname = tempfile.mkstemp(prefix="satchel-mirror-")
        held = None
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as tmp, upstream:
                for chunk in upstream.iter_content(CHUNK):
                    tmp.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if held is not None:
                        yield held
                    held = chunk
            self._verify(upstream, digest.hexdigest(), size)
            with open(tmpname, "rb") as handle:
                blob = app.storage.blobs.put(iter(lambda: handle.read(CHUNK), b""))
            self._store(blob, tmpname)
            if held is not None:
                yield held
        except Exception as exc:
            self.state.stats.failures += 1
            self.state.stats.last_error = str(exc)
            log.warning("mirror %s: download of %s failed: %s", self.stage.name, self.link["filename"], exc)
            # ending the body short tells the client it did not get the file
            raise
        finally:
            os.unlink(tmpname)
            self._finish(done)

    def _verify(self, upstream, sha256: str, size: int) -> None:
        announced = upstream.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and int(announced) != size:
            raise UpstreamError(f"{self.link['filename']}: got {size} of {announced} bytes")
        expected = self.link["hashes"].get("sha256")
        if expected and expected != sha256:
            raise UpstreamError(f"{self.link['filename']}: sha256 {sha256} does not match {expected}")

    def _store(self, blob, tmpname: str) -> None:
        app = self.request.app
        metadata_sha256 = None
        if self.link["filename"].endswith(".whl"):
            with open(tmpname, "rb") as handle:
                metadata = wheel_metadata(self.link["filename"], handle)
            if metadata is not None:
                metadata_sha256 = app.storage.blobs.put_bytes(metadata).sha256
        entry = {"sha256": blob.sha256, "size": blob.size, "filename": self.link["filename"],
                 "project": None, "version": self.link.get("version"), "url": self.link["url"],
                 "last_modified": self.link.get("upload_time") or _now(), "metadata_sha256": metadata_sha256,
                 "last_access": time.strftime("%Y-%m-%d", time.gmtime())}
        with app.storage.write() as tx:
            tx.set(keys.file(self.link["path"]), entry)
        self.state.stats.files_cached += 1
        self.state.stats.bytes_cached += blob.size
