"""The server clock estimated from Date headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from cutover.backend.aws.clock import ServerClock


def header(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def test_offset_from_a_skewed_server() -> None:
    clock = ServerClock()
    server = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=7)
    clock.observe(header(server))
    assert abs((clock.now() - server).total_seconds() - 0.5) < 1.0
    assert abs(clock.skew().total_seconds() - 420) < 2


def test_rate_of_a_faster_clock() -> None:
    clock = ServerClock()
    start = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    for i in range(11):  # a server running 20x: 20 server seconds per local second
        clock.observe(header(start + timedelta(seconds=20 * i)), local_mono=1000.0 + i)
    assert 19 <= clock.rate <= 21


def test_garbage_header_is_ignored() -> None:
    clock = ServerClock()
    clock.observe("not a date")
    clock.observe(None)
    assert not clock.known
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1
