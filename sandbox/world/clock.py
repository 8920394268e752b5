"""Sandbox time: one clock per world, running `time_scale` times faster than real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Sandbox time: starts at the real time and runs `time_scale` times faster.

    Every timestamp the API returns, and the HTTP `Date` header, come from here, so a client
    that computes countdowns against the server's clock stays right at any time scale.
    """

    def __init__(self, time_scale: float = 1.0, start: datetime | None = None) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._anchor = (start or datetime.now(UTC)).replace(microsecond=0)
        self._m0 = time.monotonic()

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=self.elapsed())

    def elapsed(self) -> float:
        """Sandbox seconds since the clock started."""
        return (time.monotonic() - self._m0) * self.time_scale

    def real(self, sandbox_seconds: float) -> float:
        """How many real seconds a span of sandbox seconds takes."""
        return sandbox_seconds / self.time_scale

    def advance(self, sandbox_seconds: float) -> None:
        """Let `sandbox_seconds` pass at once (a world driven without a data plane)."""
        self._m0 -= sandbox_seconds / self.time_scale
