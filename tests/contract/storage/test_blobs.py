"""Blobs: content addressing, put/open/exists/delete/iteration, input checks, atomic puts."""

import hashlib
import os
from pathlib import Path

import pytest

from satchel.storage.blobs import check_sha256
from satchel.storage.contract import BlobInfo


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_blob(blobs, digest: str) -> bytes:
    with blobs.open(digest) as handle:
        return handle.read()


def all_files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def is_file_based(blobs) -> bool:
    return blobs.path(sha(b"probe")) is not None


def test_put_bytes_returns_address_and_size(storage):
    info = storage.blobs.put_bytes(b"hello")
    assert info == BlobInfo(sha(b"hello"), 5)
    assert storage.blobs.exists(info.sha256)
    assert read_blob(storage.blobs, info.sha256) == b"hello"
    assert list(storage.blobs) == [info.sha256]


@pytest.mark.parametrize("chunks", [
    [b"a", b"bc", b"", b"def"],
    (bytes([number]) * 100_000 for number in range(10)),
    [],
    [b""],
], ids=["list", "generator", "empty", "empty-chunk"])
def test_put_chunks(storage, chunks):
    chunks = list(chunks)
    data = b"".join(chunks)
    info = storage.blobs.put(iter(chunks))
    assert info == BlobInfo(sha(data), len(data))
    assert read_blob(storage.blobs, info.sha256) == data


def test_open_reads_in_pieces(storage):
    data = os.urandom(300_000)
    info = storage.blobs.put_bytes(data)
    with storage.blobs.open(info.sha256) as handle:
        pieces = []
        while piece := handle.read(65536):
            pieces.append(piece)
    assert b"".join(pieces) == data


def test_content_addressing_dedups(storage):
    first = storage.blobs.put_bytes(b"same")
    second = storage.blobs.put([b"sa", b"me"])
    other = storage.blobs.put_bytes(b"other")
    assert first == second
    assert sorted(storage.blobs) == sorted({first.sha256, other.sha256})
    storage.blobs.delete(first.sha256)
    assert not storage.blobs.exists(first.sha256)
    assert list(storage.blobs) == [other.sha256]


def test_delete_and_missing_blobs(storage):
    info = storage.blobs.put_bytes(b"x")
    storage.blobs.delete(info.sha256)
    assert not storage.blobs.exists(info.sha256)
    assert list(storage.blobs) == []
    with pytest.raises(FileNotFoundError):
        storage.blobs.open(info.sha256)
    storage.blobs.delete(info.sha256)  # deleting a missing blob is not an error
    assert storage.blobs.put_bytes(b"x") == info  # and it can come back
    assert read_blob(storage.blobs, info.sha256) == b"x"


def test_path_is_the_blob_or_none(storage):
    info = storage.blobs.put_bytes(b"served zero-copy")
    path = storage.blobs.path(info.sha256)
    if path is not None:
        assert Path(path).read_bytes() == b"served zero-copy"


BAD_DIGESTS = [
    "../etc/passwd",
    "../" + "a" * 61,
    "/etc/passwd",
    "a" * 63,
    "a" * 65,
    "A" * 64,
    "g" * 64,
    "aa/aa/" + "a" * 58,
    "",
    "a" * 32 + "/" + "a" * 31,
    " " + "a" * 63,
]


@pytest.mark.parametrize("digest", BAD_DIGESTS, ids=range(len(BAD_DIGESTS)))
def test_blob_addresses_are_checked(storage, tmp_path, digest):
    victim = tmp_path / "victim"
    victim.write_bytes(b"secret")
    storage.blobs.put_bytes(b"secret")
    blobs = storage.blobs
    with pytest.raises(ValueError):
        blobs.open(digest)
    for call in (blobs.path, blobs.exists):
        try:
            assert call(digest) in (None, False)
        except ValueError:
            pass
    try:
        blobs.delete(digest)
    except ValueError:
        pass
    assert victim.read_bytes() == b"secret"


def test_traversal_to_an_existing_file_is_refused(storage):
    info = storage.blobs.put_bytes(b"inside")
    path = storage.blobs.path(info.sha256)
    if path is None:
        pytest.skip("blobs are not files")
    outside = Path(path).parent / ".." / ".." / ".." / "outside"
    outside.write_bytes(b"not a blob")
    relative = os.path.relpath(outside, Path(path).parent)
    for digest in (relative, "../../../outside", str(outside)):
        with pytest.raises(ValueError):
            storage.blobs.open(digest)
    assert outside.exists()


def test_trailing_newline_is_not_a_digest():
    digest = sha(b"x")
    with pytest.raises(ValueError):
        check_sha256(digest + "\n")


def test_open_refuses_digest_with_trailing_newline(storage):
    info = storage.blobs.put_bytes(b"x")
    with pytest.raises(ValueError):
        storage.blobs.open(info.sha256 + "\n")


