"""What the UI and the command line render: frozen snapshots of one deployment group.

Nothing here is a boto3 dict. `backend.observe` builds these from AWS responses; the
dashboard, `cutover status` and the gates read them. All times are the server's (UTC).
"""

from __future__ import annotations

from cutover.backend.model.deployment import (
    ACTIVE_STATUSES,
    AUTOMATIC_CREATORS,
    PHASES,
    Deployment,
    DeploymentSummary,
    Event,
    Phase,
)
from cutover.backend.model.evidence import (
    Alarm,
    BakeCheck,
    BakeVerdict,
    Check,
    ListenerWeights,
    Preview,
    Serving,
    SourceHealth,
    Timer,
    Traffic,
)
from cutover.backend.model.fleet import (
    LB_OWN_5XX,
    TARGET_5XX,
    Environment,
    Instance,
    LifecycleEvent,
    Series,
    TargetHealth,
)
from cutover.backend.model.leftovers import LEFTOVER_KINDS, Leftover, LeftoverKind, PendingAction
from cutover.backend.model.overview import (
    Attention,
    EnvironmentHealth,
    OverviewDeployment,
    OverviewRow,
)
from cutover.backend.model.snapshot import Snapshot

__all__ = [
    "ACTIVE_STATUSES",
    "AUTOMATIC_CREATORS",
    "LB_OWN_5XX",
    "LEFTOVER_KINDS",
    "PHASES",
    "TARGET_5XX",
    "Alarm",
    "Attention",
    "BakeCheck",
    "BakeVerdict",
    "Check",
    "Deployment",
    "DeploymentSummary",
    "Environment",
    "EnvironmentHealth",
    "Event",
    "Instance",
    "Leftover",
    "LeftoverKind",
    "LifecycleEvent",
    "ListenerWeights",
    "OverviewDeployment",
    "OverviewRow",
    "PendingAction",
    "Phase",
    "Preview",
    "Series",
    "Serving",
    "Snapshot",
    "SourceHealth",
    "TargetHealth",
    "Timer",
    "Traffic",
]
