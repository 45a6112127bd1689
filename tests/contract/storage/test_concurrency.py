"""Snapshot isolation for readers, serialized writers, consistent reads under concurrent commits."""

import threading

import pytest


def test_read_tx_keeps_its_snapshot_while_another_thread_commits(storage, commit, run_threads):
    commit(storage, {"p/a": "old", "p/b": "old"})
    with storage.read() as tx:
        assert tx.get("p/a") == "old"
        run_threads(lambda: commit(storage, {"p/a": "new", "p/b": None, "p/c": "new"}))
        assert tx.serial == 0
        assert tx.get("p/a") == "old"
        assert tx.get_with_serial("p/a") == ("old", 0)
        assert tx.get("p/b") == "old"
        assert tx.get("p/c") is None
        assert tx.get_serial("p/c") == -1
        assert tx.keys("p/") == ["p/a", "p/b"]
        assert tx.items("p/") == [("p/a", "old"), ("p/b", "old")]
    with storage.read() as tx:
        assert tx.serial == 1
        assert tx.items("p/") == [("p/a", "new"), ("p/c", "new")]


def test_read_tx_in_another_thread_keeps_its_snapshot(storage, commit, run_threads):
    commit(storage, {"a": 0})
    opened, committed = threading.Event(), threading.Event()
    seen = []

    def reader():
        with storage.read() as tx:
            seen.append(tx.get("a"))
            opened.set()
            assert committed.wait(10)
            seen.append((tx.serial, tx.get("a"), tx.keys("")))

    def writer():
        assert opened.wait(10)
        commit(storage, {"a": 1, "b": 1})
        committed.set()

    run_threads(reader, writer)
    assert seen == [0, (0, 0, ["a"])]


def test_write_tx_does_not_block_readers(storage, commit, run_threads):
    commit(storage, {"a": 0})
    seen = []
    with storage.write() as tx:
        tx.set("a", 1)
        tx.set("b", 1)

        def reader():
            with storage.read() as rtx:
                seen.append((rtx.serial, rtx.get("a"), rtx.keys("")))

        run_threads(reader, timeout=10)
    assert seen == [(0, 0, ["a"])]


def test_uncommitted_writes_are_invisible_even_in_the_same_thread(storage, commit, run_threads):
    commit(storage, {"a": 0})
    seen = []
    with storage.write() as tx:
        tx.set("a", 1)
        tx.set("b", 1)
        with storage.read() as rtx:
            seen.append((rtx.serial, rtx.items("")))
        run_threads(lambda: seen.append(storage.last_serial()))
        assert list(storage.changes_since(-1)) == [(0, {"a": [-1, 0]})]
    assert seen == [(0, [("a", 0)]), 0]
    with storage.read() as rtx:
        assert rtx.items("") == [("a", 1), ("b", 1)]


def test_concurrent_readers_see_consistent_states(storage, commit, run_threads):
    commits, readers = 60, 4
    commit(storage, {"pair/a": 0, "pair/b": 0, "pair/x0": 0})
    done = threading.Event()
    reads = []

    def writer():
        try:
            for number in range(1, commits + 1):
                with storage.write() as tx:
                    tx.set("pair/a", number)
                    tx.delete(f"pair/x{number - 1}")
                    tx.set(f"pair/x{number}", number)
                    tx.set("pair/b", number)
        finally:
            done.set()

    def reader():
        last_serial = -1
        for _ in range(100_000):  # bounded; ends when the writer is done
            finished = done.is_set()
            with storage.read() as tx:
                a, serial_a = tx.get_with_serial("pair/a")
                items = tx.items("pair/")
                b = tx.get("pair/b")
                assert a == b, f"torn read at serial {tx.serial}: a={a} b={b}"
                assert serial_a == tx.serial, "pair/a is written by every commit"
                assert tx.serial >= last_serial, "snapshots go back in time"
                assert items == [("pair/a", a), ("pair/b", a), (f"pair/x{a}", a)], items
                assert tx.get("pair/a") == a, "repeated read differs"
                last_serial = tx.serial
                reads.append(tx.serial)
            if finished:
                return
        raise AssertionError("reader loop bound reached")

    run_threads(writer, *[reader for _ in range(readers)], timeout=30)
    assert storage.last_serial() == commits
    assert len(reads) >= readers


@pytest.mark.parametrize("threads,increments", [(8, 25)])
def test_writes_are_serialized(storage, commit, run_threads, threads, increments):
    commit(storage, {"counter": 0})
    committed, notified = [], []
    storage.add_commit_listener(lambda serial, changes: notified.append(serial))
    start = threading.Barrier(threads)

    def incrementer():
        start.wait(10)
        for _ in range(increments):
            with storage.write() as tx:
                tx.set("counter", tx.get("counter") + 1)
                tx.on_commit(lambda serial: committed.append(serial))

    run_threads(*[incrementer for _ in range(threads)], timeout=60)
    total = threads * increments
    with storage.read() as tx:
        assert tx.get_with_serial("counter") == (total, total)
    assert sorted(committed) == list(range(1, total + 1))
    assert sorted(notified) == list(range(1, total + 1))  # once per commit (order not promised)
    entries = list(storage.changes_since(-1))
    assert [serial for serial, _ in entries] == list(range(total + 1))
    assert [changes["counter"] for _, changes in entries[1:]] == [
        [serial - 1, serial] for serial in range(1, total + 1)]


def test_nested_read_transactions_in_one_thread(storage, commit, run_threads):
    commit(storage, {"a": 0})
    with storage.read() as outer:
        run_threads(lambda: commit(storage, {"a": 1}))
        with storage.read() as inner:
            assert inner.serial == 1 and inner.get("a") == 1
        assert outer.serial == 0 and outer.get("a") == 0


def test_storage_level_calls_ignore_the_threads_open_read_tx(storage, commit, run_threads, request,
                                                             backend_name):
    commit(storage, {"a": 0})
    with storage.read() as tx:
        run_threads(lambda: commit(storage, {"a": 1}))
        assert tx.serial == 0
        assert storage.last_serial() == 1
        assert [serial for serial, _ in storage.changes_since(-1)] == [0, 1]


def test_listener_may_read_while_the_committing_thread_holds_a_read_tx(storage, commit, request,
                                                                       backend_name):
    # e.g. a view reads, decides to write (mirror refresh); the event listener then reads
    seen = []

    def listener(serial, changes):
        with storage.read() as tx:
            seen.append((serial, tx.serial, tx.get("a")))
        seen.append([entry[0] for entry in storage.changes_since(serial - 1)])

    storage.add_commit_listener(listener)
    with storage.read() as outer:
        assert outer.get("a") is None
        commit(storage, {"a": 1})
    assert seen == [(0, 0, 1), [0]]
