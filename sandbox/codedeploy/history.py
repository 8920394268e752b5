"""Deployments that happened before the sandbox started, as scenarios and tests seed them: a
finished deployment with every event of its targets over, and the group pointing at it."""

from __future__ import annotations

from datetime import datetime

from cutover.common.lifecycle import ALLOW_EVENTS, INSTALL_EVENTS

from .diagnostics import (
    HEALTH_CONSTRAINTS_MESSAGE,
    MANUAL_STOP_MESSAGE,
    SUCCESS_DIAGNOSTICS,
    script_failure,
)
from .model import Deployment, DeploymentGroup, DeploymentTarget, LifecycleEvent
from .state import CodeDeploy


def default_revision(application: str, label: str) -> dict:
    """`s3://<application>-revisions/<application>/<label>.zip`."""
    return {
        "revisionType": "S3",
        "s3Location": {
            "bucket": f"{application.lower()}-revisions",
            "key": f"{application}/{label}.zip",
            "bundleType": "zip",
        },
    }


def record_outcome(
    cd: CodeDeploy, dep: Deployment, grp: DeploymentGroup, status: str, finished: datetime
) -> None:
    """Make `dep` (created, not yet registered) a deployment that ended with `status` at
    `finished`, over the group's current instances."""
    created = dep.created
    dep.status = status
    dep.phase = "done"
    dep.started = created
    dep.completed = finished
    for i, iid in enumerate(cd.group_instances(grp.spec)):
        dep.targets[iid] = _past_target(cd, dep, iid, i, status, finished)
    if status == "Failed":
        dep.error = {"code": "HEALTH_CONSTRAINTS", "message": HEALTH_CONSTRAINTS_MESSAGE}
    elif status == "Stopped":
        dep.error = {"code": "MANUAL_STOP", "message": MANUAL_STOP_MESSAGE}


def _past_target(
    cd: CodeDeploy, dep: Deployment, iid: str, index: int, status: str, finished: datetime
) -> DeploymentTarget:
    created = dep.created
    if dep.blue_green_style:
        names = INSTALL_EVENTS + ALLOW_EVENTS
        target = DeploymentTarget(iid, "Green", [LifecycleEvent(n) for n in names], finished)
    else:
        target = cd.in_place_target(dep, iid)
    # A failed or stopped deployment failed ValidateService on its first instance and
    # skipped the others.
    failing = status != "Succeeded" and index == 0
    skipped = status != "Succeeded" and index > 0
    for ev in target.events:
        if ev.status != "Pending":
            continue
        if skipped or target.status == "Failed":
            ev.status = "Skipped"
            continue
        ev.start, ev.end = created, finished
        if failing and ev.name == "ValidateService":
            ev.status, ev.diagnostics = "Failed", script_failure("ValidateService")
            target.status = "Failed"
        else:
            ev.status, ev.diagnostics = "Succeeded", dict(SUCCESS_DIAGNOSTICS)
    if target.status == "Pending":
        target.status = "Skipped" if skipped else "Succeeded"
    target.updated = finished
    return target


def point_group(cd: CodeDeploy, grp: DeploymentGroup, dep: Deployment) -> None:
    """The group's last attempted (and, when it succeeded, last successful) deployment is
    `dep` unless a newer one already is."""

    def newer(other: str | None) -> bool:
        return other is None or cd.deployments[other].created <= dep.created

    if newer(grp.last_attempted):
        grp.last_attempted = dep.id
        grp.target_revision = dep.revision
    if dep.status == "Succeeded" and newer(grp.last_successful):
        grp.last_successful = dep.id
