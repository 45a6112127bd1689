"""satchel.clock: one clock for expiry, back-off, token ages and upload times, and its timestamp formats."""

from datetime import UTC, datetime

import pytest

from satchel import clock
from satchel.model import users

WHEN = datetime(2024, 2, 29, 13, 5, 9, 250000, tzinfo=UTC).timestamp()


def test_formats():
    assert clock.iso(WHEN) == "2024-02-29T13:05:09Z"
    assert clock.iso(WHEN, fraction=True) == "2024-02-29T13:05:09.250000Z"
    assert clock.iso(datetime(2024, 2, 29, 13, 5, 9), fraction=True) == "2024-02-29T13:05:09Z"
    assert clock.day(WHEN) == "2024-02-29"
    assert clock.compact(WHEN) == "20240229130509"
    assert clock.time_list(WHEN) == [2024, 2, 29, 13, 5, 9]


@pytest.mark.parametrize("text, expected", [
    ("2024-02-29T13:05:09Z", "2024-02-29T13:05:09Z"),
    ("2024-02-29T13:05:09.25Z", "2024-02-29T13:05:09Z"),
    ("Thu, 29 Feb 2024 14:05:09 +0100", "2024-02-29T13:05:09Z"),  # RFC 1123, another zone
    ("Thu, 29 Feb 2024 13:05:09 GMT", "2024-02-29T13:05:09Z"),
])
def test_parse_reads_iso_and_http_dates(text, expected):
    assert clock.iso(clock.parse(text)) == expected


@pytest.mark.parametrize("text", [None, "", "yesterday", "2024-02-30T00:00:00Z", 17])
def test_parse_refuses_everything_else(text):
    assert clock.parse(text) is None


def test_fake_clock_stands_still_until_advanced(fake_clock):
    start, mono = clock.now(), clock.monotonic()
    assert clock.now() == start and clock.monotonic() == mono
    fake_clock.advance(90)
    assert clock.now() == start + 90 and clock.monotonic() == mono + 90
    with pytest.raises(ValueError):
        fake_clock.advance(-1)


def test_stored_times_come_from_the_clock(fake_clock, make_app):
    app = make_app()
    fake_clock.advance(3600)
    with app.storage.write() as tx:
        record = users.create_user(tx, "alice", password="pw")
    assert record["created"] == clock.iso(fake_clock.time())


def test_use_returns_the_previous_clock():
    real = clock.use(clock.SystemClock())
    try:
        assert isinstance(real, clock.SystemClock)
    finally:
        clock.use(real)
