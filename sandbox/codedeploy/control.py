"""ContinueDeployment and StopDeployment: what a user's request does to a running
deployment."""

from __future__ import annotations

from cutover.common.lifecycle import FINISHED_STATUSES
from cutover.sandbox.world import WorldError

from .diagnostics import MANUAL_STOP_MESSAGE, STOP_STATUS_MESSAGE
from .endings import finish
from .model import Deployment
from .phases import advance, begin_allow
from .state import CodeDeploy, on_instances, rollback_on


def continue_deployment(cd: CodeDeploy, dep: Deployment, wait_type: str) -> None:
    """ContinueDeployment: READY_WAIT starts the reroute of a Ready deployment;
    TERMINATION_WAIT ends the wait before the originals are terminated."""
    if dep.status in FINISHED_STATUSES:
        raise WorldError(
            "DeploymentAlreadyCompletedException",
            f"The deployment {dep.id} has already completed.",
        )
    if not dep.blue_green_style:
        raise WorldError(
            "UnsupportedActionForDeploymentTypeException",
            "This action is only available for blue/green deployments.",
        )
    now = cd.world.elapsed()
    if wait_type == "READY_WAIT":
        if dep.status != "Ready" or dep.phase != "ready":
            raise WorldError(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {dep.id} is not in the Ready state and cannot be continued.",
            )
        dep.status = "InProgress"
        begin_allow(cd, dep, now)
        dep.phase = "allow"
    else:
        if dep.phase != "termination_wait":
            raise WorldError(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {dep.id} is not waiting to terminate the original instances.",
            )
        dep.deadline = now
    advance(cd, dep, now)


def stop_deployment(cd: CodeDeploy, dep: Deployment, auto_rollback: bool | None) -> dict:
    """StopDeployment. With no lifecycle event running on an instance the deployment is
    Stopped (MANUAL_STOP) at once and the answer is Succeeded; otherwise the answer is
    Pending and the deployment stays active until those events end (at most
    `stop_grace`), starting no new ones. With rollback (asked for, or
    DEPLOYMENT_STOP_ON_REQUEST when not refused) a rollback deployment follows the stop.
    Asked again once a stop has ended the deployment, the answer is Succeeded."""
    if dep.status in FINISHED_STATUSES:
        if dep.stopped_on_request:
            return {"status": "Succeeded", "statusMessage": STOP_STATUS_MESSAGE}
        raise WorldError(
            "DeploymentAlreadyCompletedException",
            f"The deployment {dep.id} has already completed.",
        )
    if dep.stop_rollback is not None:
        return {"status": "Pending", "statusMessage": STOP_STATUS_MESSAGE}
    if auto_rollback is None:
        auto_rollback = rollback_on(dep, "DEPLOYMENT_STOP_ON_REQUEST")
    dep.stopped_on_request = True
    if not on_instances(dep):
        finish(cd, dep, "Stopped", "MANUAL_STOP", MANUAL_STOP_MESSAGE, rollback=auto_rollback)
        return {"status": "Succeeded", "statusMessage": STOP_STATUS_MESSAGE}
    dep.stop_rollback = auto_rollback
    dep.stop_deadline = cd.world.elapsed() + cd.floor(cd.settings.stop_grace)
    return {"status": "Pending", "statusMessage": STOP_STATUS_MESSAGE}
