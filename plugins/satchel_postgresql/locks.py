"""Named locks across processes: PostgreSQL session advisory locks keyed by schema and name."""

from contextlib import contextmanager

from satchel.storage.locks import NamedLocks


class AdvisoryLocks:
    """``lock(name)``: one holder at a time in every process on the same database and schema.

    The key is ``hashtextextended(schema/name)`` (64 bits); a collision only makes two names share
    a lock. The connection is held while the lock is, and the lock goes with the session when a
    process dies.
    """

    def __init__(self, pool, schema: str):
        self.pool, self.schema = pool, schema
        self._threads = NamedLocks()  # one waiting connection per name in this process, not one per thread

    @contextmanager
    def __call__(self, name: str):
        key = f"{self.schema}/{name}"
        with self._threads(name), self.pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
