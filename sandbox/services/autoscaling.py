"""Amazon EC2 Auto Scaling: groups, their members, standby, processes, tags and activities.

Calls change the group's definition and its members' lifecycle states; the world's reconciler
(`World.tick`) does the rest, as Auto Scaling does asynchronously: it launches and terminates
to meet desired capacity, moves Pending members InService once their instance runs (and
registers them with the group's load balancers), EnteringStandby to Standby once drained, and
Terminating members out of the group.
"""

from __future__ import annotations

from cutover.sandbox.services import operation
from cutover.sandbox.services.autoscaling_shapes import (
    activity_dict,
    group_dict,
    group_matches,
    hook_dict,
    member_dict,
    page_of,
    tag_dicts,
)
from cutover.sandbox.world import (
    AsgMember,
    AutoScalingGroup,
    World,
    asg_changes,
    asg_config,
    asg_members,
)
from cutover.sandbox.world import autoscaling as asg_rules
from cutover.sandbox.world.asg_config import GroupSettings, invalid
from cutover.sandbox.world.asg_config import group as _group
from cutover.sandbox.world.asg_config import require as _required

# ----- describing ------------------------------------------------------------------------------


@operation("autoscaling", "DescribeAutoScalingGroups")
def describe_auto_scaling_groups(world: World, params: dict) -> dict:
    """Groups sorted by name; unknown names are left out (no error), as AWS does."""
    names = params.get("AutoScalingGroupNames") or []
    groups = sorted(world.asgs.values(), key=lambda a: a.name)
    if names:
        groups = [a for a in groups if a.name in names]
    groups = [a for a in groups if group_matches(a, params.get("Filters") or [])]
    page, more = page_of(groups, params, 50, 100, "DescribeAutoScalingGroups")
    include = params.get("IncludeInstances", True) is not False
    return {"AutoScalingGroups": [group_dict(world, a, include) for a in page], **more}


@operation("autoscaling", "DescribeAutoScalingInstances")
def describe_auto_scaling_instances(world: World, params: dict) -> dict:
    """Members of any group; ids that are not members are left out. HealthStatus is upper
    case here (HEALTHY), unlike DescribeAutoScalingGroups, as in AWS."""
    ids = params.get("InstanceIds") or []
    rows = [
        (asg, m)
        for asg in sorted(world.asgs.values(), key=lambda a: a.name)
        for m in asg.members.values()
        if not ids or m.instance_id in ids
    ]
    page, more = page_of(rows, params, 50, 50, "DescribeAutoScalingInstances")
    out = []
    for asg, member in page:
        row = member_dict(world, asg, member)
        row["AutoScalingGroupName"] = asg.name
        row["HealthStatus"] = member.health_status.upper()
        out.append(row)
    return {"AutoScalingInstances": out, **more}


@operation("autoscaling", "DescribeScalingActivities")
def describe_scaling_activities(world: World, params: dict) -> dict:
    """Activities newest first, optionally for one group or by id; activities of deleted
    groups only with IncludeDeletedGroups."""
    name = params.get("AutoScalingGroupName")
    ids = params.get("ActivityIds") or []
    acts = list(reversed(world.activities))
    if name:
        acts = [a for a in acts if a.asg_name == name]
    if ids:
        acts = [a for a in acts if a.id in ids]
    if not params.get("IncludeDeletedGroups"):
        acts = [a for a in acts if a.asg_name in world.asgs]
    page, more = page_of(acts, params, 100, 100, "DescribeScalingActivities")
    return {"Activities": [activity_dict(world, a) for a in page], **more}


@operation("autoscaling", "DescribeLifecycleHooks")
def describe_lifecycle_hooks(world: World, params: dict) -> dict:
    """The group's lifecycle hooks (CodeDeploy's launch hook among them), optionally by name;
    unknown names are left out."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    names = params.get("LifecycleHookNames") or []
    hooks = [h for h in asg.lifecycle_hooks.values() if not names or h.name in names]
    return {"LifecycleHooks": [hook_dict(asg, h) for h in hooks]}


# ----- creating and changing groups ------------------------------------------------------------


def _settings(params: dict) -> GroupSettings:
    return GroupSettings(
        min_size=params.get("MinSize"),
        max_size=params.get("MaxSize"),
        desired=params.get("DesiredCapacity"),
        launch_template=params.get("LaunchTemplate"),
        mixed_instances_policy=params.get("MixedInstancesPolicy"),
        launch_configuration=params.get("LaunchConfigurationName"),
        instance_id=params.get("InstanceId"),
        vpc_zone_identifier=params.get("VPCZoneIdentifier"),
        availability_zones=params.get("AvailabilityZones"),
        target_group_arns=params.get("TargetGroupARNs"),
        load_balancer_names=params.get("LoadBalancerNames"),
        health_check_type=params.get("HealthCheckType"),
        health_check_grace_period=params.get("HealthCheckGracePeriod"),
        default_cooldown=params.get("DefaultCooldown"),
        termination_policies=params.get("TerminationPolicies"),
        new_instances_protected=params.get("NewInstancesProtectedFromScaleIn"),
        tags=params.get("Tags"),
    )


@operation("autoscaling", "CreateAutoScalingGroup")
def create_auto_scaling_group(world: World, params: dict) -> dict:
    """A new group (see `asg_config.create_group`)."""
    _required(params, "AutoScalingGroupName", "MinSize", "MaxSize")
    asg_config.create_group(world, params["AutoScalingGroupName"], _settings(params))
    return {}


@operation("autoscaling", "UpdateAutoScalingGroup")
def update_auto_scaling_group(world: World, params: dict) -> dict:
    """Change a group's definition (see `asg_changes.update_group`)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_changes.update_group(world, asg, _settings(params))
    return {}


