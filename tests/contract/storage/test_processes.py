"""Backends declaring ``multi_process``: writers in several processes at once keep serials gap-free."""

import json
import subprocess
import sys

import pytest

WRITER = r"""
import json, sys
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry

name, serverdir, settings, me, count = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
backends = Registry("storage backend")
create_pluginmanager().hook.satchel_storage_backend(backends=backends)
storage = backends.get(name).factory(serverdir, settings)
serials = []
for number in range(count):
    with storage.write() as tx:
        tx.set("counter", tx.get("counter", 0) + 1)  # read-modify-write: lost if writers overlapped
        tx.set(f"writes/{me}/{number}", number)
        tx.on_commit(serials.append)
storage.close()
print(json.dumps(serials))
"""


def test_writers_in_several_processes_get_gap_free_serials(storage, make_storage, backend_name):
    if not storage.multi_process:
        pytest.skip(f"storage backend {backend_name!r} is for one process")
    serverdir = make_storage.serverdir_of(storage)
    settings = json.dumps(make_storage.settings_for(serverdir))
    writers, count = 4, 25
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, backend_name, str(serverdir), settings,
                                   str(me), str(count)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for me in range(writers)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        results.append(json.loads(out))
    everything = sorted(serial for serials in results for serial in serials)
    assert everything == list(range(writers * count))
    assert all(serials == sorted(serials) for serials in results)
    assert storage.last_serial() == writers * count - 1
    with storage.read() as tx:
        assert tx.get("counter") == writers * count
        assert len(tx.keys("writes/")) == writers * count
    assert [serial for serial, _ in storage.changes_since(-1)] == everything


def test_a_commit_in_another_process_is_seen_at_once(storage, make_storage, backend_name):
    """``last_serial`` is asked on every page-cache hit; however it saves work, another process's
    commit is there as soon as that commit returned."""
    if not storage.multi_process:
        pytest.skip(f"storage backend {backend_name!r} is for one process")
    serverdir = make_storage.serverdir_of(storage)
    settings = json.dumps(make_storage.settings_for(serverdir))
    with storage.write() as tx:
        tx.set("here", 1)
    for round_ in range(3):
        before = storage.last_serial()
        assert storage.last_serial() == before  # asked twice: the second answer may come from memory
        done = subprocess.run([sys.executable, "-c", WRITER, backend_name, str(serverdir), settings,
                               f"other{round_}", "1"], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        assert json.loads(done.stdout) == [before + 1]
        assert storage.last_serial() == before + 1
