"""Persistent backends: data survives close/reopen and a SIGKILL in the middle of a transaction."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.usefixtures("persistent")


def state(storage):
    with storage.read() as tx:
        return tx.serial, tx.items("")


def test_data_and_serial_survive_reopen(make_storage, commit):
    storage = make_storage()
    commit(storage, {"users/alice": {"pw": "x"}, "users/bob": {"pw": "y"}})
    commit(storage, {"users/bob": None, "indexes/alice/dev": {"bases": []}})
    blob = storage.blobs.put_bytes(b"a release file")
    before = state(storage), list(storage.changes_since(-1))

    storage = make_storage.reopen(storage)
    assert storage.last_serial() == 1
    assert (state(storage), list(storage.changes_since(-1))) == before
    with storage.read() as tx:
        assert tx.get_with_serial("users/alice") == ({"pw": "x"}, 0)
        assert tx.get_serial("users/bob") == -1
    assert storage.blobs.exists(blob.sha256)
    with storage.blobs.open(blob.sha256) as handle:
        assert handle.read() == b"a release file"
    assert commit(storage, {"users/carol": {}}) == 2
    assert list(storage.changes_since(1)) == [(2, {"users/carol": [-1, {}]})]


def test_empty_storage_reopens_empty(make_storage, commit):
    storage = make_storage.reopen(make_storage())
    assert storage.last_serial() == -1
    assert commit(storage, {"a": 1}) == 0


def test_rolled_back_and_empty_transactions_leave_no_trace_after_reopen(make_storage, commit):
    storage = make_storage()
    commit(storage, {"a": 1})
    with pytest.raises(RuntimeError):
        with storage.write() as tx:
            tx.set("a", 2)
            raise RuntimeError()
    with storage.write():
        pass
    storage = make_storage.reopen(storage)
    assert state(storage) == (0, [("a", 1)])
    assert commit(storage, {"a": 3}) == 1


def test_replicated_storage_survives_reopen(make_storage, commit):
    primary, replica = make_storage(), make_storage()
    for number in range(3):
        commit(primary, {"k": number, f"k{number}": True})
    for serial, changes in primary.changes_since(-1):
        replica.import_changes(serial, changes)
    replica = make_storage.reopen(replica)
    assert state(replica) == state(primary)
    assert list(replica.changes_since(-1)) == list(primary.changes_since(-1))


CRASHER = r"""
import json, pathlib, sys, time
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry

name, serverdir, marker = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
settings = json.loads(sys.argv[4])
backends = Registry("storage backend")
create_pluginmanager().hook.satchel_storage_backend(backends=backends)
storage = backends.get(name).factory(serverdir, settings)
for number in range(3):
    with storage.write() as tx:
        tx.set(f"crash/k{number}", {"number": number})
        tx.set("crash/counter", number)
storage.blobs.put_bytes(b"committed blob")

def chunks():
    yield b"partial blob " * 10000
    with storage.write() as tx:
        tx.set("crash/half", "never committed")
        tx.set("crash/counter", 99)
        tx.delete("crash/k0")
        for number in range(200):
            tx.set(f"crash/bulk/{number}", "x" * 1000)
        pathlib.Path(marker).write_text("in transaction")
        time.sleep(60)
    yield b"never"

storage.blobs.put(chunks())
"""


def test_sigkill_in_the_middle_of_a_write_transaction(make_storage, commit, backend_name, settings):
    serverdir = make_storage.new_serverdir()
    serverdir.mkdir(parents=True)
    marker = serverdir.parent / "crasher-in-transaction"
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHER, backend_name, str(serverdir), str(marker),
         json.dumps(make_storage.settings_for(serverdir))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"crasher exited with {process.returncode} before the marker:\n{err.decode()}")
            assert time.monotonic() < deadline, "crasher did not reach its write transaction"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    storage = make_storage(serverdir)
    assert storage.last_serial() == 2
    with storage.read() as tx:
        assert tx.serial == 2
        assert tx.get("crash/half") is None
        assert tx.get_with_serial("crash/counter") == (2, 2)
        assert tx.get_with_serial("crash/k0") == ({"number": 0}, 0)
        assert tx.keys("crash/") == ["crash/counter", "crash/k0", "crash/k1", "crash/k2"]
    assert [serial for serial, _ in storage.changes_since(-1)] == [0, 1, 2]
    # the partial blob is not visible; every listed blob is complete
    committed = hashlib.sha256(b"committed blob").hexdigest()
    assert list(storage.blobs) == [committed]
    for digest in storage.blobs:
        with storage.blobs.open(digest) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == digest
    # the storage goes on gap-free
    assert commit(storage, {"crash/after": True}) == 3
    assert list(storage.changes_since(2)) == [(3, {"crash/after": [-1, True]})]
    storage = make_storage.reopen(storage)
    assert storage.last_serial() == 3
