"""Auto Scaling's state: groups, their members, lifecycle hooks and activities.

Plain dataclasses; the rules that move them are in `autoscaling.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
