"""Progress for long CLI work: a tqdm bar on a terminal, periodic log lines otherwise."""

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
log = logging.getLogger("satchel.progress")
LOG_EVERY = 10.0  # seconds between log lines when not on a terminal


def progress(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "item",
             stream=None) -> Iterator[T]:
    """Iterate ``items`` while showing progress on ``stream`` (stderr)."""
    stream = stream or sys.stderr
    if stream.isatty():
        yield from tqdm(items, total=total, desc=desc, unit=unit, file=stream)
        return
    started = last = time.monotonic()
    count = 0
    for item in items:
        yield item
        count += 1
        now = time.monotonic()
        if now - last >= LOG_EVERY:
            last = now
            of = f"/{total}" if total is not None else ""
            log.info("%s: %d%s %ss (%.0fs)", desc, count, of, unit, now - started)
    log.info("%s: done, %d %ss in %.1fs", desc, count, unit, time.monotonic() - started)
