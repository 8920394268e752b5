"""A deployment after the fact, from what CodeDeploy keeps: its phases with start and end,
which instances served when (by their lifecycle events), the lifecycle failures, and which
metric period CloudWatch still keeps for its window (the audit log's actions are
`audit_trail`'s). Pure: the report's reader (`observe/history.py`) fills the inputs.

CodeDeploy keeps no timestamp per phase: a deployment has createTime, startTime and
completeTime, and each target its lifecycle events with start and end. The phases are read
from those: provisioning until the first install event on a replacement, installing until the
last ValidateService ends, the wait for the reroute until the first AllowTraffic-side event,
rerouting until the last AfterBlockTraffic on an original, then the termination wait (or the
end) until completeTime.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cutover.backend.model import (
    LB_OWN_5XX,
    TARGET_5XX,
    Deployment,
    DeploymentSummary,
    Instance,
    LifecycleEvent,
    Series,
    Snapshot,
)
from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS, INSTALL_EVENTS

# CloudWatch keeps 1-minute data points for 15 days, 5-minute ones for 63 days and 1-hour ones
# for 455 days; past 15 (63) days GetMetricData returns nothing unless the period is a
# multiple of 300 (3600) seconds (docs/aws-behaviour.md, "A report's metrics").
RETENTION = (
    (timedelta(days=15), 60),
    (timedelta(days=63), 300),
    (timedelta(days=455), 3600),
)


@dataclass(frozen=True)
class PhaseSpan:
    name: str
    start: datetime
    end: datetime | None  # None: still under way

    def duration(self, now: datetime) -> timedelta:
        return (self.end or now) - self.start


def _starts(instances: Iterable[Instance], names: Sequence[str]) -> list[datetime]:
    return [e.start for i in instances for e in i.events if e.name in names and e.start]


def _ends(instances: Iterable[Instance], names: Sequence[str]) -> list[datetime]:
    return [e.end for i in instances for e in i.events if e.name in names and e.end]


def _traffic_done(instances: Sequence[Instance], name: str) -> bool:
    """Every instance that has `name` among its events finished it."""
    found = [e for i in instances for e in i.events if e.name == name]
    return bool(found) and all(e.end is not None and e.status != "InProgress" for e in found)


def phases(
    d: Deployment,
    *,
    original: Sequence[Instance] = (),
    replacement: Sequence[Instance] = (),
    fleet: Sequence[Instance] = (),
) -> list[PhaseSpan]:
    """The deployment's phases, oldest first; the last one open (end None) while it runs."""
    start = d.create_time or d.start_time
    if start is None:
        return []
    everyone = (*original, *replacement, *fleet)
    marks: list[tuple[str, datetime | None]] = [("provisioning", start)]
    if d.rollback_of and d.style == "BLUE_GREEN":
        # CodeDeploy's rollback: the originals allowed back in, the replacement blocked.
        traffic = ALLOW_EVENTS + BLOCK_EVENTS
        ends = _ends(everyone, traffic)
        marks = [("starting the rollback", start)]
        marks.append(
            ("rerouting back to the originals", min(_starts(everyone, traffic), default=None))
        )
        if not d.complete_time or ends:
            marks.append(
                ("removing the replacement", max(ends) if _all_done(everyone, traffic) else None)
            )
    elif d.style == "BLUE_GREEN":
        install = min(_starts(replacement, INSTALL_EVENTS), default=None)
        allow = min(
            _starts(replacement, ALLOW_EVENTS) + _starts(original, BLOCK_EVENTS), default=None
        )
        ready = max(_ends(replacement, ("ValidateService",)), default=None)
        marks.append(("installing on the replacement", install))
        if allow is not None or d.status == "Ready":
            marks.append(("ready, waiting for the reroute", ready))
        marks.append(("rerouting", allow))
        if _traffic_done(original, "AfterBlockTraffic"):
            if d.termination_action == "KEEP_ALIVE":
                last = "finishing (originals kept)"
            elif d.status == "Succeeded":
                last = "termination wait and termination"
            else:
                last = "termination wait"
            marks.append(
                (
                    last,
                    max(_ends(original, ("AfterBlockTraffic",))),
                )
            )
    else:
        first = min(_starts(everyone, INSTALL_EVENTS + ALLOW_EVENTS + BLOCK_EVENTS), default=None)
        marks.append(("installing", first))
    spans: list[PhaseSpan] = []
    for name, at in marks:
        if at is None or (spans and at < spans[-1].start):
            continue
        if spans:
            spans[-1] = PhaseSpan(spans[-1].name, spans[-1].start, at)
        spans.append(PhaseSpan(name, at, None))
    if spans and d.complete_time is not None:
        last = spans[-1]
        spans[-1] = PhaseSpan(last.name, last.start, max(d.complete_time, last.start))
    # A phase of no length (a ready wait CodeDeploy did not hold) says nothing.
    return [s for s in spans if s.end is None or s.end > s.start]


