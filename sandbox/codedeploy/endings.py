"""How deployments end: success, failure or stop, and the rollback deployment that may follow
a failure or stop."""

from __future__ import annotations

from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS

from .diagnostics import HEALTH_CONSTRAINTS_MESSAGE
from .launches import complete_launch
from .model import ROLLBACK_CREATOR, Deployment, DeploymentTarget, LifecycleEvent, clone
from .state import CodeDeploy, rollback_on


def succeed(cd: CodeDeploy, dep: Deployment) -> None:
    dep.stage = None
    dep.phase = "done"
    dep.status = "Succeeded"
    dep.completed = cd.world.now()
    complete_launch(cd, dep, "CONTINUE")
    grp = cd.groups.get((dep.application, dep.group))
    if grp is not None:
        grp.last_successful = dep.id
        if dep.launched_during and grp.spec.get("outdatedInstancesStrategy") != "IGNORE":
            grp.follow_on = (dep.id, list(dep.launched_during))
        if not dep.blue_green_style and not dep.automatic:
            # Instances the group launches later get the revision it now runs (CodeDeploy
            # deploys it to them through the Auto Scaling lifecycle hook).
            for entry in grp.spec.get("autoScalingGroups") or []:
                asg = cd.world.asgs.get(entry["name"])
                if asg is not None:
                    asg.revision = dep.label
    if dep.rollback_of:
        trigger = cd.deployments.get(dep.rollback_of)
        if trigger is not None and trigger.rollback_info is not None:
            trigger.rollback_info["rollbackMessage"] = (
                f"Deployment {trigger.id} was rolled back by {dep.id}"
            )


def failed(cd: CodeDeploy, dep: Deployment) -> None:
    finish(
        cd,
        dep,
        "Failed",
        "HEALTH_CONSTRAINTS",
        HEALTH_CONSTRAINTS_MESSAGE,
        rollback=rollback_on(dep, "DEPLOYMENT_FAILURE"),
    )


def finish(
    cd: CodeDeploy, dep: Deployment, status: str, code: str, message: str, *, rollback: bool
) -> None:
    """End an active deployment unsuccessfully, cutting short what is under way."""
    now = cd.world.elapsed()
    for t in dep.targets.values():
        if t.run is not None:
            t.run.cancel()
            t.run = None
            ev = t.events[t.segment[t.cursor]]
            ev.status = "Failed"
            ev.end = cd.at(now)
            ev.diagnostics = {
                "errorCode": "UnknownError",
                "scriptName": "",
                "message": f"The lifecycle event was cut short: {message}",
                "logTail": "",
            }
            t.status = "Failed"
            t.updated = ev.end
        elif t.status in ("Pending", "Ready", "InProgress"):
            t.status = "Skipped"
            t.updated = cd.at(now)
        for ev in t.events:
            if ev.status in ("Pending", "InProgress"):
                ev.status = "Skipped"
    dep.stage = None
    dep.phase = "done"
    dep.status = status
    dep.error = {"code": code, "message": message}
    dep.completed = cd.world.now()
    complete_launch(cd, dep, "ABANDON")
    if dep.rollback_of:
        trigger = cd.deployments.get(dep.rollback_of)
        if trigger is not None and trigger.rollback_info is not None:
            trigger.rollback_info["rollbackMessage"] = (
                f"The rollback of deployment {trigger.id} by {dep.id} did not succeed: {code}"
            )
        return
    if rollback:
        _roll_back(cd, dep)


def _roll_back(cd: CodeDeploy, dep: Deployment) -> None:
    grp = cd.groups.get((dep.application, dep.group))
    reason = None
    if grp is None:
        reason = "its deployment group no longer exists"
    elif dep.previous_revision is None:
        reason = "there is no previous successful revision to roll back to"
    elif dep.originals_terminated:
        reason = "the original instances were terminated"
    if reason is not None:
        dep.rollback_info = {
            "rollbackMessage": f"The deployment {dep.id} could not be rolled back because {reason}."
        }
        dep.status_messages.append(dep.rollback_info["rollbackMessage"])
        return
    assert grp is not None and dep.previous_revision is not None
    rb = cd.new_deployment(
        grp,
        revision=dep.previous_revision,
        config=dep.config,
        creator=ROLLBACK_CREATOR,
        auto_rollback=dep.auto_rollback,
        alarms=dep.alarms,
        ignore_stop_failures=dep.ignore_stop_failures,
        file_exists=dep.file_exists,
    )
    rb.style = dict(dep.style)
    rb.blue_green = clone(dep.blue_green)
    rb.lb_info = clone(dep.lb_info)
    rb.target_instances = clone(dep.target_instances)
    rb.min_type, rb.min_value = dep.min_type, dep.min_value
    rb.rollback_of = dep.id
    rb.rollback_info = {
        "rollbackTriggeringDeploymentId": dep.id,
        "rollbackMessage": f"Rollback of deployment {dep.id}",
    }
    dep.rollback_info = {
        "rollbackDeploymentId": rb.id,
        "rollbackMessage": f"Deployment {dep.id} is being rolled back by {rb.id}",
    }
    world = cd.world
    alive = [
        iid
        for iid in (dep.originals if dep.blue_green_style else list(dep.targets))
        if (inst := world.instances.get(iid)) is not None and inst.state in ("pending", "running")
    ]
    if dep.blue_green_style:
        rb.originals = alive
        rb.replacements = list(dep.replacements)
        for iid in alive:
            rb.targets[iid] = DeploymentTarget(
                iid, "Blue", [LifecycleEvent(n) for n in ALLOW_EVENTS], world.now()
            )
        # Dead replacement instances have nothing left to block; their group goes anyway.
        for iid in dep.replacements:
            inst = world.instances.get(iid)
            if inst is None or inst.state not in ("pending", "running"):
                continue
            rb.targets[iid] = DeploymentTarget(
                iid, "Green", [LifecycleEvent(n) for n in BLOCK_EVENTS], world.now()
            )
    else:
        rb.originals = alive
        for iid in alive:
            rb.targets[iid] = cd.in_place_target(rb, iid)
    cd.start_deployment(rb)
