"""What users do to an Auto Scaling group's members and load balancers.

Attaching and detaching load balancers, standby, termination, scale-in protection and
lifecycle hooks. Each function checks the whole request before changing anything, and
answers the scaling activities it started; `autoscaling.reconcile` finishes the moves.
"""

from __future__ import annotations

from cutover.sandbox.world import autoscaling as asg_rules
from cutover.sandbox.world.asg_config import (
    check_load_balancers,
    check_target_groups,
    group,
    invalid,
)
from cutover.sandbox.world.groups import (
    LAUNCHING,
    TERMINATING,
    Activity,
    AsgMember,
    AutoScalingGroup,
    LifecycleHook,
)
from cutover.sandbox.world.model import WorldError
from cutover.sandbox.world.state import State

# Members that are part of the group's capacity, the only ones a user may move to standby,
# protect, or count when the group's size changes.
COUNTED = ("Pending", "InService")
MAX_HOOKS = 50  # lifecycle hooks per group


# ----- load balancers --------------------------------------------------------------------------


def _in_service(asg: AutoScalingGroup) -> list[str]:
    return [m.instance_id for m in asg.members.values() if m.lifecycle_state == "InService"]


def attach_target_groups(world: State, asg: AutoScalingGroup, arns: list[str]) -> None:
    """Attach target groups; InService members are registered with them at once (unless
    AddToLoadBalancer is suspended), later members when they come InService."""
    for arn in check_target_groups(world, arns):
        if arn in asg.target_group_arns:
            continue
        asg.target_group_arns.append(arn)
        if "AddToLoadBalancer" not in asg.suspended:
            tg = world.target_groups[arn]
            for iid in _in_service(asg):
                if (iid, tg.port) not in tg.targets:
                    world.register(tg, iid)


def detach_target_groups(world: State, asg: AutoScalingGroup, arns: list[str]) -> None:
    """Detach target groups; the group's members are deregistered from them and drain."""
    for arn in arns:
        if arn not in asg.target_group_arns:
            continue
        asg.target_group_arns.remove(arn)
        tg = world.target_groups.get(arn)
        if tg is None:
            continue
        for target in list(tg.targets.values()):
            if target.id in asg.members:
                world.deregister(tg, target.id, target.port)


def attach_classic(world: State, asg: AutoScalingGroup, names: list[str]) -> None:
    """Attach classic load balancers; InService members are registered at once."""
    for name in check_load_balancers(world, names):
        if name in asg.load_balancer_names:
            continue
        asg.load_balancer_names.append(name)
        if "AddToLoadBalancer" not in asg.suspended:
            for iid in _in_service(asg):
                world.register_classic(world.classic_lbs[name], iid)


def detach_classic(world: State, asg: AutoScalingGroup, names: list[str]) -> None:
    """Detach classic load balancers; the group's members are deregistered and drain."""
    for name in names:
        if name not in asg.load_balancer_names:
            continue
        asg.load_balancer_names.remove(name)
        clb = world.classic_lbs.get(name)
        if clb is None:
            continue
        for iid in list(clb.instances):
            if iid in asg.members:
                world.deregister_classic(clb, iid)


# ----- members ---------------------------------------------------------------------------------


def members(asg: AutoScalingGroup, ids: list[str] | None) -> list[AsgMember]:
    """The named members, each once; every one must belong to the group."""
    if not ids:
        raise invalid(
            "1 validation error detected: Value null at 'instanceIds' failed to satisfy "
            "constraint: Member must not be null"
        )
    out = []
    for iid in dict.fromkeys(ids):
        member = asg.members.get(iid)
        if member is None:
            raise invalid(f"The instance {iid} is not part of Auto Scaling group {asg.name}.")
        out.append(member)
    return out


def _sizes_text(asg: AutoScalingGroup) -> str:
    return (
        f"AutoScalingGroup {asg.name} has min-size={asg.min_size}, max-size={asg.max_size}, "
        f"and desired-size={asg.desired}."
    )


