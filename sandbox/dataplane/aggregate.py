"""The buckets behind RequestMetrics: what one dimension saw in one second (or minute), and
how a statistic is read out of it.

Counters keep [sum, events]; distributions keep count, sum, min, max and, where percentiles
are asked for, a sparse log histogram of samples.
"""

from __future__ import annotations

import math

# Histogram bins grow by 5%, so a percentile is answered within about 5% of the truth.
_RATIO = 1.05
_LOG_RATIO = math.log(_RATIO)
_FLOOR = 1e-6


def _bin(value: float) -> int:
    if value <= _FLOOR:
        return 0
    return int(math.log(value / _FLOOR) / _LOG_RATIO) + 1


def _bin_value(index: int) -> float:
    if index == 0:
        return 0.0
    return _FLOOR * _RATIO ** (index - 0.5)


class Dist:
    """count, sum, min, max and (optionally) a sparse log histogram of samples."""

    __slots__ = ("hist", "max", "min", "n", "sum")

    def __init__(self, with_hist: bool) -> None:
        self.n = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.hist: dict[int, int] | None = {} if with_hist else None

    def add(self, value: float) -> None:
        self.n += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if self.hist is not None:
            b = _bin(value)
            self.hist[b] = self.hist.get(b, 0) + 1

    def merge(self, other: Dist) -> None:
        self.n += other.n
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        if other.hist is not None:
            if self.hist is None:
                self.hist = {}
            for b, c in other.hist.items():
                self.hist[b] = self.hist.get(b, 0) + c

    def percentile(self, p: float) -> float | None:
        if not self.n:
            return None
        if not self.hist:
            # No histogram (per-target dimension): the mean is the best we can say.
            return self.sum / self.n
        rank = max(1, math.ceil(p / 100.0 * self.n))
        seen = 0
        for b in sorted(self.hist):
            seen += self.hist[b]
            if seen >= rank:
                return min(max(_bin_value(b), self.min), self.max)
        return self.max


class Agg:
    """Everything one dimension saw in one bucket."""

    __slots__ = ("counters", "dists")

    def __init__(self) -> None:
        self.counters: dict[str, list[float]] = {}  # metric -> [sum, events]
        self.dists: dict[str, Dist] = {}

    def count(self, metric: str, value: float = 1.0) -> None:
        c = self.counters.get(metric)
        if c is None:
            self.counters[metric] = [value, 1]
        else:
            c[0] += value
            c[1] += 1

    def sample(self, metric: str, value: float, with_hist: bool) -> None:
        d = self.dists.get(metric)
        if d is None:
            d = self.dists[metric] = Dist(with_hist)
        d.add(value)

    def merge(self, other: Agg) -> None:
        for metric, (s, n) in other.counters.items():
            c = self.counters.get(metric)
            if c is None:
                self.counters[metric] = [s, n]
            else:
                c[0] += s
                c[1] += n
        for metric, d in other.dists.items():
            mine = self.dists.get(metric)
            if mine is None:
                mine = self.dists[metric] = Dist(d.hist is not None)
            mine.merge(d)


class Series:
    __slots__ = ("coarse", "fine", "last_gauge", "life")

    def __init__(self) -> None:
        self.fine: dict[int, Agg] = {}  # second -> aggregate
        self.coarse: dict[int, Agg] = {}  # minute start (seconds) -> aggregate
        self.life = Agg()
        self.last_gauge: dict[str, float] = {}


def parse_percentile(stat: str) -> float | None:
    if len(stat) > 1 and stat[0] == "p":
        try:
            value = float(stat[1:])
        except ValueError:
            return None
        if 0 <= value <= 100:
            return value
    return None


def statistic(agg: Agg, metric: str, stat: str, percentile: float | None) -> float | None:
    counter = agg.counters.get(metric)
    if counter is not None:
        total, events = counter
        if not events:
            return None
        if stat == "Sum":
            return total
        if stat == "SampleCount":
            return float(events)
        return total / events
    dist = agg.dists.get(metric)
    if dist is None or not dist.n:
        return None
    if percentile is not None:
        return dist.percentile(percentile)
    return {
        "Sum": dist.sum,
        "SampleCount": float(dist.n),
        "Average": dist.sum / dist.n,
        "Minimum": dist.min,
        "Maximum": dist.max,
    }[stat]
