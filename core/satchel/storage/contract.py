"""The storage contract every backend implements (memory, sqlite, PostgreSQL ...).

Keys are strings built by ``satchel.model.keys``; values are JSON-compatible. Every write
transaction that changes something commits under the next gap-free serial (the first is 0)
and records a changelog entry ``{key: [back_serial, value]}`` (``value`` None = deleted,
``back_serial`` the serial the key was last written at, -1 if new), which feeds events,
cache invalidation and replication.

Backends subclass ``ReadTx``, ``WriteTx``, ``BlobStore`` and ``Storage``: abstract methods are
required; everything else is an optional capability, declared here with a default that says
"not offered" (``link_file`` returns False, ``path`` None, ``multi_process`` False ...). Callers
use the declared name and never probe a backend for attributes.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from satchel.storage.locks import NamedLocks

Changes = dict[str, list]  # key -> [back_serial, value or None]
CommitListener = Callable[[int, Changes], None]


class CommitWatcher(Protocol):
    """Told by a storage offering ``watch_commits`` about commits of other processes."""

    def caught_up(self, serial: int) -> None:
        """Every commit up to ``serial`` is in the changelog: read what is missing from ``changes_since``
        before returning. From then on the watcher may rely on being told, until ``lost``."""

    def lost(self) -> None:
        """The push stopped (connection lost): ask ``last_serial`` again until the next ``caught_up``."""


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: content address and size in bytes."""

    sha256: str
    size: int


@dataclass(frozen=True)
class SpooledBlob(BlobInfo):
    """Bytes written and hashed but not yet a blob: ``publish`` makes them one, ``discard`` drops them."""

    token: Any = None


class ReadTx(ABC):
    """A consistent snapshot at ``serial`` (-1 while nothing was ever committed)."""

    serial: int

    @abstractmethod
    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""

    @abstractmethod
    def get_serial(self, key: str) -> int:
        """Serial the key was last written at, -1 if absent. Cheap: no value decoding."""

    @abstractmethod
    def get_with_serial(self, key: str) -> tuple[Any, int]:
        """``(value or None, serial or -1)``."""

    @abstractmethod
    def keys(self, prefix: str) -> list[str]:
        """Sorted keys starting with ``prefix``."""

    @abstractmethod
    def items(self, prefix: str) -> list[tuple[str, Any]]:
        """Sorted ``(key, value)`` pairs whose key starts with ``prefix``."""

    def release(self) -> None:
        """Capability: end the snapshot early (before this thread writes), so old versions can be freed.

        Default: nothing to free. A released snapshot is not read again until ``renew``.
        """

    def renew(self) -> None:
        """Capability: after ``release``, start a new snapshot at the latest serial.

        Default: keep the old snapshot (still consistent, just older)."""


class WriteTx(ReadTx):
    """A read snapshot plus writes; commits on clean exit, rolls back on exception."""

    @abstractmethod
    def set(self, key: str, value: Any) -> None:
        """Write ``value`` (JSON-compatible, not None) under ``key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing recorded when it never existed)."""

    @property
    @abstractmethod
    def changes(self) -> Changes:
        """The changelog entry this transaction commits, so far."""

    @abstractmethod
    def on_commit(self, callback: Callable[[int], None]) -> None:
        """Run ``callback(serial)`` after a successful commit."""


