"""Changelog: changes_since entries and back serials, limit, replication, commit callbacks."""

import pytest


def make_history(storage, commit):
    commit(storage, {"a": 1, "b": {"x": [1]}})  # 0
    commit(storage, {"a": 2})  # 1
    commit(storage, {"b": None, "c": "c"})  # 2
    commit(storage, {"a": 3, "c": "c2"})  # 3
    commit(storage, {"b": "reborn"})  # 4


EXPECTED = [
    (0, {"a": [-1, 1], "b": [-1, {"x": [1]}]}),
    (1, {"a": [0, 2]}),
    (2, {"b": [0, None], "c": [-1, "c"]}),
    (3, {"a": [1, 3], "c": [2, "c2"]}),
]


def test_changes_since_yields_entries_in_order(storage, commit):
    make_history(storage, commit)
    got = list(storage.changes_since(-1))
    assert got[:4] == EXPECTED
    serial, changes = got[4]
    assert serial == 4 and list(changes) == ["b"] and changes["b"][1] == "reborn"
    assert list(storage.changes_since(1)) == got[2:]
    assert list(storage.changes_since(3)) == got[4:]
    assert list(storage.changes_since(4)) == []
    assert list(storage.changes_since(100)) == []


def test_changes_since_limit(storage, commit):
    make_history(storage, commit)
    everything = list(storage.changes_since(-1))
    assert list(storage.changes_since(-1, limit=2)) == everything[:2]
    assert list(storage.changes_since(0, limit=1)) == everything[1:2]
    assert list(storage.changes_since(2, limit=100)) == everything[3:]
    assert list(storage.changes_since(4, limit=3)) == []
    assert list(storage.changes_since(-1, limit=0)) == []
    paged, serial = [], -1
    while True:
        page = list(storage.changes_since(serial, limit=2))
        if not page:
            break
        paged.extend(page)
        serial = page[-1][0]
    assert paged == everything


def test_changes_since_far_below_minus_one(storage, commit):
    make_history(storage, commit)
    everything = list(storage.changes_since(-1))
    assert list(storage.changes_since(-5)) == everything
    assert list(storage.changes_since(-5, limit=2)) == everything[:2]


def test_callbacks_run_after_commit_with_the_new_serial(storage, commit):
    commit(storage, {"a": 1})
    calls = []
    with storage.write() as tx:
        tx.set("a", 2)
        tx.on_commit(lambda serial: calls.append(("first", serial, storage.last_serial())))
        tx.on_commit(lambda serial: calls.append(("second", serial, storage.last_serial())))
        assert calls == []
    assert calls == [("first", 1, 1), ("second", 1, 1)]


def test_callbacks_and_listeners_may_read_and_write(storage, commit, run_threads):
    seen = []

    def listener(serial, changes):
        if "audit" not in changes:
            with storage.write() as tx:
                tx.set("audit", serial)

    def callback(serial):
        with storage.read() as tx:
            seen.append((serial, tx.get("a")))

    storage.add_commit_listener(listener)

    def work():
        with storage.write() as tx:
            tx.set("a", 1)
            tx.on_commit(callback)

    run_threads(work, timeout=10)  # a deadlock fails here instead of hanging
    assert seen == [(0, 1)]
    assert list(storage.changes_since(0)) == [(1, {"audit": [-1, 0]})]


def test_no_callbacks_on_rollback(storage, commit):
    calls = []
    storage.add_commit_listener(lambda serial, changes: calls.append(("listener", serial)))
    with pytest.raises(RuntimeError):
        with storage.write() as tx:
            tx.set("a", 1)
            tx.on_commit(lambda serial: calls.append(("callback", serial)))
            raise RuntimeError("rollback")
    assert calls == []
    with storage.write() as tx:
        tx.set("a", 2)
        tx.on_commit(lambda serial: calls.append(("callback", serial)))
    assert calls == [("callback", 0), ("listener", 0)] or calls == [("listener", 0), ("callback", 0)]


def export(storage):
    return list(storage.changes_since(-1))


def snapshot(storage):
    with storage.read() as tx:
        return tx.serial, [(key, value, tx.get_serial(key)) for key, value in tx.items("")]


def test_import_changes_replicates(make_storage, commit):
    primary, replica = make_storage(), make_storage()
    make_history(primary, commit)
    imported = []
    replica.add_commit_listener(lambda serial, changes: imported.append((serial, changes)))
    for serial, changes in export(primary):
        replica.import_changes(serial, changes)
    assert replica.last_serial() == primary.last_serial() == 4
    assert snapshot(replica) == snapshot(primary)
    assert export(replica) == export(primary)
    assert imported == export(primary)
    # the replica goes on with the next serial, like the primary
    assert commit(replica, {"a": "local"}) == 5
    assert list(replica.changes_since(4)) == [(5, {"a": [3, "local"]})]


def test_import_changes_incrementally(make_storage, commit):
    primary, replica = make_storage(), make_storage()
    for round_number in range(3):
        commit(primary, {f"k{round_number}": round_number, "shared": round_number})
        for serial, changes in primary.changes_since(replica.last_serial()):
            replica.import_changes(serial, changes)
        assert snapshot(replica) == snapshot(primary)


@pytest.mark.parametrize("wrong", [-1, 1, 3, 100])
def test_import_changes_with_wrong_serial_changes_nothing(make_storage, commit, wrong):
    primary, replica = make_storage(), make_storage()
    make_history(primary, commit)
    entries = export(primary)
    replica.import_changes(*entries[0])
    replica.import_changes(*entries[1])
    before = snapshot(replica), export(replica)
    calls = []
    replica.add_commit_listener(lambda serial, changes: calls.append(serial))
    with pytest.raises(ValueError):
        replica.import_changes(wrong, entries[2][1])
    assert (snapshot(replica), export(replica)) == before
    assert calls == []
    replica.import_changes(*entries[2])  # the right one still applies
    assert replica.last_serial() == 2


def test_import_changes_into_empty_storage_must_start_at_zero(make_storage, commit):
    primary, replica = make_storage(), make_storage()
    make_history(primary, commit)
    serial, changes = export(primary)[1]
    with pytest.raises(ValueError):
        replica.import_changes(serial, changes)
    assert replica.last_serial() == -1
    assert export(replica) == []
