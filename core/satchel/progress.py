"""Progress for long CLI work: a tqdm bar on a terminal, periodic log lines otherwise."""

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
log = logging.getLogger("satchel.progress")
LOG_EVERY = 10.0  # seconds between log lines when not on a terminal
FALLBACK_SIZE = {"ncols": 80, "nrows": 24}


def progress(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "item",
             stream=None) -> Iterator[T]:
    """Iterate ``items`` while showing progress on ``stream`` (stderr)."""
    stream = stream or sys.stderr
    if stream.isatty():
        yield from terminal_bar(total=total, desc=desc, unit=unit, stream=stream, iterable=items)
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


def no_progress(items: Iterable[T], **_) -> Iterable[T]:
    """Stands in for ``progress`` where nothing is to be shown (same signature)."""
    return items


def terminal_bar(total: int | None, desc: str, unit: str = "item", stream=None, iterable=None) -> tqdm | None:
    """A tqdm bar on ``stream`` (stderr) for work updated by hand, or None when it is not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, **_fallback_size(stream))


def _fallback_size(stream) -> dict:
    """A fixed size for tqdm when the terminal reports none, else nothing (tqdm follows the terminal).

    A pseudo-terminal nobody sized (``docker exec -t``, ``script``, some CI runners) reports 0x0,
    and tqdm then draws its bar as an empty line.
    """
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return FALLBACK_SIZE
    return {} if size.columns > 0 and size.lines > 0 else FALLBACK_SIZE
