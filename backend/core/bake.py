"""The bake verdict: after the reroute, are the replacements worse than the originals were?

Pure: no AWS call. The entry point is `judge(baseline, after, thresholds)`: two `Window`s of
per-minute figures (request count, 5xx count, p95 and p99 response time) from CloudWatch, the
minutes before the reroute (the originals served everything) and the minutes since it finished
(the replacements serve everything), and the target's `BakeThresholds`. It answers a
`BakeVerdict` (backend/model/evidence.py): ok, watch, bad or not enough data, with the numbers
and the limits that decided it, in words a person reads.

- bad: an absolute objective is broken after the reroute (5xx share, p95, p99 above its limit).
- watch: within the objectives, but worse than before the reroute by more than
  `max_increase` (and by more than a small floor, so 0.01% -> 0.02% is no alarm); with at least
  `RANK_MIN_POINTS` minutes on each side, only when a one-sided Mann-Whitney U test on the
  per-minute values says the after minutes are higher (p < `RANK_ALPHA`).
- not enough data: fewer than `min_requests` requests or `min_minutes` whole minutes after the
  reroute: never a confident verdict from five requests.

The comparison is before vs after, not side by side (EC2 blue/green has no simultaneous
baseline): a change of traffic with the time of day can move the numbers too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from statistics import median

from cutover.backend.config import BakeThresholds
from cutover.backend.model import BakeCheck, BakeVerdict

__all__ = [
    "BakeThresholds",
    "BakeVerdict",
    "Minute",
    "Window",
    "judge",
    "mann_whitney",
    "spans",
    "window",
]

RANK_MIN_POINTS = 5  # minutes on each side before the rank test is used
RANK_ALPHA = 0.05  # one-sided significance of the rank test
# A relative increase below these differences is noise, whatever its ratio.
FLOOR_5XX_POINTS = 0.1  # percentage points of 5xx share
FLOOR_MS = 10.0  # milliseconds of p95 / p99

LEVELS = ("ok", "watch", "bad")
NOT_ENOUGH = "not enough data"
NOTE = (
    "before vs after the reroute, not side by side: a change of traffic with the time of day"
    " moves the numbers too"
)


@dataclass(frozen=True)
class Minute:
    """One minute of CloudWatch data (a 60-second period starting at `time`)."""

    time: datetime
    requests: float = 0.0
    errors: float = 0.0  # 5xx the targets answered
    p95_ms: float | None = None  # None: no response time published for the minute
    p99_ms: float | None = None

    @property
    def share(self) -> float | None:
        """5xx percent of the minute's requests."""
        return self.errors / self.requests * 100 if self.requests > 0 else None


@dataclass(frozen=True)
class Window:
    """Whole minutes from `start` to `end`, one `Minute` for each (zero requests where
    CloudWatch has no datapoint)."""

    start: datetime
    end: datetime
    minutes: tuple[Minute, ...] = ()

    @property
    def requests(self) -> float:
        return sum(m.requests for m in self.minutes)

    @property
    def errors(self) -> float:
        return sum(m.errors for m in self.minutes)

    @property
    def share(self) -> float | None:
        """5xx percent of the window's requests."""
        total = self.requests
        return self.errors / total * 100 if total > 0 else None

    def latency(self, which: str) -> float | None:
        """The median minute's p95 or p99 (`which`), in ms."""
        values = self.values(which)
        return median(values) if values else None

    def values(self, which: str) -> list[float]:
        """Per-minute values of `share`, `p95` or `p99` (minutes that have one)."""
        if which == "share":
            got = [m.share for m in self.minutes]
        else:
            got = [getattr(m, f"{which}_ms") for m in self.minutes if m.requests > 0]
        return [v for v in got if v is not None]


