"""What the world is made of: instances, target groups, listeners and load balancers.

Plain dataclasses; a rule that concerns one object alone (a target's health-check count, its
drain) is a method here, rules that span objects are `State`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Target states and reason codes as Elastic Load Balancing reports them.
INITIAL = "initial"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
UNUSED = "unused"
DRAINING = "draining"
UNAVAILABLE = "unavailable"
UNHEALTHY_DRAINING = "unhealthy.draining"

REASON_TEXT = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.ResponseCodeMismatch": "Health checks failed with these codes: [{code}]",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.NotRegistered": "Target is not registered to the target group",
    "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
    "Target.InvalidState": "Target is in the {state} state",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.HealthCheckDisabled": "Health checks are disabled",
}


class WorldError(Exception):
    """A rule of the world was broken; services translate it to the modeled AWS error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class InstanceFault:
    """What is wrong with an instance's application, set by the fault API."""

    unhealthy: bool = False  # every answer is 503, so health checks fail
    slow_ms: int = 0  # added to every answer
    error_rate: float = 0.0  # share of ordinary requests answered 500
    down: bool = False  # the server stops listening: connection refused
    # Requests whose path starts with this are answered 503 (health checks included): one
    # target group's health check fails (e.g. a preview's /preview/health), the others pass.
    unhealthy_path: str = ""

    def active(self) -> bool:
        return (
            self.unhealthy
            or self.slow_ms > 0
            or self.error_rate > 0
            or self.down
            or bool(self.unhealthy_path)
        )

    def describe(self) -> str:
        parts = []
        if self.down:
            parts.append("down")
        if self.unhealthy:
            parts.append("unhealthy")
        if self.unhealthy_path:
            parts.append(f"unhealthy on {self.unhealthy_path}")
        if self.slow_ms:
            parts.append(f"slow {self.slow_ms} ms")
        if self.error_rate:
            parts.append(f"{self.error_rate:.0%} 5xx")
        return ", ".join(parts) or "none"


@dataclass
class Instance:
    id: str
    instance_type: str
    az: str
    subnet_id: str
    vpc_id: str
    image_id: str
    launch_time: datetime
    revision: str
    tags: dict[str, str] = field(default_factory=dict)
    state: str = "pending"  # pending running stopping stopped shutting-down terminated
    state_reason: str = ""
    asg_name: str | None = None
    port: int = 0  # the real loopback port its HTTP server listens on, 0 while none does
    private_ip: str = "127.0.0.1"
    fault: InstanceFault = field(default_factory=InstanceFault)
    # False while a deployment has the application stopped (between ApplicationStop and
    # ApplicationStart): the instance answers 503 to everything, health checks included.
    app_running: bool = True
    terminated_at: float | None = None  # sandbox elapsed seconds

    @property
    def state_code(self) -> int:
        return {
            "pending": 0,
            "running": 16,
            "shutting-down": 32,
            "terminated": 48,
            "stopping": 64,
            "stopped": 80,
        }[self.state]

    @property
    def serving(self) -> bool:
        """Whether its application should be answering requests."""
        return self.state == "running" and not self.fault.down


@dataclass
class HealthCheck:
    protocol: str = "HTTP"
    port: str = "traffic-port"
    path: str = "/health"
    interval: int = 30
    timeout: int = 5
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"
    enabled: bool = True

    def matches(self, status: int) -> bool:
        for part in self.matcher.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                if int(lo) <= status <= int(hi):
                    return True
            elif part and int(part) == status:
                return True
        return False


