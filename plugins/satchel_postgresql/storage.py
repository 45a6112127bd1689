"""PostgreSQL storage: snapshot readers, one writer at a time across every process.

Readers run in REPEATABLE READ READ ONLY transactions: a snapshot, and they never wait for a
writer. A write transaction takes ``LOCK TABLE changelog IN EXCLUSIVE MODE`` (which plain reads
do not conflict with) as its first statement and holds it until it commits: writers in every
process take turns, so serials are gap-free. Blobs are written before the write transaction
starts (the contract's order), so the lock never spans a client's upload; writes are buffered
and sent in one batch at commit.
"""

import json
from contextlib import contextmanager
from pathlib import Path

from satchel.storage.blobs import FileBlobStore
from satchel.storage.contract import BlobStore, Changes, CommitListener, Storage
from satchel.storage.txbase import BufferedWrite, SqlRead, changes_since_query, notify_commit

from satchel_postgresql.connection import check_schema_name, open_pool
from satchel_postgresql.locks import AdvisoryLocks
from satchel_postgresql.push import CommitPush
from satchel_postgresql.schema import ensure_schema

UPSERT = ("INSERT INTO kv (key, value, serial) VALUES (%s, %s, %s) "
          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, serial = EXCLUDED.serial")


class _PgRead(SqlRead):
    placeholder = "%s"

    def release(self) -> None:
        if self._conn.info.transaction_status:
            self._conn.execute("COMMIT")

    def renew(self) -> None:
        if not self._conn.info.transaction_status:
            self.serial = _begin_snapshot(self._conn)


def _flush(conn, tx: BufferedWrite, serial: int) -> None:
    """Send a transaction's buffered writes, before its changelog entry."""
    writes = [(key, text, serial) for key, text in tx.pending.items() if text is not None]
    deletes = [(key,) for key, text in tx.pending.items() if text is None]
    with conn.cursor() as cursor:
        if writes:
            cursor.executemany(UPSERT, writes)
        if deletes:
            cursor.executemany("DELETE FROM kv WHERE key = %s", deletes)


def _begin_snapshot(conn) -> int:
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    return _max_serial(conn)


def _max_serial(conn) -> int:
    value = conn.execute("SELECT max(serial) FROM changelog").fetchone()[0]
    return -1 if value is None else value


class PostgresStorage(Storage):
    """Records and changelog in a PostgreSQL schema; files in ``<serverdir>/+blobs`` unless another
    blob store is chosen. Settings: ``dsn``, ``schema`` (default ``satchel``), ``pool_size``."""

    name = "postgresql"
    multi_process = True

    def __init__(self, serverdir: Path, settings: dict | None = None):
        settings = settings or {}
        self.dsn = settings.get("dsn", "")
        self.schema = check_schema_name(settings.get("schema") or "satchel")
        self.pool = open_pool(self.dsn, self.schema, int(settings.get("pool_size") or 20))
        try:
            with self.pool.connection() as conn:
                ensure_schema(conn, self.schema)
        except BaseException:
            self.pool.close()
            raise
        self.blobs: BlobStore = FileBlobStore(Path(serverdir) / "+blobs")
        self._locks = AdvisoryLocks(self.pool, self.schema)
        self._listeners: list[CommitListener] = []
        self._push = CommitPush(self.dsn, self.schema, self.pool)

    def last_serial(self) -> int:
        with self.pool.connection() as conn:
            return _max_serial(conn)

    @contextmanager
    def read(self):
        with self.pool.connection() as conn:
            tx = _PgRead(conn, _begin_snapshot(conn))
            try:
                yield tx
            finally:
                if conn.info.transaction_status:
                    conn.execute("COMMIT")

    @contextmanager
    def _locked(self):
        """A transaction holding the writers' lock: the connection and the last serial."""
        with self.pool.connection() as conn:
            conn.execute("BEGIN")
            try:
                conn.execute("LOCK TABLE changelog IN EXCLUSIVE MODE")
                yield conn, _max_serial(conn)
            except BaseException:
                if conn.info.transaction_status:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def write(self):
        with self._locked() as (conn, last):
            tx = BufferedWrite(_PgRead(conn, last))
            yield tx
            if not tx.changes:
                conn.execute("ROLLBACK")
                return
            serial = last + 1
            _flush(conn, tx, serial)
            conn.execute("INSERT INTO changelog (serial, changes) VALUES (%s, %s)",
                         (serial, json.dumps(tx.changes)))
            self._push.notify(conn, serial)
            conn.execute("COMMIT")
        notify_commit(self._listeners, serial, tx.changes, tx.callbacks)
        self._push.wait_for_peers(serial)

    def import_changes(self, serial: int, changes: Changes) -> None:
        with self._locked() as (conn, last):
            if serial != last + 1:
                raise ValueError(f"expected serial {last + 1}, got {serial}")
            with conn.cursor() as cursor:
                for key, (_, value) in changes.items():
                    if value is None:
                        cursor.execute("DELETE FROM kv WHERE key = %s", (key,))
                    else:
                        cursor.execute(UPSERT, (key, json.dumps(value), serial))
                cursor.execute("INSERT INTO changelog (serial, changes) VALUES (%s, %s)",
                               (serial, json.dumps(changes)))
            self._push.notify(conn, serial)
            conn.execute("COMMIT")
        notify_commit(self._listeners, serial, changes)
        self._push.wait_for_peers(serial)

    def changes_since(self, serial: int, limit: int | None = None):
        query, params = changes_since_query(serial, limit, "%s")
        with self.pool.connection() as conn:
            rows = conn.execute(query, params).fetchall()
        for number, text in rows:
            yield number, json.loads(text)

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def watch_commits(self, watcher) -> bool:
        """Other processes' commits pushed by LISTEN/NOTIFY (``push.py``); writers wait for the acks."""
        self._push.watch(watcher)
        return True

    def lock(self, name: str):
        """A PostgreSQL advisory lock: holds across every process using this database and schema."""
        return self._locks(name)

    def close(self) -> None:
        self._push.close()
        self.pool.close()
