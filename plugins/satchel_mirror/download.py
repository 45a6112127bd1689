"""A mirror file's first download: streamed to the client while written to a temp file and hashed.

Small files (up to ``PREFETCH`` bytes) are read whole and verified before the answer starts, so a bad
upstream gives the client a clean 502. Bigger ones are streamed; the last chunk is held back until the
size and hash are verified, so a client never receives a complete but corrupt file (the connection is
cut instead). Nothing is stored unless verified; concurrent requests for the file wait for this one.
"""

import hashlib
import itertools
import logging
import os
import tempfile
import threading

import requests
from webob import Response

from satchel import clock
from satchel.errors import UpstreamError
from satchel.model import keys
from satchel.model.projects import wheel_metadata
from satchel.views.files import file_response

from satchel_mirror.upstream import CHUNK

log = logging.getLogger(__name__)
PREFETCH = 1 << 20
WAIT_FOR_OTHER_DOWNLOAD = 300




class Download:
    """One request for a file not cached yet: the first one fetches, concurrent ones wait for it."""

    def __init__(self, request, stage, project: str, link: dict):
        self.request, self.stage, self.project, self.link = request, stage, project, link
        self.state = stage.state
        self.held = None  # the storage lock of this file while this request downloads it

    def response(self) -> Response:
        path = self.link["path"]
        self.state.stats.report("inc", "satchel_mirror_cache_misses_total", kind="file")
        with self.state.lock:
            done = self.state.downloads.get(path)
            leader = done is None
            if leader:
                done = self.state.downloads[path] = threading.Event()
        if not leader:
            self.state.stats.report("inc", "satchel_mirror_singleflight_waits_total", kind="file")
            done.wait(WAIT_FOR_OTHER_DOWNLOAD)
            return self._stored_response()
        fetch = None
        try:
            # one download across processes too: the storage's lock, held until this one is stored
            self.held = self.request.app.storage.lock(f"mirror-file/{path}")
            self.held.__enter__()
            if self._is_stored():  # another process stored it while we waited
                self.finished(done)
                return self._stored_response()
            fetch = Fetch(self, done)
            complete = fetch.prefetch(PREFETCH)
            if complete or self.request.method == "HEAD":
                entry = fetch.complete()
                return file_response(self.request, entry, entry["sha256"], entry["filename"])
        except BaseException:
            if fetch is not None:
                fetch.close()
            else:
                self.finished(done)
            raise
        response = Response(app_iter=fetch)
        response.headers["Content-Type"] = fetch.upstream.headers.get("Content-Type", "application/octet-stream")
        if fetch.announced is not None:
            response.headers["Content-Length"] = str(fetch.announced)
        response.headers["X-Accel-Buffering"] = "no"
        return response

    def finished(self, done: threading.Event) -> None:
        held, self.held = self.held, None
        if held is not None:
            held.__exit__(None, None, None)
        with self.state.lock:
            if self.state.downloads.get(self.link["path"]) is done:
                del self.state.downloads[self.link["path"]]
        done.set()

    def _is_stored(self) -> bool:
        with self.request.app.storage.read() as tx:
            entry = tx.get(keys.file(self.link["path"]))
        return entry is not None and self.request.app.storage.blobs.exists(entry["sha256"])

    def _stored_response(self) -> Response:
        with self.request.app.storage.read() as tx:
            entry = tx.get(keys.file(self.link["path"]))
        if entry is None or not self.request.app.storage.blobs.exists(entry["sha256"]):
            raise UpstreamError(f"download of {self.link['filename']} from upstream failed; try again")
        return file_response(self.request, entry, entry["sha256"], entry["filename"])

    def failed(self, message: str, kind: type[UpstreamError] = UpstreamError) -> UpstreamError:
        self.state.stats.failure(message)
        log.warning("mirror %s: download of %s failed: %s", self.stage.name, self.link["filename"], message)
        return kind(f"download of {self.link['filename']} from upstream failed: {message}")


