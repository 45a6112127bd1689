"""The SQLite backend's commit beacon: a shared word changed by every commit, read instead of SQL."""

import sqlite3
import stat
import subprocess
import sys

import satchel_sqlite.storage as sqlite_storage
from satchel_sqlite.beacon import CommitBeacon
from satchel_sqlite.storage import SqliteStorage


def test_every_commit_changes_the_word_other_storages_read(tmp_path):
    first, second = SqliteStorage(tmp_path), SqliteStorage(tmp_path)  # as two processes would
    try:
        beacon = tmp_path / "satchel.sqlite-commits"
        assert stat.S_IMODE(beacon.stat().st_mode) == 0o600
        words = {beacon.read_bytes()}
        for number in range(3):
            assert second.last_serial() == number - 1
            with first.write() as tx:
                tx.set("key", number)
            words.add(beacon.read_bytes())
            assert second.last_serial() == number
        assert len(words) == 4
        with first.write():
            pass  # no change, no commit: the word stays
        assert len(words | {beacon.read_bytes()}) == 4
    finally:
        first.close()
        second.close()


def test_a_writer_without_the_beacon_is_seen_by_the_full_check(tmp_path, monkeypatch):
    storage = SqliteStorage(tmp_path)
    try:
        with storage.write() as tx:
            tx.set("key", 1)
        assert storage.last_serial() == 0
        # an sqlite3 shell appending to the changelog does not know the beacon
        with sqlite3.connect(tmp_path / "satchel.sqlite") as shell:
            shell.execute("INSERT INTO changelog (serial, changes) VALUES (1, '{}')")
        monkeypatch.setattr(sqlite_storage, "FULL_CHECK_SECONDS", 0.0)
        assert storage.last_serial() == 1
    finally:
        storage.close()


def test_without_a_beacon_every_check_asks_the_database(tmp_path, monkeypatch):
    monkeypatch.setattr(CommitBeacon, "__init__", lambda self, path: (_ for _ in ()).throw(OSError("read-only")))
    first, second = SqliteStorage(tmp_path), SqliteStorage(tmp_path)
    try:
        assert second.last_serial() == -1
        with first.write() as tx:
            tx.set("key", 1)
        assert second.last_serial() == 0
    finally:
        first.close()
        second.close()


def test_an_unchanged_word_answers_without_any_sql(tmp_path):
    """What the beacon is for: a page-cache hit asks ``last_serial`` and must not run a statement."""
    first, second = SqliteStorage(tmp_path), SqliteStorage(tmp_path)
    try:
        with first.write() as tx:
            tx.set("key", 1)
        assert second.last_serial() == 0
        statements = []
        second._reader().set_trace_callback(statements.append)
        second._latest_conn.set_trace_callback(statements.append)
        for _ in range(100):
            assert second.last_serial() == 0
        assert statements == []
        with first.write() as tx:
            tx.set("key", 2)
        assert second.last_serial() == 1 and len(statements) == 1  # the word changed: one query
    finally:
        first.close()
        second.close()


WRITER = """
import sys
from satchel_sqlite.storage import SqliteStorage
storage = SqliteStorage(sys.argv[1])
with storage.write() as tx:
    tx.set("from/another/process", 1)
storage.close()
"""


def test_another_process_commit_is_seen_through_the_word_alone(tmp_path, monkeypatch):
    # with the periodic full check out of the way, only the word can tell this process about the commit
    monkeypatch.setattr(sqlite_storage, "FULL_CHECK_SECONDS", 3600.0)
    storage = SqliteStorage(tmp_path)
    try:
        with storage.write() as tx:
            tx.set("key", 1)
        assert storage.last_serial() == 0
        done = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path)], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        assert storage.last_serial() == 1
    finally:
        storage.close()