@operation("autoscaling", "SetDesiredCapacity")
def set_desired_capacity(world: World, params: dict) -> dict:
    """Set the desired capacity; the reconciler launches or terminates to meet it."""
    _required(params, "AutoScalingGroupName", "DesiredCapacity")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_changes.set_desired(asg, int(params["DesiredCapacity"]))
    return {}


@operation("autoscaling", "DeleteAutoScalingGroup")
def delete_auto_scaling_group(world: World, params: dict) -> dict:
    """Delete a group (see `asg_changes.delete_group`)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_changes.delete_group(world, asg, bool(params.get("ForceDelete")))
    return {}


# ----- load balancers --------------------------------------------------------------------------


@operation("autoscaling", "AttachLoadBalancerTargetGroups")
def attach_load_balancer_target_groups(world: World, params: dict) -> dict:
    """Attach target groups; InService members are registered with them at once."""
    _required(params, "AutoScalingGroupName", "TargetGroupARNs")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.attach_target_groups(world, asg, params["TargetGroupARNs"])
    return {}


@operation("autoscaling", "DetachLoadBalancerTargetGroups")
def detach_load_balancer_target_groups(world: World, params: dict) -> dict:
    """Detach target groups; the group's members are deregistered from them and drain."""
    _required(params, "AutoScalingGroupName", "TargetGroupARNs")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.detach_target_groups(world, asg, params["TargetGroupARNs"])
    return {}


@operation("autoscaling", "AttachLoadBalancers")
def attach_load_balancers(world: World, params: dict) -> dict:
    """Attach classic load balancers; InService members are registered at once."""
    _required(params, "AutoScalingGroupName", "LoadBalancerNames")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.attach_classic(world, asg, params["LoadBalancerNames"])
    return {}


@operation("autoscaling", "DetachLoadBalancers")
def detach_load_balancers(world: World, params: dict) -> dict:
    """Detach classic load balancers; the group's members are deregistered and drain."""
    _required(params, "AutoScalingGroupName", "LoadBalancerNames")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.detach_classic(world, asg, params["LoadBalancerNames"])
    return {}


# ----- members ---------------------------------------------------------------------------------


@operation("autoscaling", "EnterStandby")
def enter_standby(world: World, params: dict) -> dict:
    """Move InService members toward Standby (see `asg_members.enter_standby`)."""
    _required(params, "AutoScalingGroupName", "ShouldDecrementDesiredCapacity")
    asg = _group(world, params["AutoScalingGroupName"])
    decrement = bool(params["ShouldDecrementDesiredCapacity"])
    acts = asg_members.enter_standby(world, asg, params.get("InstanceIds"), decrement)
    return {"Activities": [activity_dict(world, a, status="InProgress", progress=50) for a in acts]}


@operation("autoscaling", "ExitStandby")
def exit_standby(world: World, params: dict) -> dict:
    """Move Standby members back to Pending (see `asg_members.exit_standby`)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    acts = asg_members.exit_standby(world, asg, params.get("InstanceIds"))
    return {
        "Activities": [activity_dict(world, a, status="PreInService", progress=30) for a in acts]
    }


@operation("autoscaling", "TerminateInstanceInAutoScalingGroup")
def terminate_instance_in_auto_scaling_group(world: World, params: dict) -> dict:
    """Terminate members (see `asg_members.terminate_members`). Answers `Activity` for
    InstanceId and `Activities` for InstanceIds."""
    _required(params, "ShouldDecrementDesiredCapacity")
    ids = list(params.get("InstanceIds") or [])
    if params.get("InstanceId"):
        ids.insert(0, params["InstanceId"])
    if not ids:
        _required(params, "InstanceId")
    acts = asg_members.terminate_members(
        world,
        ids,
        params.get("AutoScalingGroupName"),
        bool(params["ShouldDecrementDesiredCapacity"]),
    )
    activities = [activity_dict(world, a, status="InProgress", progress=0) for a in acts]
    if params.get("InstanceId") and not params.get("InstanceIds"):
        return {"Activity": activities[0]}
    return {"Activities": activities}


@operation("autoscaling", "SetInstanceProtection")
def set_instance_protection(world: World, params: dict) -> dict:
    """Protect members from scale-in (or lift the protection)."""
    _required(params, "AutoScalingGroupName", "InstanceIds", "ProtectedFromScaleIn")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.set_protection(asg, params["InstanceIds"], bool(params["ProtectedFromScaleIn"]))
    return {}


# ----- processes -------------------------------------------------------------------------------


@operation("autoscaling", "SuspendProcesses")
def suspend_processes(world: World, params: dict) -> dict:
    """Suspend the named processes (all of them when none are named)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_changes.suspend_processes(world, asg, params.get("ScalingProcesses"))
    return {}


