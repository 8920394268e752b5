"""The overview's rows from what was read: a deployment from BatchGetDeployments, a group
from BatchGetDeploymentGroups, a row filled in from its group's snapshot. Pure: no AWS call."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cutover.backend.model import (
    ACTIVE_STATUSES,
    EnvironmentHealth,
    OverviewDeployment,
    OverviewRow,
    Snapshot,
)

ROLLBACK_CREATOR = "codeDeployRollback"


@dataclass(frozen=True)
class GroupRecord:
    """A deployment group as the inventory read it."""

    application: str
    name: str
    style: str
    traffic_control: bool
    last: OverviewDeployment | None
    alarm_names: tuple[str, ...] = ()  # the alarms named on the group's configuration


def deployment_of(d: dict) -> OverviewDeployment:
    """A deployment from BatchGetDeployments (no phase derived: the status says it)."""
    status = d.get("status", "Unknown")
    rollback = d.get("creator") == ROLLBACK_CREATOR or bool(
        (d.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
    )
    return OverviewDeployment(
        id=d["deploymentId"],
        status=status,
        phase="rolling-back" if rollback and status in ACTIVE_STATUSES else status.lower(),
        create_time=d.get("createTime"),
        complete_time=d.get("completeTime"),
        rollback=rollback,
        error_code=(d.get("errorInformation") or {}).get("code"),
    )


def group_of(info: dict) -> GroupRecord:
    style = info.get("deploymentStyle") or {}
    last = info.get("lastAttemptedDeployment") or {}
    latest = None
    if last.get("deploymentId"):
        latest = OverviewDeployment(
            id=last["deploymentId"],
            status=last.get("status", "Unknown"),
            phase=str(last.get("status", "unknown")).lower(),
            create_time=last.get("createTime"),
            complete_time=last.get("endTime"),
        )
    return GroupRecord(
        application=info["applicationName"],
        name=info["deploymentGroupName"],
        style=style.get("deploymentType") or "IN_PLACE",
        traffic_control=style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL",
        last=latest,
        alarm_names=tuple(
            a["name"] for a in (info.get("alarmConfiguration") or {}).get("alarms") or []
        ),
    )


def with_snapshot(row: OverviewRow, snap: Snapshot) -> OverviewRow:
    d = snap.deployment
    dep = row.deployment
    if d is not None:
        dep = OverviewDeployment(
            id=d.id,
            status=d.status,
            phase=d.phase,
            create_time=d.create_time,
            complete_time=d.complete_time,
            waiting_for=d.waiting_for,
            deadline=d.deadline,
            rollback=bool(d.rollback_of) or (dep.rollback if dep and dep.id == d.id else False),
            error_code=d.error_code,
        )
    envs = [("original", snap.original), ("replacement", snap.replacement), ("fleet", snap.fleet)]
    return replace(
        row,
        deployment=dep,
        style=snap.style or row.style,
        traffic=snap.traffic,
        health=tuple(
            EnvironmentHealth(role, env.healthy_count, len(env.instances))
            for role, env in envs
            if env is not None
        ),
        alarms=tuple(a.name for a in snap.alarms if a.state == "ALARM"),
        leftovers=None if snap.leftovers is None else len(snap.leftovers),
        leftovers_note=snap.leftovers_note,
    )


def newer(dep: OverviewDeployment, than: OverviewDeployment | None) -> bool:
    if than is None:
        return True
    if dep.create_time is None or than.create_time is None:
        return dep.create_time is not None
    return dep.create_time > than.create_time
