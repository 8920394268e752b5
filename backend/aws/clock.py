"""The server's time, estimated from the `Date` header of every response.

Countdowns and ages shown to a person are computed against AWS's time, not the laptop's, so a
skewed laptop clock cannot lie about a deadline (docs/architecture.md, "How data moves").
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


class ServerClock:
    """The server's time, estimated from `Date` headers.

    `Date` has one-second resolution, so the estimate keeps the latest offset and, over a
    window of samples, the rate at which server time passes per local second (1 on AWS; other
    endpoints, such as a sandbox with a time scale, may run faster).
    """

    def __init__(self, window: int = 64) -> None:
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, float]] = deque(maxlen=window)  # (local mono, server)
        self.rate = 1.0
        # The rate an endpoint declares (a sandbox's x-cutover-sandbox header): exact from the
        # first answer, where the estimate needs five seconds of Date headers.
        self.declared: float | None = None

    def declare_rate(self, rate: float) -> None:
        with self._lock:
            self.declared = self.rate = rate

    def observe(self, date_header: str | None, local_mono: float | None = None) -> None:
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        mono = time.monotonic() if local_mono is None else local_mono
        # The header is truncated to the second: the true time is half a second later on average.
        value = server.timestamp() + 0.5
        with self._lock:
            self._samples.append((mono, value))
            first_mono, first_value = self._samples[0]
            span = mono - first_mono
            if span >= 5.0 and self.declared is None:
                rate = (value - first_value) / span
                # Guard against nonsense (a restarted endpoint, a clock jump).
                self.rate = rate if 0.1 <= rate <= 10_000 else 1.0

    @property
    def known(self) -> bool:
        return bool(self._samples)

    def now(self) -> datetime:
        """The server's time now (the local clock until a response has been seen)."""
        with self._lock:
            if not self._samples:
                return datetime.now(UTC)
            mono, value = self._samples[-1]
            rate = self.rate
        return datetime.fromtimestamp(value + (time.monotonic() - mono) * rate, UTC)

    def skew(self) -> timedelta:
        """How far the server's clock is ahead of the local one."""
        return self.now() - datetime.now(UTC)