@operation("autoscaling", "ResumeProcesses")
def resume_processes(world: World, params: dict) -> dict:
    """Resume the named processes (all of them when none are named)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_changes.resume_processes(asg, params.get("ScalingProcesses"))
    return {}


# ----- tags ------------------------------------------------------------------------------------


@operation("autoscaling", "CreateOrUpdateTags")
def create_or_update_tags(world: World, params: dict) -> dict:
    """Add or overwrite group tags. PropagateAtLaunch affects instances launched later."""
    _required(params, "Tags")
    asg_changes.put_tags(world, params["Tags"])
    return {}


@operation("autoscaling", "DeleteTags")
def delete_tags(world: World, params: dict) -> dict:
    """Remove group tags by key."""
    _required(params, "Tags")
    asg_changes.delete_tags(world, params["Tags"])
    return {}


@operation("autoscaling", "DescribeTags")
def describe_tags(world: World, params: dict) -> dict:
    """Group tags sorted by group and key; filters auto-scaling-group, key, value and
    propagate-at-launch match exactly."""
    rows = [
        tag for asg in sorted(world.asgs.values(), key=lambda a: a.name) for tag in tag_dicts(asg)
    ]
    for flt in params.get("Filters") or []:
        name, values = flt.get("Name", ""), set(flt.get("Values") or [])
        field = {
            "auto-scaling-group": "ResourceId",
            "key": "Key",
            "value": "Value",
            "propagate-at-launch": "PropagateAtLaunch",
        }.get(name)
        if field is None:
            raise invalid(
                f"Filter type {name} is not correct. Allowed Filter types are: "
                "auto-scaling-group, key, value, propagate-at-launch"
            )
        if field == "PropagateAtLaunch":
            rows = [r for r in rows if str(r[field]).lower() in {v.lower() for v in values}]
        else:
            rows = [r for r in rows if r[field] in values]
    page, more = page_of(rows, params, 50, 100, "DescribeTags")
    return {"Tags": page, **more}


# ----- lifecycle hooks -------------------------------------------------------------------------


@operation("autoscaling", "PutLifecycleHook")
def put_lifecycle_hook(world: World, params: dict) -> dict:
    """Create or replace a hook (see `asg_members.put_hook`)."""
    _required(params, "LifecycleHookName", "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.put_hook(
        asg,
        params["LifecycleHookName"],
        transition=params.get("LifecycleTransition"),
        default_result=params.get("DefaultResult"),
        heartbeat_timeout=params.get("HeartbeatTimeout"),
        notification_target_arn=params.get("NotificationTargetARN"),
        role_arn=params.get("RoleARN"),
        metadata=params.get("NotificationMetadata"),
    )
    return {}


@operation("autoscaling", "DeleteLifecycleHook")
def delete_lifecycle_hook(world: World, params: dict) -> dict:
    """Delete a hook; instances waiting on it are abandoned (launch) by the reconciler."""
    _required(params, "LifecycleHookName", "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    asg_members.delete_hook(asg, params["LifecycleHookName"])
    return {}


def _waiting(world: World, params: dict) -> tuple[AutoScalingGroup, AsgMember]:
    _required(params, "LifecycleHookName", "AutoScalingGroupName")
    return asg_members.waiting(
        world,
        params["AutoScalingGroupName"],
        params["LifecycleHookName"],
        params.get("LifecycleActionToken"),
        params.get("InstanceId"),
    )


@operation("autoscaling", "CompleteLifecycleAction")
def complete_lifecycle_action(world: World, params: dict) -> dict:
    """CONTINUE or ABANDON a waiting launch: the instance then goes InService (and into its
    load balancers) once every hook has continued, or is terminated."""
    _required(params, "LifecycleActionResult")
    result = params["LifecycleActionResult"]
    asg_members.check_action_result(result)
    asg, member = _waiting(world, params)
    asg_rules.complete_lifecycle_action(world, asg, member, params["LifecycleHookName"], result)
    return {}


@operation("autoscaling", "RecordLifecycleActionHeartbeat")
def record_lifecycle_action_heartbeat(world: World, params: dict) -> dict:
    """Restart a waiting launch's heartbeat timeout."""
    asg, member = _waiting(world, params)
    asg_members.record_heartbeat(world, asg, member, params["LifecycleHookName"])
    return {}
