"""Reads: get/get_serial/get_with_serial/keys/items, prefixes, deletions, JSON values, own writes."""

import pytest

VALUES = [
    {"name": "x", "nested": {"list": [1, 2, {"inner": None}], "flag": True}},
    [1, "two", None, False, 3.5, {"k": []}],
    "text",
    "unicode \u2603 \u00e9 \U0001f40d",
    "",
    0,
    42,
    -7,
    2**53,
    1.25,
    True,
    False,
    [],
    {},
    {"none": None},
]


@pytest.mark.parametrize("value", VALUES, ids=[f"v{number}" for number in range(len(VALUES))])
def test_values_round_trip_as_json(storage, commit, value):
    commit(storage, {"value": value})
    with storage.read() as tx:
        got = tx.get("value", default="DEFAULT")
        assert got == value and type(got) is type(value)
        assert tx.get_with_serial("value") == (value, 0)
        assert tx.items("value") == [("value", value)]
    (serial, changes), = storage.changes_since(-1)
    assert changes == {"value": [-1, value]}


def test_values_are_stored_as_json_not_as_objects(storage, commit):
    value = {"tuple": (1, 2), 3: "int key", "list": [1]}
    with storage.write() as tx:
        tx.set("a", value)
        value["list"].append(2)  # mutating the argument afterwards changes nothing stored
        assert tx.get("a") == {"tuple": [1, 2], "3": "int key", "list": [1]}
    with storage.read() as tx:
        got = tx.get("a")
        assert got == {"tuple": [1, 2], "3": "int key", "list": [1]}
        got["list"].append(99)  # nor does mutating a returned value
        assert tx.get("a")["list"] == [1]
    with storage.read() as tx:
        assert tx.get("a")["list"] == [1]


def test_absent_key(storage, commit):
    commit(storage, {"present": 1})
    with storage.read() as tx:
        assert tx.get("absent") is None
        assert tx.get("absent", "default") == "default"
        assert tx.get("absent", default=[]) == []
        assert tx.get_serial("absent") == -1
        assert tx.get_with_serial("absent") == (None, -1)


def test_get_serial_is_the_serial_of_the_last_write(storage, commit):
    commit(storage, {"a": 1, "b": 1})
    commit(storage, {"b": 2})
    commit(storage, {"c": 3})
    with storage.read() as tx:
        assert [tx.get_serial(key) for key in "abc"] == [0, 1, 2]
        assert tx.get_with_serial("b") == (2, 1)


PREFIX_KEYS = ["users/al", "users/alice", "users/alice/index", "users/alfred", "users/bob",
               "users%x", "users_x", "usersx", "users", "user", "z\u00e9", "z\U0001f40d", "za"]


def test_keys_and_items_by_prefix(storage, commit):
    commit(storage, {key: {"key": key} for key in reversed(PREFIX_KEYS)})
    with storage.read() as tx:
        assert tx.keys("") == sorted(PREFIX_KEYS)
        assert tx.keys("users/al") == ["users/al", "users/alfred", "users/alice", "users/alice/index"]
        assert tx.keys("users/alice") == ["users/alice", "users/alice/index"]
        assert tx.keys("users/alice/") == ["users/alice/index"]
        assert tx.keys("users/al/") == []
        assert tx.keys("users/") == ["users/al", "users/alfred", "users/alice", "users/alice/index",
                                     "users/bob"]
        assert tx.keys("users%") == ["users%x"]  # no LIKE wildcards
        assert tx.keys("users_") == ["users_x"]
        assert tx.keys("users") == sorted(key for key in PREFIX_KEYS if key.startswith("users"))
        assert tx.keys("z") == ["za", "z\u00e9", "z\U0001f40d"]  # code point order
        assert tx.keys("nothing") == []
        assert tx.items("users/alice") == [("users/alice", {"key": "users/alice"}),
                                           ("users/alice/index", {"key": "users/alice/index"})]
        assert tx.items("") == [(key, {"key": key}) for key in sorted(PREFIX_KEYS)]


def test_deleted_keys_vanish(storage, commit):
    commit(storage, {"p/a": 1, "p/b": 2, "p/c": 3})
    commit(storage, {"p/b": None})
    with storage.read() as tx:
        assert tx.get("p/b") is None
        assert tx.get("p/b", "default") == "default"
        assert tx.get_serial("p/b") == -1
        assert tx.get_with_serial("p/b") == (None, -1)
        assert tx.keys("p/") == ["p/a", "p/c"]
        assert tx.items("p/") == [("p/a", 1), ("p/c", 3)]
    commit(storage, {"p/b": "again"})
    with storage.read() as tx:
        assert tx.get_with_serial("p/b") == ("again", 2)
        assert tx.keys("p/") == ["p/a", "p/b", "p/c"]


def test_write_tx_sees_its_own_writes_and_deletes(storage, commit):
    commit(storage, {"p/a": 1, "p/b": 2, "p/c": 3})
    with storage.write() as tx:
        tx.set("p/a", 10)
        tx.set("p/new", "n")
        tx.delete("p/b")
        assert tx.get("p/a") == 10
        assert tx.get_with_serial("p/a")[0] == 10
        assert tx.get("p/new") == "n"
        assert tx.get("p/b") is None
        assert tx.get("p/b", "default") == "default"
        assert tx.get_serial("p/b") == -1
        assert tx.get_with_serial("p/b") == (None, -1)
        assert tx.get_serial("p/c") == 0
        assert tx.keys("p/") == ["p/a", "p/c", "p/new"]
        assert tx.items("p/") == [("p/a", 10), ("p/c", 3), ("p/new", "n")]
        tx.set("p/b", "back")
        tx.delete("p/new")
        assert tx.keys("p/") == ["p/a", "p/b", "p/c"]
        assert tx.get("p/b") == "back"
    with storage.read() as tx:
        assert tx.items("p/") == [("p/a", 10), ("p/b", "back"), ("p/c", 3)]


def test_reads_inside_a_write_tx_see_the_last_commit(storage, commit):
    commit(storage, {"a": 1})
    commit(storage, {"a": 2})
    with storage.write() as tx:
        assert tx.get_with_serial("a") == (2, 1)
        tx.set("a", 3)
    with storage.read() as tx:
        assert tx.get_with_serial("a") == (3, 2)
