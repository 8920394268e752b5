"""Everything one snapshot read, parsed: the input of assembly, and the facts about the
deployment that every step of it uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cutover.backend.config import TargetConfig
from cutover.backend.core.facts import Asg, Classic, Ec2, TargetGroup, TargetInfo
from cutover.backend.core.revisions import revision_label
from cutover.backend.model import (
    Alarm,
    DeploymentSummary,
    ListenerWeights,
    Preview,
    Series,
    Serving,
    Snapshot,
)


@dataclass(frozen=True)
class Reads:
    """Everything one snapshot read, parsed. `extra_tgs` / `extra_clbs` are load balancers
    outside the deployment group's own (where a hook-managed group's instances serve): they
    give health to the instances that serve in them and feed the leftovers check, but are not
    the group's target groups."""

    target: TargetConfig
    now: datetime
    account: str | None
    region: str | None
    endpoint_url: str | None
    group: dict
    style: str
    info: dict | None
    targets: list[TargetInfo]
    asgs: dict[str, Asg]
    group_asgs: list[str]
    ec2: dict[str, Ec2]
    tgs: list[TargetGroup]
    clbs: list[Classic]
    health: dict[str, list[dict] | None]
    listeners: list[ListenerWeights]
    alarms: list[Alarm] | None
    alarm_names: list[str]
    metrics: list[Series]
    previous: Snapshot | None
    notes: list[str]
    unread: list[str]
    extra_tgs: Sequence[TargetGroup] = ()
    extra_clbs: Sequence[Classic] = ()
    automatic: DeploymentSummary | None = None
    serving: list[Serving] | None = None
    last_good_revision: str | None = None  # the revision of the group's last success
    preview: Preview | None = None  # the target's preview target group, when it names one


@dataclass(frozen=True)
class Facts:
    """What the deployment is: its style, whether it rolls another back, its revisions."""

    blue_green: bool
    creator: str | None
    rollback_info: dict
    is_rollback: bool
    revision: str | None
    previous_revision: str | None


def facts(r: Reads) -> Facts:
    info = r.info or {}
    creator = r.info.get("creator") if r.info else None
    rollback_info = info.get("rollbackInfo") or {}
    return Facts(
        blue_green=r.style == "BLUE_GREEN",
        creator=creator,
        rollback_info=rollback_info,
        is_rollback=bool(r.info)
        and (
            creator == "codeDeployRollback"
            or bool(rollback_info.get("rollbackTriggeringDeploymentId"))
        ),
        revision=revision_label(info.get("revision")),
        previous_revision=revision_label(info.get("previousRevision")),
    )
