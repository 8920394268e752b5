"""Request metrics the sandbox's proxies feed, in the shape CloudWatch serves them.

The listener proxies call `RequestMetrics.record` once per HTTP request and `record_flow` /
`sample_active` for TCP flows; the CloudWatch service samples target health into it with
`sample_gauge` (HealthyHostCount, UnHealthyHostCount) and reads everything back with `query`
(one datapoint per period, like GetMetricStatistics); tests use `totals`.

Time is sandbox time throughout: timestamps are sandbox seconds since the world's clock
started (`Clock.elapsed()`), latencies are sandbox seconds. `elapsed_of` / `datetime_of`
convert to and from the datetimes the API speaks when the object was given the clock.

Dimensions are `(kind, key)` pairs:
- `("lb", key)`: a load balancer; the ELBv2 ARN, or the name of a classic load balancer.
- `("tg", arn)`: a target group (ELBv2 only).
- `("target", instance_id)`: one instance, whatever routed to it.

Memory is bounded per dimension: one-second buckets for the last `fine_retention` sandbox
seconds, rolled up into one-minute buckets (on the clock's whole minutes when there is a
clock) kept for `retention` sandbox seconds (like CloudWatch's own high-resolution then
one-minute retention). Older data is dropped, and a dimension with nothing left disappears.
Lifetime totals are kept separately and never dropped.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from cutover.sandbox.world import Clock

from .aggregate import Agg, Series, parse_percentile, statistic

# Counters: each event adds a value (1 for the *Count metrics, bytes for ProcessedBytes).
COUNTERS = (
    "RequestCount",
    "HTTPCode_Target_2XX_Count",
    "HTTPCode_Target_3XX_Count",
    "HTTPCode_Target_4XX_Count",
    "HTTPCode_Target_5XX_Count",
    "HTTPCode_ELB_2XX_Count",
    "HTTPCode_ELB_3XX_Count",
    "HTTPCode_ELB_4XX_Count",
    "HTTPCode_ELB_5XX_Count",
    "HTTPCode_ELB_502_Count",
    "HTTPCode_ELB_503_Count",
    "HTTPCode_ELB_504_Count",
    "ProcessedBytes",
    "NewFlowCount",
)
# Distributions: every sample kept in a histogram so percentiles can be answered.
DISTRIBUTIONS = ("TargetResponseTime",)
# Gauges: sampled levels (Average, Minimum, Maximum are the meaningful statistics).
GAUGES = ("ActiveFlowCount", "HealthyHostCount", "UnHealthyHostCount")

# Names the classic load balancer namespace (AWS/ELB) uses for the same things.
ALIASES = {
    "Latency": "TargetResponseTime",
    "HTTPCode_Backend_2XX": "HTTPCode_Target_2XX_Count",
    "HTTPCode_Backend_3XX": "HTTPCode_Target_3XX_Count",
    "HTTPCode_Backend_4XX": "HTTPCode_Target_4XX_Count",
    "HTTPCode_Backend_5XX": "HTTPCode_Target_5XX_Count",
    "HTTPCode_ELB_4XX": "HTTPCode_ELB_4XX_Count",
    "HTTPCode_ELB_5XX": "HTTPCode_ELB_5XX_Count",
}

KINDS = ("lb", "tg", "target")
STATISTICS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")


def status_class(status: int) -> str:
    return f"{max(1, min(5, status // 100))}XX"


class RequestMetrics:
    """Thread-safe request and flow counters for the sandbox's load balancers.

    Writers (the data plane's event loop) and readers (the API thread) may call any method
    from any thread. Recording is O(1); `query` is linear in the buckets it covers.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        fine_retention: float = 900.0,
        retention: float = 3 * 3600.0,
    ) -> None:
        self.clock = clock
        self.fine_retention = float(fine_retention)
        self.retention = float(retention)
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], Series] = {}
        self._last_rollup = 0.0
        self._phase: int | None = None

    # ----- time ---------------------------------------------------------------------------

    def _now(self, ts: float | None) -> float:
        if ts is not None:
            return float(ts)
        if self.clock is None:
            raise ValueError("a timestamp is required when RequestMetrics has no clock")
        return self.clock.elapsed()

    def elapsed_of(self, when: datetime) -> float:
        """Sandbox seconds since the clock started for an API datetime (needs the clock)."""
        if self.clock is None:
            raise ValueError("RequestMetrics has no clock")
        anchor = self.clock.now() - timedelta(seconds=self.clock.elapsed())
        return (when - anchor).total_seconds()

    def datetime_of(self, elapsed: float) -> datetime:
        """The API datetime of a sandbox timestamp (needs the clock)."""
        if self.clock is None:
            raise ValueError("RequestMetrics has no clock")
        anchor = self.clock.now() - timedelta(seconds=self.clock.elapsed())
        return anchor + timedelta(seconds=elapsed)

    # ----- writing --------------------------------------------------------------------------

    def _targets(self, ts: float, dims: Iterable[tuple[str, str | None]]) -> list[Agg]:
        """The bucket and the lifetime aggregate of each named dimension, created on demand."""
        second = math.floor(ts)
        out = []
        for kind, key in dims:
            if key is None:
                continue
            series = self._series.get((kind, key))
            if series is None:
                series = self._series[(kind, key)] = Series()
            agg = series.fine.get(second)
            if agg is None:
                agg = series.fine[second] = Agg()
            out.append(agg)
            out.append(series.life)
        return out

    def record(
        self,
        *,
        lb: str,
        tg: str | None,
        target: str | None,
        status: int,
        latency: float | None,
        elb_generated: bool,
        nbytes: int = 0,
        ts: float | None = None,
    ) -> None:
        """One HTTP request a load balancer answered.

        `latency` is the target's response time in sandbox seconds (None when no target
        answered); `elb_generated` marks answers the load balancer made itself (502, 503,
        504, fixed responses, redirects). The request counts toward the load balancer, the
        target group (when one was chosen) and the instance (when one was chosen).
        """
        ts = self._now(ts)
        cls = status_class(status)
        if elb_generated:
            names = [f"HTTPCode_ELB_{cls}_Count"]
            if status in (502, 503, 504):
                names.append(f"HTTPCode_ELB_{status}_Count")
        else:
            names = [f"HTTPCode_Target_{cls}_Count"]
        with self._lock:
            self._maybe_roll_up(ts)
            for kind, key in (("lb", lb), ("tg", tg), ("target", target)):
                for agg in self._targets(ts, ((kind, key),)):
                    agg.count("RequestCount")
                    for name in names:
                        agg.count(name)
                    if latency is not None and not elb_generated:
                        agg.sample("TargetResponseTime", latency, kind != "target")
                    if nbytes:
                        agg.count("ProcessedBytes", nbytes)

    def record_flow(
        self,
        *,
        lb: str,
        tg: str | None,
        target: str | None,
        new: bool,
        nbytes: int = 0,
        ts: float | None = None,
    ) -> None:
        """A TCP flow opened (`new=True`) or moved `nbytes` bytes (counted when it closes)."""
        ts = self._now(ts)
        with self._lock:
            self._maybe_roll_up(ts)
            for agg in self._targets(ts, (("lb", lb), ("tg", tg), ("target", target))):
                if new:
                    agg.count("NewFlowCount")
                if nbytes:
                    agg.count("ProcessedBytes", nbytes)

    def sample_active(self, kind: str, key: str, active: int, *, ts: float | None = None) -> None:
        """One sample of how many TCP flows a load balancer or group has open right now."""
        self.sample_gauge(kind, key, "ActiveFlowCount", active, ts=ts)

    def sample_gauge(
        self, kind: str, key: str, metric: str, value: float, *, ts: float | None = None
    ) -> None:
        """One sample of a level (a name in GAUGES) of one dimension at `ts`.

        Samples of one second are kept apart like any other bucket, so Average / Minimum /
        Maximum / SampleCount of a period describe the samples taken in it; `totals` reports
        the latest sample.
        """
        if metric not in GAUGES:
            raise ValueError(f"{metric!r} is not a gauge")
        ts = self._now(ts)
        with self._lock:
            self._maybe_roll_up(ts)
            bucket = self._targets(ts, ((kind, key),))[0]
            bucket.sample(metric, float(value), False)
            self._series[(kind, key)].last_gauge[metric] = float(value)

    # ----- retention ------------------------------------------------------------------------

    def _maybe_roll_up(self, now: float) -> None:
        # Rolling up scans every bucket, so do it about once a sandbox minute, not per record.
        if now - self._last_rollup < 60.0:
            return
        self._last_rollup = now
        self._roll_up(now)

    def _minute_phase(self) -> int:
        # One-minute buckets start on the clock's wall-clock minutes, so a CloudWatch period
        # that starts on a whole minute takes rolled-up data whole. The clock starts on a whole
        # second; without a clock, minutes count from timestamp 0.
        if self._phase is None:
            if self.clock is None:
                return 0
            anchor = self.clock.now() - timedelta(seconds=self.clock.elapsed())
            self._phase = round(anchor.timestamp()) % 60
        return self._phase

    def _roll_up(self, now: float) -> None:
        fine_horizon = now - self.fine_retention
        horizon = now - self.retention
        phase = self._minute_phase()
        for dim in list(self._series):
            series = self._series[dim]
            for second in [s for s in series.fine if s < fine_horizon]:
                agg = series.fine.pop(second)
                minute = second - (second + phase) % 60
                if minute + 60 <= horizon:
                    continue
                coarse = series.coarse.get(minute)
                if coarse is None:
                    series.coarse[minute] = agg
                else:
                    coarse.merge(agg)
            for minute in [m for m in series.coarse if m + 60 <= horizon]:
                del series.coarse[minute]
            if not series.fine and not series.coarse:
                del self._series[dim]

    # ----- reading --------------------------------------------------------------------------

    def dimensions(self) -> list[tuple[str, str, list[str]]]:
        """(kind, key, metric names) for every dimension holding data in its retention."""
        with self._lock:
            out = []
            for (kind, key), series in self._series.items():
                names: set[str] = set()
                for agg in (*series.fine.values(), *series.coarse.values()):
                    names.update(agg.counters)
                    names.update(agg.dists)
                out.append((kind, key, sorted(names)))
            return out

    def query(
        self,
        kind: str,
        key: str,
        metric: str,
        start: float,
        end: float,
        period: int,
        stat: str,
    ) -> list[tuple[float, float]]:
        """Datapoints `(period_start, value)` for one metric of one dimension, oldest first.

        Periods are `[start + k*period, start + (k+1)*period)` in sandbox seconds, within
        `[start, end)`; a bucket belongs to the period its start falls in (one-minute buckets
        of rolled-up data land whole in one period). Periods without data for the metric are
        left out, as CloudWatch leaves them out.

        `stat` is one of Sum, Average, Minimum, Maximum, SampleCount or a percentile `pNN`
        (`p99`, `p99.9`). For counters, Sum is the total and SampleCount the number of events,
        Average is Sum / SampleCount (so 1.0 for the *Count metrics, as AWS documents for
        RequestCount), and Minimum / Maximum equal Average; percentiles of a counter are its
        Average. For TargetResponseTime every statistic is exact except percentiles (within
        about 5%; on the "target" kind, percentiles fall back to the mean). Classic load
        balancer names (Latency, HTTPCode_Backend_2XX, ...) are accepted as aliases.
        """
        metric = ALIASES.get(metric, metric)
        if period <= 0:
            raise ValueError("period must be positive")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        percentile = parse_percentile(stat)
        if percentile is None and stat not in STATISTICS:
            raise ValueError(f"unknown statistic {stat!r}")
        groups: dict[int, Agg] = {}
        with self._lock:
            series = self._series.get((kind, key))
            if series is None:
                return []
            buckets = [*series.fine.items(), *series.coarse.items()]
            for bucket_start, agg in buckets:
                if not (start <= bucket_start < end):
                    continue
                index = int((bucket_start - start) // period)
                group = groups.get(index)
                if group is None:
                    group = groups[index] = Agg()
                group.merge(agg)
        out = []
        for index in sorted(groups):
            value = statistic(groups[index], metric, stat, percentile)
            if value is not None:
                out.append((start + index * period, value))
        return out

    def totals(self, kind: str, key: str) -> dict[str, float]:
        """Lifetime numbers of one dimension (never dropped by retention).

        Counter names map to their totals; `TargetResponseTime` to the mean response time
        and `TargetResponseTime.SampleCount` to how many responses it covers;
        `ActiveFlowCount` to the latest sample. Unknown dimensions give an empty dict.
        """
        with self._lock:
            series = self._series.get((kind, key))
            if series is None:
                return {}
            out: dict[str, float] = {m: c[0] for m, c in series.life.counters.items()}
            lat = series.life.dists.get("TargetResponseTime")
            if lat is not None and lat.n:
                out["TargetResponseTime"] = lat.sum / lat.n
                out["TargetResponseTime.SampleCount"] = float(lat.n)
            out.update(series.last_gauge)
            return out
