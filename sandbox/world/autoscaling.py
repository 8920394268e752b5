"""Auto Scaling's rules over the world: what a group does by itself, tick after tick.

A group launches and terminates to meet its desired capacity, registers a member with its
load balancers once the member is InService (after any launch lifecycle hook let it go on),
and lets a member go (standby, detach, termination) only once it has drained out of them.
The API handlers (services/autoscaling.py) and CodeDeploy call these functions under the
world lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cutover.sandbox.world.groups import (
    LAUNCHING,
    Activity,
    AsgMember,
    AutoScalingGroup,
    LifecycleAction,
)
from cutover.sandbox.world.model import Instance
from cutover.sandbox.world.state import State

# Members that still belong to a group being deleted and must be terminated first.
_LEFT_BEHIND = ("InService", "Pending", "Pending:Wait", "Standby", "EnteringStandby")


def activity(world: State, asg: AutoScalingGroup, description: str, cause: str) -> Activity:
    """Record a scaling activity (finished at once); the last 500 are kept."""
    act = Activity(
        id=world.new_uuid(),
        asg_name=asg.name,
        description=description,
        cause=f"At {world.now():%Y-%m-%dT%H:%M:%SZ} {cause}",
        start=world.now(),
        end=world.now(),
    )
    world.activities.append(act)
    del world.activities[:-500]
    return act


# ----- a member and the group's load balancers -------------------------------------------------


def attach_to_load_balancers(world: State, asg: AutoScalingGroup, instance_id: str) -> None:
    """Register a member with every target group and Classic Load Balancer of its group."""
    for arn in asg.target_group_arns:
        tg = world.target_groups.get(arn)
        if tg is not None and (instance_id, tg.port) not in tg.targets:
            world.register(tg, instance_id)
    for name in asg.load_balancer_names:
        clb = world.classic_lbs.get(name)
        if clb is not None:
            world.register_classic(clb, instance_id)


def detach_from_load_balancers(world: State, asg: AutoScalingGroup, instance_id: str) -> None:
    """Deregister a member from its group's load balancers; it drains out of them."""
    for arn in asg.target_group_arns:
        tg = world.target_groups.get(arn)
        if tg is not None:
            for target in list(tg.targets.values()):
                if target.id == instance_id:
                    world.deregister(tg, instance_id, target.port)
    for name in asg.load_balancer_names:
        clb = world.classic_lbs.get(name)
        if clb is not None:
            world.deregister_classic(clb, instance_id)


# ----- launching -------------------------------------------------------------------------------


def launch_into(world: State, asg: AutoScalingGroup, cause: str) -> None:
    """Launch one instance into the group's emptiest Availability Zone. It waits on every
    launch hook the group has now."""
    counts = {az: 0 for az in asg.azs}
    for m in asg.counted():
        counts[m.az] = counts.get(m.az, 0) + 1
    az = min(asg.azs, key=lambda a: (counts.get(a, 0), asg.azs.index(a)))
    tags = {t["Key"]: t["Value"] for t in asg.tags if t.get("PropagateAtLaunch", True)}
    tags["aws:autoscaling:groupName"] = asg.name
    inst = world.launch_instance(
        az=az,
        instance_type=asg.instance_type,
        revision=asg.revision,
        tags=tags,
        asg_name=asg.name,
    )
    asg.members[inst.id] = AsgMember(
        instance_id=inst.id,
        az=az,
        protected=asg.new_instances_protected,
        launch_template=asg.launch_template,
        launch_configuration_name=asg.launch_configuration_name,
        launch_actions={
            h.name: LifecycleAction(h.name, world.new_uuid())
            for h in asg.lifecycle_hooks.values()
            if h.transition == LAUNCHING
        },
    )
    activity(world, asg, f"Launching a new EC2 instance: {inst.id}", cause)


