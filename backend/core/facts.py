"""What one snapshot read, typed, before assembly: the deployment's targets, the target groups
and classic load balancers, the Auto Scaling groups and the EC2 instances.

The observer fills these from AWS's answers; assembly and the leftovers check read them. Plain
data, so the checks over them are tested with hand-built values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cutover.backend.model import LifecycleEvent


@dataclass(frozen=True)
class TargetInfo:
    """One instance target of a deployment, as BatchGetDeploymentTargets gives it."""

    id: str
    status: str | None
    label: str | None
    last_updated: datetime | None
    events: tuple[LifecycleEvent, ...]

    def started(self, names: Iterable[str]) -> bool:
        return any(e.name in names and e.status not in ("Pending", "Unknown") for e in self.events)

    def event(self, name: str) -> LifecycleEvent | None:
        return next((e for e in self.events if e.name == name), None)


@dataclass
class TargetGroup:
    name: str
    arn: str
    lb_arns: tuple[str, ...]
    delay: int | None  # deregistration delay, seconds
    health_check: dict
    port: int | None = None


@dataclass
class Classic:
    name: str
    drain_timeout: int | None  # connection draining, seconds (None when off or unknown)


@dataclass
class Asg:
    name: str
    min_size: int | None
    max_size: int | None
    desired: int | None
    members: dict[str, str]  # instance id -> lifecycle state
    tags: dict[str, str] = field(default_factory=dict)
    suspended: tuple[str, ...] = ()  # suspended process names
    tg_arns: tuple[str, ...] = ()
    lb_names: tuple[str, ...] = ()
    deleting: bool = False  # Status "Delete in progress": its instances are terminating


@dataclass
class Ec2:
    id: str
    az: str | None
    instance_type: str | None
    state: str | None
    launch_time: datetime | None
    asg: str | None
    tags: dict[str, str] = field(default_factory=dict)
