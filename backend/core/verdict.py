"""One verdict over a Snapshot: SAFE, DEGRADED or OUTAGE, from what clients actually get.

What counts, worst first:
- OUTAGE: a listener (or a classic load balancer) that sends clients to the group's target
  groups has no healthy target behind it. ELB then answers 503 itself, or fails open to
  unhealthy targets; either way clients are not served.
- DEGRADED: 5xx the load balancer answered itself or its targets answered, in the last
  few minutes; a serving target group with no healthy target beside others that have some;
  instances registered and failing health checks (replacements above all); alarms in ALARM.
- SAFE: none of that, with the numbers that say so.
- UNKNOWN: the group has load balancers but no target health could be read; or it has none
  (nothing measures what clients get).

Pure: no AWS call, no clock of its own (the Snapshot's server time). The front ends word the
key to press from the catalogue (`action` names it) and the time left from their own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from cutover.backend.model import (
    LB_OWN_5XX,
    TARGET_5XX,
    Environment,
    Series,
    Snapshot,
    SourceHealth,
)

Level = Literal["SAFE", "DEGRADED", "OUTAGE", "UNKNOWN"]
LEVELS: tuple[str, ...] = ("SAFE", "DEGRADED", "OUTAGE", "UNKNOWN")

# 5xx counted over this much of the past: CloudWatch publishes a minute's datapoint a little
# after the minute ends, and the minute under way is partial, so the last two are not enough.
RECENT = timedelta(minutes=3)


@dataclass(frozen=True)
class Verdict:
    level: Level
    why: str  # one line with the numbers
    action: str | None = None  # the catalogue's action to take now (rollback, approve...)
    deadline: datetime | None = None  # when the running timer ends
    if_nobody: str | None = None  # what happens then if nobody acts
    lb_5xx: dict[str, float] = field(default_factory=dict)  # per load balancer, per minute
    target_5xx: dict[str, float] = field(default_factory=dict)  # per target group / classic
    unhealthy: int = 0  # instances registered and failing health checks
    alarms: tuple[str, ...] = ()  # names in ALARM


def per_minute(series: Series, now: datetime) -> float:
    """The highest one-minute figure of the last few minutes (0 when none: CloudWatch reports
    a count only when it is not zero)."""
    period = 60.0
    recent = [v for t, v in series.points if t >= now - RECENT]
    return max(recent, default=0.0) * 60.0 / period


def fives(snap: Snapshot) -> tuple[dict[str, float], dict[str, float]]:
    """(load balancer -> its own 5xx per minute, target group / classic LB -> targets' 5xx)."""
    own: dict[str, float] = {}
    targets: dict[str, float] = {}
    for s in snap.metrics:
        into = own if s.name in LB_OWN_5XX else targets if s.name in TARGET_5XX else None
        if into is not None and s.source:
            into[s.source] = max(into.get(s.source, 0.0), per_minute(s, snap.server_time))
    return own, targets


def sources_of(snap: Snapshot) -> tuple[SourceHealth, ...]:
    """The snapshot's per-source counts; for a snapshot made without them (an older one, or
    one built by hand), the same counts from its instances' health."""
    if snap.sources:
        return snap.sources
    found: dict[str, list] = {}
    for inst in snap.instances():
        for h in inst.health:
            if h.registered and not h.draining:
                found.setdefault(h.name, []).append(h)
    return tuple(
        SourceHealth(
            name=name,
            kind=hs[0].kind,
            healthy=sum(1 for h in hs if h.healthy),
            registered=len(hs),
            unhealthy=sum(1 for h in hs if h.failing),
        )
        for name, hs in found.items()
    )


def _outages(snap: Snapshot, sources: tuple[SourceHealth, ...]) -> tuple[list[str], list[str]]:
    """(outage findings, degraded findings) from the healthy targets behind each listener."""
    by_name = {s.name: s for s in sources}
    outage: list[str] = []
    degraded: list[str] = []
    for s in sources:
        if s.kind == "classic" and s.healthy == 0:
            outage.append(f"0 of {s.registered} healthy in {s.name}")
    if snap.serving is not None:
        listeners = [(ls.listener, ls.target_groups) for ls in snap.serving]
    else:
        # The rules were not read: a target group with a load balancer is taken as serving.
        listeners = [
            ("/".join(s.load_balancers) or s.name, (s.name,))
            for s in sources
            # Counted from the instances, a source's load balancers are not known.
            if s.kind == "target-group" and (s.load_balancers or not snap.sources)
        ]
    for listener, names in listeners:
        known = [by_name[n] for n in names if n in by_name]
        if not known:
            continue
        empty = [s for s in known if s.healthy == 0]
        if len(empty) == len(known):
            counts = ", ".join(_none_healthy(s) for s in known)
            outage.append(f"0 healthy behind {listener} ({counts})")
        else:
            degraded += [f"{_none_healthy(s)} at {listener}" for s in empty]
    return outage, degraded


def _none_healthy(s: SourceHealth) -> str:
    if s.registered:
        return f"{s.name} 0 of {s.registered} healthy"
    return f"{s.name} has no registered target"


def _unhealthy(env: Environment | None, word: str) -> tuple[int, str | None]:
    """How many of an environment's running instances fail health checks, in words."""
    if env is None:
        return 0, None
    running = [i for i in env.instances if i.ec2_state in (None, "pending", "running") and i.health]
    bad = [i for i in running if any(h.failing for h in i.health)]
    if not bad:
        return 0, None
    return len(bad), f"{len(bad)} of {len(running)} {word} unhealthy"


def _rate(value: float) -> str:
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"


def _five_words(own: dict[str, float], targets: dict[str, float]) -> list[str]:
    words = [f"5xx {_rate(v)}/min in {name}" for name, v in targets.items() if v > 0]
    words += [f"{name} own 5xx {_rate(v)}/min" for name, v in own.items() if v > 0]
    return words


def _healthy_words(sources: tuple[SourceHealth, ...]) -> str:
    parts = [f"{s.healthy} of {s.registered} healthy in {s.name}" for s in sources if s.registered]
    return ", ".join(parts[:2]) if parts else "no target registered"


def verdict(snap: Snapshot) -> Verdict:
    """The verdict on what clients of this group get now, from one Snapshot."""
    own, targets = fives(snap)
    sources = sources_of(snap)
    outage, degraded = _outages(snap, sources)
    unhealthy = 0
    for env, word in (
        (snap.replacement, "replacements"),
        (snap.original, "originals"),
        (snap.fleet, "instances"),
    ):
        n, text = _unhealthy(env, word)
        unhealthy += n
        if text:
            degraded.append(text)
    degraded += _five_words(own, targets)
    firing = tuple(a.name for a in snap.alarms if a.state == "ALARM")
    degraded += [f"alarm {name} in ALARM" for name in firing]
    has_lb = bool(snap.target_groups or snap.classic_load_balancers or sources)
    level: Level
    if outage:
        level, findings = "OUTAGE", outage + degraded
    elif degraded:
        level, findings = "DEGRADED", degraded
    elif not sources:
        level = "UNKNOWN"
        findings = ["target health not read" if has_lb else "no load balancer known for this group"]
    else:
        level = "SAFE"
        fives_read = "metrics" not in snap.unread
        findings = [
            _healthy_words(sources),
            "no 5xx" if fives_read else "5xx not read",
            "no alarm in ALARM" if snap.alarms else "no alarms",
        ]
    action = _action(snap, level)
    deadline, if_nobody = _timer(snap)
    return Verdict(
        level=level,
        why=", ".join(findings[:4])
        + (f" (+{len(findings) - 4} more)" if len(findings) > 4 else ""),
        action=action,
        deadline=deadline,
        if_nobody=if_nobody,
        lb_5xx=own,
        target_5xx=targets,
        unhealthy=unhealthy,
        alarms=firing,
    )


def _action(snap: Snapshot, level: Level) -> str | None:
    """What to do now: take traffic back when clients suffer; approve a healthy replacement
    whose ready wait would otherwise stop the deployment."""
    dep = snap.deployment
    if level in ("OUTAGE", "DEGRADED"):
        # A rollback under way is already the way back: stopping it would strand traffic.
        # Stop without rollback leaves traffic where it is, so it is never the advice.
        if dep is not None and dep.rollback_of and dep.active:
            return None
        return "rollback" if snap.action("rollback").passed else None
    if (
        level == "SAFE"
        and dep is not None
        and dep.waiting_for == "reroute-approval"
        and snap.action("approve").passed
    ):
        return "approve"
    return None


def _timer(snap: Snapshot) -> tuple[datetime | None, str | None]:
    """(when the running wait ends, what CodeDeploy does then unless someone acts)."""
    dep = snap.deployment
    if dep is None or dep.deadline is None or not dep.active:
        return None, None
    if dep.waiting_for == "reroute-approval":
        if dep.ready_action == "STOP_DEPLOYMENT":
            return dep.deadline, "the deployment stops, traffic stays on the originals"
        return dep.deadline, "traffic is rerouted to the replacement"
    if dep.waiting_for == "termination":
        if dep.termination_action == "KEEP_ALIVE":
            return dep.deadline, "the deployment ends; the originals keep running unused"
        return dep.deadline, "the originals are terminated"
    return None, None


def metric_scope(snap: Snapshot, name: str) -> str:
    """`web-tg (both fleets)`: whom the figures of a target group (or classic LB) that no
    environment owns alone describe. Blue/green: both fleets pass through it in a reroute or
    a rollback, so its quarter hour of figures cannot be split between them."""
    if snap.style == "BLUE_GREEN":
        return f"{name} (both fleets)"
    return name
