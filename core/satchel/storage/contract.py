"""The storage contract every backend implements (memory, sqlite, PostgreSQL ...).

Keys are strings built by ``satchel.model.keys``; values are JSON-compatible. Every write
transaction that changes something commits under the next gap-free serial (the first is 0)
and records a changelog entry ``{key: [back_serial, value]}`` (``value`` None = deleted,
``back_serial`` the serial the key was last written at, -1 if new), which feeds events,
cache invalidation and replication.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

Changes = dict[str, list]  # key -> [back_serial, value or None]
CommitListener = Callable[[int, Changes], None]


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: content address and size in bytes."""

    sha256: str
    size: int


@dataclass(frozen=True)
class StagedBlob(BlobInfo):
    """Bytes written but not yet visible: ``publish`` stores them, ``discard`` drops them."""

    token: Any = None


class ReadTx(Protocol):
    """A consistent snapshot at ``serial`` (-1 while nothing was ever committed)."""

    serial: int

    def get(self, key: str, default: Any = None) -> Any: ...

    def get_serial(self, key: str) -> int:
        """Serial the key was last written at, -1 if absent. Cheap: no value decoding."""

    def get_with_serial(self, key: str) -> tuple[Any, int]: ...

    def keys(self, prefix: str) -> list[str]:
        """Sorted keys starting with ``prefix``."""

    def items(self, prefix: str) -> list[tuple[str, Any]]: ...


class WriteTx(ReadTx, Protocol):
    """A read snapshot plus writes; commits on clean exit, rolls back on exception."""

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...

    @property
    def changes(self) -> Changes: ...

    def on_commit(self, callback: Callable[[int], None]) -> None:
        """Run ``callback(serial)`` after a successful commit."""


class BlobStore(Protocol):
    """Content-addressed files. A blob is complete and durable before ``put`` returns."""

    def put(self, chunks: Iterable[bytes], sync: bool = True) -> BlobInfo:
        """Store the bytes; durable on return unless ``sync=False`` (then ``sync()`` before committing)."""

    def sync(self) -> None:
        """Make blobs stored with ``sync=False`` durable."""

    def stage(self, chunks: Iterable[bytes]) -> StagedBlob:
        """Write the bytes where nobody sees them yet (safe from several threads at once)."""

    def publish(self, staged: StagedBlob, sync: bool = True) -> BlobInfo:
        """Make a staged blob visible; ``sync`` as for ``put``."""

    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged blob."""

    def leftovers(self, older_than: float = 3600, remove: bool = False) -> tuple[int, int]:
        """Temporary data untouched for ``older_than`` seconds, which only a crash leaves behind:
        ``(count, bytes)``; ``remove`` deletes it (``satchel fsck --repair``)."""

    def put_bytes(self, data: bytes) -> BlobInfo: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def path(self, sha256: str) -> Path | None:
        """A filesystem path for zero-copy serving, or None when blobs are not files."""

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...

    def __iter__(self) -> Iterator[str]: ...


@runtime_checkable
class Storage(Protocol):
    """One backend instance per app."""

    name: str
    blobs: BlobStore

    def read(self) -> AbstractContextManager[ReadTx]: ...

    def write(self) -> AbstractContextManager[WriteTx]: ...

    def last_serial(self) -> int: ...

    def changes_since(self, serial: int, limit: int | None = None) -> Iterator[tuple[int, Changes]]:
        """Committed entries with serial > ``serial``, oldest first."""

    def import_changes(self, serial: int, changes: Changes) -> None:
        """Apply an entry committed elsewhere (replication); ``serial`` must be last + 1."""

    def add_commit_listener(self, listener: CommitListener) -> None: ...

    def close(self) -> None: ...


@dataclass
class StorageBackend:
    """What a backend registers: ``factory(serverdir, settings) -> Storage``."""

    name: str
    factory: Callable[..., Storage]
    description: str = ""
    persistent: bool = True
