"""File work on a few threads: hashing and copying release files release the GIL."""

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from satchel.progress import progress

T = TypeVar("T")
R = TypeVar("R")
CHUNK = 1 << 20
# measured on 2 cores: 2 threads copy and hash ~1.5x as fast as 1; more than 4 gained nothing
WORKERS = max(2, min(4, os.cpu_count() or 2))


def progress_map(fn: Callable[[T], R], items: Iterable[T], total: int, desc: str, unit: str = "file",
                 show=None) -> Iterator[R]:
    """``fn`` over ``items`` on ``WORKERS`` threads, results in order, shown by ``show(results, total=, desc=)``
    (satchel's progress by default).

    Closing the iterator early (an error in the caller) cancels the work not yet started.
    """
    show = show or functools.partial(progress, unit=unit)
    with ThreadPoolExecutor(WORKERS) as pool:
        results = pool.map(fn, items)
        try:
            yield from show(results, total=total, desc=desc)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_chunks(handle) -> Iterator[bytes]:
    return iter(lambda: handle.read(CHUNK), b"")


class SpoolError(Exception):
    """A file could not be read or did not match; nothing was stored."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def spool_files(blobs, jobs: list[tuple[Path, str, int | None]], desc: str, show=None) -> list:
    """Copy each ``(path, sha256, size or None)`` into ``blobs`` as spooled blobs, checking it on the way.

    Returns the spooled blobs (for ``publish``). On the first unreadable or mismatching file every
    spooled copy is discarded and ``SpoolError`` raised: the store is as before.
    """
    failed = threading.Event()

    def spool(job):
        path, sha256, size = job
        if failed.is_set():
            return None
        try:
            with open(path, "rb") as handle:
                spooled = blobs.spool(read_chunks(handle))
        except OSError as exc:
            failed.set()
            return SpoolError(path, f"cannot read it: {exc.strerror}")
        if spooled.sha256 != sha256 or (size is not None and spooled.size != size):
            failed.set()
            blobs.discard(spooled)
            return SpoolError(path, "does not match its sha256")
        return spooled

    results = list(progress_map(spool, jobs, total=len(jobs), desc=desc, show=show))
    errors = [result for result in results if isinstance(result, SpoolError)]
    if errors:
        for result in results:
            if result is not None and not isinstance(result, SpoolError):
                blobs.discard(result)
        raise errors[0]
    return results