def complete_lifecycle_action(
    world: State, asg: AutoScalingGroup, member: AsgMember, hook: str, result: str
) -> bool:
    """Record a launch hook's result (CONTINUE or ABANDON); the reconciler acts on it.
    False when the member is not waiting on that hook."""
    with world.lock:
        action = member.launch_actions.get(hook)
        if member.lifecycle_state != "Pending:Wait" or action is None or action.result:
            return False
        action.result = result
        return True


def _start_waiting(world: State, asg: AutoScalingGroup, member: AsgMember) -> None:
    """A launched instance runs: it waits in Pending:Wait, each hook's heartbeat timing."""
    member.lifecycle_state = "Pending:Wait"
    now = world.elapsed()
    for action in member.launch_actions.values():
        hook = asg.lifecycle_hooks.get(action.hook)
        if action.result is not None:
            continue
        action.started = now
        action.deadline = now + (hook.heartbeat_timeout if hook else 0)


def wait_on_launch_hooks(world: State, asg: AutoScalingGroup, member: AsgMember) -> None:
    """A Pending:Wait member: time its hooks out, then proceed or give the launch up."""
    now = world.elapsed()
    for action in member.launch_actions.values():
        hook = asg.lifecycle_hooks.get(action.hook)
        if action.result is not None:
            continue
        if hook is None:
            # A deleted hook's outstanding launch actions complete with ABANDON
            # (DeleteLifecycleHook, API reference).
            action.result = "ABANDON"
        elif now >= action.deadline or now >= (action.started or now) + hook.global_timeout:
            action.result = hook.default_result
    results = [a.result for a in member.launch_actions.values()]
    if "ABANDON" in results:
        begin_member_termination(
            world,
            asg,
            member,
            "an instance was taken out of service in response to a launch lifecycle action "
            "that was abandoned.",
        )
    elif all(results):
        member.lifecycle_state = "Pending:Proceed"


# ----- terminating -----------------------------------------------------------------------------


def choose_to_terminate(world: State, asg: AutoScalingGroup, count: int) -> list[AsgMember]:
    """Which members a scale-in removes: from the fullest AZ first, then by policy."""
    chosen: list[AsgMember] = []
    pool = [
        m
        for m in asg.counted()
        if m.lifecycle_state in ("InService", "Pending") and not m.protected
    ]
    newest_first = "NewestInstance" in asg.termination_policies

    def launched(m: AsgMember) -> datetime:
        return world.instances[m.instance_id].launch_time

    for _ in range(count):
        if not pool:
            break
        counts: dict[str, int] = {}
        for m in pool:
            counts[m.az] = counts.get(m.az, 0) + 1
        fullest = max(counts, key=lambda az: counts[az])
        in_az = sorted((m for m in pool if m.az == fullest), key=launched)
        pick = in_az[-1] if newest_first else in_az[0]
        chosen.append(pick)
        pool.remove(pick)
    return chosen


def begin_member_termination(
    world: State, asg: AutoScalingGroup, member: AsgMember, cause: str
) -> Activity:
    """Take a member out of service: it drains out of the load balancers, then terminates.
    Returns the activity recorded."""
    member.lifecycle_state = "Terminating"
    detach_from_load_balancers(world, asg, member.instance_id)
    return activity(world, asg, f"Terminating EC2 instance: {member.instance_id}", cause)


# ----- the reconciler --------------------------------------------------------------------------


def reconcile(world: State, asg: AutoScalingGroup) -> None:
    """One pass of Auto Scaling over a group: members move through their lifecycle, an
    unhealthy one is replaced, a group being deleted empties, and the group launches or
    terminates to meet its desired capacity."""
    for member in list(asg.members.values()):
        inst = world.instances.get(member.instance_id)
        if member.lifecycle_state == "Pending":
            if inst is not None and inst.state == "running":
                if any(a.result is None for a in member.launch_actions.values()):
                    _start_waiting(world, asg, member)
                else:
                    member.lifecycle_state = "Pending:Proceed"
        elif member.lifecycle_state == "Pending:Wait":
            wait_on_launch_hooks(world, asg, member)
        # Read after the launch steps: a member may go from Pending to InService in one pass.
        step = _MEMBER_STEPS.get(member.lifecycle_state)
        if step is not None:
            step(world, asg, member, inst)
        _check_health(world, asg, member, inst)
    if asg.deleting:
        for member in list(asg.members.values()):
            if member.lifecycle_state in _LEFT_BEHIND:
                begin_member_termination(world, asg, member, "the group is being deleted.")
        if not asg.members:
            del world.asgs[asg.name]
        return
    _meet_desired(world, asg)


