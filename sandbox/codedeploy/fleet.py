"""The fleets of a blue/green deployment: copying the original Auto Scaling group for the
replacement environment, moving the load balancer attachments between the groups, and
removing a fleet that is no longer needed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .endings import finish
from .launches import launch_hook_name, sync_launch_hooks
from .model import Deployment
from .state import AutoScalingApi, CodeDeploy, in_service


def copy_group(cd: CodeDeploy, dep: Deployment) -> bool:
    world = cd.world
    source = world.asgs.get(dep.original_asgs[0]) if dep.original_asgs else None
    if source is None:
        finish(
            cd,
            dep,
            "Failed",
            "AUTO_SCALING_CONFIGURATION",
            "The Auto Scaling group of the deployment group to copy for the replacement "
            "environment was not found.",
            rollback=False,
        )
        return False
    # "The number of currently healthy instances in the Amazon EC2 Auto Scaling group
    # you select is created in your replacement environment."
    serving = set(in_service(world, source))
    healthy = [
        m
        for m in source.members.values()
        if m.health_status == "Healthy" and m.instance_id in serving
    ]
    params: dict[str, Any] = {
        "AutoScalingGroupName": dep.copied_asg,
        "MinSize": min(source.min_size, len(healthy)),
        "MaxSize": max(source.max_size, len(healthy)),
        "DesiredCapacity": len(healthy),
        "AvailabilityZones": list(source.azs),
        "VPCZoneIdentifier": source.vpc_zone_identifier,
        "HealthCheckType": source.health_check_type,
        "HealthCheckGracePeriod": source.health_check_grace_period,
        "DefaultCooldown": source.default_cooldown,
        "TerminationPolicies": list(source.termination_policies),
        "NewInstancesProtectedFromScaleIn": source.new_instances_protected,
        "Tags": [
            {
                "Key": t["Key"],
                "Value": t.get("Value", ""),
                "PropagateAtLaunch": t.get("PropagateAtLaunch", True),
            }
            for t in source.tags
        ],
    }
    if source.launch_template:
        params["LaunchTemplate"] = {
            "LaunchTemplateId": source.launch_template["LaunchTemplateId"],
            "Version": source.launch_template.get("Version", "$Default"),
        }
    else:
        params["LaunchConfigurationName"] = source.launch_configuration_name or source.name
    _api(cd).create_auto_scaling_group(world, params)
    copy = world.asgs[dep.copied_asg or ""]
    # The copy launches what the original launches: same template, instance type and
    # application revision (the deployment installs the new one).
    copy.launch_template = dict(source.launch_template) if source.launch_template else None
    copy.instance_type = source.instance_type
    copy.revision = source.revision
    return True


def swap_attachments(cd: CodeDeploy, dep: Deployment, *, forward: bool) -> None:
    """Move the load balancer attachments from the original Auto Scaling groups to the
    replacement ones (or back), so scale-outs register where the traffic is, and point the
    deployment group at the groups that now serve."""
    world = cd.world
    grp = cd.groups.get((dep.application, dep.group))
    if forward:
        tgs: list[str] = []
        clbs: list[str] = []
        for name in dep.original_asgs:
            asg = world.asgs.get(name)
            if asg is not None:
                tgs += asg.target_group_arns
                clbs += asg.load_balancer_names
        dep.moved_tgs = list(dict.fromkeys(tgs))
        dep.moved_clbs = list(dict.fromkeys(clbs))
        sources, dests = dep.original_asgs, dep.replacement_asgs
    else:
        sources, dests = dep.replacement_asgs, dep.original_asgs
    if not dests:
        return
    for name in dests:
        if name not in world.asgs:
            continue
        if dep.moved_tgs:
            arns = [a for a in dep.moved_tgs if a in world.target_groups]
            _api(cd).attach_load_balancer_target_groups(
                world, {"AutoScalingGroupName": name, "TargetGroupARNs": arns}
            )
        if dep.moved_clbs:
            names = [n for n in dep.moved_clbs if n in world.classic_lbs]
            _api(cd).attach_load_balancers(
                world, {"AutoScalingGroupName": name, "LoadBalancerNames": names}
            )
        if forward:
            # Scale-outs of the new group launch what it now serves.
            world.asgs[name].revision = dep.label
    for name in sources:
        if name not in world.asgs:
            continue
        if dep.moved_tgs:
            _api(cd).detach_load_balancer_target_groups(
                world, {"AutoScalingGroupName": name, "TargetGroupARNs": dep.moved_tgs}
            )
        if dep.moved_clbs:
            _api(cd).detach_load_balancers(
                world, {"AutoScalingGroupName": name, "LoadBalancerNames": dep.moved_clbs}
            )
    dep.swapped = forward
    if grp is None:
        return
    before = grp.spec["autoScalingGroups"]
    if forward:
        # The groups that now serve become the deployment group's, with a new launch hook
        # each; the originals' hooks go.
        grp.spec["autoScalingGroups"] = [
            {"name": name, "hook": launch_hook_name(world, dep.group)} for name in dests
        ]
    else:
        grp.spec["autoScalingGroups"] = [dict(e) for e in dep.group_asgs_before]
    sync_launch_hooks(world, grp.id, before, grp.spec["autoScalingGroups"])


def gone(cd: CodeDeploy, instance_ids: list[str], asg_names: list[str]) -> bool:
    """Whether the instances are terminated and the groups deleted."""
    world = cd.world
    return all(
        (inst := world.instances.get(iid)) is None or inst.state == "terminated"
        for iid in instance_ids
    ) and not any(name in world.asgs for name in asg_names)


def remove_fleet(cd: CodeDeploy, asg_names: Iterable[str], instance_ids: Iterable[str]) -> None:
    """Delete the groups (their members terminate with them) and terminate the rest."""
    world = cd.world
    in_groups: set[str] = set()
    for name in asg_names:
        asg = world.asgs.get(name)
        if asg is None:
            continue
        in_groups.update(asg.members)
        _api(cd).delete_auto_scaling_group(
            world, {"AutoScalingGroupName": name, "ForceDelete": True}
        )
    for iid in instance_ids:
        inst = world.instances.get(iid)
        if inst is not None and iid not in in_groups:
            world.terminate_instance(inst, "User initiated")


def remove_replacements(cd: CodeDeploy, trigger: Deployment) -> None:
    remove_fleet(cd, trigger.replacement_asgs, trigger.replacements)
    grp = cd.groups.get((trigger.application, trigger.group))
    if grp is not None and not trigger.swapped:
        grp.spec["autoScalingGroups"] = [dict(e) for e in trigger.group_asgs_before]


def _api(cd: CodeDeploy) -> AutoScalingApi:
    if cd.autoscaling is None:
        raise RuntimeError("CodeDeploy has no Auto Scaling API to call")
    return cd.autoscaling
