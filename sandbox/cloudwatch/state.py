"""What CloudWatch keeps per world besides the alarms themselves: the epoch its clock starts
at, how far host counts are sampled, which load balancers each target group was seen behind,
and the alarm history; and the conversions between API times and sandbox seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import Clock, World

HISTORY_LIMIT = 5000


@dataclass
class State:
    anchor: int  # epoch seconds of the world clock's elapsed() == 0
    last_sample: int | None = None  # the last sandbox second host counts were sampled for
    # Target group ARN -> load balancer ARNs it was seen behind (kept after a detach, so
    # the TargetGroup+LoadBalancer metrics of the past stay listed and queryable).
    tg_links: dict[str, set[str]] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # oldest first

    def record(self, name: str, when: datetime, kind: str, summary: str, data: str) -> None:
        """Append one alarm history item, forgetting the oldest beyond HISTORY_LIMIT."""
        self.history.append(
            {
                "AlarmName": name,
                "AlarmType": "MetricAlarm",
                "Timestamp": when,
                "HistoryItemType": kind,
                "HistorySummary": summary,
                "HistoryData": data,
            }
        )
        del self.history[:-HISTORY_LIMIT]


def anchor_of(clock: Clock) -> int:
    """Epoch seconds at which `clock` started."""
    # The clock starts on a whole second; rounding removes the jitter of two clock reads.
    return round((clock.now() - timedelta(seconds=clock.elapsed())).timestamp())


def epoch(value: Any, name: str) -> float:
    """An API timestamp (a datetime or epoch seconds) as epoch seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ApiError("InvalidParameterValue", f"The parameter {name} is not a valid timestamp.")


def dt(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def now(world: World, state: State) -> float:
    """The sandbox clock's now, in epoch seconds."""
    return state.anchor + world.clock.elapsed()


def align(epoch_seconds: float, period: int) -> int:
    """Where CloudWatch starts the first period: a whole multiple of a sub-minute period,
    else the whole minute (periods of 60 s and more run from the minute, not from k*Period)."""
    step = period if period < 60 else 60
    return int(math.floor(epoch_seconds / step) * step)
