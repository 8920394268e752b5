"""The sandbox's state: instances, Auto Scaling groups, load balancers and their targets.

One `World` holds everything, guarded by one re-entrant lock, and keeps one clock. The API
services mutate it; the data plane (real servers, proxies and health checkers) reconciles
itself against it and reports health-check results back through `record_check`.
Nothing here does I/O, so every rule can be exercised quickly and deterministically.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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

ASG_PROCESSES = (
    "Launch",
    "Terminate",
    "AddToLoadBalancer",
    "AlarmNotification",
    "AZRebalance",
    "HealthCheck",
    "InstanceRefresh",
    "ReplaceUnhealthy",
    "ScheduledActions",
)


class WorldError(Exception):
    """A rule of the world was broken; services translate it to the modeled AWS error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


@dataclass
class InstanceFault:
    """What is wrong with an instance's application, set by the fault API."""

    unhealthy: bool = False  # every answer is 503, so health checks fail
    slow_ms: int = 0  # added to every answer
    error_rate: float = 0.0  # share of ordinary requests answered 500
    down: bool = False  # the server stops listening: connection refused

    def active(self) -> bool:
        return self.unhealthy or self.slow_ms > 0 or self.error_rate > 0 or self.down

    def describe(self) -> str:
        parts = []
        if self.down:
            parts.append("down")
        if self.unhealthy:
            parts.append("unhealthy")
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


LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"


@dataclass
class LifecycleHook:
    """A group's lifecycle hook as DescribeLifecycleHooks reports it (timeouts in seconds)."""

    name: str
    transition: str = LAUNCHING
    default_result: str = "ABANDON"
    heartbeat_timeout: int = 3600
    notification_target_arn: str | None = None
    role_arn: str | None = None
    metadata: str | None = None

    @property
    def global_timeout(self) -> int:
        # "The maximum is 172800 seconds (48 hours) or 100 times HeartbeatTimeout, whichever
        # is smaller" (the LifecycleHook shape).
        return min(172800, 100 * self.heartbeat_timeout)


@dataclass
class LifecycleAction:
    """One launching instance waiting on one hook (times in sandbox elapsed seconds)."""

    hook: str
    token: str
    started: float | None = None  # set when the instance enters Pending:Wait
    deadline: float = 0.0  # the heartbeat timeout runs out here
    result: str | None = None  # CONTINUE or ABANDON once completed


@dataclass
class AsgMember:
    instance_id: str
    az: str
    lifecycle_state: str = "Pending"  # Pending InService EnteringStandby Standby Terminating ...
    health_status: str = "Healthy"
    protected: bool = False
    launch_template: dict | None = None
    launch_configuration_name: str | None = None
    # The launch hooks the group had when the instance launched, by hook name. A launch hook
    # applies only to launches: not to instances already in the group, nor to ones leaving
    # standby.
    launch_actions: dict[str, LifecycleAction] = field(default_factory=dict)


@dataclass
class AutoScalingGroup:
    name: str
    arn: str
    min_size: int
    max_size: int
    desired: int
    azs: list[str]
    instance_type: str
    revision: str
    created: datetime
    launch_template: dict | None = None
    launch_configuration_name: str | None = None
    target_group_arns: list[str] = field(default_factory=list)
    load_balancer_names: list[str] = field(default_factory=list)
    health_check_type: str = "EC2"
    health_check_grace_period: int = 300
    default_cooldown: int = 300
    termination_policies: list[str] = field(default_factory=lambda: ["Default"])
    suspended: dict[str, str] = field(default_factory=dict)  # process -> reason
    tags: list[dict] = field(default_factory=list)  # Key, Value, PropagateAtLaunch
    members: dict[str, AsgMember] = field(default_factory=dict)
    vpc_zone_identifier: str = ""
    deleting: bool = False
    new_instances_protected: bool = False
    lifecycle_hooks: dict[str, LifecycleHook] = field(default_factory=dict)

    def counted(self) -> list[AsgMember]:
        """Members that count toward desired capacity: not on their way out, not in standby."""
        return [
            m
            for m in self.members.values()
            if not m.lifecycle_state.startswith("Terminat")
            and m.lifecycle_state not in ("Detaching", "EnteringStandby", "Standby")
        ]


