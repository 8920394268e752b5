"""Changing Auto Scaling groups: their definition, size, processes and tags, and deleting them.

The reconciler (`autoscaling.reconcile`) acts on what these change: it launches and
terminates to meet the new desired capacity, and terminates the members of a deleted group.
"""

from __future__ import annotations

from cutover.common.autoscaling import PROCESSES as ASG_PROCESSES
from cutover.sandbox.world.asg_config import (
    GroupSettings,
    azs_of_subnets,
    check_azs,
    check_health_check_type,
    check_sizes,
    group,
    invalid,
    launch_template_spec,
    require,
    tags_in,
)
from cutover.sandbox.world.groups import AutoScalingGroup
from cutover.sandbox.world.model import WorldError
from cutover.sandbox.world.state import State


def _new_sizes(asg: AutoScalingGroup, s: GroupSettings) -> tuple[int, int, int]:
    min_size = asg.min_size if s.min_size is None else int(s.min_size)
    max_size = asg.max_size if s.max_size is None else int(s.max_size)
    desired = s.desired
    check_sizes(min_size, max_size, None if desired is None else int(desired))
    if desired is None:
        desired = asg.desired
        if s.min_size is not None:
            desired = max(desired, min_size)
        if s.max_size is not None:
            desired = min(desired, max_size)
    return min_size, max_size, int(desired)


def update_group(world: State, asg: AutoScalingGroup, s: GroupSettings) -> None:
    """Change a group's definition. A new MinSize above the desired capacity raises it, a new
    MaxSize below it lowers it (when DesiredCapacity is not given), as in AWS."""
    sizes = _new_sizes(asg, s)
    # Validate everything before changing anything: a failed call leaves the group as it was.
    launch_template = launch_configuration = None
    if s.launch_template:
        launch_template = launch_template_spec(s.launch_template)
    elif s.mixed_instances_policy:
        lt = s.mixed_instances_policy.get("LaunchTemplate") or {}
        launch_template = launch_template_spec(lt.get("LaunchTemplateSpecification") or {})
    elif s.launch_configuration:
        launch_configuration = s.launch_configuration
    azs, vpc_zone_identifier = None, None
    if s.vpc_zone_identifier:
        vpc_zone_identifier = s.vpc_zone_identifier
        azs = azs_of_subnets(world, vpc_zone_identifier)
    elif s.availability_zones:
        azs = check_azs(world, s.availability_zones)
        vpc_zone_identifier = ",".join(world.subnet_for(az) for az in azs)
    if s.health_check_type is not None:
        check_health_check_type(s.health_check_type)

    asg.min_size, asg.max_size, asg.desired = sizes
    if launch_template is not None:
        asg.launch_template, asg.launch_configuration_name = launch_template, None
    if launch_configuration is not None:
        asg.launch_template, asg.launch_configuration_name = None, launch_configuration
    if azs is not None and vpc_zone_identifier is not None:
        asg.azs, asg.vpc_zone_identifier = azs, vpc_zone_identifier
    if s.health_check_type is not None:
        asg.health_check_type = s.health_check_type
    if s.health_check_grace_period is not None:
        asg.health_check_grace_period = int(s.health_check_grace_period)
    if s.default_cooldown is not None:
        asg.default_cooldown = int(s.default_cooldown)
    if s.termination_policies:
        asg.termination_policies = list(s.termination_policies)
    if s.new_instances_protected is not None:
        asg.new_instances_protected = bool(s.new_instances_protected)


def set_desired(asg: AutoScalingGroup, desired: int) -> None:
    """Set the desired capacity within [MinSize, MaxSize]."""
    if desired > asg.max_size:
        raise invalid(
            f"New SetDesiredCapacity value {desired} is above max value {asg.max_size} for the "
            "AutoScalingGroup."
        )
    if desired < asg.min_size:
        raise invalid(
            f"New SetDesiredCapacity value {desired} is below min value {asg.min_size} for the "
            "AutoScalingGroup."
        )
    asg.desired = desired


def delete_group(world: State, asg: AutoScalingGroup, force: bool) -> None:
    """Delete a group. Without `force` a group with members (or launches under way) is
    refused; with it the group reads `Delete in progress` until the reconciler has terminated
    every member, then disappears."""
    if not force:
        settled = ("InService", "Standby")
        busy = [m for m in asg.members.values() if m.lifecycle_state not in settled]
        launching = not asg.members and asg.desired > 0 and "Launch" not in asg.suspended
        if busy or launching:
            raise WorldError(
                "ScalingActivityInProgress",
                "You cannot delete an AutoScalingGroup while there are scaling activities in "
                "progress for that group.",
            )
        if asg.members:
            raise WorldError(
                "ResourceInUse",
                "You cannot delete an AutoScalingGroup while there are instances still in the "
                "group.",
            )
    if not asg.members:
        del world.asgs[asg.name]
        return
    asg.deleting = True
    asg.min_size = asg.max_size = asg.desired = 0


# ----- processes -------------------------------------------------------------------------------


def _processes(names: list[str] | None) -> list[str]:
    names = list(names or ASG_PROCESSES)
    for name in names:
        if name not in ASG_PROCESSES:
            raise invalid(
                f"Invalid scaling process name: {name}. Valid processes are: "
                + ", ".join(ASG_PROCESSES)
            )
    return names


def suspend_processes(world: State, asg: AutoScalingGroup, names: list[str] | None) -> None:
    """Suspend the named processes (all of them when none are named)."""
    reason = f"User suspended at {world.now():%Y-%m-%dT%H:%M:%SZ}"
    for name in _processes(names):
        asg.suspended.setdefault(name, reason)


def resume_processes(asg: AutoScalingGroup, names: list[str] | None) -> None:
    """Resume the named processes (all of them when none are named)."""
    for name in _processes(names):
        asg.suspended.pop(name, None)


# ----- tags ------------------------------------------------------------------------------------


def _tags_by_group(world: State, tags: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for tag in tags:
        require(tag, "ResourceId", "Key")
        asg = group(world, tag["ResourceId"])
        out.setdefault(asg.name, []).append(tag)
    return out


def put_tags(world: State, tags: list[dict]) -> None:
    """Add or overwrite group tags. PropagateAtLaunch affects instances launched later."""
    for name, given in _tags_by_group(world, tags).items():
        asg = world.asgs[name]
        new = tags_in(given, name)
        keys = {t["Key"] for t in new}
        asg.tags = [t for t in asg.tags if t["Key"] not in keys] + new


def delete_tags(world: State, tags: list[dict]) -> None:
    """Remove group tags by key."""
    for name, given in _tags_by_group(world, tags).items():
        asg = world.asgs[name]
        keys = {t["Key"] for t in given}
        asg.tags = [t for t in asg.tags if t["Key"] not in keys]
