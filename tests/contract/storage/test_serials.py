"""Serials: -1 when empty, 0 first, gap-free; empty and failed write transactions commit nothing."""

import pytest


class Boom(Exception):
    pass


def entries(storage):
    return list(storage.changes_since(-1))


def test_fresh_storage_is_empty(storage):
    assert storage.last_serial() == -1
    with storage.read() as tx:
        assert tx.serial == -1
        assert tx.keys("") == []
    assert entries(storage) == []


def test_first_commit_is_serial_zero_and_serials_are_gap_free(storage, commit):
    serials = [commit(storage, {f"k/{number}": number}) for number in range(5)]
    assert serials == [0, 1, 2, 3, 4]
    assert storage.last_serial() == 4
    assert [serial for serial, _ in entries(storage)] == [0, 1, 2, 3, 4]
    with storage.read() as tx:
        assert tx.serial == 4


def test_write_tx_serial_is_the_last_committed_serial(storage):
    with storage.write() as tx:
        assert tx.serial == -1
        tx.set("a", 1)
    with storage.write() as tx:
        assert tx.serial == 0
        tx.set("a", 2)
    assert storage.last_serial() == 1


def test_write_without_changes_commits_nothing(storage, commit):
    called = []
    storage.add_commit_listener(lambda serial, changes: called.append(serial))
    with storage.write() as tx:
        tx.on_commit(called.append)
        tx.get("a")
        tx.keys("")
    assert storage.last_serial() == -1
    assert entries(storage) == []
    assert called == []
    assert commit(storage, {"a": 1}) == 0
    with storage.write():
        pass
    assert storage.last_serial() == 0
    assert commit(storage, {"a": 2}) == 1


def test_exception_rolls_back_everything(storage, commit):
    commit(storage, {"keep": "old", "gone": "old"})
    called = []
    storage.add_commit_listener(lambda serial, changes: called.append(serial))
    with pytest.raises(Boom):
        with storage.write() as tx:
            tx.set("keep", "new")
            tx.set("added", "new")
            tx.delete("gone")
            tx.on_commit(called.append)
            assert tx.get("keep") == "new"
            raise Boom()
    assert called == []
    assert storage.last_serial() == 0
    assert [serial for serial, _ in entries(storage)] == [0]
    with storage.read() as tx:
        assert tx.serial == 0
        assert tx.items("") == [("gone", "old"), ("keep", "old")]
        assert tx.get_serial("keep") == 0
        assert tx.get("added") is None
    # the storage stays usable and the next commit takes the next serial
    assert commit(storage, {"keep": "newer"}) == 1
    assert [serial for serial, _ in entries(storage)] == [0, 1]


def test_base_exception_rolls_back_and_releases_the_writer(storage, commit):
    with pytest.raises(KeyboardInterrupt):
        with storage.write() as tx:
            tx.set("a", 1)
            raise KeyboardInterrupt()
    assert storage.last_serial() == -1
    assert commit(storage, {"b": 1}) == 0
    with storage.read() as tx:
        assert tx.keys("") == ["b"]


def test_rollback_in_the_middle_keeps_serials_gap_free(storage, commit):
    commit(storage, {"a": 0})
    for attempt in range(3):
        with pytest.raises(Boom):
            with storage.write() as tx:
                tx.set("a", attempt + 100)
                raise Boom()
        with storage.write():
            pass
    assert commit(storage, {"a": 1}) == 1
    assert [serial for serial, _ in entries(storage)] == [0, 1]
    with storage.read() as tx:
        assert tx.get_with_serial("a") == (1, 1)


def test_setting_none_is_refused(storage):
    with pytest.raises(ValueError):
        with storage.write() as tx:
            tx.set("a", None)
    assert storage.last_serial() == -1


def test_unserializable_value_is_refused_and_rolled_back(storage, commit):
    with pytest.raises(TypeError):
        with storage.write() as tx:
            tx.set("good", 1)
            tx.set("bad", {1, 2})
    assert storage.last_serial() == -1
    with storage.read() as tx:
        assert tx.keys("") == []
    assert commit(storage, {"good": 1}) == 0
