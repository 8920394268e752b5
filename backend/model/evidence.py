"""What the gates and verdicts weigh: traffic, timers, checks, alarms, listeners, the bake
verdict and the preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cutover.backend.model.fleet import TargetHealth


@dataclass(frozen=True)
class BakeCheck:
    """One measure of the bake verdict: before and after the reroute, against its limit."""

    name: str  # 5xx | p95 | p99
    level: str  # ok | watch | bad
    before: float | None  # 5xx: percent of requests; p95/p99: milliseconds
    after: float | None
    limit: float | None  # the absolute objective (same unit)
    text: str  # `5xx 4.8% after vs 0.1% before (limit 1%)`


@dataclass(frozen=True)
class BakeVerdict:
    """After the reroute: the replacements' errors and latency against the originals' in the
    minutes before it (backend/core/bake.py). `verdict` is ok, watch, bad or not enough data;
    `reason` says which numbers and limits decided it."""

    verdict: str
    reason: str
    checks: tuple[BakeCheck, ...] = ()
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    after_start: datetime | None = None
    after_end: datetime | None = None
    baseline_minutes: int = 0
    after_minutes: int = 0
    baseline_requests: float = 0.0
    after_requests: float = 0.0
    sources: tuple[str, ...] = ()  # the target groups / classic load balancers compared
    unmeasured: str | None = None  # what the load balancer publishes no metric for (NLB)
    thresholds: tuple[tuple[str, float], ...] = ()  # (setting, value) that applied
    read_at: datetime | None = None  # the server time of the CloudWatch read


@dataclass(frozen=True)
class Traffic:
    original_percent: float
    replacement_percent: float
    basis: str  # what the split is computed from, in words


@dataclass(frozen=True)
class Timer:
    name: Literal["ready-wait", "termination-wait"]
    deadline: datetime
    started: datetime | None = None


@dataclass(frozen=True)
class Check:
    """A gate or an action's availability: passed/allowed with the reason a person can act on."""

    name: str
    passed: bool
    reason: str
    # An action refused only because a readiness gate failed: `--override-gates` may send it
    # anyway (audited as an override). Nothing else can be overridden.
    overridable: bool = False


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str  # OK ALARM INSUFFICIENT_DATA, or MISSING when the group names an absent alarm
    reason: str = ""


@dataclass(frozen=True)
class ListenerWeights:
    """A listener or rule forwarding to more than one target group."""

    load_balancer: str
    port: int
    rule_arn: str
    listener_arn: str
    weights: tuple[tuple[str, int], ...]  # (target group name, weight)
    is_default: bool = True
    arns: tuple[tuple[str, str], ...] = ()  # (target group name, ARN)
    # The rule's whole action list as ELB returned it (JSON): a weight change sends it back
    # with only the weights changed, so authentication actions and stickiness survive.
    actions: str = ""


@dataclass(frozen=True)
class SourceHealth:
    """A target group or classic load balancer as read this time: its targets' health counts,
    the load balancers in front of it, and which environments its registered targets are."""

    name: str
    kind: Literal["target-group", "classic"]
    healthy: int
    registered: int  # registered and not draining
    unhealthy: int  # registered, not draining, failing health checks
    load_balancers: tuple[str, ...] = ()  # names (a classic load balancer is its own)
    roles: tuple[str, ...] = ()  # original / replacement / fleet / other, of its targets


@dataclass(frozen=True)
class Serving:
    """A listener (`web-alb:8080`) and the group's target groups it sends clients to (a
    forward with weight above 0, in any of its rules)."""

    listener: str
    target_groups: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """The preview target group a target names (`preview:` in the config): where `preview`
    registers the replacement instances before the reroute is approved, the test listener that
    forwards to it, and the health of the instances registered there (ELB's own checks).

    `problem` says why it cannot be used as evidence (not found, on no listener, unread); the
    gate then ignores it. `targets` holds every registered target, by instance id."""

    target_group: str  # the name (or the ARN as configured, until it is read)
    arn: str | None = None
    port: int | None = None  # the target group's port: registrations use it
    listener: str | None = None  # `web-alb:8443`, or `web-alb:443 rule 3` for a rule
    address: str | None = None  # what a person can send requests to: DNS name:port
    health_path: str | None = None
    problem: str | None = None
    targets: tuple[TargetHealth, ...] = ()  # name = instance id, state as ELB reports it

    def health_of(self, instance_id: str) -> TargetHealth | None:
        return next((t for t in self.targets if t.name == instance_id), None)

    @property
    def registered(self) -> tuple[str, ...]:
        """Instance ids registered (draining ones included: they still need deregistering)."""
        return tuple(t.name for t in self.targets if t.registered)
