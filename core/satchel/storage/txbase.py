"""Transaction building blocks for backends: reads of an SQL key-value table, and a write
transaction that buffers its writes until commit."""

import json
from collections.abc import Callable
from typing import Any

from satchel.storage.contract import Changes, ReadTx, WriteTx


def prefix_end(prefix: str) -> str:
    """Every key starting with ``prefix`` sorts below this (keys compare by code point)."""
    return prefix + "\U0010ffff"


class SqlRead(ReadTx):
    """Reads of a table ``kv(key, value JSON text, serial)`` over a DB-API connection with ``execute``.

    ``placeholder`` is the driver's parameter marker (sqlite3 ``?``, psycopg ``%s``).
    """

    placeholder = "?"

    def __init__(self, conn, serial: int):
        self._conn = conn
        self.serial = serial

    def _query(self, sql: str, params: tuple):
        return self._conn.execute(sql.replace("?", self.placeholder), params)

    def get(self, key: str, default: Any = None) -> Any:
        row = self._query("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def get_serial(self, key: str) -> int:
        row = self._query("SELECT serial FROM kv WHERE key = ?", (key,)).fetchone()
        return -1 if row is None else row[0]

    def get_with_serial(self, key: str) -> tuple[Any, int]:
        row = self._query("SELECT value, serial FROM kv WHERE key = ?", (key,)).fetchone()
        return (None, -1) if row is None else (json.loads(row[0]), row[1])

    def keys(self, prefix: str) -> list[str]:
        rows = self._query("SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                           (prefix, prefix_end(prefix)))
        return [row[0] for row in rows]

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        rows = self._query("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                           (prefix, prefix_end(prefix)))
        return [(row[0], json.loads(row[1])) for row in rows]


class BufferedWrite(WriteTx):
    """Writes kept in memory (``pending``: key -> JSON text, None = deleted) until the backend
    commits them; reads see them over the committed state that ``committed`` (a ReadTx at
    ``serial``) gives."""

    def __init__(self, committed: ReadTx):
        self.committed = committed
        self.serial = committed.serial
        self.pending: dict[str, str | None] = {}
        self._changes: Changes = {}
        self.callbacks: list[Callable[[int], None]] = []

    def get_with_serial(self, key: str) -> tuple[Any, int]:
        if key in self.pending:
            text = self.pending[key]
            return (None, -1) if text is None else (json.loads(text), self.serial + 1)
        return self.committed.get_with_serial(key)

    def get(self, key: str, default: Any = None) -> Any:
        value, serial = self.get_with_serial(key)
        return default if serial == -1 else value

    def get_serial(self, key: str) -> int:
        if key in self.pending:
            return -1 if self.pending[key] is None else self.serial + 1
        return self.committed.get_serial(key)

    def keys(self, prefix: str) -> list[str]:
        names = set(self.committed.keys(prefix)) | {key for key in self.pending if key.startswith(prefix)}
        return sorted(key for key in names if self.pending.get(key, "") is not None)

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        if not any(key.startswith(prefix) for key in self.pending):
            return self.committed.items(prefix)
        return [(key, self.get(key)) for key in self.keys(prefix)]

    def _record(self, key: str, text: str | None) -> None:
        back_serial = self._changes[key][0] if key in self._changes else self.committed.get_serial(key)
        self.pending[key] = text
        if text is None and back_serial == -1:
            self._changes.pop(key, None)  # deleting what never was committed changes nothing
        else:
            self._changes[key] = [back_serial, None if text is None else json.loads(text)]

    def set(self, key: str, value: Any) -> None:
        if value is None:
            raise ValueError("use delete() to remove a key")
        self._record(key, json.dumps(value))

    def delete(self, key: str) -> None:
        self._record(key, None)

    @property
    def changes(self) -> Changes:
        return self._changes

    def on_commit(self, callback: Callable[[int], None]) -> None:
        self.callbacks.append(callback)


def changes_since_query(serial: int, limit: int | None, placeholder: str = "?") -> tuple[str, tuple]:
    """SQL and parameters reading ``changelog(serial, changes)`` after ``serial``."""
    query = "SELECT serial, changes FROM changelog WHERE serial > ? ORDER BY serial"
    params: tuple = (serial,)
    if limit is not None:
        query += " LIMIT ?"
        params = (serial, limit)
    return query.replace("?", placeholder), params


def notify_commit(listeners, serial: int, changes: Changes, callbacks=()) -> None:
    """After a commit: the transaction's ``on_commit`` callbacks, then the storage's listeners."""
    for callback in callbacks:
        callback(serial)
    for listener in listeners:
        listener(serial, changes)
