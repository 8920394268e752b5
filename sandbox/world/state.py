"""The world's state and the rules of load balancing: instances, registration, health.

`State` holds everything behind one re-entrant lock and keeps one clock; `World` (world.py)
adds time passing. Nothing here does I/O, so every rule can be exercised quickly and
deterministically.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from cutover.sandbox.world.clock import Clock
from cutover.sandbox.world.groups import Activity, AutoScalingGroup
from cutover.sandbox.world.model import (
    HEALTHY,
    INITIAL,
    REASON_TEXT,
    UNAVAILABLE,
    UNHEALTHY_DRAINING,
    UNUSED,
    ClassicLoadBalancer,
    HealthCheck,
    Instance,
    Listener,
    LoadBalancer,
    Rule,
    Target,
    TargetGroup,
    WorldError,
)


class State:
    """Everything the sandbox knows, and the rules of load balancing over it.

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
        # Things that move by themselves and live outside this package (the CodeDeploy engine,
        # CloudWatch alarm evaluation) register here; `tick` runs them under the lock.
        self.tick_hooks: list[Callable[[], None]] = []
        # CodeDeploy's state, owned by cutover.sandbox.codedeploy (None until it attaches).
        self.deploy: Any = None
        # CloudWatch alarms by name, owned by cutover.sandbox.cloudwatch.
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
                        target.restart_checks()
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
                target.begin_drain(self.elapsed(), 0)
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
                target.begin_drain(self.elapsed(), tg.deregistration_delay)
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
                target.begin_drain(self.elapsed(), clb.draining_timeout)
            return True

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
            target.record_check(hc, ok, reason, code)

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

    def still_registered(self, instance_id: str) -> bool:
        """Whether any load balancer still has the instance registered or draining."""
        return any(
            t.id == instance_id for tg in self.target_groups.values() for t in tg.targets.values()
        ) or any(instance_id in clb.instances for clb in self.classic_lbs.values())
