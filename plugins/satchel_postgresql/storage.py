"""PostgreSQL storage: snapshot readers, one writer at a time across every process.

Readers run in REPEATABLE READ READ ONLY transactions: a snapshot, and they never wait for a
writer. A write transaction takes ``LOCK TABLE changelog IN EXCLUSIVE MODE`` (which plain reads
do not conflict with) as its first statement and holds it until it commits: writers in every
process take turns, so serials are gap-free. Blobs are written before the write transaction
starts (the contract's order), so the lock never spans a client's upload; writes are buffered
and sent with the changelog entry and COMMIT in one pipeline. Round trips are what an upload
costs here (not the server's work), so statements without parameters that always go together
are sent as one simple query.
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
    """Reads in one snapshot (or under the writers' lock): a key's row is fetched once per snapshot,
    and a renewed snapshot starts at its first use, so a request that reads nothing more after its
    write costs no round trip for it."""

    placeholder = "%s"

    def __init__(self, conn, serial: int):
        self._stale = False
        self._rows: dict = {}
        super().__init__(conn, serial)

    @property
    def serial(self) -> int:
        if self._stale:
            self._stale = False
            self._serial = _begin_snapshot(self._conn)
        return self._serial

    @serial.setter
    def serial(self, value: int) -> None:
        self._serial = value

    def _query(self, sql: str, params: tuple):
        self.serial  # noqa: B018 -- opens a renewed snapshot before its first read
        return super()._query(sql, params)

    def _row(self, key: str):
        # the snapshot (or the lock) keeps a row as it was: one round trip per key is enough
        try:
            return self._rows[key]
        except KeyError:
            row = self._rows[key] = self._query("SELECT value, serial FROM kv WHERE key = %s", (key,)).fetchone()
            return row

    def get(self, key: str, default=None):
        row = self._row(key)
        return default if row is None else json.loads(row[0])

    def get_serial(self, key: str) -> int:
        row = self._row(key)
        return -1 if row is None else row[1]

    def get_with_serial(self, key: str):
        row = self._row(key)
        return (None, -1) if row is None else (json.loads(row[0]), row[1])

    def release(self) -> None:
        if self._conn.info.transaction_status:
            self._conn.execute("COMMIT")
        self._rows.clear()
        self._stale = True

    def renew(self) -> None:
        if not self._conn.info.transaction_status:
            self._rows.clear()
            self._stale = True


def _first_row_of_last(cursor):
    """The first row of the last statement a multi-statement (simple protocol) query ran."""
    while cursor.nextset():
        pass
    return cursor.fetchone()


def _begin_snapshot(conn) -> int:
    # no parameters: both statements go in one round trip
    value = _first_row_of_last(conn.execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT max(serial) FROM changelog"))[0]
    return -1 if value is None else value


def _max_serial(conn) -> int:
    value = conn.execute("SELECT max(serial) FROM changelog").fetchone()[0]
    return -1 if value is None else value


def pool_size(settings: dict) -> int:
    """``pool_size``, else room for every serving thread twice over (at least 20): a request holds its read
    transaction's connection while it waits (for a mirror download another request makes), and the request it
    waits for needs more (a lock, a nested read, the write), so a pool smaller than the threads can deadlock."""
    if settings.get("pool_size"):
        return int(settings["pool_size"])
    return max(20, 2 * int(settings.get("threads") or 8) + 4)


class PostgresStorage(Storage):
    """Records and changelog in a PostgreSQL schema; files in ``<serverdir>/+blobs`` unless another
    blob store is chosen. Settings: ``dsn``, ``schema`` (default ``satchel``), ``pool_size``."""

    name = "postgresql"
    multi_process = True

    def __init__(self, serverdir: Path, settings: dict | None = None):
        settings = settings or {}
        self.dsn = settings.get("dsn", "")
        self.schema = check_schema_name(settings.get("schema") or "satchel")
        self.pool = open_pool(self.dsn, self.schema, pool_size(settings))
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
            try:
                # no parameters: the three statements go in one round trip
                row = _first_row_of_last(conn.execute(
                    "BEGIN; LOCK TABLE changelog IN EXCLUSIVE MODE; SELECT max(serial) FROM changelog"))
                yield conn, -1 if row[0] is None else row[0]
            except BaseException:
                if conn.info.transaction_status:
                    conn.execute("ROLLBACK")
                raise

    def _commit(self, conn, serial: int, pending: dict[str, str | None], changes: Changes) -> list[int]:
        """Commit the writes (key -> JSON text, None: delete) as ``serial``; the pids of the peers that
        have yet to see it.

        The writes, the changelog entry, the notice, COMMIT and the question which peers are behind go
        in one pipeline: one round trip, and none more when no other process follows.
        """
        writes = [(key, text, serial) for key, text in pending.items() if text is not None]
        deletes = [(key,) for key, text in pending.items() if text is None]
        self._push.committing(serial)
        try:
            with conn.pipeline():
                with conn.cursor() as cursor:
                    if writes:
                        cursor.executemany(UPSERT, writes)
                    if deletes:
                        cursor.executemany("DELETE FROM kv WHERE key = %s", deletes)
                conn.execute("INSERT INTO changelog (serial, changes) VALUES (%s, %s)", (serial, json.dumps(changes)))
                self._push.notify(conn, serial)
                conn.execute("COMMIT")
                behind = self._push.count_behind(conn, serial)
        except BaseException:  # no commit (or none we know of): a notice of this serial is another's
            self._push.not_committed(serial)
            raise
        return behind.fetchone()[0]

    @contextmanager
    def write(self):
        with self._locked() as (conn, last):
            tx = BufferedWrite(_PgRead(conn, last))
            yield tx
            if not tx.changes:
                conn.execute("ROLLBACK")
                return
            serial = last + 1
            behind = self._commit(conn, serial, tx.pending, tx.changes)
        notify_commit(self._listeners, serial, tx.changes, tx.callbacks)
        self._push.wait_for_peers(serial, behind)

    def import_changes(self, serial: int, changes: Changes) -> None:
        with self._locked() as (conn, last):
            if serial != last + 1:
                raise ValueError(f"expected serial {last + 1}, got {serial}")
            pending = {key: None if value is None else json.dumps(value) for key, (_, value) in changes.items()}
            behind = self._commit(conn, serial, pending, changes)
        notify_commit(self._listeners, serial, changes)
        self._push.wait_for_peers(serial, behind)

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