def mann_whitney(before: list[float], after: list[float]) -> float:
    """One-sided p-value that `after` tends to be larger than `before` (Mann-Whitney U, normal
    approximation with tie correction and continuity correction). 1.0 when nothing varies."""
    n1, n2 = len(before), len(after)
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = sorted([(v, 0) for v in before] + [(v, 1) for v in after])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    n = n1 + n2
    u_after = sum(r for r, (_, side) in zip(ranks, pooled, strict=True) if side) - n2 * (n2 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (u_after - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"
    return f"{value:.0f} ms"


def _check(
    name: str,
    before: float | None,
    after: float | None,
    limit: float,
    points: tuple[list[float], list[float]],
    t: BakeThresholds,
) -> BakeCheck | None:
    unit = "%" if name == "5xx" else "ms"
    if after is None:
        return None
    limit_text = f"limit {_fmt(limit, unit).replace('.0%', '%')}"
    if before is None:
        text = f"{name} {_fmt(after, unit)} after, no baseline ({limit_text})"
    else:
        text = f"{name} {_fmt(after, unit)} after vs {_fmt(before, unit)} before ({limit_text})"
    if after > limit:
        return BakeCheck(name, "bad", before, after, limit, text)
    floor = FLOOR_5XX_POINTS if name == "5xx" else FLOOR_MS
    if before is None or after - before < floor or after <= before * (1 + t.max_increase):
        return BakeCheck(name, "ok", before, after, limit, text)
    up = f"+{(after / before - 1) * 100:.0f}%" if before > 0 else "up from none"
    old, new = points
    if len(old) >= RANK_MIN_POINTS and len(new) >= RANK_MIN_POINTS:
        p = mann_whitney(old, new)
        if p >= RANK_ALPHA:
            return BakeCheck(name, "ok", before, after, limit, f"{text}, {up} but within noise")
        why = f"{up}, rank test p={p:.3f}"
    else:
        why = f"{up}, too few minutes for a rank test"
    allowed = f"allowed +{t.max_increase * 100:.0f}%"
    return BakeCheck(name, "watch", before, after, limit, f"{text}: {why} ({allowed})")


def judge(
    baseline: Window,
    after: Window,
    thresholds: BakeThresholds,
    *,
    sources: tuple[str, ...] = (),
    unmeasured: str | None = None,
    read_at: datetime | None = None,
) -> BakeVerdict:
    """The bake verdict of `after` against `baseline` (see the module's docstring).
    `sources` names what was measured; `unmeasured` says what the load balancer publishes no
    metric for (a Network Load Balancer: no 5xx, no response times)."""
    t = thresholds
    common = {
        "baseline_start": baseline.start,
        "baseline_end": baseline.end,
        "after_start": after.start,
        "after_end": after.end,
        "baseline_minutes": len(baseline.minutes),
        "after_minutes": len(after.minutes),
        "baseline_requests": baseline.requests,
        "after_requests": after.requests,
        "sources": sources,
        "unmeasured": unmeasured,
        "thresholds": tuple((f.name, float(getattr(t, f.name))) for f in fields(t)),
        "read_at": read_at,
    }
    if not sources:
        return BakeVerdict(NOT_ENOUGH, unmeasured or "nothing to measure", **common)
    n, req = len(after.minutes), after.requests
    if n < t.min_minutes or req < t.min_requests:
        return BakeVerdict(
            NOT_ENOUGH,
            f"{req:.0f} requests in {n} min since the reroute (needs {t.min_requests}"
            f" in {t.min_minutes} min)",
            **common,
        )
    base_ok = baseline.requests >= t.min_requests and len(baseline.minutes) >= t.min_minutes
    checks = [
        _check(
            "5xx",
            baseline.share if base_ok else None,
            after.share,
            t.max_5xx_percent,
            (baseline.values("share"), after.values("share")),
            t,
        )
    ]
    for name, limit in (("p95", t.max_p95_ms), ("p99", t.max_p99_ms)):
        checks.append(
            _check(
                name,
                baseline.latency(name) if base_ok else None,
                after.latency(name),
                limit,
                (baseline.values(name), after.values(name)),
                t,
            )
        )
    done = tuple(c for c in checks if c is not None)
    level = max((c.level for c in done), key=LEVELS.index, default="ok")
    shown = [c.text for c in done if c.level == level] if level != "ok" else [c.text for c in done]
    if not base_ok:
        shown.append(f"baseline only {baseline.requests:.0f} requests: no comparison")
    return BakeVerdict(level, "; ".join(shown), checks=done, **common)


# ----- the windows: which whole minutes each side of the reroute --------------------------------

MINUTE = timedelta(minutes=1)
Span = tuple[datetime, datetime]


def _floor(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(second=0, microsecond=0)


def _ceil(t: datetime) -> datetime:
    f = _floor(t)
    return f if f == t else f + MINUTE


def spans(
    reroute_start: datetime, reroute_end: datetime, until: datetime, window_minutes: int
) -> tuple[Span, Span]:
    """(baseline, after) as whole minutes: the `window_minutes` before the minute the reroute
    started in, and the latest `window_minutes` whole minutes between the reroute's end and
    `until` (the minute under way is partial, and so is the one the reroute ended in). The
    minutes of the reroute itself, when both fleets served, are in neither."""
    w = timedelta(minutes=window_minutes)
    b_end = _floor(reroute_start)
    first, last = _ceil(reroute_end), _floor(until)
    a_start = max(first, last - w)
    return (b_end - w, b_end), (a_start, max(a_start, last))


def window(
    span: Span,
    requests: Mapping[datetime, float],
    errors: Mapping[datetime, float],
    p95_s: Mapping[datetime, float],
    p99_s: Mapping[datetime, float],
) -> Window:
    """A Window from CloudWatch's per-minute values by minute (response times in seconds, as
    CloudWatch publishes them). A minute without a RequestCount datapoint had no request:
    ELB publishes nothing for a minute without traffic."""
    start, end = span
    minutes: list[Minute] = []
    t = start
    while t < end:
        p95, p99 = p95_s.get(t), p99_s.get(t)
        minutes.append(
            Minute(
                t,
                requests.get(t, 0.0),
                errors.get(t, 0.0),
                p95 * 1000 if p95 is not None else None,
                p99 * 1000 if p99 is not None else None,
            )
        )
        t += MINUTE
    return Window(start, end, tuple(minutes))
