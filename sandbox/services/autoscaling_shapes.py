"""Amazon EC2 Auto Scaling's answers: groups, members, activities, tags and hooks as the API
shapes them, their filters, and MaxRecords/NextToken paging."""

from __future__ import annotations

from cutover.sandbox.services.ec2 import paginate
from cutover.sandbox.world import (
    Activity,
    AsgMember,
    AutoScalingGroup,
    LifecycleHook,
    World,
    WorldError,
)
from cutover.sandbox.world.asg_config import RESOURCE_TYPE, invalid


def launch_source(asg: AutoScalingGroup | AsgMember) -> dict:
    if asg.launch_template:
        return {"LaunchTemplate": dict(asg.launch_template)}
    if asg.launch_configuration_name:
        return {"LaunchConfigurationName": asg.launch_configuration_name}
    return {}


def tag_dicts(asg: AutoScalingGroup) -> list[dict]:
    return [
        {
            "ResourceId": asg.name,
            "ResourceType": RESOURCE_TYPE,
            "Key": t["Key"],
            "Value": t.get("Value", ""),
            "PropagateAtLaunch": bool(t.get("PropagateAtLaunch", True)),
        }
        for t in sorted(asg.tags, key=lambda t: t["Key"])
    ]


def member_dict(world: World, asg: AutoScalingGroup, member: AsgMember) -> dict:
    inst = world.instances.get(member.instance_id)
    out = {
        "InstanceId": member.instance_id,
        "InstanceType": inst.instance_type if inst else asg.instance_type,
        "AvailabilityZone": member.az,
        "LifecycleState": member.lifecycle_state,
        "HealthStatus": member.health_status,
        "ProtectedFromScaleIn": member.protected,
        **launch_source(member),
    }
    if inst is not None:
        out["ImageId"] = inst.image_id
    return out


def _vpc_zone_identifier(world: World, asg: AutoScalingGroup) -> str:
    if asg.vpc_zone_identifier:
        return asg.vpc_zone_identifier
    return ",".join(world.subnets[az] for az in asg.azs if az in world.subnets)


def group_dict(world: World, asg: AutoScalingGroup, include_instances: bool = True) -> dict:
    """One group shaped as DescribeAutoScalingGroups' `AutoScalingGroup`."""
    out: dict = {
        "AutoScalingGroupName": asg.name,
        "AutoScalingGroupARN": asg.arn,
        **launch_source(asg),
        "MinSize": asg.min_size,
        "MaxSize": asg.max_size,
        "DesiredCapacity": asg.desired,
        "DefaultCooldown": asg.default_cooldown,
        "AvailabilityZones": list(asg.azs),
        "LoadBalancerNames": list(asg.load_balancer_names),
        "TargetGroupARNs": list(asg.target_group_arns),
        "HealthCheckType": asg.health_check_type,
        "HealthCheckGracePeriod": asg.health_check_grace_period,
        "CreatedTime": asg.created,
        "SuspendedProcesses": [
            {"ProcessName": name, "SuspensionReason": reason}
            for name, reason in asg.suspended.items()
        ],
        "VPCZoneIdentifier": _vpc_zone_identifier(world, asg),
        "EnabledMetrics": [],
        "Tags": tag_dicts(asg),
        "TerminationPolicies": list(asg.termination_policies),
        "NewInstancesProtectedFromScaleIn": asg.new_instances_protected,
        "ServiceLinkedRoleARN": (
            f"arn:aws:iam::{world.account_id}:role/aws-service-role/"
            "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        ),
        "CapacityRebalance": False,
        "TrafficSources": [{"Identifier": arn, "Type": "elbv2"} for arn in asg.target_group_arns]
        + [{"Identifier": name, "Type": "elb"} for name in asg.load_balancer_names],
    }
    if include_instances:
        out["Instances"] = [member_dict(world, asg, m) for m in asg.members.values()]
    if asg.deleting:
        out["Status"] = "Delete in progress"
    return out


def activity_dict(
    world: World, act: Activity, *, status: str | None = None, progress: int | None = None
) -> dict:
    """One activity shaped as the model's `Activity`.

    The world records activities as finished at once; calls that answer with an activity still
    under way (standby, terminate) pass the status and progress AWS reports at that moment.
    """
    out = {
        "ActivityId": act.id,
        "AutoScalingGroupName": act.asg_name,
        "Description": act.description,
        "Cause": act.cause,
        "StartTime": act.start,
        "StatusCode": status or act.status,
        "Progress": act.progress if progress is None else progress,
        "Details": "{}",
    }
    if act.end is not None and status is None:
        out["EndTime"] = act.end
    asg = world.asgs.get(act.asg_name)
    if asg is not None:
        out["AutoScalingGroupARN"] = asg.arn
    return out


def hook_dict(asg: AutoScalingGroup, hook: LifecycleHook) -> dict:
    out: dict = {
        "LifecycleHookName": hook.name,
        "AutoScalingGroupName": asg.name,
        "LifecycleTransition": hook.transition,
        "HeartbeatTimeout": hook.heartbeat_timeout,
        "GlobalTimeout": hook.global_timeout,
        "DefaultResult": hook.default_result,
    }
    for key, value in (
        ("NotificationTargetARN", hook.notification_target_arn),
        ("RoleARN", hook.role_arn),
        ("NotificationMetadata", hook.metadata),
    ):
        if value is not None:
            out[key] = value
    return out


def group_matches(asg: AutoScalingGroup, filters: list[dict]) -> bool:
    tags = {t["Key"]: t.get("Value", "") for t in asg.tags}
    for flt in filters:
        name, values = flt.get("Name", ""), set(flt.get("Values") or [])
        if name.startswith("tag:"):
            key = name[4:]
            ok = key in tags and tags[key] in values
        elif name == "tag-key":
            ok = bool(values & set(tags))
        elif name == "tag-value":
            ok = bool(values & set(tags.values()))
        else:
            raise invalid(
                f"Filter type {name} is not correct. Allowed Filter types are: tag:<key>, "
                "tag-key, tag-value"
            )
        if not ok:
            return False
    return True


def _max_records(params: dict, default: int, most: int) -> int:
    value = params.get("MaxRecords")
    if value is None:
        return default
    if int(value) < 1 or int(value) > most:
        bound = "greater than or equal to 1" if int(value) < 1 else f"less than or equal to {most}"
        raise invalid(
            f"1 validation error detected: Value '{value}' at 'maxRecords' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    return int(value)


def page_of(items: list, params: dict, default: int, most: int, scope: str) -> tuple[list, dict]:
    token = params.get("NextToken")
    bad = WorldError("InvalidNextToken", f"The token '{token}' is invalid.")
    page, next_token = paginate(items, _max_records(params, default, most), token, scope, bad)
    return page, ({"NextToken": next_token} if next_token else {})
