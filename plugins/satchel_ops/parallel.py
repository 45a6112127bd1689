"""File work on a few threads: hashing and copying release files release the GIL."""

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from satchel.progress import progress

T = TypeVar("T")
R = TypeVar("R")
CHUNK = 1 << 20
# two cores already double throughput; more threads only add page-cache contention
WORKERS = max(2, min(4, os.cpu_count() or 2))


def progress_map(fn: Callable[[T], R], items: Iterable[T], total: int, desc: str, unit: str = "file") -> Iterator[R]:
    """``fn`` over ``items`` on ``WORKERS`` threads, results in order, with progress.

    Closing the iterator early (an error in the caller) cancels the work not yet started.
    """
    with ThreadPoolExecutor(WORKERS) as pool:
        results = pool.map(fn, items)
        try:
            yield from progress(results, total=total, desc=desc, unit=unit)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_chunks(handle) -> Iterator[bytes]:
    return iter(lambda: handle.read(CHUNK), b"")
