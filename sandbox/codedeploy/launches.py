"""Auto Scaling's launches: the launch lifecycle hook CodeDeploy puts on a deployment group's
Auto Scaling groups, the deployment to each instance launched into one, and the follow-on
deployment to instances launched while the group's own deployment ran."""

from __future__ import annotations

from cutover.sandbox.world import (
    LAUNCHING,
    AsgMember,
    AutoScalingGroup,
    LifecycleAction,
    LifecycleHook,
    World,
)
from cutover.sandbox.world import autoscaling as asg_rules

from .model import (
    AUTO_UPDATE_CREATOR,
    AUTOSCALING_CREATOR,
    LAUNCH_HOOK_HEARTBEAT,
    Deployment,
    DeploymentGroup,
    clone,
)
from .state import CodeDeploy


def launch_hook_name(world: World, group: str) -> str:
    """The name CodeDeploy gives the launch lifecycle hook it puts on a group's ASG."""
    return f"CodeDeploy-managed-automatic-launch-deployment-hook-{group}-{world.new_uuid()}"


def sync_launch_hooks(world: World, group_id: str, before: list[dict], after: list[dict]) -> None:
    """Make the Auto Scaling groups carry the launch hooks a deployment group's
    `autoScalingGroups` entries name: remove those of `before` that `after` no longer has,
    install those of `after` (DefaultResult ABANDON, HeartbeatTimeout 600, the deployment
    group's id as NotificationMetadata)."""
    keep = {(e["name"], e.get("hook")) for e in after}
    for entry in before:
        asg = world.asgs.get(entry["name"])
        if asg is not None and (entry["name"], entry.get("hook")) not in keep:
            asg.lifecycle_hooks.pop(entry.get("hook") or "", None)
    for entry in after:
        asg = world.asgs.get(entry["name"])
        hook = entry.get("hook")
        if asg is not None and hook and hook not in asg.lifecycle_hooks:
            asg.lifecycle_hooks[hook] = LifecycleHook(
                name=hook,
                transition=LAUNCHING,
                default_result="ABANDON",
                heartbeat_timeout=LAUNCH_HOOK_HEARTBEAT,
                metadata=group_id,
            )


def start_launch_deployments(cd: CodeDeploy) -> None:
    """One autoscaling deployment for each instance waiting on a group's launch hook."""
    world = cd.world
    for grp in list(cd.groups.values()):
        for entry in grp.spec.get("autoScalingGroups") or []:
            asg = world.asgs.get(entry["name"])
            hook = entry.get("hook")
            if asg is None or hook not in asg.lifecycle_hooks:
                continue
            for member in list(asg.members.values()):
                action = member.launch_actions.get(hook)
                if (
                    member.lifecycle_state == "Pending:Wait"
                    and action is not None
                    and action.result is None
                    and action.token not in cd.launches
                ):
                    _launch_deployment(cd, grp, asg, member, action)


def _launch_deployment(
    cd: CodeDeploy,
    grp: DeploymentGroup,
    asg: AutoScalingGroup,
    member: AsgMember,
    action: LifecycleAction,
) -> None:
    """Deploy the group's last successful revision to a launching instance ("CodeDeploy
    ... starts to deploy your application to the new EC2 instance using the last
    successful revision"). Without one there is nothing to install: the launch goes on."""
    world = cd.world
    iid = member.instance_id
    last = cd.deployments.get(grp.last_successful or "")
    if last is None:
        cd.launches[action.token] = None
        asg_rules.complete_lifecycle_action(world, asg, member, action.hook, "CONTINUE")
        return
    dep = cd.new_deployment(
        grp,
        revision=last.revision,
        config=grp.spec["deploymentConfigName"],
        creator=AUTOSCALING_CREATOR,
        auto_rollback={"enabled": False, "events": []},
    )
    # The instance is not in any load balancer yet (Auto Scaling adds it once InService):
    # the deployment installs the revision and nothing more.
    dep.style = {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}
    dep.blue_green = dep.lb_info = None
    dep.launch = (asg.name, action.hook, iid)
    dep.originals = [iid]
    dep.targets[iid] = cd.in_place_target(dep, iid)
    cd.launches[action.token] = dep.id
    cd.deployments[dep.id] = dep
    grp.last_attempted = dep.id
    cd.note_revision_use(grp, dep.revision, dep.created)
    # Launched while another revision is being deployed: updated once that one succeeds.
    running = cd.active_deployment(grp.application, grp.name)
    if running is not None and running.label != dep.label:
        running.launched_during.append(iid)


def heartbeat(cd: CodeDeploy, dep: Deployment, now: float) -> None:
    """CodeDeploy keeps the launch waiting while the deployment runs."""
    asg_name, hook, iid = dep.launch or ("", "", "")
    asg = cd.world.asgs.get(asg_name)
    member = asg.members.get(iid) if asg else None
    action = member.launch_actions.get(hook) if member else None
    if asg is not None and action is not None and hook in asg.lifecycle_hooks:
        action.deadline = now + asg.lifecycle_hooks[hook].heartbeat_timeout


def complete_launch(cd: CodeDeploy, dep: Deployment, result: str) -> None:
    """CONTINUE the launch when its deployment succeeded, ABANDON it otherwise (Auto
    Scaling then terminates the instance and launches another)."""
    if dep.launch is None:
        return
    asg_name, hook, iid = dep.launch
    asg = cd.world.asgs.get(asg_name)
    member = asg.members.get(iid) if asg else None
    if asg is not None and member is not None:
        asg_rules.complete_lifecycle_action(cd.world, asg, member, hook, result)


def start_follow_on(cd: CodeDeploy, grp: DeploymentGroup) -> None:
    """Update instances launched during a deployment that succeeded, once their own
    deployments are over: CodeDeploy's follow-on deployment (creator
    CodeDeployAutoUpdate) of the revision they missed, to them only."""
    did, ids = grp.follow_on or ("", [])
    if any(d.active and d.launch and d.launch[2] in ids for d in cd.deployments.values()):
        return
    grp.follow_on = None
    source = cd.deployments.get(did)
    if source is None or cd.active_deployment(grp.application, grp.name) is not None:
        return
    world = cd.world
    outdated = [
        i
        for i in cd.group_instances(grp.spec)
        if i in ids and world.instances[i].revision != source.label
    ]
    if not outdated:
        return
    dep = cd.new_deployment(
        grp,
        revision=source.revision,
        config=source.config,
        creator=AUTO_UPDATE_CREATOR,
        auto_rollback={"enabled": False, "events": []},
        update_outdated_only=True,
    )
    lb = grp.spec.get("loadBalancerInfo") or {}
    traffic = bool(lb.get("targetGroupInfoList") or lb.get("elbInfoList"))
    dep.style = {
        "deploymentType": "IN_PLACE",
        "deploymentOption": "WITH_TRAFFIC_CONTROL" if traffic else "WITHOUT_TRAFFIC_CONTROL",
    }
    dep.blue_green = None
    dep.lb_info = clone(lb) if traffic else None
    dep.originals = outdated
    for iid in outdated:
        dep.targets[iid] = cd.in_place_target(dep, iid)
    cd.deployments[dep.id] = dep
    grp.last_attempted = dep.id
    cd.note_revision_use(grp, dep.revision, dep.created)
