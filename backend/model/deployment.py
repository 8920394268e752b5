"""A deployment as CodeDeploy reports it, its phase, and the events seen on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

Phase = Literal[
    "provisioning",
    "installing",
    "ready",
    "rerouting",
    "termination-wait",
    "terminating",
    "succeeded",
    "failed",
    "stopped",
    "rolling-back",
]


PHASES: tuple[str, ...] = get_args(Phase)


ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")


@dataclass(frozen=True)
class Deployment:
    id: str
    status: str
    phase: str
    application: str
    deployment_group: str
    style: str  # BLUE_GREEN | IN_PLACE
    traffic_control: bool
    config_name: str | None = None
    revision: str | None = None
    previous_revision: str | None = None
    revision_location: dict | None = None
    previous_revision_location: dict | None = None  # CodeDeploy's RevisionLocation, for redeploys
    creator: str | None = None
    create_time: datetime | None = None
    start_time: datetime | None = None
    complete_time: datetime | None = None
    overview: dict[str, int] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    status_messages: tuple[str, ...] = ()
    waiting_for: str | None = None  # reroute-approval | termination | None
    deadline: datetime | None = None
    ready_action: str | None = None  # STOP_DEPLOYMENT | CONTINUE_DEPLOYMENT
    ready_wait_minutes: int | None = None
    termination_action: str | None = None  # TERMINATE | KEEP_ALIVE
    termination_wait_minutes: int | None = None
    termination_wait_started: bool = False
    rollback_of: str | None = None
    rolled_back_by: str | None = None
    rollback_message: str | None = None
    replacement_asg: str | None = None
    # The replacement instance ids when the deployment was first seen Ready: the fleet the
    # gates compare against (carried from snapshot to snapshot by observe).
    ready_fleet: tuple[str, ...] | None = None
    ready_fleet_seen: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class DeploymentSummary:
    """A row of the deployment picker."""

    id: str
    status: str
    revision: str | None
    creator: str | None
    create_time: datetime | None
    complete_time: datetime | None
    error_code: str | None = None
    instances: tuple[str, ...] = ()  # its targets, when read (automatic deployments)
    # Ready and waiting for the reroute: when its ready wait ends (read for the group's
    # current deployment beside a pinned one).
    deadline: datetime | None = None
    ready_action: str | None = None  # STOP_DEPLOYMENT | CONTINUE_DEPLOYMENT

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


# Deployments CodeDeploy starts by itself: for an instance Auto Scaling launched (or is
# terminating), or to bring outdated instances up to date after a deployment.
AUTOMATIC_CREATORS = ("autoscaling", "autoscalingTermination", "CodeDeployAutoUpdate")


@dataclass(frozen=True)
class Event:
    """Something that changed between two snapshots, for the timeline."""

    time: datetime
    kind: str  # deployment | instance | health | traffic | alarm | action
    text: str
    instance_id: str | None = None