def _all_done(instances: Sequence[Instance], names: Sequence[str]) -> bool:
    found = [e for i in instances for e in i.events if e.name in names]
    return bool(found) and all(e.status in ("Succeeded", "Failed", "Skipped") for e in found)


def reroute(spans: Sequence[PhaseSpan]) -> tuple[datetime | None, datetime | None]:
    """(when the reroute started, when it finished): the rerouting phase's span, or Nones."""
    for s in spans:
        if s.name == "rerouting":
            return s.start, s.end
    return None, None


def _targets(instances: Sequence[Instance]) -> list[Instance]:
    """The deployment's own targets: read later, an environment also holds the instances its
    Auto Scaling group has now, which a later deployment may have put there."""
    return [i for i in instances if i.label or i.lifecycle_status or i.events]


@dataclass(frozen=True)
class History:
    snapshot: Snapshot  # the deployment as the Observer reads it now
    rollback: DeploymentSummary | None  # the deployment that rolled it back
    phases: tuple[PhaseSpan, ...]
    start: datetime  # the metric window
    end: datetime
    period: int | None  # seconds; None: CloudWatch keeps nothing that old
    series: tuple[Series, ...]
    notes: tuple[str, ...]
    # The rollback deployment as the Observer reads it: its traffic events move the same
    # instances back (the originals allowed in again, the replacement blocked).
    rolled_back: Snapshot | None = None

    def environments(self) -> list[tuple[str, Sequence[Instance]]]:
        """(label, instances) of this deployment's environments, then the rollback's."""
        out = []
        for snap, suffix in ((self.snapshot, ""), (self.rolled_back, "rollback")):
            if snap is None:
                continue
            for role, env in (
                ("original", snap.original),
                ("replacement", snap.replacement),
                ("fleet", snap.fleet),
            ):
                targets = _targets(env.instances if env else ())
                if targets:
                    dep = snap.deployment.id if snap.deployment else ""
                    out.append((f"{role} ({suffix} {dep})" if suffix else role, targets))
        return out

    def instances(self, role: str) -> list[Instance]:
        """One environment's instances, each with the rollback's lifecycle events after its
        own, so who served when follows the traffic back."""
        env = getattr(self.snapshot, role)
        later = {}
        if self.rolled_back is not None:
            for other in (self.rolled_back.original, self.rolled_back.replacement):
                for inst in other.instances if other else ():
                    later[inst.id] = inst.events
        return [
            replace(i, events=i.events + later.get(i.id, ()))
            for i in _targets(env.instances if env else ())
        ]

    @property
    def reroute(self) -> tuple[datetime | None, datetime | None]:
        return reroute(self.phases)

    @property
    def before_reroute(self) -> list[Series]:
        """The series from the window's start until the reroute began (the originals served
        everything); empty points when there was no reroute."""
        began, _ = self.reroute
        return clip(self.series, self.start, began or self.start)

    def per_minute(self, what: str) -> dict[datetime, float]:
        """One figure per minute (UTC, whole minutes) across the sources, for `kind` `what`:
        counts add up; percentiles do not, so the worst source's is kept."""
        out: dict[datetime, float] = {}
        for s in self.series:
            if kind(s) != what:
                continue
            for t, v in s.points:
                minute = t.astimezone(UTC).replace(second=0, microsecond=0)
                if what in ("p95", "p99"):
                    out[minute] = max(out.get(minute, v), v)
                else:
                    out[minute] = out.get(minute, 0.0) + v
        return out

    @property
    def after_reroute(self) -> list[Series]:
        """The series from the minute the reroute finished on; empty points before that."""
        _, ended = self.reroute
        return clip(self.series, ended or self.end, self.end if ended else self.start)


# ----- who served when, by the lifecycle events ------------------------------------------------


def _transitions(inst: Instance) -> list[tuple[datetime, bool]]:
    """When an instance went into its load balancer (True: at its AllowTraffic's end, once
    CodeDeploy saw it healthy) and out of it (False: at its BlockTraffic's start, when it
    stops getting new requests), oldest first."""
    out = []
    for e in inst.events:
        if e.name == "BlockTraffic" and e.start is not None:
            out.append((e.start, False))
        elif e.name == "AllowTraffic" and e.end is not None and e.status == "Succeeded":
            out.append((e.end, True))
    return sorted(out)


