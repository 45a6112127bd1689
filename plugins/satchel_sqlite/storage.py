"""SQLite storage: single writer, concurrent snapshot readers through WAL."""

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from satchel.errors import ConfigError
from satchel.storage.blobs import FileBlobStore
from satchel.storage.contract import Changes, CommitListener, Storage, WriteTx
from satchel.storage.locks import FileLocks
from satchel.storage.txbase import SqlRead, changes_since_query, notify_commit

from satchel_sqlite.beacon import CommitBeacon

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, serial INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS changelog (serial INTEGER PRIMARY KEY, changes TEXT NOT NULL);
"""
FULL_CHECK_SECONDS = 1.0  # how late a commit by a writer that does not bump the beacon may be seen


class _SqliteRead(SqlRead):
    def __init__(self, conn: sqlite3.Connection):
        row = conn.execute("SELECT max(serial) FROM changelog").fetchone()
        super().__init__(conn, -1 if row[0] is None else row[0])

    def release(self) -> None:
        """End the snapshot (before this thread writes), so the WAL can be reset after the commit."""
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def renew(self) -> None:
        """Start a new snapshot at the latest serial."""
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")
            row = self._conn.execute("SELECT max(serial) FROM changelog").fetchone()
            self.serial = -1 if row[0] is None else row[0]


class _SqliteWrite(_SqliteRead, WriteTx):
    def __init__(self, conn: sqlite3.Connection):
        super().__init__(conn)
        self._changes: Changes = {}
        self._callbacks: list[Callable[[int], None]] = []

    def _back_serial(self, key: str) -> int:
        if key in self._changes:
            return self._changes[key][0]
        return self.get_serial(key)

    def set(self, key: str, value: Any) -> None:
        if value is None:
            raise ValueError("use delete() to remove a key")
        text = json.dumps(value)
        back_serial = self._back_serial(key)
        self._conn.execute(
            "INSERT OR REPLACE INTO kv (key, value, serial) VALUES (?, ?, ?)", (key, text, self.serial + 1))
        self._changes[key] = [back_serial, json.loads(text)]

    def delete(self, key: str) -> None:
        back_serial = self._back_serial(key)
        self._conn.execute("DELETE FROM kv WHERE key = ?", (key,))
        if back_serial == -1:
            # deleting what never was committed changes nothing
            self._changes.pop(key, None)
        else:
            self._changes[key] = [back_serial, None]

    @property
    def changes(self) -> Changes:
        return self._changes

    def on_commit(self, callback: Callable[[int], None]) -> None:
        self._callbacks.append(callback)


class SqliteStorage(Storage):
    """``<serverdir>/satchel.sqlite`` plus ``<serverdir>/+blobs``."""

    name = "sqlite"
    multi_process = True  # WAL: other processes read snapshots and take turns writing

    def __init__(self, serverdir: Path, settings: dict | None = None):
        settings = settings or {}
        serverdir = Path(serverdir)
        self.path = Path(settings.get("path", serverdir / "satchel.sqlite"))
        self.blobs = FileBlobStore(serverdir / "+blobs")
        self._file_locks = FileLocks(serverdir / "+locks")
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._listeners: list[CommitListener] = []
        self._all_connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        try:
            self._writer = self._connect()
            self._writer.executescript(SCHEMA)
            self._latest_conn = self._connect()
            self._latest_lock = threading.Lock()
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open database {self.path}: {exc}") from None
        self._beacon = CommitBeacon.open(self.path.with_name(self.path.name + "-commits"))
        self._known_serial: tuple[bytes, int, float] | None = None  # (beacon word, serial, when read)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        with self._connections_lock:
            self._all_connections.append(conn)
        return conn

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._connections_lock:
            self._all_connections.remove(conn)
        conn.close()

    def _reader(self) -> sqlite3.Connection:
        # connections are cached per thread; transactions are not thread-local state
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def _latest(self):
        """A connection outside any snapshot this thread may hold open, for storage-level queries."""
        conn = self._reader()
        if not conn.in_transaction:
            yield conn
            return
        with self._latest_lock:
            yield self._latest_conn

    def last_serial(self) -> int:
        """Cheap to ask on every request: while the commit beacon shows the word it showed when the serial
        was last read (and for at most ``FULL_CHECK_SECONDS``), no satchel process committed since."""
        beacon = self._beacon
        if beacon is None:
            return self._read_last_serial()
        word = beacon.read()  # before the query: a commit racing it changes the word for next time
        known = self._known_serial
        now = time.monotonic()
        if known is not None and known[0] == word and now - known[2] < FULL_CHECK_SECONDS:
            return known[1]
        serial = self._read_last_serial()
        self._known_serial = (word, serial, now)
        return serial

    def _read_last_serial(self) -> int:
        with self._latest() as conn:
            row = conn.execute("SELECT max(serial) FROM changelog").fetchone()
        return -1 if row[0] is None else row[0]

    @contextmanager
    def read(self):
        conn = self._reader()
        nested = conn.in_transaction
        if nested:
            # a read inside a read on the same thread gets its own connection and snapshot
            conn = self._connect()
        conn.execute("BEGIN")
        try:
            yield _SqliteRead(conn)
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")
            if nested:
                self._forget(conn)

    @contextmanager
    def write(self):
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                tx = _SqliteWrite(conn)
                yield tx
                if not tx.changes:
                    conn.execute("ROLLBACK")
                    return
                serial = tx.serial + 1
                conn.execute("INSERT INTO changelog (serial, changes) VALUES (?, ?)",
                             (serial, json.dumps(tx.changes)))
                conn.execute("COMMIT")
                self._commit_seen()
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        notify_commit(self._listeners, serial, tx.changes, tx._callbacks)

    def _commit_seen(self) -> None:
        """Tell every process (this one too) that a commit happened, before anything acknowledges it."""
        if self._beacon is not None:
            self._beacon.bump()

    def changes_since(self, serial: int, limit: int | None = None):
        query, params = changes_since_query(serial, limit)
        with self._latest() as conn:
            rows = conn.execute(query, params).fetchall()
        for number, text in rows:
            yield number, json.loads(text)

    def import_changes(self, serial: int, changes: Changes) -> None:
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute("SELECT max(serial) FROM changelog").fetchone()[0]
                expected = 0 if last is None else last + 1
                if serial != expected:
                    raise ValueError(f"expected serial {expected}, got {serial}")
                for key, (_, value) in changes.items():
                    if value is None:
                        conn.execute("DELETE FROM kv WHERE key = ?", (key,))
                    else:
                        conn.execute("INSERT OR REPLACE INTO kv (key, value, serial) VALUES (?, ?, ?)",
                                     (key, json.dumps(value), serial))
                conn.execute("INSERT INTO changelog (serial, changes) VALUES (?, ?)",
                             (serial, json.dumps(changes)))
                conn.execute("COMMIT")
                self._commit_seen()
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        notify_commit(self._listeners, serial, changes)

    def lock(self, name: str):
        """A lock file per name under ``+locks/``, shared by every process on this serverdir."""
        return self._file_locks(name)

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._all_connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all_connections.clear()
        self._local = threading.local()
        if self._beacon is not None:
            self._beacon.close()
            self._beacon = None
