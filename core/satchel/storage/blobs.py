"""A filesystem blob store: content-addressed files written atomically."""

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from satchel.storage.contract import BlobInfo, BlobStore, SpooledBlob

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def blob_relpath(sha256: str) -> str:
    """Where a blob lives below the store's root (also what nginx is told in X-Accel-Redirect)."""
    check_sha256(sha256)
    return f"{sha256[:2]}/{sha256}"


def spool_to_file(chunks: Iterable[bytes], directory: Path, mode: int = 0o600,
                  sync: bool = False) -> tuple[str, int, str]:
    """Write ``chunks`` to a new temp file in ``directory``, hashing them: ``(sha256, size, path)``.

    ``sync`` fsyncs the file. A failing chunk iterator leaves no file behind.
    """
    digest = hashlib.sha256()
    size = 0
    fd, tmpname = tempfile.mkstemp(dir=directory)
    try:
        with os.fdopen(fd, "wb") as tmp:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                tmp.write(chunk)
            tmp.flush()
            os.fchmod(tmp.fileno(), mode)
            if sync:
                os.fsync(tmp.fileno())
    except BaseException:
        os.unlink(tmpname)
        raise
    return digest.hexdigest(), size, tmpname


def check_sha256(sha256: str) -> str:
    """Refuse anything but 64 lowercase hex digits: blob paths are built from it."""
    if not isinstance(sha256, str) or not _HEX64.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class FileBlobStore(BlobStore):
    """Blobs under ``root/ab/<sha256>``; temp file, fsync, rename, then fsync the dir.

    The 256 ``ab`` directories are made up front: creating one per upload (and fsyncing its
    parent) cost a third of an upload's fsyncs.
    """

    can_link = True

    def __init__(self, root: Path):
        self.root = Path(root)
        self.spool_dir = self.root / "tmp"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        if not (self.root / "ff").is_dir():
            for number in range(256):
                (self.root / f"{number:02x}").mkdir(exist_ok=True)
            _fsync_dir(self.root)

    def _path_for(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / blob_relpath(sha256)

    def put(self, chunks: Iterable[bytes], sync: bool = True) -> BlobInfo:
        """Store the bytes of ``chunks``; with ``sync=False`` the caller calls ``sync()`` before committing."""
        return self.publish(self.spool(chunks, sync), sync)

    def spool(self, chunks: Iterable[bytes], sync: bool = False) -> SpooledBlob:
        """Write ``chunks`` to a temp file of this store, hashing them on the way.

        ``sync`` fsyncs the file now (``put`` does, so that ``publish`` needn't reopen it).
        """
        # readable by a proxy's worker user (nginx serves them via X-Accel-Redirect)
        sha256, size, tmpname = spool_to_file(chunks, self.spool_dir, mode=0o644, sync=sync)
        return SpooledBlob(sha256, size, (tmpname, sync))

    def publish(self, spooled: SpooledBlob, sync: bool = True) -> BlobInfo:
        """Rename the spooled file into place (with ``sync``: fsync it and its directory)."""
        tmpname, synced = spooled.token
        target = self._path_for(spooled.sha256)
        try:
            if target.exists():
                os.unlink(tmpname)
            else:
                if sync and not synced:
                    with open(tmpname, "rb") as handle:
                        os.fsync(handle.fileno())
                _make_dirs(self.root, target.parent, sync)
                os.replace(tmpname, target)
                if sync:
                    _fsync_dir(target.parent)
        except BaseException:
            self.discard(spooled)
            raise
        return BlobInfo(spooled.sha256, spooled.size)

    def discard(self, spooled: SpooledBlob) -> None:
        try:
            os.unlink(spooled.token[0])
        except FileNotFoundError:
            pass

    def leftovers(self, older_than: float = 3600, remove: bool = False) -> tuple[int, int]:
        """Files in ``tmp/`` not written for ``older_than`` seconds (a kill -9 mid-upload or mid-import)."""
        # file times are stamped by the OS's wall clock, not satchel.clock's (which tests may fake)
        cutoff = time.time() - older_than
        count = size = 0
        with os.scandir(self.spool_dir) as entries:
            for entry in entries:
                try:
                    stat = entry.stat(follow_symlinks=False)
                    if not entry.is_file(follow_symlinks=False) or stat.st_mtime > cutoff:
                        continue  # in use: uploads, downloads and imports write their files as they go
                    if remove:
                        os.unlink(entry.path)
                except FileNotFoundError:
                    continue  # published or discarded meanwhile
                count += 1
                size += stat.st_size
        return count, size

    def link_file(self, source: Path, sha256: str) -> bool:
        """Hard-link an already verified file into place; False when the filesystem can't."""
        target = self._path_for(sha256)
        if target.exists():
            return True
        try:
            _make_dirs(self.root, target.parent)
            os.link(source, target)
        except FileExistsError:
            return True
        except OSError:
            return False
        _fsync_dir(target.parent)
        return True

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self.put([data])

    def sync(self) -> None:
        """Make every blob stored with ``sync=False`` durable (one flush for a whole import)."""
        os.sync()

    def open(self, sha256: str) -> BinaryIO:
        return open(self._path_for(sha256), "rb")

    def path(self, sha256: str) -> Path | None:
        return self._path_for(sha256)

    def exists(self, sha256: str) -> bool:
        return self._path_for(sha256).exists()

    def delete(self, sha256: str) -> None:
        try:
            self._path_for(sha256).unlink()
        except FileNotFoundError:
            pass

    def __iter__(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/*")):
            if _HEX64.fullmatch(path.name):
                yield path.name


def _make_dirs(root: Path, path: Path, sync: bool = True) -> None:
    """Create ``path`` below ``root`` one level at a time, fsyncing each new entry's parent."""
    missing = []
    while path != root and not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        if sync:
            _fsync_dir(directory.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