@dataclass
class Target:
    """One instance registered with a target group or a classic load balancer.

    States use ELBv2's vocabulary; classic load balancers render them as InService /
    OutOfService (see `classic_state`).
    """

    id: str
    port: int
    state: str = INITIAL
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = REASON_TEXT["Elb.RegistrationInProgress"]
    passes: int = 0
    fails: int = 0
    checked: bool = False  # at least one health check finished since registration
    registered_at: float = 0.0  # sandbox elapsed seconds
    drain_started: float | None = None  # sandbox elapsed seconds
    drain_deadline: float | None = None  # sandbox elapsed seconds
    inflight: int = 0
    last_code: int | None = None
    was_unhealthy: bool = False  # NLB reports unhealthy.draining for these

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.port)

    @property
    def draining(self) -> bool:
        return self.drain_started is not None

    def set(self, state: str, reason: str | None, **fmt: object) -> None:
        self.state = state
        self.reason = reason
        self.description = REASON_TEXT[reason].format(**fmt) if reason else None

    def begin_drain(self, now: float, delay: int) -> None:
        """Start deregistering at sandbox second `now`; the delay runs out `delay` later."""
        was_unhealthy = self.state == UNHEALTHY
        self.drain_started = now
        self.drain_deadline = now + delay
        self.set(DRAINING, "Target.DeregistrationInProgress")
        self.was_unhealthy = was_unhealthy

    def restart_checks(self) -> None:
        """Health checks start over, as after registration (an instance started again)."""
        self.passes = self.fails = 0
        self.checked = False
        self.set(INITIAL, "Elb.RegistrationInProgress")

    def record_check(self, hc: HealthCheck, ok: bool, reason: str | None, code: int | None) -> None:
        """Fold one health-check result into the state, by the check's thresholds."""
        if self.draining:
            return
        self.checked = True
        self.last_code = code
        if ok:
            self.passes += 1
            self.fails = 0
            if self.state != HEALTHY and self.passes >= hc.healthy_threshold:
                self.set(HEALTHY, None)
            elif self.state == INITIAL:
                self.set(INITIAL, "Elb.InitialHealthChecking")
        else:
            self.fails += 1
            self.passes = 0
            if self.state == UNHEALTHY or self.fails >= hc.unhealthy_threshold:
                self.set(UNHEALTHY, reason or "Target.FailedHealthChecks", code=code)
            elif self.state == INITIAL:
                self.set(INITIAL, "Elb.InitialHealthChecking")


@dataclass
class TargetGroup:
    arn: str
    name: str
    protocol: str
    port: int
    vpc_id: str
    health_check: HealthCheck
    attributes: dict[str, str]
    target_type: str = "instance"
    targets: dict[tuple[str, int], Target] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def deregistration_delay(self) -> int:
        return int(self.attributes.get("deregistration_delay.timeout_seconds", "300"))


@dataclass
class Rule:
    arn: str
    priority: str  # "default" or a number as text, as the API returns it
    conditions: list[dict]
    actions: list[dict]

    @property
    def is_default(self) -> bool:
        return self.priority == "default"


@dataclass
class Listener:
    arn: str
    lb_arn: str
    port: int
    protocol: str
    rules: list[Rule]  # the default rule first
    # HTTPS and TLS listeners only: the default certificate ([{"CertificateArn": ...}]) and
    # the security policy.
    certificates: list[dict] = field(default_factory=list)
    ssl_policy: str | None = None

    @property
    def default_rule(self) -> Rule:
        return self.rules[0]


@dataclass
class LoadBalancer:
    arn: str
    name: str
    type: str  # application | network
    scheme: str
    dns_name: str
    vpc_id: str
    azs: list[str]
    subnets: dict[str, str]
    created: datetime
    listeners: dict[str, Listener] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ClassicLoadBalancer:
    name: str
    dns_name: str
    azs: list[str]
    subnets: list[str]
    vpc_id: str
    created: datetime
    listeners: list[dict]  # Protocol, LoadBalancerPort, InstanceProtocol, InstancePort
    health_check: HealthCheck
    health_target: str  # "HTTP:80/health" as the API spells it
    attributes: dict[str, object]
    instances: dict[str, Target] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # Every instance ever registered: DescribeInstanceHealth still answers for these once
    # they are deregistered, and only for these.
    known: set[str] = field(default_factory=set)

    @property
    def draining_timeout(self) -> int:
        drain = self.attributes.get("ConnectionDraining") or {}
        if not drain.get("Enabled"):
            return 0
        return int(drain.get("Timeout", 300))