@dataclass
class Activity:
    id: str
    asg_name: str
    description: str
    cause: str
    start: datetime
    end: datetime | None
    status: str = "Successful"
    progress: int = 100


class World:
    """Everything the sandbox knows, and the rules that move it.

    Callers hold `world.lock` around any read-modify-write (the API services and the data
    plane run on different threads). Methods here take the lock themselves.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        time_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.clock = Clock(time_scale)
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.vpc_id = self.new_id("vpc-", 17)
        self.subnets: dict[str, str] = {}
        self.instances: dict[str, Instance] = {}
        self.asgs: dict[str, AutoScalingGroup] = {}
        self.load_balancers: dict[str, LoadBalancer] = {}  # by ARN
        self.target_groups: dict[str, TargetGroup] = {}  # by ARN
        self.classic_lbs: dict[str, ClassicLoadBalancer] = {}  # by name
        self.activities: list[Activity] = []
        self.image_id = self.new_id("ami-", 17)
        # Things that move by themselves and live outside this module (the CodeDeploy engine,
        # CloudWatch alarm evaluation) register here; `tick` runs them under the lock.
        self.tick_hooks: list[Callable[[], None]] = []
        # CodeDeploy's state, owned by cutover.sandbox.engine (None until it attaches).
        self.deploy: Any = None
        # CloudWatch alarms by name, owned by cutover.sandbox.services.cloudwatch.
        self.alarms: dict[str, Any] = {}
        # The proxies' request counters (cutover.sandbox.metrics.RequestMetrics), set by the
        # runner, read by CloudWatch.
        self.metrics: Any = None

    # ----- ids and names -------------------------------------------------------------------

    def new_id(self, prefix: str, length: int) -> str:
        return prefix + "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def new_uuid(self) -> str:
        h = self.new_id("", 32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def subnet_for(self, az: str) -> str:
        if az not in self.subnets:
            self.subnets[az] = self.new_id("subnet-", 17)
        return self.subnets[az]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def dns_name(self, name: str, kind: str) -> str:
        # *.localhost is loopback by RFC 6761; curl resolves it without any DNS set-up.
        digits = "".join(self.rng.choice(string.digits) for _ in range(10))
        if kind == "network":
            return f"{name}-{self.new_id('', 16)}.elb.{self.region}.localhost"
        return f"{name}-{digits}.{self.region}.elb.localhost"

    def now(self) -> datetime:
        return self.clock.now()

    def elapsed(self) -> float:
        return self.clock.elapsed()

    # ----- lookups ---------------------------------------------------------------------------

    def instance(self, instance_id: str) -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise WorldError(
                "InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist"
            )
        return inst

    def target_group_by_name(self, name: str) -> TargetGroup | None:
        return next((tg for tg in self.target_groups.values() if tg.name == name), None)

    def load_balancer_by_name(self, name: str) -> LoadBalancer | None:
        return next((lb for lb in self.load_balancers.values() if lb.name == name), None)

    def listeners(self) -> Iterator[Listener]:
        for lb in self.load_balancers.values():
            yield from lb.listeners.values()

    def rule_target_groups(self, rule: Rule) -> list[tuple[str, int]]:
        """(target group ARN, weight) pairs a rule forwards to."""
        out: list[tuple[str, int]] = []
        for action in rule.actions:
            if action.get("Type") != "forward":
                continue
            cfg = action.get("ForwardConfig") or {}
            groups = cfg.get("TargetGroups") or []
            if groups:
                out.extend((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
            elif action.get("TargetGroupArn"):
                out.append((action["TargetGroupArn"], 1))
        return out

    def load_balancers_of(self, tg: TargetGroup) -> list[LoadBalancer]:
        """Load balancers with a listener or rule that forwards to the group."""
        out = []
        for lb in self.load_balancers.values():
            if any(
                tg.arn == arn
                for listener in lb.listeners.values()
                for rule in listener.rules
                for arn, _ in self.rule_target_groups(rule)
            ):
                out.append(lb)
        return out

    # ----- instances -------------------------------------------------------------------------

    def launch_instance(
        self,
        *,
        az: str,
        instance_type: str = "t3.micro",
        revision: str = "v1",
        tags: dict[str, str] | None = None,
        asg_name: str | None = None,
    ) -> Instance:
        """A new instance in `pending`; the data plane starts its server and marks it running."""
        with self.lock:
            inst = Instance(
                id=self.new_id("i-", 17),
                instance_type=instance_type,
                az=az,
                subnet_id=self.subnet_for(az),
                vpc_id=self.vpc_id,
                image_id=self.image_id,
                launch_time=self.now().replace(microsecond=0),
                revision=revision,
                tags=dict(tags or {}),
                asg_name=asg_name,
            )
            self.instances[inst.id] = inst
            return inst

    def stop_instance(self, inst: Instance) -> str:
        with self.lock:
            previous = inst.state
            if inst.state in ("pending", "running"):
                inst.state = "stopping"
                inst.state_reason = f"User initiated ({self.now():%Y-%m-%d %H:%M:%S} GMT)"
            return previous

    def start_instance(self, inst: Instance) -> str:
        with self.lock:
            previous = inst.state
            if inst.state == "stopped":
                inst.state = "pending"
                inst.state_reason = ""
                # A restarted instance must pass its health checks again before it gets traffic.
                for target in self._targets_of(inst.id):
                    if not target.draining:
                        target.passes = target.fails = 0
                        target.checked = False
                        target.set(INITIAL, "Elb.RegistrationInProgress")
            return previous

    def _targets_of(self, instance_id: str) -> list[Target]:
        out = [
            t
            for tg in self.target_groups.values()
            for t in tg.targets.values()
            if t.id == instance_id
        ]
        out += [
            clb.instances[instance_id]
            for clb in self.classic_lbs.values()
            if instance_id in clb.instances
        ]
        return out

    def terminate_instance(self, inst: Instance, reason: str = "User initiated") -> str:
        """Begin termination. Instances in a group leave it (and its load balancers) first."""
        with self.lock:
            previous = inst.state
            if inst.state in ("shutting-down", "terminated"):
                return previous
            inst.state = "shutting-down"
            inst.state_reason = f"{reason} ({self.now():%Y-%m-%d %H:%M:%S} GMT)"
            inst.terminated_at = self.elapsed()
            for target in self._targets_of(inst.id):
                self._drain(target, 0)
            return previous

    # ----- registration ---------------------------------------------------------------------

    def register(self, tg: TargetGroup, instance_id: str, port: int | None = None) -> Target:
        """Register (or re-register a draining) target; it starts `initial`."""
        with self.lock:
            port = port or tg.port
            existing = tg.targets.get((instance_id, port))
            if existing is not None and not existing.draining:
                # Registering twice is a no-op on AWS: health and in-flight counts carry on.
                return existing
            target = Target(id=instance_id, port=port, registered_at=self.elapsed())
            tg.targets[(instance_id, port)] = target
            return target

    def deregister(self, tg: TargetGroup, instance_id: str, port: int | None = None) -> bool:
        """Start draining; the target disappears when drained. False if it was not registered."""
        with self.lock:
            port = port or tg.port
            target = tg.targets.get((instance_id, port))
            if target is None:
                return False
            if not target.draining:
                self._drain(target, tg.deregistration_delay)
            return True

    def register_classic(self, clb: ClassicLoadBalancer, instance_id: str) -> Target:
        with self.lock:
            existing = clb.instances.get(instance_id)
            if existing is not None and not existing.draining:
                return existing
            port = clb.listeners[0]["InstancePort"] if clb.listeners else 80
            target = Target(id=instance_id, port=port, registered_at=self.elapsed())
            clb.instances[instance_id] = target
            clb.known.add(instance_id)
            return target

    def deregister_classic(self, clb: ClassicLoadBalancer, instance_id: str) -> bool:
        with self.lock:
            target = clb.instances.get(instance_id)
            if target is None:
                return False
            if not target.draining:
                self._drain(target, clb.draining_timeout)
            return True

    def _drain(self, target: Target, delay: int) -> None:
        now = self.elapsed()
        was_unhealthy = target.state == UNHEALTHY
        target.drain_started = now
        target.drain_deadline = now + delay
        target.set(DRAINING, "Target.DeregistrationInProgress")
        target.was_unhealthy = was_unhealthy

    # ----- health ----------------------------------------------------------------------------

    def target_in_use(self, tg: TargetGroup) -> bool:
        return bool(self.load_balancers_of(tg))

    def lb_type_of(self, tg: TargetGroup) -> str | None:
        lbs = self.load_balancers_of(tg)
        return lbs[0].type if lbs else None

    def effective_state(
        self, tg: TargetGroup, target: Target
    ) -> tuple[str, str | None, str | None]:
        """The (state, reason, description) DescribeTargetHealth reports right now."""
        with self.lock:
            inst = self.instances.get(target.id)
            if target.draining:
                if target.was_unhealthy and self.lb_type_of(tg) == "network":
                    return (
                        UNHEALTHY_DRAINING,
                        "Target.DeregistrationInProgress",
                        REASON_TEXT["Target.DeregistrationInProgress"],
                    )
                return target.state, target.reason, target.description
            if inst is not None and inst.state not in ("pending", "running"):
                return (
                    UNUSED,
                    "Target.InvalidState",
                    REASON_TEXT["Target.InvalidState"].format(state=inst.state),
                )
            if not self.target_in_use(tg):
                return UNUSED, "Target.NotInUse", REASON_TEXT["Target.NotInUse"]
            if not tg.health_check.enabled:
                return (
                    UNAVAILABLE,
                    "Target.HealthCheckDisabled",
                    REASON_TEXT["Target.HealthCheckDisabled"],
                )
            return target.state, target.reason, target.description

    def record_check(
        self, hc: HealthCheck, target: Target, ok: bool, reason: str | None, code: int | None
    ) -> None:
        """Fold one health-check result into the target's state, by the thresholds."""
        with self.lock:
            if target.draining:
                return
            target.checked = True
            target.last_code = code
            if ok:
                target.passes += 1
                target.fails = 0
                if target.state != HEALTHY and target.passes >= hc.healthy_threshold:
                    target.set(HEALTHY, None)
                elif target.state == INITIAL:
                    target.set(INITIAL, "Elb.InitialHealthChecking")
            else:
                target.fails += 1
                target.passes = 0
                if target.state == UNHEALTHY or target.fails >= hc.unhealthy_threshold:
                    target.set(UNHEALTHY, reason or "Target.FailedHealthChecks", code=code)
                elif target.state == INITIAL:
                    target.set(INITIAL, "Elb.InitialHealthChecking")

    def classic_state(self, clb: ClassicLoadBalancer, target: Target) -> tuple[str, str, str]:
        """(State, ReasonCode, Description) as DescribeInstanceHealth reports them."""
        with self.lock:
            inst = self.instances.get(target.id)
            if target.draining:
                return "InService", "N/A", "Instance deregistration currently in progress."
            if inst is None or inst.state not in ("pending", "running"):
                state = inst.state if inst else "terminated"
                return "OutOfService", "Instance", f"Instance is in {state} state."
            if target.state == HEALTHY:
                return "InService", "N/A", "N/A"
            if target.state == INITIAL and not target.checked:
                return "OutOfService", "ELB", "Instance registration is still in progress."
            if target.state == INITIAL:
                return (
                    "OutOfService",
                    "Instance",
                    "Instance has not passed the configured HealthyThreshold number of health "
                    "checks consecutively.",
                )
            return (
                "OutOfService",
                "Instance",
                "Instance has failed at least the UnhealthyThreshold number of health checks "
                "consecutively.",
            )

    # ----- routing (used by the proxies) ----------------------------------------------------

    def routable(self, targets: list[Target]) -> list[Target]:
        """Targets a load balancer sends new requests to, failing open like ELB does.

        Healthy targets when there are any; otherwise every registered target that is not
        draining (ELB routes to all targets when none is healthy).
        """
        live = [
            t
            for t in targets
            if not t.draining
            and (inst := self.instances.get(t.id)) is not None
            and inst.state == "running"
        ]
        healthy = [t for t in live if t.state == HEALTHY]
        return healthy or live

    # ----- time passes ------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance everything that moves by itself: drains, Auto Scaling, terminations."""
        with self.lock:
            now = self.elapsed()
            self._finish_drains(now)
            for asg in list(self.asgs.values()):
                self._reconcile_asg(asg)
            self._expire_terminated(now)
            for hook in list(self.tick_hooks):
                hook()

    def _finish_drains(self, now: float) -> None:
        def delay_over(t: Target) -> bool:
            return t.draining and now >= (t.drain_deadline or 0)

        # A target group shows a deregistering target `draining` for the whole deregistration
        # delay, even when its last request ended long before (ELBv2 user guides).
        for tg in self.target_groups.values():
            for key in [k for k, t in tg.targets.items() if delay_over(t)]:
                del tg.targets[key]
        # Classic connection draining ends with the last in-flight request, or the timeout.
        for clb in self.classic_lbs.values():
            for key in [
                k
                for k, t in clb.instances.items()
                if delay_over(t) or (t.draining and t.inflight <= 0)
            ]:
                del clb.instances[key]

    def _expire_terminated(self, now: float) -> None:
        # AWS keeps terminated instances visible for about an hour.
        for inst_id in [
            i.id
            for i in self.instances.values()
            if i.state == "terminated"
            and i.terminated_at is not None
            and now - i.terminated_at > 3600
        ]:
            del self.instances[inst_id]

    def still_registered(self, instance_id: str) -> bool:
        """Whether any load balancer still has the instance registered or draining."""
        return any(
            t.id == instance_id for tg in self.target_groups.values() for t in tg.targets.values()
        ) or any(instance_id in clb.instances for clb in self.classic_lbs.values())

    # ----- Auto Scaling -----------------------------------------------------------------------

    def activity(self, asg: AutoScalingGroup, description: str, cause: str) -> Activity:
        act = Activity(
            id=self.new_uuid(),
            asg_name=asg.name,
            description=description,
            cause=f"At {self.now():%Y-%m-%dT%H:%M:%SZ} {cause}",
            start=self.now(),
            end=self.now(),
        )
        self.activities.append(act)
        del self.activities[:-500]
        return act

    def attach_to_load_balancers(self, asg: AutoScalingGroup, instance_id: str) -> None:
        for arn in asg.target_group_arns:
            tg = self.target_groups.get(arn)
            if tg is not None and (instance_id, tg.port) not in tg.targets:
                self.register(tg, instance_id)
        for name in asg.load_balancer_names:
            clb = self.classic_lbs.get(name)
            if clb is not None:
                self.register_classic(clb, instance_id)

    def detach_from_load_balancers(self, asg: AutoScalingGroup, instance_id: str) -> None:
        for arn in asg.target_group_arns:
            tg = self.target_groups.get(arn)
            if tg is not None:
                for target in list(tg.targets.values()):
                    if target.id == instance_id:
                        self.deregister(tg, instance_id, target.port)
        for name in asg.load_balancer_names:
            clb = self.classic_lbs.get(name)
            if clb is not None:
                self.deregister_classic(clb, instance_id)

    def _launch_into(self, asg: AutoScalingGroup, cause: str) -> None:
        counts = {az: 0 for az in asg.azs}
        for m in asg.counted():
            counts[m.az] = counts.get(m.az, 0) + 1
        az = min(asg.azs, key=lambda a: (counts.get(a, 0), asg.azs.index(a)))
        tags = {t["Key"]: t["Value"] for t in asg.tags if t.get("PropagateAtLaunch", True)}
        tags["aws:autoscaling:groupName"] = asg.name
        inst = self.launch_instance(
            az=az,
            instance_type=asg.instance_type,
            revision=asg.revision,
            tags=tags,
            asg_name=asg.name,
        )
        asg.members[inst.id] = AsgMember(
            instance_id=inst.id,
            az=az,
            protected=asg.new_instances_protected,
            launch_template=asg.launch_template,
            launch_configuration_name=asg.launch_configuration_name,
            launch_actions={
                h.name: LifecycleAction(h.name, self.new_uuid())
                for h in asg.lifecycle_hooks.values()
                if h.transition == LAUNCHING
            },
        )
        self.activity(asg, f"Launching a new EC2 instance: {inst.id}", cause)

    def complete_lifecycle_action(
        self, asg: AutoScalingGroup, member: AsgMember, hook: str, result: str
    ) -> bool:
        """Record a launch hook's result (CONTINUE or ABANDON); the reconciler acts on it.
        False when the member is not waiting on that hook."""
        with self.lock:
            action = member.launch_actions.get(hook)
            if member.lifecycle_state != "Pending:Wait" or action is None or action.result:
                return False
            action.result = result
            return True

    def _wait_on_launch_hooks(self, asg: AutoScalingGroup, member: AsgMember) -> None:
        """A Pending:Wait member: time its hooks out, then proceed or give the launch up."""
        now = self.elapsed()
        for action in member.launch_actions.values():
            hook = asg.lifecycle_hooks.get(action.hook)
            if action.result is not None:
                continue
            if hook is None:
                # A deleted hook's outstanding launch actions complete with ABANDON
                # (DeleteLifecycleHook, API reference).
                action.result = "ABANDON"
            elif now >= action.deadline or now >= (action.started or now) + hook.global_timeout:
                action.result = hook.default_result
        results = [a.result for a in member.launch_actions.values()]
        if "ABANDON" in results:
            self.begin_member_termination(
                asg,
                member,
                "an instance was taken out of service in response to a launch lifecycle action "
                "that was abandoned.",
            )
        elif all(results):
            member.lifecycle_state = "Pending:Proceed"

    def choose_to_terminate(self, asg: AutoScalingGroup, count: int) -> list[AsgMember]:
        """Which members a scale-in removes: from the fullest AZ first, then by policy."""
        chosen: list[AsgMember] = []
        pool = [
            m
            for m in asg.counted()
            if m.lifecycle_state in ("InService", "Pending") and not m.protected
        ]
        newest_first = "NewestInstance" in asg.termination_policies
        for _ in range(count):
            if not pool:
                break
            counts: dict[str, int] = {}
            for m in pool:
                counts[m.az] = counts.get(m.az, 0) + 1
            fullest = max(counts, key=lambda az: counts[az])

            def launched(m: AsgMember) -> datetime:
                return self.instances[m.instance_id].launch_time

            in_az = sorted((m for m in pool if m.az == fullest), key=launched)
            pick = in_az[-1] if newest_first else in_az[0]
            chosen.append(pick)
            pool.remove(pick)
        return chosen

    def begin_member_termination(
        self, asg: AutoScalingGroup, member: AsgMember, cause: str
    ) -> None:
        member.lifecycle_state = "Terminating"
        self.detach_from_load_balancers(asg, member.instance_id)
        self.activity(asg, f"Terminating EC2 instance: {member.instance_id}", cause)

    def _reconcile_asg(self, asg: AutoScalingGroup) -> None:
        # Members move through their lifecycle.
        for member in list(asg.members.values()):
            inst = self.instances.get(member.instance_id)
            if member.lifecycle_state == "Pending":
                if inst is not None and inst.state == "running":
                    if any(a.result is None for a in member.launch_actions.values()):
                        member.lifecycle_state = "Pending:Wait"
                        now = self.elapsed()
                        for action in member.launch_actions.values():
                            hook = asg.lifecycle_hooks.get(action.hook)
                            if action.result is not None:
                                continue
                            action.started = now
                            action.deadline = now + (hook.heartbeat_timeout if hook else 0)
                    else:
                        member.lifecycle_state = "Pending:Proceed"
            elif member.lifecycle_state == "Pending:Wait":
                self._wait_on_launch_hooks(asg, member)
            if member.lifecycle_state == "Pending:Proceed":
                # Only now does Auto Scaling register the instance with its load balancers.
                member.lifecycle_state = "InService"
                if "AddToLoadBalancer" not in asg.suspended:
                    self.attach_to_load_balancers(asg, member.instance_id)
            elif member.lifecycle_state == "EnteringStandby":
                if not self.still_registered(member.instance_id):
                    member.lifecycle_state = "Standby"
            elif member.lifecycle_state == "Terminating":
                if not self.still_registered(member.instance_id):
                    if inst is not None and inst.state not in ("shutting-down", "terminated"):
                        self.terminate_instance(inst, "Service initiated")
                    member.lifecycle_state = "Terminating:Proceed"
            elif member.lifecycle_state == "Terminating:Proceed":
                if inst is None or inst.state == "terminated":
                    del asg.members[member.instance_id]
            elif member.lifecycle_state == "Detaching" and not self.still_registered(
                member.instance_id
            ):
                del asg.members[member.instance_id]
                if inst is not None:
                    inst.asg_name = None
            # EC2 health: a member whose instance stopped or vanished is unhealthy.
            if member.lifecycle_state in ("InService", "Pending", "Pending:Wait") and (
                inst is None or inst.state not in ("pending", "running")
            ):
                member.health_status = "Unhealthy"
            if (
                member.health_status == "Unhealthy"
                and member.lifecycle_state == "InService"
                and "ReplaceUnhealthy" not in asg.suspended
                and "Terminate" not in asg.suspended
            ):
                self.begin_member_termination(
                    asg,
                    member,
                    "an instance was taken out of service in response to an EC2 health check "
                    "indicating it has been terminated or stopped.",
                )
        if asg.deleting:
            for member in list(asg.members.values()):
                if member.lifecycle_state in (
                    "InService",
                    "Pending",
                    "Pending:Wait",
                    "Standby",
                    "EnteringStandby",
                ):
                    self.begin_member_termination(asg, member, "the group is being deleted.")
            if not asg.members:
                del self.asgs[asg.name]
            return
        # Desired capacity is enforced.
        counted = asg.counted()
        if len(counted) < asg.desired and "Launch" not in asg.suspended:
            for _ in range(asg.desired - len(counted)):
                self._launch_into(
                    asg,
                    f"an instance was started in response to a difference between desired and "
                    f"actual capacity, increasing the capacity from {len(counted)} to "
                    f"{asg.desired}.",
                )
        elif len(counted) > asg.desired and "Terminate" not in asg.suspended:
            for member in self.choose_to_terminate(asg, len(counted) - asg.desired):
                self.begin_member_termination(
                    asg,
                    member,
                    f"a user request explicitly set group desired capacity changing the desired "
                    f"capacity from {len(counted)} to {asg.desired}.",
                )
