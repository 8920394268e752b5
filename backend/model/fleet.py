"""Instances and their environments: lifecycle events, target health, metric series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class LifecycleEvent:
    name: str
    status: str  # Pending InProgress Succeeded Failed Skipped Unknown
    start: datetime | None = None
    end: datetime | None = None
    error_code: str | None = None
    script_name: str | None = None
    message: str | None = None
    log_tail: str | None = None


@dataclass(frozen=True)
class TargetHealth:
    """An instance's health in one target group or classic load balancer."""

    name: str  # the target group's or classic load balancer's name
    kind: Literal["target-group", "classic"]
    state: str  # ELBv2 states; classic InService/OutOfService/Unknown as reported
    reason: str | None = None
    description: str | None = None
    port: int | None = None
    drain_deadline: datetime | None = None  # the latest a drain can end (delay from its start)

    @property
    def healthy(self) -> bool:
        return self.state in ("healthy", "InService") and not self.draining

    @property
    def draining(self) -> bool:
        return self.state in ("draining", "unhealthy.draining") or (
            self.kind == "classic"
            and "deregistration currently in progress" in (self.description or "")
        )

    @property
    def registered(self) -> bool:
        return not (self.state == "unused" and self.reason == "Target.NotRegistered")

    @property
    def failing(self) -> bool:
        """Failing its health checks (not: still being registered or checked, draining).
        A classic load balancer says OutOfService for both; its description tells them apart."""
        if self.draining:
            return False
        if self.kind == "classic":
            return self.state == "OutOfService" and "failed at least" in (self.description or "")
        return self.state == "unhealthy"


@dataclass(frozen=True)
class Instance:
    id: str
    az: str | None = None
    instance_type: str | None = None
    ec2_state: str | None = None
    launch_time: datetime | None = None
    asg_name: str | None = None
    asg_lifecycle: str | None = None  # InService, Standby, Pending, Terminating...
    label: str | None = None  # CodeDeploy's Blue (original) / Green (replacement)
    lifecycle_status: str | None = None  # CodeDeploy target status in this deployment
    current_event: str | None = None
    events: tuple[LifecycleEvent, ...] = ()
    last_updated: datetime | None = None
    revision: str | None = None  # what it runs, as far as CodeDeploy tells
    health: tuple[TargetHealth, ...] = ()

    @property
    def failed_event(self) -> LifecycleEvent | None:
        return next((e for e in self.events if e.status == "Failed"), None)


@dataclass(frozen=True)
class Series:
    """A metric over time: (timestamp, value) oldest first."""

    name: str
    points: tuple[tuple[datetime, float], ...] = ()
    source: str | None = None  # the target group or classic load balancer it describes
    statistic: str | None = None  # Sum, Average...

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


# The 5xx a load balancer answers itself (Application, classic): by load balancer, never by
# target group or environment. And the 5xx its targets answer (per target group / classic LB).
LB_OWN_5XX = ("HTTPCode_ELB_5XX_Count", "HTTPCode_ELB_5XX")


TARGET_5XX = ("HTTPCode_Target_5XX_Count", "HTTPCode_Backend_5XX")


@dataclass(frozen=True)
class Environment:
    role: Literal["original", "replacement", "fleet"]
    instances: tuple[Instance, ...] = ()
    asg_name: str | None = None
    desired: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    metrics: tuple[Series, ...] = ()
    in_flight: tuple[str, ...] = ()  # instance ids CodeDeploy is working on now (the batch)
    target_groups: tuple[str, ...] = ()  # groups that serve this environment alone (weighted)

    @property
    def healthy_count(self) -> int:
        return sum(1 for i in self.instances if i.health and all(h.healthy for h in i.health))

    @property
    def capacity(self) -> int:
        """Instances that count as running capacity (not terminated or on their way out)."""
        return sum(
            1
            for i in self.instances
            if i.ec2_state in (None, "pending", "running")
            and (i.asg_lifecycle or "InService") in ("InService", "Pending", "Pending:Wait")
        )