class BlobStore(ABC):
    """Content-addressed files. A blob is complete and durable before ``put`` returns.

    Spooling is the two-step write: ``spool`` writes and hashes bytes where nobody sees them,
    ``publish`` turns them into a blob, ``discard`` drops them.
    """

    spool_dir: Path | None = None
    """Capability: a local directory on the store's own filesystem where callers may write a temp
    file that ``link_file`` can then adopt without copying; None: use the system's temp dir."""

    can_link: bool = False
    """Capability: ``link_file`` may adopt local files (it can still answer False for one, e.g.
    across filesystems); False: it never does, so callers copy right away."""

    @abstractmethod
    def spool(self, chunks: Iterable[bytes]) -> SpooledBlob:
        """Write the bytes where nobody sees them yet (safe from several threads at once)."""

    @abstractmethod
    def publish(self, spooled: SpooledBlob, sync: bool = True) -> BlobInfo:
        """Make a spooled blob visible; ``sync`` as for ``put``."""

    @abstractmethod
    def discard(self, spooled: SpooledBlob) -> None:
        """Drop a spooled blob (no error when it is gone already)."""

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A readable binary file object; FileNotFoundError when absent."""

    @abstractmethod
    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""

    @abstractmethod
    def delete(self, sha256: str) -> None:
        """Remove the blob (no error when absent)."""

    @abstractmethod
    def __iter__(self) -> Iterator[str]:
        """The sha256 of every stored blob, sorted."""

    def put(self, chunks: Iterable[bytes], sync: bool = True) -> BlobInfo:
        """Store the bytes; durable on return unless ``sync=False`` (then ``sync()`` before committing)."""
        return self.publish(self.spool(chunks), sync)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """``put`` for bytes in memory."""
        return self.put([data])

    def sync(self) -> None:
        """Make blobs stored with ``sync=False`` durable. Default: they always are."""

    def leftovers(self, older_than: float = 3600, remove: bool = False) -> tuple[int, int]:
        """Temporary data untouched for ``older_than`` seconds, which only a crash leaves behind:
        ``(count, bytes)``; ``remove`` deletes it (``satchel fsck --repair``). Default: none can exist."""
        return 0, 0

    def path(self, sha256: str) -> Path | None:
        """Capability: a filesystem path for zero-copy serving; default None (blobs are not files)."""
        return None

    def link_file(self, source: Path, sha256: str) -> bool:
        """Capability: hard-link an already verified file into place; False (the default) when the
        store cannot, and the caller then copies with ``put``."""
        return False

    def url(self, sha256: str, filename: str) -> str | None:
        """Capability: a short-lived URL a client may download the blob from directly (a redirect
        instead of streaming it through satchel), or None (the default)."""
        return None


class Storage(ABC):
    """One backend instance per app."""

    name: str
    blobs: BlobStore

    multi_process: bool = False
    """Capability: several processes (``--requests-only`` workers, ``satchel export``) may open the
    same storage at once and see each other's commits; ``lock`` then holds across them."""

    @abstractmethod
    def read(self) -> AbstractContextManager[ReadTx]:
        """A read transaction (snapshot); may nest in one thread."""

    @abstractmethod
    def write(self) -> AbstractContextManager[WriteTx]:
        """A write transaction; writers are serialized."""

    @abstractmethod
    def last_serial(self) -> int:
        """The latest committed serial, -1 when empty; cheap, also across processes."""

    @abstractmethod
    def changes_since(self, serial: int, limit: int | None = None) -> Iterator[tuple[int, Changes]]:
        """Committed entries with serial > ``serial``, oldest first."""

    @abstractmethod
    def import_changes(self, serial: int, changes: Changes) -> None:
        """Apply an entry committed elsewhere (replication); ``serial`` must be last + 1."""

    @abstractmethod
    def add_commit_listener(self, listener: CommitListener) -> None:
        """Call ``listener(serial, changes)`` after every commit and import of this instance."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    def use_blobs(self, blobs: BlobStore) -> None:
        """Keep files in ``blobs`` instead of the backend's own store (``--blobs``); called once,
        right after the factory, before any use."""
        self.blobs = blobs

    def lock(self, name: str) -> AbstractContextManager[None]:
        """Capability: an exclusive lock named ``name`` (e.g. one mirror download at a time per
        project). It holds across every user of this storage: for a ``multi_process`` backend
        across processes, by default across the threads of this instance."""
        return self._thread_locks(name)

    def watch_commits(self, watcher: CommitWatcher) -> bool:
        """Capability: push the commits of other processes to ``watcher`` from a thread of the storage.

        True when offered. The storage calls ``watcher.caught_up(serial)`` once following starts and
        after each commit elsewhere, and ``watcher.lost()`` when it cannot follow for a while. A
        commit's ``write()`` returns only after every watching process's ``caught_up`` covering it
        returned (or a bounded wait expired), so a watcher that was not told ``lost`` may skip
        ``last_serial`` on each request. Default False: callers keep asking ``last_serial``.
        """
        return False

    @cached_property
    def _thread_locks(self) -> NamedLocks:
        return NamedLocks()


@dataclass
class StorageBackend:
    """What a backend registers: ``factory(serverdir, settings) -> Storage``.

    ``options`` maps option names (their ``dest``, e.g. ``postgresql_dsn``) to setting keys: the
    app passes an option's value as that setting unless ``--storage NAME:key=...`` gives it.
    """

    name: str
    factory: Callable[..., Storage]
    description: str = ""
    persistent: bool = True
    options: dict[str, str] = field(default_factory=dict)

    def settings(self, config, given: dict[str, str]) -> dict[str, str]:
        """The factory's settings: ``given`` (from ``--storage``) over values of ``options``."""
        from_options = {key: str(config.get(dest)) for dest, key in self.options.items()
                        if config.get(dest) not in (None, "")}
        return {**from_options, **given}


@dataclass
class BlobBackend:
    """What a blob store registers: ``factory(serverdir, settings, storage) -> BlobStore``.

    ``--blobs NAME[:key=value,...]`` picks it; ``storage`` is the app's storage (a store may keep
    its blobs in the same database). ``options`` as for ``StorageBackend``.
    """

    name: str
    factory: Callable[..., BlobStore]
    description: str = ""
    options: dict[str, str] = field(default_factory=dict)

    settings = StorageBackend.settings
