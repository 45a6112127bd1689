"""An in-memory backend (tests, throwaway servers): multi-version, so reads are snapshots."""

import hashlib
import io
import json
import threading
from pathlib import Path
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from satchel.plugin import hookimpl
from satchel.storage.blobs import FileBlobStore, check_sha256
from satchel.storage.contract import (
    BlobBackend, BlobInfo, BlobStore, Changes, CommitListener, ReadTx, SpooledBlob, Storage, StorageBackend)
from satchel.storage.txbase import BufferedWrite, notify_commit


class MemoryBlobStore(BlobStore):
    def __init__(self):
        self._blobs: dict[str, bytes] = {}

    def spool(self, chunks: Iterable[bytes]) -> SpooledBlob:
        data = b"".join(chunks)
        return SpooledBlob(hashlib.sha256(data).hexdigest(), len(data), data)

    def publish(self, spooled: SpooledBlob, sync: bool = True) -> BlobInfo:
        self._blobs[spooled.sha256] = spooled.token
        return BlobInfo(spooled.sha256, spooled.size)

    def discard(self, spooled: SpooledBlob) -> None:
        pass  # spooled bytes live in the token only

    def open(self, sha256: str):
        try:
            return io.BytesIO(self._blobs[check_sha256(sha256)])
        except KeyError:
            raise FileNotFoundError(sha256) from None

    def exists(self, sha256: str) -> bool:
        return sha256 in self._blobs

    def delete(self, sha256: str) -> None:
        self._blobs.pop(sha256, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._blobs))


class _MemoryRead(ReadTx):
    def __init__(self, storage: "MemoryStorage", serial: int):
        self._storage = storage
        self.serial = serial

    def _lookup(self, key: str) -> tuple[str | None, int]:
        for serial, text in reversed(self._storage._versions.get(key, ())):
            if serial <= self.serial:
                return text, (serial if text is not None else -1)
        return None, -1

    def get(self, key: str, default: Any = None) -> Any:
        text, _ = self._lookup(key)
        return default if text is None else json.loads(text)

    def get_serial(self, key: str) -> int:
        return self._lookup(key)[1]

    def get_with_serial(self, key: str) -> tuple[Any, int]:
        text, serial = self._lookup(key)
        return (None if text is None else json.loads(text)), serial

    def keys(self, prefix: str) -> list[str]:
        candidates = [k for k in list(self._storage._versions) if k.startswith(prefix)]
        return sorted(k for k in candidates if self._lookup(k)[0] is not None)

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        return [(k, self.get(k)) for k in self.keys(prefix)]


class MemoryStorage(Storage):
    """Everything in process memory; lost at exit."""

    name = "memory"

    def __init__(self, serverdir=None, settings: dict | None = None):
        self.blobs = MemoryBlobStore()
        self._versions: dict[str, list[tuple[int, str | None]]] = {}
        self._log: list[str] = []
        self._lock = threading.Lock()
        self._listeners: list[CommitListener] = []

    def last_serial(self) -> int:
        return len(self._log) - 1

    @contextmanager
    def read(self):
        yield _MemoryRead(self, self.last_serial())

    @contextmanager
    def write(self):
        with self._lock:
            tx = BufferedWrite(_MemoryRead(self, self.last_serial()))
            yield tx
            if not tx.changes:
                return
            serial = self._apply(tx.serial + 1, tx.changes)
        notify_commit(self._listeners, serial, tx.changes, tx.callbacks)

    def _apply(self, serial: int, changes: Changes) -> int:
        for key, (_, value) in changes.items():
            text = None if value is None else json.dumps(value)
            self._versions.setdefault(key, []).append((serial, text))
        self._log.append(json.dumps(changes))
        return serial

    def changes_since(self, serial: int, limit: int | None = None):
        start = max(serial + 1, 0)
        end = len(self._log) if limit is None else min(len(self._log), start + limit)
        for number in range(start, end):
            yield number, json.loads(self._log[number])

    def import_changes(self, serial: int, changes: Changes) -> None:
        with self._lock:
            if serial != self.last_serial() + 1:
                raise ValueError(f"expected serial {self.last_serial() + 1}, got {serial}")
            self._apply(serial, changes)
        notify_commit(self._listeners, serial, changes)

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def close(self) -> None:
        pass


@hookimpl
def satchel_blob_backend(backends):
    backends.add("fs", BlobBackend(
        "fs", lambda serverdir, settings, storage: FileBlobStore(Path(settings.get("path") or
                                                                   Path(serverdir) / "+blobs")),
        "files under <serverdir>/+blobs/ab/<sha256> (default; setting path= for another directory)"))


@hookimpl
def satchel_storage_backend(backends):
    backends.add("memory", StorageBackend(
        "memory", MemoryStorage, "in process memory, lost at exit (tests)", persistent=False))
