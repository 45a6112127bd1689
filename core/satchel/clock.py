"""satchel's one clock and its timestamp formats.

Expiry, back-off, token lifetimes and upload times read the time here, so a test can swap the clock
(the test kit's ``fake_clock`` fixture) instead of sleeping. Timeouts of real I/O (sockets, threads
waiting for each other) keep using ``time.monotonic()``: a frozen fake clock must not stall them.
"""

import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # satchel's (and devpi's) stored form, always UTC
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class Clock(Protocol):
    """What ``use()`` accepts: wall time in epoch seconds and a monotonic time in seconds."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


_clock: Clock = SystemClock()


def use(clock: Clock) -> Clock:
    """Make ``clock`` the process's clock; returns the previous one (to put back)."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> float:
    """Wall time, epoch seconds: for what is stored or shown (upload times, token ages, last contact)."""
    return _clock.time()


def monotonic() -> float:
    """Monotonic seconds: for expiry and back-off measured within this process."""
    return _clock.monotonic()


def _datetime(when: float | datetime | None) -> datetime:
    if when is None:
        when = now()
    if isinstance(when, datetime):
        return when.astimezone(UTC) if when.tzinfo is not None else when
    return datetime.fromtimestamp(when, UTC)


def iso(when: float | datetime | None = None, fraction: bool = False) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) of ``when`` (epoch seconds or a datetime; default: now).

    ``fraction=True`` keeps microseconds when there are any (upstream upload times, PEP 700).
    """
    value = _datetime(when)
    if fraction and value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime(ISO_FORMAT)


def day(when: float | datetime | None = None) -> str:
    """``YYYY-MM-DD`` (UTC): the granularity of a cached file's last access."""
    return _datetime(when).strftime("%Y-%m-%d")


def compact(when: float | datetime | None = None) -> str:
    """``YYYYmmddHHMMSS`` (UTC), as in devpi's tox result file names."""
    return _datetime(when).strftime("%Y%m%d%H%M%S")


def time_list(when: float | datetime | None = None) -> list[int]:
    """``[Y, M, D, h, m, s]`` (UTC): the ``when`` of devpi's file log entries."""
    return list(_datetime(when).timetuple()[:6])


def parse(value) -> datetime | None:
    """An aware datetime from satchel's ISO form (fraction allowed) or an HTTP/RFC 1123 date; None if neither."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if _ISO.match(value):
            return datetime.fromisoformat(value)
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