class Fetch:
    """The upstream body of one download; iterating it streams, ``close()`` always cleans up."""

    def __init__(self, download: Download, done: threading.Event):
        self.download, self.done = download, done
        self.link = download.link
        self.app = download.request.app
        self.finished = False
        self.buffered: list[bytes] = []
        self.digest = hashlib.sha256()
        self.size = 0
        blobs = self.app.storage.blobs
        fd, self.tmpname = tempfile.mkstemp(prefix="mirror-", dir=blobs.spool_dir)
        self.tmp = os.fdopen(fd, "wb")
        try:
            upstream = download.state.upstream(download.stage)
            try:
                self.upstream = upstream.open_file(self.link["url"])
            except UpstreamError as exc:
                raise download.failed(exc.message, type(exc)) from None
        except BaseException:
            self._discard()
            raise
        announced = self.upstream.headers.get("Content-Length", "")
        self.announced = int(announced) if announced.isdigit() else None
        self.limit = self.announced if self.announced is not None else self.link.get("size")
        self.reader = self._read()

    def _read(self):
        try:
            for chunk in self.upstream.iter_content(CHUNK):
                if not chunk:
                    continue
                self.tmp.write(chunk)
                self.digest.update(chunk)
                self.size += len(chunk)
                if self.limit is not None and self.size > self.limit:
                    raise self.download.failed(f"upstream sent more than the {self.limit} bytes announced")
                yield chunk
        except requests.RequestException as exc:
            raise self.download.failed(f"connection broke after {self.size} bytes ({type(exc).__name__})") \
                from None

    def prefetch(self, size: int) -> bool:
        """Read up to ``size`` bytes ahead; True when that was the whole body."""
        while sum(map(len, self.buffered)) < size:
            chunk = next(self.reader, None)
            if chunk is None:
                return True
            self.buffered.append(chunk)
        return False

    def complete(self) -> dict:
        """Read the rest, verify and store; the stored file entry."""
        for _ in self.reader:
            pass
        self.buffered = []
        entry = self._store()
        self.close()
        return entry

    def __iter__(self):
        try:
            held = None
            for chunk in itertools.chain(self.buffered, self.reader):
                if held is not None:
                    yield held
                held = chunk
            self.buffered = []
            self._store()
            if held is not None:
                yield held  # only now: the client gets the whole file only when it is verified
        finally:
            self.close()

    def _verify(self) -> str:
        if self.announced is not None and self.size != self.announced:
            raise self.download.failed(f"got {self.size} of {self.announced} bytes")
        sha256 = self.digest.hexdigest()
        expected = (self.link.get("hashes") or {}).get("sha256")
        if expected and expected != sha256:
            raise self.download.failed(f"sha256 {sha256} does not match {expected} given by upstream")
        return sha256

    def _store(self) -> dict:
        sha256 = self._verify()
        self.tmp.flush()
        os.fsync(self.tmp.fileno())
        self.tmp.close()
        blobs = self.app.storage.blobs
        if not blobs.link_file(self.tmpname, sha256):
            with open(self.tmpname, "rb") as handle:
                blobs.put(iter(lambda: handle.read(CHUNK), b""))
        metadata_sha256 = None
        if self.link["filename"].endswith(".whl"):
            with open(self.tmpname, "rb") as handle:
                metadata = wheel_metadata(self.link["filename"], handle)
            if metadata is not None:
                metadata_sha256 = blobs.put_bytes(metadata).sha256
        stage = self.download.stage
        entry = {"sha256": sha256, "size": self.size, "filename": self.link["filename"],
                 "project": self.download.project, "version": self.link.get("version"),
                 "url": self.link["url"], "last_modified": _last_modified(self.link, self.upstream),
                 "metadata_sha256": metadata_sha256, "last_access": clock.day()}
        with self.app.storage.write() as tx:
            config = tx.get(keys.index(stage.username, stage.indexname))
            if config is None or config.get("mirror_url") != stage.config.get("mirror_url"):
                raise self.download.failed("the mirror index was deleted or changed meanwhile")
            tx.set(keys.file(self.link["path"]), entry)
        self.finished = True
        self.download.state.stats.file(self.size)
        return entry

    def _discard(self) -> None:
        try:
            self.tmp.close()
        finally:
            try:
                os.unlink(self.tmpname)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        """Release everything; called by the WSGI server even when the body was never read."""
        if self.done.is_set():
            return
        try:
            self.reader.close()
            self.upstream.close()
            self._discard()
        finally:
            self.download.finished(self.done)


def _last_modified(link: dict, upstream) -> str:
    when = link.get("upload_time")
    if when:
        return when[:19] + "Z" if len(when) > 20 else when
    return upstream.headers.get("Last-Modified") or clock.iso()
