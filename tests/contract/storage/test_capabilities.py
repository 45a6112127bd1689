"""Each backend's declaration: it implements the contract's classes, offers no undeclared public
method, and every optional capability it declares (or leaves at its default) behaves as declared."""

import hashlib
import inspect
import threading
from pathlib import Path

import pytest

from satchel.storage import contract
from satchel.storage.contract import BlobInfo, BlobStore, ReadTx, Storage, WriteTx


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def declared_names(base: type) -> set[str]:
    return {name for klass in base.__mro__ for name in vars(klass)}


def public_methods(instance) -> set[str]:
    return {name for name, member in inspect.getmembers(type(instance))
            if not name.startswith("_") and callable(member)}


def test_backend_implements_the_contract_classes(storage):
    assert isinstance(storage, Storage)
    assert isinstance(storage.blobs, BlobStore)
    assert isinstance(storage.name, str) and storage.name
    with storage.read() as tx:
        assert isinstance(tx, ReadTx)
    with storage.write() as tx:
        assert isinstance(tx, WriteTx)


def test_backend_offers_only_declared_methods(storage):
    """Callers use declared names only; a capability not in the contract would have to be probed."""
    assert public_methods(storage) <= declared_names(Storage)
    assert public_methods(storage.blobs) <= declared_names(BlobStore)
    with storage.read() as tx:
        assert public_methods(tx) <= declared_names(ReadTx)
    with storage.write() as tx:
        assert public_methods(tx) <= declared_names(WriteTx)


def test_capability_flags_have_their_declared_types(storage):
    assert isinstance(storage.multi_process, bool)
    assert isinstance(storage.blobs.can_link, bool)
    assert storage.blobs.spool_dir is None or Path(storage.blobs.spool_dir).is_dir()


def test_path_is_none_or_the_blob_file(storage):
    data = b"served without copying"
    info = storage.blobs.put_bytes(data)
    path = storage.blobs.path(info.sha256)
    if path is not None:
        assert Path(path).read_bytes() == data


def test_url_is_none_or_an_http_url(storage):
    info = storage.blobs.put_bytes(b"maybe redirected")
    url = storage.blobs.url(info.sha256, "example-1.0.tar.gz")
    assert url is None or url.startswith(("http://", "https://"))


def test_link_file_does_what_can_link_declares(storage, tmp_path):
    source_dir = Path(storage.blobs.spool_dir or tmp_path)
    source = source_dir / "verified-elsewhere"
    data = b"a file checked against its sha256 before"
    source.write_bytes(data)
    try:
        linked = storage.blobs.link_file(source, sha(data))
    finally:
        source.unlink()
    if storage.blobs.can_link:
        assert linked
    if linked:
        assert storage.blobs.exists(sha(data))
        with storage.blobs.open(sha(data)) as handle:
            assert handle.read() == data
    else:
        assert not storage.blobs.exists(sha(data))


def test_release_and_renew_keep_a_snapshot_consistent(storage, commit):
    commit(storage, {"users/a": {"n": 1}})
    with storage.read() as tx:
        assert tx.serial == 0
        tx.release()
        commit(storage, {"users/a": {"n": 2}})
        tx.renew()
        # a backend without the capability keeps its snapshot: still consistent
        assert (tx.serial, tx.get("users/a")) in [(0, {"n": 1}), (1, {"n": 2})]
        if type(tx).renew is not ReadTx.renew:
            assert tx.serial == 1


def test_lock_excludes_other_holders_of_the_same_name_only(storage):
    order = []
    entered = threading.Event()

    def other():
        with storage.lock("mirror/root/pypi/hello"):
            order.append("other")

    with storage.lock("mirror/root/pypi/hello"):
        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        with storage.lock("mirror/root/pypi/world"):  # another name: not blocked
            entered.set()
        thread.join(0.3)
        assert thread.is_alive()  # still waiting for the lock
        order.append("holder")
    thread.join(10)
    assert entered.is_set() and order == ["holder", "other"]


def test_multi_process_storage_shares_commits_and_locks_between_instances(storage, make_storage, backend,
                                                                         commit):
    if not storage.multi_process:
        pytest.skip(f"storage backend {backend.name!r} is for one process")
    other = make_storage(make_storage.serverdir_of(storage))
    commit(storage, {"users/shared": {"by": "first"}})
    assert other.last_serial() == storage.last_serial() == 0
    with other.read() as tx:
        assert tx.get("users/shared") == {"by": "first"}
    assert commit(other, {"users/shared": {"by": "second"}}) == 1
    got = threading.Event()

    def take():
        with other.lock("project"):
            got.set()

    with storage.lock("project"):
        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        assert not got.wait(0.3)
    assert got.wait(10)
    thread.join(10)


class Watcher:
    """A ``CommitWatcher`` that remembers what it was told and takes the changes in as asked."""

    def __init__(self, storage):
        self.storage = storage
        self.serial = storage.last_serial()
        self.values: dict = {}
        self.following = threading.Event()

    def caught_up(self, serial):
        for number, changes in self.storage.changes_since(self.serial):
            self.values.update({key: value for key, (_, value) in changes.items()})
            self.serial = number
        assert self.serial >= serial
        self.following.set()

    def lost(self):
        self.following.clear()


def test_watch_commits_tells_a_watcher_before_the_commit_returns(storage, make_storage, backend, commit):
    """A write elsewhere returns only after a watching instance caught up with it: a process relying on
    the push never answers with data older than a write already acknowledged."""
    watching = make_storage(make_storage.serverdir_of(storage)) if storage.multi_process else storage
    watcher = Watcher(watching)
    if not watching.watch_commits(watcher):
        pytest.skip(f"storage backend {backend.name!r} does not push commits")
    assert storage.multi_process, "a push of other processes' commits needs a multi_process storage"
    assert watcher.following.wait(10)
    for number in range(3):
        serial = commit(storage, {"users/pushed": {"number": number}})
        assert watcher.serial >= serial and watcher.values["users/pushed"] == {"number": number}


def test_defaults_declare_nothing_offered():
    """A backend written from the contract alone gets the conservative defaults."""

    class Minimal(BlobStore):
        def spool(self, chunks):
            data = b"".join(chunks)
            return contract.SpooledBlob(sha(data), len(data), data)

        def publish(self, spooled, sync=True):
            self.stored = spooled.token
            return BlobInfo(spooled.sha256, spooled.size)

        def discard(self, spooled):
            pass

        def open(self, sha256):
            raise FileNotFoundError(sha256)

        def exists(self, sha256):
            return False

        def delete(self, sha256):
            pass

        def __iter__(self):
            return iter(())

    blobs = Minimal()
    assert blobs.put([b"a", b"b"]) == BlobInfo(sha(b"ab"), 2) and blobs.stored == b"ab"
    assert (blobs.can_link, blobs.spool_dir, blobs.path(sha(b"ab")), blobs.url(sha(b"ab"), "f")) == \
        (False, None, None, None)
    assert blobs.link_file(Path("/nonexistent"), sha(b"x")) is False
    assert blobs.leftovers(older_than=-1, remove=True) == (0, 0)
    assert Storage.multi_process is False
    assert Storage.watch_commits(None, None) is False
    with pytest.raises(TypeError):
        BlobStore()  # the required methods are abstract
