"""CodeDeploy's resources as the engine keeps them: applications, deployment configs,
deployment groups, deployments and their targets, and the engine's settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cutover.common.lifecycle import ACTIVE_STATUSES

ROLLBACK_CREATOR = "codeDeployRollback"
# Deployments CodeDeploy starts by itself: one per instance Auto Scaling launches into a
# group with the deployment group's launch hook, and the follow-on that updates instances
# launched during a deployment (outdatedInstancesStrategy UPDATE).
AUTOSCALING_CREATOR = "autoscaling"
AUTO_UPDATE_CREATOR = "CodeDeployAutoUpdate"
AUTOMATIC_CREATORS = (AUTOSCALING_CREATOR, AUTO_UPDATE_CREATOR)
# The launch hook CodeDeploy installs: what DescribeLifecycleHooks shows for it.
LAUNCH_HOOK_HEARTBEAT = 600

DEFAULT_CONFIG = "CodeDeployDefault.OneAtATime"
# Minimum healthy hosts of the predefined Server configs as GetDeploymentConfig reports them.
BUILTIN_CONFIGS = {
    "CodeDeployDefault.OneAtATime": ("MOST_CONCURRENCY", 1),
    "CodeDeployDefault.HalfAtATime": ("FLEET_PERCENT", 50),
    "CodeDeployDefault.AllAtOnce": ("HOST_COUNT", 0),
}

# Sandbox seconds each hook takes by default; Install (copying files) is the longest.
DEFAULT_DURATIONS: dict[str, float] = {
    "ApplicationStop": 2.0,
    "DownloadBundle": 3.0,
    "BeforeInstall": 2.0,
    "Install": 8.0,
    "AfterInstall": 2.0,
    "ApplicationStart": 3.0,
    "ValidateService": 3.0,
    "BeforeAllowTraffic": 1.0,
    "AfterAllowTraffic": 1.0,
    "BeforeBlockTraffic": 1.0,
    "AfterBlockTraffic": 1.0,
}


@dataclass
class Settings:
    """How long things take. Durations and timeouts are sandbox seconds."""

    durations: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS))
    # AllowTraffic gives up after this long; None: max(300, 3 x (HealthyThreshold + 1) x
    # interval) over the group's load balancers.
    allow_traffic_timeout: float | None = None
    # BlockTraffic gives up this long after the longest deregistration delay.
    block_traffic_margin: float = 300.0
    provision_timeout: float = 3600.0
    # After StopDeployment, lifecycle events running on instances get this long to finish
    # before they are cut short.
    stop_grace: float = 300.0
    # A floor in real seconds under the traffic and provisioning timeouts: at a high time
    # scale the data plane's real-time granularity (a reconcile pass every 0.1 s, health
    # checks started on the next pass) would otherwise fail healthy targets.
    min_real_timeout: float = 2.0


@dataclass
class RevisionRecord:
    location: dict
    description: str | None = None
    registered: datetime | None = None
    first_used: datetime | None = None
    last_used: datetime | None = None
    groups: list[str] = field(default_factory=list)


@dataclass
class Application:
    name: str
    id: str
    created: datetime
    compute_platform: str = "Server"
    tags: list[dict] = field(default_factory=list)
    revisions: dict[tuple, RevisionRecord] = field(default_factory=dict)


@dataclass
class DeploymentConfig:
    name: str
    id: str
    created: datetime
    min_type: str
    min_value: int
    compute_platform: str = "Server"
    builtin: bool = False
    zonal: dict | None = None

    def minimum(self, fleet: int) -> tuple[int, int | None]:
        """(minimum healthy instances, most at once or None) for a fleet of `fleet`."""
        return minimum_healthy(self.min_type, self.min_value, fleet)


def minimum_healthy(kind: str, value: int, fleet: int) -> tuple[int, int | None]:
    """(minimum healthy instances, most at once or None) of a minimum-healthy-hosts setting
    for a fleet: FLEET_PERCENT rounds up; MOST_CONCURRENCY (OneAtATime) keeps all but one."""
    if kind == "MOST_CONCURRENCY":
        return max(fleet - 1, 0), max(value, 1)
    if kind == "FLEET_PERCENT":
        return math.ceil(fleet * value / 100), None
    return value, None


@dataclass
class DeploymentGroup:
    """`spec` holds the group's settings exactly as DeploymentGroupInfo shows them."""

    application: str
    name: str
    id: str
    spec: dict
    target_revision: dict | None = None
    last_successful: str | None = None
    last_attempted: str | None = None
    tags: list[dict] = field(default_factory=list)
    # engine-private: a succeeded deployment's id and the instances launched during it, to
    # update once their own (autoscaling) deployments are over.
    follow_on: tuple[str, list[str]] | None = None