def enter_standby(
    world: State, asg: AutoScalingGroup, ids: list[str] | None, decrement: bool
) -> list[Activity]:
    """Move InService members to EnteringStandby and deregister them from the group's load
    balancers; they become Standby once drained. Without `decrement` the group launches
    replacements, since standby members are not part of its capacity."""
    chosen = members(asg, ids)
    for member in chosen:
        if member.lifecycle_state != "InService":
            raise invalid(f"The instance {member.instance_id} is not in InService.")
    if decrement and asg.desired - len(chosen) < asg.min_size:
        raise invalid(
            f"{_sizes_text(asg)} To place into standby {len(chosen)} instances, please update "
            "the AutoScalingGroup sizes appropriately."
        )
    activities = []
    for member in chosen:
        cause = f"instance {member.instance_id} was moved to standby in response to a user request"
        if decrement:
            cause += f", shrinking the capacity from {asg.desired} to {asg.desired - 1}"
            asg.desired -= 1
        member.lifecycle_state = "EnteringStandby"
        asg_rules.detach_from_load_balancers(world, asg, member.instance_id)
        activities.append(
            asg_rules.activity(
                world, asg, f"Moving EC2 instance to Standby: {member.instance_id}", cause + "."
            )
        )
    return activities


def exit_standby(world: State, asg: AutoScalingGroup, ids: list[str] | None) -> list[Activity]:
    """Move Standby members back to Pending, raising desired capacity by one each (refused
    above MaxSize); the reconciler puts them InService and registers them with the group's
    load balancers."""
    chosen = members(asg, ids)
    for member in chosen:
        if member.lifecycle_state != "Standby":
            raise invalid(f"The instance {member.instance_id} is not in Standby.")
    if asg.desired + len(chosen) > asg.max_size:
        raise invalid(
            f"{_sizes_text(asg)} To exit standby {len(chosen)} instances, please update the "
            "AutoScalingGroup sizes appropriately."
        )
    activities = []
    for member in chosen:
        cause = (
            f"instance {member.instance_id} was moved out of standby in response to a user "
            f"request, increasing the capacity from {asg.desired} to {asg.desired + 1}."
        )
        asg.desired += 1
        member.lifecycle_state = "Pending"
        description = f"Moving EC2 instance out of Standby: {member.instance_id}"
        activities.append(asg_rules.activity(world, asg, description, cause))
    return activities


def _managed(
    world: State, ids: list[str], wanted: str | None
) -> list[tuple[AutoScalingGroup, AsgMember]]:
    found: list[tuple[AutoScalingGroup, AsgMember]] = []
    for iid in dict.fromkeys(ids):
        hit = next(
            (
                (asg, asg.members[iid])
                for asg in world.asgs.values()
                if iid in asg.members and (not wanted or asg.name == wanted)
            ),
            None,
        )
        if hit is None:
            raise invalid(
                f"Instance Id not found - No managed instance found for instance ID: {iid}"
            )
        if hit[1].lifecycle_state.startswith("Terminat"):
            raise WorldError(
                "ScalingActivityInProgress", f"The instance {iid} is already being terminated."
            )
        found.append(hit)
    return found


def _check_min_sizes(world: State, found: list[tuple[AutoScalingGroup, AsgMember]]) -> None:
    shrink: dict[str, int] = {}
    for asg, member in found:
        if member.lifecycle_state in COUNTED:
            shrink[asg.name] = shrink.get(asg.name, 0) + 1
    for name, count in shrink.items():
        asg = world.asgs[name]
        if asg.desired - count < asg.min_size:
            raise invalid(
                f"Currently, desiredSize equals minSize ({asg.min_size}). Terminating "
                "instance without replacement will violate group's min size constraint. "
                "Either set shouldDecrementDesiredCapacity flag to false or lower group's "
                "min size."
            )


