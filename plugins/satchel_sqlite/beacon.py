"""A word in shared memory that every satchel process changes after it commits to the database.

``PRAGMA data_version`` tells a connection whether anybody committed, but it is a SQL statement: the
thread drops the GIL, SQLite takes a file lock and stats the WAL, and on a busy server the page-cache
hit that asks it on every request pays more in thread hand-offs than in the hit itself. The beacon
answers the same question with a memory read: a writer puts a fresh random word into a small file
that every process maps (``<database>-commits``) after each commit and before the commit returns, so
before anything is acknowledged. A reader that sees the word it saw last time knows that no satchel
process committed in between. Writers that do not know the beacon (an ``sqlite3`` shell) are seen by
the periodic full check of ``SqliteStorage.last_serial``.
"""

import logging
import mmap
import os
import random
from pathlib import Path

log = logging.getLogger(__name__)
WORD = 8


class CommitBeacon:
    """The mapped word of one database file. ``read`` and ``bump`` never call into the kernel."""

    def __init__(self, path: Path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < WORD:
                os.ftruncate(fd, WORD)  # two processes doing this at once both leave 8 zero bytes
            self._map = mmap.mmap(fd, WORD)
        finally:
            os.close(fd)

    @classmethod
    def open(cls, path: Path) -> "CommitBeacon | None":
        """The beacon at ``path``, or None where it cannot be made (then every check asks SQLite)."""
        try:
            return cls(path)
        except (OSError, ValueError) as exc:
            log.warning("no commit beacon at %s (%s): every serial check asks the database", path, exc)
            return None

    def read(self) -> bytes:
        # a torn read (a writer mid-copy) only differs from the last word seen, which costs a full check
        return self._map[:WORD]

    def bump(self) -> None:
        # random, not a counter: two writers never need to agree on the next value
        self._map[:WORD] = random.getrandbits(8 * WORD).to_bytes(WORD, "little")

    def close(self) -> None:
        self._map.close()