@dataclass
class LifecycleEvent:
    name: str
    status: str = "Pending"
    start: datetime | None = None
    end: datetime | None = None
    diagnostics: dict | None = None


@dataclass
class DeploymentTarget:
    instance_id: str
    label: str | None  # Blue, Green, or None (in-place)
    events: list[LifecycleEvent]
    updated: datetime
    status: str = "Pending"
    # engine-private: the events of the segment being run, the position in it, the run of
    # the current event, and the sandbox time the next event starts at.
    segment: list[int] = field(default_factory=list)
    cursor: int = 0
    run: Any = None
    clock: float = 0.0

    def event(self, name: str) -> LifecycleEvent | None:
        return next((e for e in self.events if e.name == name), None)


@dataclass
class Deployment:
    id: str
    application: str
    group: str
    group_id: str
    config: str
    revision: dict
    label: str
    previous_revision: dict | None
    creator: str
    description: str | None
    style: dict
    blue_green: dict | None
    lb_info: dict | None
    auto_rollback: dict
    alarms: dict
    target_instances: dict | None
    ignore_stop_failures: bool
    update_outdated_only: bool
    file_exists: str | None
    created: datetime
    min_type: str = "MOST_CONCURRENCY"
    min_value: int = 1
    status: str = "Created"
    started: datetime | None = None
    completed: datetime | None = None
    error: dict | None = None
    rollback_info: dict | None = None
    termination_wait_started: bool = False
    status_messages: list[str] = field(default_factory=list)
    targets: dict[str, DeploymentTarget] = field(default_factory=dict)
    override_alarms: dict | None = None
    ec2_options: dict | None = None
    # engine-private
    phase: str = "start"
    stage: Any = None
    originals: list[str] = field(default_factory=list)
    replacements: list[str] = field(default_factory=list)
    original_asgs: list[str] = field(default_factory=list)
    replacement_asgs: list[str] = field(default_factory=list)
    copied_asg: str | None = None
    group_asgs_before: list[dict] = field(default_factory=list)
    moved_tgs: list[str] = field(default_factory=list)
    moved_clbs: list[str] = field(default_factory=list)
    swapped: bool = False
    deadline: float | None = None
    install_failed: int = 0
    rollback_of: str | None = None
    originals_terminated: bool = False
    # An autoscaling deployment's launch: (Auto Scaling group, hook name, instance id).
    launch: tuple[str, str, str] | None = None
    launched_during: list[str] = field(default_factory=list)
    # StopDeployment: the rollback flag while the stop is pending (events still finishing),
    # its deadline, and whether a stop request ended the deployment.
    stop_rollback: bool | None = None
    stop_deadline: float = 0.0
    stopped_on_request: bool = False

    @property
    def is_rollback(self) -> bool:
        return self.creator == ROLLBACK_CREATOR

    @property
    def automatic(self) -> bool:
        return self.creator in AUTOMATIC_CREATORS

    @property
    def blue_green_style(self) -> bool:
        return self.style.get("deploymentType") == "BLUE_GREEN"

    @property
    def traffic_control(self) -> bool:
        return self.style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def overview(self) -> dict[str, int]:
        counts = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped"), 0)
        counts["Ready"] = 0
        for t in self.targets.values():
            if t.status in counts:
                counts[t.status] += 1
        return counts


def clone(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
