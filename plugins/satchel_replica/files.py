"""Replicating blobs: background threads copy what imported records reference; on demand too."""

import hashlib
import logging
import queue
import tempfile
import threading
from pathlib import Path

from satchel.errors import NotFound, UpstreamError

log = logging.getLogger(__name__)
BLOB_KINDS = ("files", "attachments", "indexstate")
CHUNK = 1 << 16


def referenced_blobs(changes: dict):
    """``(key, sha256)`` of blobs the imported records name."""
    for key, (_, value) in changes.items():
        if key.split("/", 1)[0] not in BLOB_KINDS or not isinstance(value, dict):
            continue
        for field in ("sha256", "metadata_sha256"):
            digest = value.get(field)
            if isinstance(digest, str) and len(digest) == 64:
                yield key, digest


class FileReplicator:
    """Copies blobs from the primary (or a local search path), verifying each sha256."""

    def __init__(self, replication, threads: int, search_paths: list[Path]):
        self.replication = replication
        self.app = replication.app
        self.search_paths = search_paths
        self.queue: queue.Queue = queue.Queue()
        self.pending: set[str] = set()
        self.inflight: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.errors = 0
        self.threads = [threading.Thread(target=self._work, name=f"satchel-filerepl-{n}", daemon=True)
                        for n in range(threads)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def enqueue(self, changes: dict) -> None:
        blobs = self.app.storage.blobs
        for key, sha256 in referenced_blobs(changes):
            with self.lock:
                if sha256 in self.pending or blobs.exists(sha256):
                    continue
                self.pending.add(sha256)
            self.queue.put((key, sha256))

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            key, sha256 = item
            try:
                self.fetch(sha256)
            except NotFound:
                log.info("replica: %s (%s) is gone on the primary", sha256, key)
            except Exception as exc:
                self.errors += 1
                log.warning("replica: copying %s failed (%s); will retry", sha256, exc)
                threading.Timer(5.0, self.queue.put, args=((key, sha256),)).start()
                continue
            with self.lock:
                self.pending.discard(sha256)

    def fetch(self, sha256: str) -> None:
        """Make the blob present locally; one copy at a time per blob."""
        blobs = self.app.storage.blobs
        if blobs.exists(sha256):
            return
        with self.lock:
            done = self.inflight.get(sha256)
            leader = done is None
            if leader:
                done = self.inflight[sha256] = threading.Event()
        if not leader:
            done.wait(300)
            if not blobs.exists(sha256):
                raise UpstreamError(f"copying {sha256} from the primary failed")
            return
        try:
            if not self._from_search_path(sha256):
                self._from_primary(sha256)
            self.app.hook.satchel_on_replicated_file(app=self.app, sha256=sha256)
        except UpstreamError as exc:
            # recorded before waiting requests wake up, so /+status already tells why
            self.replication.record_error(exc.message)
            raise
        finally:
            with self.lock:
                self.inflight.pop(sha256, None)
            done.set()

    def _from_search_path(self, sha256: str) -> bool:
        blobs = self.app.storage.blobs
        for directory in self.search_paths:
            for candidate in (directory / sha256[:2] / sha256, directory / sha256[:2] / sha256[2:4] / sha256,
                              directory / sha256):
                if candidate.is_file() and _sha256_of(candidate) == sha256:
                    with open(candidate, "rb") as handle:
                        blobs.put(iter(lambda: handle.read(CHUNK), b""))
                    return True
        return False

    def _from_primary(self, sha256: str) -> None:
        url = f"{self.replication.primary_url}/+replica/blob/{sha256}"
        with self.replication.session.get(url, headers=self.replication.headers(), stream=True,
                                          timeout=(5, 60)) as response:
            if response.status_code == 404:
                raise NotFound(f"blob {sha256} not on the primary")
            if response.status_code != 200:
                raise UpstreamError(f"primary answered {response.status_code} for blob {sha256}")
            with tempfile.TemporaryFile() as spool:
                digest = hashlib.sha256()
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    spool.write(chunk)
                if digest.hexdigest() != sha256:
                    # refused: the bytes are not what the changelog promised
                    raise UpstreamError(f"blob from the primary hashes to {digest.hexdigest()}, expected {sha256}")
                spool.seek(0)
                self.app.storage.blobs.put(iter(lambda: spool.read(CHUNK), b""))

    def stop(self) -> None:
        for _ in self.threads:
            self.queue.put(None)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