def _go_in_service(
    world: State, asg: AutoScalingGroup, member: AsgMember, inst: Instance | None
) -> None:
    # Only now does Auto Scaling register the instance with its load balancers.
    member.lifecycle_state = "InService"
    if "AddToLoadBalancer" not in asg.suspended:
        attach_to_load_balancers(world, asg, member.instance_id)


def _enter_standby(
    world: State, asg: AutoScalingGroup, member: AsgMember, inst: Instance | None
) -> None:
    if not world.still_registered(member.instance_id):
        member.lifecycle_state = "Standby"


def _terminate_drained(
    world: State, asg: AutoScalingGroup, member: AsgMember, inst: Instance | None
) -> None:
    if not world.still_registered(member.instance_id):
        if inst is not None and inst.state not in ("shutting-down", "terminated"):
            world.terminate_instance(inst, "Service initiated")
        member.lifecycle_state = "Terminating:Proceed"


def _drop_terminated(
    world: State, asg: AutoScalingGroup, member: AsgMember, inst: Instance | None
) -> None:
    if inst is None or inst.state == "terminated":
        del asg.members[member.instance_id]


def _drop_detached(
    world: State, asg: AutoScalingGroup, member: AsgMember, inst: Instance | None
) -> None:
    if not world.still_registered(member.instance_id):
        del asg.members[member.instance_id]
        if inst is not None:
            inst.asg_name = None


# What a member in each lifecycle state waits for, and does once it happened.
_MEMBER_STEPS: dict[str, Callable[[State, AutoScalingGroup, AsgMember, Instance | None], None]] = {
    "Pending:Proceed": _go_in_service,
    "EnteringStandby": _enter_standby,
    "Terminating": _terminate_drained,
    "Terminating:Proceed": _drop_terminated,
    "Detaching": _drop_detached,
}


def _check_health(
    world: State, asg: AutoScalingGroup, member: AsgMember, inst: Instance | None
) -> None:
    # EC2 health: a member whose instance stopped or vanished is unhealthy.
    if member.lifecycle_state in ("InService", "Pending", "Pending:Wait") and (
        inst is None or inst.state not in ("pending", "running")
    ):
        member.health_status = "Unhealthy"
    if (
        member.health_status == "Unhealthy"
        and member.lifecycle_state == "InService"
        and "ReplaceUnhealthy" not in asg.suspended
        and "Terminate" not in asg.suspended
    ):
        begin_member_termination(
            world,
            asg,
            member,
            "an instance was taken out of service in response to an EC2 health check "
            "indicating it has been terminated or stopped.",
        )


def _meet_desired(world: State, asg: AutoScalingGroup) -> None:
    counted = asg.counted()
    if len(counted) < asg.desired and "Launch" not in asg.suspended:
        for _ in range(asg.desired - len(counted)):
            launch_into(
                world,
                asg,
                f"an instance was started in response to a difference between desired and "
                f"actual capacity, increasing the capacity from {len(counted)} to "
                f"{asg.desired}.",
            )
    elif len(counted) > asg.desired and "Terminate" not in asg.suspended:
        for member in choose_to_terminate(world, asg, len(counted) - asg.desired):
            begin_member_termination(
                world,
                asg,
                member,
                f"a user request explicitly set group desired capacity changing the desired "
                f"capacity from {len(counted)} to {asg.desired}.",
            )