def terminate_members(
    world: State, ids: list[str], wanted: str | None, decrement: bool
) -> list[Activity]:
    """Terminate members (of the group named `wanted`, or of any); with `decrement` their
    groups shrink (refused below MinSize), else the reconciler launches replacements."""
    found = _managed(world, ids, wanted)
    if decrement:
        _check_min_sizes(world, found)
    activities = []
    for asg, member in found:
        cause = (
            f"instance {member.instance_id} was taken out of service in response to a user request"
        )
        if decrement and member.lifecycle_state in COUNTED:
            cause += f", shrinking the capacity from {asg.desired} to {asg.desired - 1}"
            asg.desired -= 1
        activities.append(asg_rules.begin_member_termination(world, asg, member, cause + "."))
    return activities


def set_protection(asg: AutoScalingGroup, ids: list[str], protected: bool) -> None:
    """Protect members from scale-in (or lift the protection)."""
    for member in members(asg, ids):
        member.protected = protected


# ----- lifecycle hooks -------------------------------------------------------------------------


def put_hook(
    asg: AutoScalingGroup,
    name: str,
    *,
    transition: str | None,
    default_result: str | None,
    heartbeat_timeout: int | None,
    notification_target_arn: str | None,
    role_arn: str | None,
    metadata: str | None,
) -> None:
    """Create or replace a hook; what is not given (None) keeps its old value, or the default.
    A launch hook holds instances launched from now on in Pending:Wait until every hook's
    action is completed (or times out)."""
    old = asg.lifecycle_hooks.get(name)
    transition = transition or (old.transition if old else None)
    if transition not in (LAUNCHING, TERMINATING):
        raise invalid(
            f"Invalid Lifecycle Transition: {transition}. Valid transitions are {LAUNCHING} "
            f"and {TERMINATING}"
        )
    result = default_result or (old.default_result if old else "ABANDON")
    if result not in ("CONTINUE", "ABANDON"):
        raise invalid(f"Invalid DefaultResult: {result}. Valid values are CONTINUE and ABANDON")
    timeout = heartbeat_timeout
    timeout = int(timeout) if timeout is not None else (old.heartbeat_timeout if old else 3600)
    if not 30 <= timeout <= 7200:
        raise invalid(f"Heartbeat timeout {timeout} must be between 30 and 7200 seconds inclusive.")
    if old is None and len(asg.lifecycle_hooks) >= MAX_HOOKS:
        raise WorldError(
            "LimitExceeded",
            f"Auto Scaling group {asg.name} already has {MAX_HOOKS} lifecycle hooks.",
        )
    asg.lifecycle_hooks[name] = LifecycleHook(
        name=name,
        transition=transition,
        default_result=result,
        heartbeat_timeout=timeout,
        notification_target_arn=notification_target_arn,
        role_arn=role_arn,
        metadata=metadata,
    )


def delete_hook(asg: AutoScalingGroup, name: str) -> None:
    """Delete a hook; instances waiting on it are abandoned (launch) by the reconciler."""
    if asg.lifecycle_hooks.pop(name, None) is None:
        raise invalid(f"No Lifecycle Hook found with name {name} for group {asg.name}")


def waiting(
    world: State, group_name: str, hook: str, token: str | None, iid: str | None
) -> tuple[AutoScalingGroup, AsgMember]:
    """The member a lifecycle action call names, by InstanceId or LifecycleActionToken."""
    asg = group(world, group_name)
    for member in asg.members.values():
        action = member.launch_actions.get(hook)
        if (
            member.lifecycle_state == "Pending:Wait"
            and action is not None
            and action.result is None
            and (member.instance_id == iid or (token and action.token == token))
        ):
            return asg, member
    what = f"instance ID {iid}" if iid else f"token {token}"
    raise invalid(f"No active Lifecycle Action found with {what}")


def check_action_result(result: str) -> None:
    """A lifecycle action ends with CONTINUE or ABANDON, nothing else."""
    if result not in ("CONTINUE", "ABANDON"):
        raise invalid(f"Invalid LifecycleActionResult: {result}")


def record_heartbeat(world: State, asg: AutoScalingGroup, member: AsgMember, hook: str) -> None:
    """Restart a waiting launch's heartbeat timeout."""
    action = member.launch_actions[hook]
    rule = asg.lifecycle_hooks.get(action.hook)
    if rule is not None:
        action.deadline = world.elapsed() + rule.heartbeat_timeout