def test_put_leaves_no_temp_files(storage, make_storage):
    if not is_file_based(storage.blobs):
        pytest.skip("blobs are not files")
    serverdir = make_storage.serverdir_of(storage)
    before = all_files(serverdir)
    first = storage.blobs.put([b"one", b"two"])
    again = storage.blobs.put_bytes(b"onetwo")  # dedup path: the temp file must go too
    other = storage.blobs.put_bytes(b"three")
    assert first == again
    blob_files = {str(Path(storage.blobs.path(info.sha256)).relative_to(serverdir))
                  for info in (first, other)}
    assert all_files(serverdir) == before | blob_files
    assert storage.blobs.leftovers(older_than=-1) == (0, 0)  # no spooled copy left behind


class ChunkError(Exception):
    pass


def failing_chunks():
    yield b"a" * 100_000
    yield b"b" * 100_000
    raise ChunkError("upstream connection reset")


def test_failing_chunk_iterator_leaves_nothing(storage, make_storage):
    existing = storage.blobs.put_bytes(b"existing")
    serverdir = make_storage.serverdir_of(storage)
    before = all_files(serverdir)
    with pytest.raises(ChunkError):
        storage.blobs.put(failing_chunks())
    assert list(storage.blobs) == [existing.sha256]
    assert not storage.blobs.exists(sha(b"a" * 100_000 + b"b" * 100_000))
    assert not storage.blobs.exists(sha(b"a" * 100_000))
    assert all_files(serverdir) == before
    assert storage.blobs.put_bytes(b"after") == BlobInfo(sha(b"after"), 5)


def test_concurrent_puts_of_the_same_content(storage, run_threads):
    data = os.urandom(200_000)
    results = []

    def putter():
        for _ in range(5):
            results.append(storage.blobs.put([data[:100_000], data[100_000:]]))

    run_threads(*[putter for _ in range(6)])
    assert set(results) == {BlobInfo(sha(data), len(data))}
    assert list(storage.blobs) == [sha(data)]
    assert read_blob(storage.blobs, sha(data)) == data
    assert storage.blobs.leftovers(older_than=-1) == (0, 0)  # no spooled copy left behind


@pytest.fixture
def fsynced(monkeypatch):
    """Paths passed to os.fsync (by descriptor) while the test runs."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to map descriptors to paths")
    paths = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        paths.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return paths


def test_new_blob_is_durable_including_new_directories(storage, fsynced, request):
    if not is_file_based(storage.blobs):
        pytest.skip("blobs are not files")
    data = b"durable before put returns"
    target = Path(storage.blobs.path(sha(data)))
    created = [directory for directory in target.parents if not directory.exists()]
    storage.blobs.put_bytes(data)
    must_sync = {os.path.realpath(target.parent)}
    must_sync |= {os.path.realpath(directory.parent) for directory in created}
    assert must_sync <= set(fsynced), f"not fsynced: {sorted(must_sync - set(fsynced))}"
    assert len(set(fsynced) - must_sync) >= 1  # the file itself (as the temp file, before rename)


def test_spooled_blobs_are_invisible_until_published(storage, make_storage, run_threads):
    serverdir = make_storage.serverdir_of(storage)
    before = all_files(serverdir)
    datas = [os.urandom(150_000) for _ in range(4)]
    spooled = []
    run_threads(*[lambda data=data: spooled.append(storage.blobs.spool([data[:1000], data[1000:]]))
                  for data in datas])
    assert sorted((info.sha256, info.size) for info in spooled) == sorted((sha(d), len(d)) for d in datas)
    assert list(storage.blobs) == []
    assert not any(storage.blobs.exists(sha(data)) for data in datas)
    keep, drop = spooled[:2], spooled[2:]
    for info in drop:
        storage.blobs.discard(info)
    assert [storage.blobs.publish(info, sync=False) for info in keep] == \
        [BlobInfo(info.sha256, info.size) for info in keep]
    storage.blobs.sync()
    assert sorted(storage.blobs) == sorted(info.sha256 for info in keep)
    for info in keep:
        assert sha(read_blob(storage.blobs, info.sha256)) == info.sha256
    if is_file_based(storage.blobs):  # nothing left behind by the discarded ones
        blob_files = {str(Path(storage.blobs.path(info.sha256)).relative_to(serverdir)) for info in keep}
        assert all_files(serverdir) == before | blob_files


def test_publishing_content_already_stored_keeps_one_copy(storage):
    first = storage.blobs.put_bytes(b"same bytes")
    again = storage.blobs.publish(storage.blobs.spool([b"same ", b"bytes"]))
    assert again == first and list(storage.blobs) == [first.sha256]
    assert storage.blobs.leftovers(older_than=-1) == (0, 0)  # no spooled copy left behind


def test_leftovers_are_only_what_nobody_touched_for_a_while(storage):
    data = b"an import killed here"
    spooled = storage.blobs.spool([data])
    assert storage.blobs.leftovers() == (0, 0)  # an hour by default: this one is in use
    found = storage.blobs.leftovers(older_than=-1)
    # a store whose spooled bytes cannot outlive the process has no leftovers to report
    assert found in {(0, 0), (1, len(data))}
    if found != (0, 0):
        assert storage.blobs.leftovers(older_than=-1, remove=True) == found
        assert storage.blobs.leftovers(older_than=-1) == (0, 0)
    storage.blobs.discard(spooled)  # gone already or not: no error
    assert list(storage.blobs) == []
