"""Blobs as PostgreSQL large objects (``--blobs postgresql``): streamed in chunks, no size limit.

A blob is written with ``lo_put`` a MiB at a time into a new large object, listed in ``blob_spool``
while it is being written and checked; ``publish`` moves it to ``blobs(sha256, oid, size)`` in one
transaction. A crash leaves at most a spooled object, which ``leftovers`` finds and removes.
"""

import hashlib
import io
import time
from collections.abc import Iterable, Iterator

from satchel.storage.blobs import check_sha256
from satchel.storage.contract import BlobInfo, BlobStore, SpooledBlob

CHUNK = 1 << 20
TOUCH_EVERY = 60  # seconds between marks of a spooled object as in use


PUBLISH = """WITH unspooled AS (DELETE FROM blob_spool WHERE oid = %(oid)s),
     kept AS (INSERT INTO blobs (sha256, oid, size) VALUES (%(sha256)s, %(oid)s, %(size)s)
              ON CONFLICT (sha256) DO NOTHING RETURNING oid)
SELECT lo_unlink(%(oid)s) WHERE NOT EXISTS (SELECT FROM kept)"""


def pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """``chunks`` regrouped into pieces of ``size`` bytes (the last one shorter): an upload arrives in
    64 KiB chunks, and one ``lo_put`` round trip per MiB instead of per chunk is what makes a large file fast."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class LargeObjectReader(io.RawIOBase):
    """Reads one large object with ``lo_get`` a chunk at a time, each on a pooled connection."""

    def __init__(self, pool, oid: int, size: int):
        self.pool, self.oid, self.size, self.offset = pool, oid, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), self.size - self.offset, CHUNK)
        if wanted <= 0:
            return 0
        with self.pool.connection() as conn:
            data = conn.execute("SELECT lo_get(%s, %s, %s)", (self.oid, self.offset, wanted)).fetchone()[0]
        buffer[:len(data)] = data
        self.offset += len(data)
        return len(data)


class LargeObjectBlobStore(BlobStore):
    """Blobs in the database of a ``PostgresStorage`` (its pool and schema)."""

    def __init__(self, pool):
        self.pool = pool

    def spool(self, chunks: Iterable[bytes]) -> SpooledBlob:
        digest = hashlib.sha256()
        size = 0
        with self.pool.connection() as conn:
            # one statement: the object and its spool row commit together, so a crash cannot hide one from
            # leftovers()
            oid = conn.execute("INSERT INTO blob_spool (oid) VALUES (lo_create(0)) RETURNING oid").fetchone()[0]
            try:
                reported = time.monotonic()
                for piece in pieces(chunks, CHUNK):
                    conn.execute("SELECT lo_put(%s, %s, %s)", (oid, size, piece))
                    digest.update(piece)
                    size += len(piece)
                    if time.monotonic() - reported > TOUCH_EVERY:  # still in use: not a leftover
                        self._touch(conn, oid, size)
                        reported = time.monotonic()
                self._touch(conn, oid, size)
            except BaseException:
                self._drop(conn, oid)
                raise
        return SpooledBlob(digest.hexdigest(), size, oid)

    @staticmethod
    def _touch(conn, oid: int, size: int) -> None:
        conn.execute("UPDATE blob_spool SET touched = now(), size = %s WHERE oid = %s", (size, oid))

    def _drop(self, conn, oid: int) -> None:
        with conn.transaction():
            conn.execute("DELETE FROM blob_spool WHERE oid = %s", (oid,))
            conn.execute("SELECT lo_unlink(%s) FROM pg_largeobject_metadata WHERE oid = %s", (oid, oid))

    def publish(self, spooled: SpooledBlob, sync: bool = True) -> BlobInfo:
        with self.pool.connection() as conn:
            # one statement (one transaction, one round trip): the same content stored already keeps its object
            conn.execute(PUBLISH, {"sha256": spooled.sha256, "oid": spooled.token, "size": spooled.size})
        return BlobInfo(spooled.sha256, spooled.size)

    def discard(self, spooled: SpooledBlob) -> None:
        with self.pool.connection() as conn:
            self._drop(conn, spooled.token)

    def leftovers(self, older_than: float = 3600, remove: bool = False) -> tuple[int, int]:
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT oid, size FROM blob_spool WHERE touched < now() - make_interval(secs => %s)",
                                (older_than,)).fetchall()
            if remove:
                for oid, _ in rows:
                    self._drop(conn, oid)
        return len(rows), sum(int(size) for _, size in rows)

    def _row(self, sha256: str):
        with self.pool.connection() as conn:
            return conn.execute("SELECT oid, size FROM blobs WHERE sha256 = %s",
                                (check_sha256(sha256),)).fetchone()

    def open(self, sha256: str):
        row = self._row(sha256)
        if row is None:
            raise FileNotFoundError(sha256)
        return io.BufferedReader(LargeObjectReader(self.pool, row[0], row[1]), CHUNK)

    def exists(self, sha256: str) -> bool:
        return self._row(sha256) is not None

    def delete(self, sha256: str) -> None:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute("DELETE FROM blobs WHERE sha256 = %s RETURNING oid",
                               (check_sha256(sha256),)).fetchone()
            if row is not None:
                conn.execute("SELECT lo_unlink(%s)", (row[0],))

    def __iter__(self) -> Iterator[str]:
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT sha256 FROM blobs ORDER BY sha256").fetchall()
        return iter([row[0] for row in rows])
