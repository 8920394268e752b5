"""The overview: one row per deployment group of every source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cutover.backend.model.deployment import ACTIVE_STATUSES
from cutover.backend.model.evidence import Traffic


@dataclass(frozen=True)
class OverviewDeployment:
    """A group's latest deployment as the overview shows it."""

    id: str
    status: str
    phase: str  # model.PHASES, or the status in lower case when the phase was not derived
    create_time: datetime | None = None
    complete_time: datetime | None = None
    waiting_for: str | None = None  # reroute-approval | termination | None
    deadline: datetime | None = None
    rollback: bool = False  # CodeDeploy started it to roll another deployment back
    error_code: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class EnvironmentHealth:
    role: str  # original | replacement | fleet
    healthy: int
    total: int


@dataclass(frozen=True)
class Attention:
    """Where a row sorts (0 first) and why, in words."""

    rank: int
    reason: str


@dataclass(frozen=True)
class OverviewRow:
    """One deployment group in the overview. `stale` says (in words, with AWS's code) why the
    row is the last one read; `health` and `traffic` are read only for groups with an active
    deployment (empty/None otherwise); `alarms` for every group (a quiet group's with the
    inventory, on its slower cadence)."""

    source: str
    application: str
    deployment_group: str
    account: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    style: str = "IN_PLACE"  # BLUE_GREEN | IN_PLACE
    traffic_control: bool = False  # a load balancer in the group's deployment style
    deployment: OverviewDeployment | None = None
    recent_failure: OverviewDeployment | None = None  # failed or stopped within the last hour
    traffic: Traffic | None = None
    health: tuple[EnvironmentHealth, ...] = ()
    alarms: tuple[str, ...] = ()  # alarms in ALARM
    leftovers: int | None = None  # in-place groups: how many; None = not checked
    leftovers_note: str | None = None
    stale: str | None = None
    server_time: datetime | None = None
    sandbox_rate: float | None = None
    attention: Attention | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.application, self.deployment_group)