def _first_state(inst: Instance, serving_first: bool) -> bool:
    """Whether it served before its first traffic event: a block first means it did, an
    allow first that it did not; with neither, `serving_first`."""
    first = min(
        (
            (e.start, e.name)
            for e in inst.events
            if e.name in ("AllowTraffic", "BlockTraffic") and e.start is not None
        ),
        default=None,
    )
    return serving_first if first is None else first[1] == "BlockTraffic"


def serving(
    instances: Sequence[Instance], start: datetime, *, serving_first: bool
) -> list[tuple[datetime, int]]:
    """How many of these instances were in their load balancer over time, as steps
    [(from, count)] from `start`, by their lifecycle events (not their health checks)."""
    states = {i.id: _first_state(i, serving_first) for i in instances}
    moves = sorted((t, i.id, state) for i in instances for t, state in _transitions(i))
    steps: list[tuple[datetime, int]] = []
    for t, iid, state in moves:
        if t > start and not steps:
            steps.append((start, sum(states.values())))
        states[iid] = state
        if t > start:
            steps.append((t, sum(states.values())))
    return steps or [(start, sum(states.values()))]


# ----- failures --------------------------------------------------------------------------------


_LAST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Failure:
    """A lifecycle event that failed, on which instance of which environment."""

    instance_id: str
    role: str
    event: LifecycleEvent  # with CodeDeploy's diagnostics (errorCode, script, message, log)


def failures(envs: Iterable[tuple[str, Sequence[Instance]]]) -> list[Failure]:
    """Every lifecycle event that failed, with CodeDeploy's diagnostics, oldest first."""
    out = [
        Failure(inst.id, role, e)
        for role, instances in envs
        for inst in instances
        for e in inst.events
        if e.status == "Failed"
    ]
    return sorted(out, key=lambda f: (f.event.start or _LAST, f.instance_id))


# ----- metrics ---------------------------------------------------------------------------------


def metric_period(start: datetime, now: datetime) -> int | None:
    """The shortest period CloudWatch still keeps for data from `start` on (60, 300 or 3600
    seconds), or None when it keeps none any more."""
    age = now - start
    for kept, period in RETENTION:
        if age < kept:
            return period
    return None


def kind(s: Series) -> str | None:
    """What a series measures, for the chart and the tables: requests, target-5xx, lb-5xx,
    p95, p99, healthy, unhealthy."""
    if s.name in ("RequestCount", "NewFlowCount"):
        return "requests"
    if s.name in TARGET_5XX:
        return "target-5xx"
    if s.name in LB_OWN_5XX:
        return "lb-5xx"
    if s.name in ("TargetResponseTime", "Latency") and s.statistic in ("p95", "p99"):
        return s.statistic
    if s.name == "HealthyHostCount":
        return "healthy"
    if s.name == "UnHealthyHostCount":
        return "unhealthy"
    return None


def clip(series: Sequence[Series], start: datetime | None, end: datetime | None) -> list[Series]:
    """The series with only the data points from `start` (inclusive) to `end` (exclusive)."""
    return [
        replace(
            s,
            points=tuple(
                (t, v)
                for t, v in s.points
                if (start is None or t >= start) and (end is None or t < end)
            ),
        )
        for s in series
    ]


@dataclass(frozen=True)
class PhaseFigures:
    phase: str
    requests: float | None
    target_5xx: float | None
    lb_5xx: float | None
    worst_p95: float | None  # seconds
    minutes: int  # the minutes that began in the phase (0: a phase shorter than a minute)


def phase_figures(
    series: Sequence[Series], spans: Sequence[PhaseSpan], now: datetime
) -> list[PhaseFigures]:
    """Per phase: requests, 5xx (targets', the load balancers' own) and the worst p95, from
    the minutes that began in it (so no minute counts twice)."""
    out = []
    for span in spans:
        inside = clip(series, span.start, span.end or now)
        end = span.end or now
        first = span.start.replace(second=0, microsecond=0)
        if first < span.start:
            first += timedelta(minutes=1)
        minutes = math.ceil((end - first).total_seconds() / 60) if first < end else 0

        def total(k: str, inside: list[Series] = inside) -> float | None:
            values = [v for s in inside if kind(s) == k for _, v in s.points]
            return sum(values) if values else None

        p95 = [v for s in inside if kind(s) == "p95" for _, v in s.points]
        out.append(
            PhaseFigures(
                span.name,
                total("requests"),
                total("target-5xx"),
                total("lb-5xx"),
                max(p95) if p95 else None,
                minutes,
            )
        )
    return out
