"""The fleets of a blue/green deployment: copying the original Auto Scaling group for the
replacement environment, moving the load balancer attachments between the groups, and
removing a fleet that is no longer needed."""

from __future__ import annotations

from collections.abc import Iterable

from cutover.sandbox.world import asg_changes, asg_config, asg_members
from cutover.sandbox.world.asg_config import GroupSettings

from .endings import finish
from .launches import launch_hook_name, sync_launch_hooks
from .model import Deployment
from .state import CodeDeploy, in_service


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
    settings = GroupSettings(
        min_size=min(source.min_size, len(healthy)),
        max_size=max(source.max_size, len(healthy)),
        desired=len(healthy),
        availability_zones=list(source.azs),
        vpc_zone_identifier=source.vpc_zone_identifier,
        health_check_type=source.health_check_type,
        health_check_grace_period=source.health_check_grace_period,
        default_cooldown=source.default_cooldown,
        termination_policies=list(source.termination_policies),
        new_instances_protected=source.new_instances_protected,
        tags=[
            {
                "Key": t["Key"],
                "Value": t.get("Value", ""),
                "PropagateAtLaunch": t.get("PropagateAtLaunch", True),
            }
            for t in source.tags
        ],
    )
    if source.launch_template:
        settings.launch_template = {
            "LaunchTemplateId": source.launch_template["LaunchTemplateId"],
            "Version": source.launch_template.get("Version", "$Default"),
        }
    else:
        settings.launch_configuration = source.launch_configuration_name or source.name
    asg_config.create_group(world, dep.copied_asg or "", settings)
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
            asg_members.attach_target_groups(world, world.asgs[name], arns)
        if dep.moved_clbs:
            names = [n for n in dep.moved_clbs if n in world.classic_lbs]
            asg_members.attach_classic(world, world.asgs[name], names)
        if forward:
            # Scale-outs of the new group launch what it now serves.
            world.asgs[name].revision = dep.label
    for name in sources:
        if name not in world.asgs:
            continue
        if dep.moved_tgs:
            asg_members.detach_target_groups(world, world.asgs[name], dep.moved_tgs)
        if dep.moved_clbs:
            asg_members.detach_classic(world, world.asgs[name], dep.moved_clbs)
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
        asg_changes.delete_group(world, asg, True)
    for iid in instance_ids:
        inst = world.instances.get(iid)
        if inst is not None and iid not in in_groups:
            world.terminate_instance(inst, "User initiated")


def remove_replacements(cd: CodeDeploy, trigger: Deployment) -> None:
    remove_fleet(cd, trigger.replacement_asgs, trigger.replacements)
    grp = cd.groups.get((trigger.application, trigger.group))
    if grp is not None and not trigger.swapped:
        grp.spec["autoScalingGroups"] = [dict(e) for e in trigger.group_asgs_before]
