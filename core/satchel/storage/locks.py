"""Named exclusive locks for ``Storage.lock``: between threads, and between processes via lock files."""

import fcntl
import hashlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path


class NamedLocks:
    """One ``threading.Lock`` per name, forgotten when nobody holds or waits for it."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}  # name -> [lock, users]

    @contextmanager
    def __call__(self, name: str):
        with self._guard:
            entry = self._locks.setdefault(name, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[name]


class FileLocks:
    """Locks shared by every process using ``directory``: one ``flock``ed file per name.

    File names are hashes of the lock names, so no name can point outside ``directory``. The
    files stay (a few bytes each); deleting a lock file while it is held would break the lock.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._threads = NamedLocks()  # flock does not exclude threads sharing the process

    @contextmanager
    def __call__(self, name: str):
        filename = hashlib.sha256(name.encode()).hexdigest()[:32]
        with self._threads(name):
            fd = os.open(self.directory / filename, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock
