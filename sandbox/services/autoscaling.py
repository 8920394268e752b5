"""Amazon EC2 Auto Scaling: groups, their members, standby, processes, tags and activities.

Calls change the group's definition and its members' lifecycle states; the world's reconciler
(`World.tick`) does the rest, as Auto Scaling does asynchronously: it launches and terminates
to meet desired capacity, moves Pending members InService once their instance runs (and
registers them with the group's load balancers), EnteringStandby to Standby once drained, and
Terminating members out of the group.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from cutover.sandbox.services import operation
from cutover.sandbox.services.ec2 import paginate
from cutover.sandbox.world import (
    ASG_PROCESSES,
    LAUNCHING,
    TERMINATING,
    Activity,
    AsgMember,
    AutoScalingGroup,
    LifecycleHook,
    World,
    WorldError,
)
from cutover.sandbox.world import autoscaling as asg_rules

DEFAULT_INSTANCE_TYPE = "t3.micro"
REVISION_TAG = "cutover:revision"
HEALTH_CHECK_TYPES = ("EC2", "ELB", "VPC_LATTICE", "EBS")
RESOURCE_TYPE = "auto-scaling-group"
# Members that are part of the group's capacity, the only ones a user may move to standby,
# protect, or count when the group's size changes.
COUNTED = ("Pending", "InService")


def _invalid(message: str) -> WorldError:
    return WorldError("ValidationError", message)


def _required(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) is None:
            field = name[0].lower() + name[1:]
            raise _invalid(
                f"1 validation error detected: Value null at '{field}' failed to satisfy "
                "constraint: Member must not be null"
            )


def _group(world: World, name: str | None) -> AutoScalingGroup:
    asg = world.asgs.get(name or "")
    if asg is None:
        raise _invalid(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return asg


def _max_records(params: dict, default: int, most: int) -> int:
    value = params.get("MaxRecords")
    if value is None:
        return default
    if int(value) < 1 or int(value) > most:
        bound = "greater than or equal to 1" if int(value) < 1 else f"less than or equal to {most}"
        raise _invalid(
            f"1 validation error detected: Value '{value}' at 'maxRecords' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    return int(value)


def _page(items: list, params: dict, default: int, most: int, scope: str) -> tuple[list, dict]:
    token = params.get("NextToken")
    bad = WorldError("InvalidNextToken", f"The token '{token}' is invalid.")
    page, next_token = paginate(items, _max_records(params, default, most), token, scope, bad)
    return page, ({"NextToken": next_token} if next_token else {})


# ----- shapes ----------------------------------------------------------------------------------


def _launch_template(spec: dict) -> dict:
    """A LaunchTemplateSpecification as Auto Scaling reports it: id, name and version.

    The sandbox has no launch templates, so the missing half of id/name is derived from the
    other, stably.
    """
    lt_id, name = spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")
    if lt_id and name:
        raise _invalid(
            "Both launchTemplateId and launchTemplateName were provided. Valid requests must "
            "contain either launchTemplateId or LaunchTemplateName"
        )
    if not lt_id and not name:
        raise _invalid("Valid requests must contain either launchTemplateId or LaunchTemplateName")
    if not lt_id:
        lt_id = "lt-" + hashlib.sha256(name.encode()).hexdigest()[:17]
    return {
        "LaunchTemplateId": lt_id,
        "LaunchTemplateName": name or lt_id,
        "Version": spec.get("Version") or "$Default",
    }


def _launch_source(asg: AutoScalingGroup | AsgMember) -> dict:
    if asg.launch_template:
        return {"LaunchTemplate": dict(asg.launch_template)}
    if asg.launch_configuration_name:
        return {"LaunchConfigurationName": asg.launch_configuration_name}
    return {}


def _tag_dicts(asg: AutoScalingGroup) -> list[dict]:
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


def _member_dict(world: World, asg: AutoScalingGroup, member: AsgMember) -> dict:
    inst = world.instances.get(member.instance_id)
    out = {
        "InstanceId": member.instance_id,
        "InstanceType": inst.instance_type if inst else asg.instance_type,
        "AvailabilityZone": member.az,
        "LifecycleState": member.lifecycle_state,
        "HealthStatus": member.health_status,
        "ProtectedFromScaleIn": member.protected,
        **_launch_source(member),
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
        **_launch_source(asg),
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
        "Tags": _tag_dicts(asg),
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
        out["Instances"] = [_member_dict(world, asg, m) for m in asg.members.values()]
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


# ----- describing ------------------------------------------------------------------------------


def _group_matches(asg: AutoScalingGroup, filters: list[dict]) -> bool:
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
            raise _invalid(
                f"Filter type {name} is not correct. Allowed Filter types are: tag:<key>, "
                "tag-key, tag-value"
            )
        if not ok:
            return False
    return True


@operation("autoscaling", "DescribeAutoScalingGroups")
def describe_auto_scaling_groups(world: World, params: dict) -> dict:
    """Groups sorted by name; unknown names are left out (no error), as AWS does."""
    names = params.get("AutoScalingGroupNames") or []
    groups = sorted(world.asgs.values(), key=lambda a: a.name)
    if names:
        groups = [a for a in groups if a.name in names]
    groups = [a for a in groups if _group_matches(a, params.get("Filters") or [])]
    page, more = _page(groups, params, 50, 100, "DescribeAutoScalingGroups")
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
    page, more = _page(rows, params, 50, 50, "DescribeAutoScalingInstances")
    out = []
    for asg, member in page:
        row = _member_dict(world, asg, member)
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
    page, more = _page(acts, params, 100, 100, "DescribeScalingActivities")
    return {"Activities": [activity_dict(world, a) for a in page], **more}


def _hook_dict(asg: AutoScalingGroup, hook: LifecycleHook) -> dict:
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


@operation("autoscaling", "DescribeLifecycleHooks")
def describe_lifecycle_hooks(world: World, params: dict) -> dict:
    """The group's lifecycle hooks (CodeDeploy's launch hook among them), optionally by name;
    unknown names are left out."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    names = params.get("LifecycleHookNames") or []
    hooks = [h for h in asg.lifecycle_hooks.values() if not names or h.name in names]
    return {"LifecycleHooks": [_hook_dict(asg, h) for h in hooks]}


# ----- creating and changing groups ------------------------------------------------------------


def _sizes(min_size: int, max_size: int, desired: int | None) -> None:
    for field, value in (("minSize", min_size), ("maxSize", max_size)):
        if value < 0:
            raise _invalid(
                f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                "constraint: Member must have value greater than or equal to 0"
            )
    if min_size > max_size:
        raise _invalid(
            f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}"
        )
    if desired is not None and not min_size <= desired <= max_size:
        raise _invalid(
            f"Desired capacity:{desired} must be between the specified min size:{min_size} and "
            f"max size:{max_size}"
        )


def _azs_of_subnets(world: World, vpc_zone_identifier: str) -> list[str]:
    by_subnet = {sid: az for az, sid in world.subnets.items()}
    azs = []
    for sid in (s.strip() for s in vpc_zone_identifier.split(",")):
        if not sid:
            continue
        if sid not in by_subnet:
            raise _invalid(f"The subnet ID '{sid}' does not exist")
        if by_subnet[sid] not in azs:
            azs.append(by_subnet[sid])
    if not azs:
        raise _invalid("At least one Availability Zone or VPC Subnet is required.")
    return azs


def _check_azs(world: World, azs: Iterable[str]) -> list[str]:
    out = []
    for az in azs:
        if not re.fullmatch(re.escape(world.region) + r"[a-z]", az):
            raise _invalid(f"Invalid Availability Zone: [{az}]")
        if az not in out:
            out.append(az)
    return out


def _check_target_groups(world: World, arns: Iterable[str]) -> list[str]:
    arns = list(dict.fromkeys(arns))
    if any(arn not in world.target_groups for arn in arns):
        raise _invalid(
            "Provided Target Groups may not be valid. Please ensure they exist and try again."
        )
    for arn in arns:
        tg = world.target_groups[arn]
        if tg.target_type != "instance":
            raise _invalid(
                f"Target group {tg.name} has a target type of {tg.target_type}; Auto Scaling "
                "groups only support target groups with a target type of instance."
            )
    return arns


def _check_load_balancers(world: World, names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(names))
    if any(name not in world.classic_lbs for name in names):
        raise _invalid(
            "Provided Load Balancers may not be valid. Please ensure they exist and try again."
        )
    return names


def _check_health_check_type(value: str) -> str:
    if value not in HEALTH_CHECK_TYPES:
        raise _invalid(
            f"Health check type {value} is not valid. Valid values are: "
            + ", ".join(HEALTH_CHECK_TYPES)
        )
    return value


def _tags_in(tags: list[dict], group: str) -> list[dict]:
    out: dict[str, dict] = {}
    for tag in tags:
        key = tag.get("Key")
        if not key:
            raise _invalid("Tag key must not be empty")
        if key.lower().startswith("aws:"):
            raise _invalid(f"Tag key {key} is invalid: keys starting with aws: are reserved.")
        if tag.get("ResourceType", RESOURCE_TYPE) != RESOURCE_TYPE:
            raise _invalid(f"Invalid resource type {tag['ResourceType']}")
        if tag.get("ResourceId", group) != group:
            raise _invalid(f"Tag resource id {tag['ResourceId']} does not match {group}")
        out[key] = {
            "Key": key,
            "Value": tag.get("Value") or "",
            "PropagateAtLaunch": bool(tag.get("PropagateAtLaunch", True)),
        }
    return list(out.values())


@operation("autoscaling", "CreateAutoScalingGroup")
def create_auto_scaling_group(world: World, params: dict) -> dict:
    """A new group; the reconciler launches its instances on the next tick.

    New instances run the group's revision: the revision of the instance named by InstanceId,
    else the `cutover:revision` tag's value, else "v1".
    """
    _required(params, "AutoScalingGroupName", "MinSize", "MaxSize")
    name = params["AutoScalingGroupName"]
    if name in world.asgs:
        raise WorldError(
            "AlreadyExists",
            f"AutoScalingGroup by this name already exists - A group with the name {name} "
            "already exists",
        )
    sources = [
        k
        for k in ("LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy", "InstanceId")
        if params.get(k)
    ]
    if len(sources) != 1:
        raise _invalid(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, "
            "InstanceId or MixedInstancesPolicy parameter."
        )
    min_size, max_size = int(params["MinSize"]), int(params["MaxSize"])
    desired = params.get("DesiredCapacity")
    desired = min_size if desired is None else int(desired)
    _sizes(min_size, max_size, desired)

    tags = _tags_in(params.get("Tags") or [], name)
    revision = next((t["Value"] for t in tags if t["Key"] == REVISION_TAG), "v1")
    instance_type = DEFAULT_INSTANCE_TYPE
    launch_template, launch_configuration = None, None
    azs: list[str] = []
    vpc_zone_identifier = params.get("VPCZoneIdentifier") or ""
    if params.get("LaunchTemplate"):
        launch_template = _launch_template(params["LaunchTemplate"])
    elif params.get("MixedInstancesPolicy"):
        lt = params["MixedInstancesPolicy"].get("LaunchTemplate") or {}
        launch_template = _launch_template(lt.get("LaunchTemplateSpecification") or {})
        overrides = [o for o in lt.get("Overrides") or [] if o.get("InstanceType")]
        if overrides:
            instance_type = overrides[0]["InstanceType"]
    elif params.get("LaunchConfigurationName"):
        launch_configuration = params["LaunchConfigurationName"]
    else:
        source = world.instances.get(params["InstanceId"])
        if source is None or source.state in ("shutting-down", "terminated"):
            raise _invalid(
                "Instance Id not found - No managed instance found for instance ID: "
                f"{params['InstanceId']}"
            )
        # AWS makes a launch configuration named after the group from the instance.
        launch_configuration = name
        instance_type = source.instance_type
        revision = source.revision
        azs = [source.az]
        vpc_zone_identifier = vpc_zone_identifier or source.subnet_id

    if vpc_zone_identifier:
        azs = _azs_of_subnets(world, vpc_zone_identifier)
    elif params.get("AvailabilityZones"):
        azs = _check_azs(world, params["AvailabilityZones"])
    if not azs:
        raise _invalid("At least one Availability Zone or VPC Subnet is required.")
    if not vpc_zone_identifier:
        vpc_zone_identifier = ",".join(world.subnet_for(az) for az in azs)

    asg = AutoScalingGroup(
        name=name,
        arn=world.arn(
            "autoscaling", f"autoScalingGroup:{world.new_uuid()}:autoScalingGroupName/{name}"
        ),
        min_size=min_size,
        max_size=max_size,
        desired=desired,
        azs=azs,
        instance_type=instance_type,
        revision=revision,
        created=world.now(),
        launch_template=launch_template,
        launch_configuration_name=launch_configuration,
        target_group_arns=_check_target_groups(world, params.get("TargetGroupARNs") or []),
        load_balancer_names=_check_load_balancers(world, params.get("LoadBalancerNames") or []),
        health_check_type=_check_health_check_type(params.get("HealthCheckType") or "EC2"),
        health_check_grace_period=int(params.get("HealthCheckGracePeriod") or 0),
        default_cooldown=int(params.get("DefaultCooldown", 300)),
        termination_policies=list(params.get("TerminationPolicies") or ["Default"]),
        tags=tags,
        vpc_zone_identifier=vpc_zone_identifier,
        new_instances_protected=bool(params.get("NewInstancesProtectedFromScaleIn")),
    )
    world.asgs[name] = asg
    return {}


@operation("autoscaling", "UpdateAutoScalingGroup")
def update_auto_scaling_group(world: World, params: dict) -> dict:
    """Change a group's definition. A new MinSize above the desired capacity raises it, a new
    MaxSize below it lowers it (when DesiredCapacity is not given), as in AWS."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    min_size = asg.min_size if params.get("MinSize") is None else int(params["MinSize"])
    max_size = asg.max_size if params.get("MaxSize") is None else int(params["MaxSize"])
    desired = params.get("DesiredCapacity")
    _sizes(min_size, max_size, None if desired is None else int(desired))
    if desired is None:
        desired = asg.desired
        if params.get("MinSize") is not None:
            desired = max(desired, min_size)
        if params.get("MaxSize") is not None:
            desired = min(desired, max_size)

    # Validate everything before changing anything: a failed call leaves the group as it was.
    launch_template = launch_configuration = None
    if params.get("LaunchTemplate"):
        launch_template = _launch_template(params["LaunchTemplate"])
    elif params.get("MixedInstancesPolicy"):
        lt = params["MixedInstancesPolicy"].get("LaunchTemplate") or {}
        launch_template = _launch_template(lt.get("LaunchTemplateSpecification") or {})
    elif params.get("LaunchConfigurationName"):
        launch_configuration = params["LaunchConfigurationName"]
    azs, vpc_zone_identifier = None, None
    if params.get("VPCZoneIdentifier"):
        vpc_zone_identifier = params["VPCZoneIdentifier"]
        azs = _azs_of_subnets(world, vpc_zone_identifier)
    elif params.get("AvailabilityZones"):
        azs = _check_azs(world, params["AvailabilityZones"])
        vpc_zone_identifier = ",".join(world.subnet_for(az) for az in azs)
    health_check_type = params.get("HealthCheckType")
    if health_check_type is not None:
        _check_health_check_type(health_check_type)

    asg.min_size, asg.max_size, asg.desired = min_size, max_size, int(desired)
    if launch_template is not None:
        asg.launch_template, asg.launch_configuration_name = launch_template, None
    if launch_configuration is not None:
        asg.launch_template, asg.launch_configuration_name = None, launch_configuration
    if azs is not None and vpc_zone_identifier is not None:
        asg.azs, asg.vpc_zone_identifier = azs, vpc_zone_identifier
    if health_check_type is not None:
        asg.health_check_type = health_check_type
    if params.get("HealthCheckGracePeriod") is not None:
        asg.health_check_grace_period = int(params["HealthCheckGracePeriod"])
    if params.get("DefaultCooldown") is not None:
        asg.default_cooldown = int(params["DefaultCooldown"])
    if params.get("TerminationPolicies"):
        asg.termination_policies = list(params["TerminationPolicies"])
    if params.get("NewInstancesProtectedFromScaleIn") is not None:
        asg.new_instances_protected = bool(params["NewInstancesProtectedFromScaleIn"])
    return {}


@operation("autoscaling", "SetDesiredCapacity")
def set_desired_capacity(world: World, params: dict) -> dict:
    """Set the desired capacity within [MinSize, MaxSize]; the reconciler launches or
    terminates to meet it."""
    _required(params, "AutoScalingGroupName", "DesiredCapacity")
    asg = _group(world, params["AutoScalingGroupName"])
    desired = int(params["DesiredCapacity"])
    if desired > asg.max_size:
        raise _invalid(
            f"New SetDesiredCapacity value {desired} is above max value {asg.max_size} for the "
            "AutoScalingGroup."
        )
    if desired < asg.min_size:
        raise _invalid(
            f"New SetDesiredCapacity value {desired} is below min value {asg.min_size} for the "
            "AutoScalingGroup."
        )
    asg.desired = desired
    return {}


@operation("autoscaling", "DeleteAutoScalingGroup")
def delete_auto_scaling_group(world: World, params: dict) -> dict:
    """Delete a group. Without ForceDelete a group with members (or launches under way) is
    refused; with it the group reads `Delete in progress` until the reconciler has terminated
    every member, then disappears."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    if not params.get("ForceDelete"):
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
        return {}
    asg.deleting = True
    asg.min_size = asg.max_size = asg.desired = 0
    return {}


# ----- load balancers --------------------------------------------------------------------------


def _in_service(asg: AutoScalingGroup) -> list[str]:
    return [m.instance_id for m in asg.members.values() if m.lifecycle_state == "InService"]


@operation("autoscaling", "AttachLoadBalancerTargetGroups")
def attach_load_balancer_target_groups(world: World, params: dict) -> dict:
    """Attach target groups; InService members are registered with them at once (unless
    AddToLoadBalancer is suspended), later members when they come InService."""
    _required(params, "AutoScalingGroupName", "TargetGroupARNs")
    asg = _group(world, params["AutoScalingGroupName"])
    arns = _check_target_groups(world, params["TargetGroupARNs"])
    for arn in arns:
        if arn in asg.target_group_arns:
            continue
        asg.target_group_arns.append(arn)
        if "AddToLoadBalancer" not in asg.suspended:
            tg = world.target_groups[arn]
            for iid in _in_service(asg):
                if (iid, tg.port) not in tg.targets:
                    world.register(tg, iid)
    return {}


@operation("autoscaling", "DetachLoadBalancerTargetGroups")
def detach_load_balancer_target_groups(world: World, params: dict) -> dict:
    """Detach target groups; the group's members are deregistered from them and drain."""
    _required(params, "AutoScalingGroupName", "TargetGroupARNs")
    asg = _group(world, params["AutoScalingGroupName"])
    for arn in params["TargetGroupARNs"]:
        if arn not in asg.target_group_arns:
            continue
        asg.target_group_arns.remove(arn)
        tg = world.target_groups.get(arn)
        if tg is None:
            continue
        for target in list(tg.targets.values()):
            if target.id in asg.members:
                world.deregister(tg, target.id, target.port)
    return {}


@operation("autoscaling", "AttachLoadBalancers")
def attach_load_balancers(world: World, params: dict) -> dict:
    """Attach classic load balancers; InService members are registered at once."""
    _required(params, "AutoScalingGroupName", "LoadBalancerNames")
    asg = _group(world, params["AutoScalingGroupName"])
    for name in _check_load_balancers(world, params["LoadBalancerNames"]):
        if name in asg.load_balancer_names:
            continue
        asg.load_balancer_names.append(name)
        if "AddToLoadBalancer" not in asg.suspended:
            for iid in _in_service(asg):
                world.register_classic(world.classic_lbs[name], iid)
    return {}


@operation("autoscaling", "DetachLoadBalancers")
def detach_load_balancers(world: World, params: dict) -> dict:
    """Detach classic load balancers; the group's members are deregistered and drain."""
    _required(params, "AutoScalingGroupName", "LoadBalancerNames")
    asg = _group(world, params["AutoScalingGroupName"])
    for name in params["LoadBalancerNames"]:
        if name not in asg.load_balancer_names:
            continue
        asg.load_balancer_names.remove(name)
        clb = world.classic_lbs.get(name)
        if clb is None:
            continue
        for iid in list(clb.instances):
            if iid in asg.members:
                world.deregister_classic(clb, iid)
    return {}


# ----- members ---------------------------------------------------------------------------------


def _members(asg: AutoScalingGroup, ids: list[str] | None) -> list[AsgMember]:
    if not ids:
        raise _invalid(
            "1 validation error detected: Value null at 'instanceIds' failed to satisfy "
            "constraint: Member must not be null"
        )
    out = []
    for iid in dict.fromkeys(ids):
        member = asg.members.get(iid)
        if member is None:
            raise _invalid(f"The instance {iid} is not part of Auto Scaling group {asg.name}.")
        out.append(member)
    return out


def _sizes_text(asg: AutoScalingGroup) -> str:
    return (
        f"AutoScalingGroup {asg.name} has min-size={asg.min_size}, max-size={asg.max_size}, "
        f"and desired-size={asg.desired}."
    )


@operation("autoscaling", "EnterStandby")
def enter_standby(world: World, params: dict) -> dict:
    """Move InService members to EnteringStandby and deregister them from the group's load
    balancers; they become Standby once drained. Without ShouldDecrementDesiredCapacity the
    group launches replacements, since standby members are not part of its capacity."""
    _required(params, "AutoScalingGroupName", "ShouldDecrementDesiredCapacity")
    asg = _group(world, params["AutoScalingGroupName"])
    members = _members(asg, params.get("InstanceIds"))
    for member in members:
        if member.lifecycle_state != "InService":
            raise _invalid(f"The instance {member.instance_id} is not in InService.")
    decrement = bool(params["ShouldDecrementDesiredCapacity"])
    if decrement and asg.desired - len(members) < asg.min_size:
        raise _invalid(
            f"{_sizes_text(asg)} To place into standby {len(members)} instances, please update "
            "the AutoScalingGroup sizes appropriately."
        )
    activities = []
    for member in members:
        cause = f"instance {member.instance_id} was moved to standby in response to a user request"
        if decrement:
            cause += f", shrinking the capacity from {asg.desired} to {asg.desired - 1}"
            asg.desired -= 1
        member.lifecycle_state = "EnteringStandby"
        asg_rules.detach_from_load_balancers(world, asg, member.instance_id)
        act = asg_rules.activity(
            world, asg, f"Moving EC2 instance to Standby: {member.instance_id}", cause + "."
        )
        activities.append(activity_dict(world, act, status="InProgress", progress=50))
    return {"Activities": activities}


@operation("autoscaling", "ExitStandby")
def exit_standby(world: World, params: dict) -> dict:
    """Move Standby members back to Pending, raising desired capacity by one each (refused
    above MaxSize); the reconciler puts them InService and registers them with the group's
    load balancers."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    members = _members(asg, params.get("InstanceIds"))
    for member in members:
        if member.lifecycle_state != "Standby":
            raise _invalid(f"The instance {member.instance_id} is not in Standby.")
    if asg.desired + len(members) > asg.max_size:
        raise _invalid(
            f"{_sizes_text(asg)} To exit standby {len(members)} instances, please update the "
            "AutoScalingGroup sizes appropriately."
        )
    activities = []
    for member in members:
        cause = (
            f"instance {member.instance_id} was moved out of standby in response to a user "
            f"request, increasing the capacity from {asg.desired} to {asg.desired + 1}."
        )
        asg.desired += 1
        member.lifecycle_state = "Pending"
        description = f"Moving EC2 instance out of Standby: {member.instance_id}"
        act = asg_rules.activity(world, asg, description, cause)
        activities.append(activity_dict(world, act, status="PreInService", progress=30))
    return {"Activities": activities}


@operation("autoscaling", "TerminateInstanceInAutoScalingGroup")
def terminate_instance_in_auto_scaling_group(world: World, params: dict) -> dict:
    """Terminate members; with ShouldDecrementDesiredCapacity the group shrinks (refused below
    MinSize), else the reconciler launches a replacement. Answers `Activity` for InstanceId
    and `Activities` for InstanceIds."""
    _required(params, "ShouldDecrementDesiredCapacity")
    ids = list(params.get("InstanceIds") or [])
    if params.get("InstanceId"):
        ids.insert(0, params["InstanceId"])
    if not ids:
        _required(params, "InstanceId")
    wanted = params.get("AutoScalingGroupName")
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
            raise _invalid(
                f"Instance Id not found - No managed instance found for instance ID: {iid}"
            )
        if hit[1].lifecycle_state.startswith("Terminat"):
            raise WorldError(
                "ScalingActivityInProgress", f"The instance {iid} is already being terminated."
            )
        found.append(hit)
    decrement = bool(params["ShouldDecrementDesiredCapacity"])
    if decrement:
        shrink: dict[str, int] = {}
        for asg, member in found:
            if member.lifecycle_state in COUNTED:
                shrink[asg.name] = shrink.get(asg.name, 0) + 1
        for name, count in shrink.items():
            asg = world.asgs[name]
            if asg.desired - count < asg.min_size:
                raise _invalid(
                    f"Currently, desiredSize equals minSize ({asg.min_size}). Terminating "
                    "instance without replacement will violate group's min size constraint. "
                    "Either set shouldDecrementDesiredCapacity flag to false or lower group's "
                    "min size."
                )
    activities = []
    for asg, member in found:
        cause = (
            f"instance {member.instance_id} was taken out of service in response to a user request"
        )
        if decrement and member.lifecycle_state in COUNTED:
            cause += f", shrinking the capacity from {asg.desired} to {asg.desired - 1}"
            asg.desired -= 1
        act = asg_rules.begin_member_termination(world, asg, member, cause + ".")
        activities.append(activity_dict(world, act, status="InProgress", progress=0))
    if params.get("InstanceId") and not params.get("InstanceIds"):
        return {"Activity": activities[0]}
    return {"Activities": activities}


@operation("autoscaling", "SetInstanceProtection")
def set_instance_protection(world: World, params: dict) -> dict:
    """Protect members from scale-in (or lift the protection)."""
    _required(params, "AutoScalingGroupName", "InstanceIds", "ProtectedFromScaleIn")
    asg = _group(world, params["AutoScalingGroupName"])
    members = _members(asg, params["InstanceIds"])
    for member in members:
        member.protected = bool(params["ProtectedFromScaleIn"])
    return {}


# ----- processes -------------------------------------------------------------------------------


def _processes(params: dict) -> list[str]:
    names = list(params.get("ScalingProcesses") or ASG_PROCESSES)
    for name in names:
        if name not in ASG_PROCESSES:
            raise _invalid(
                f"Invalid scaling process name: {name}. Valid processes are: "
                + ", ".join(ASG_PROCESSES)
            )
    return names


@operation("autoscaling", "SuspendProcesses")
def suspend_processes(world: World, params: dict) -> dict:
    """Suspend the named processes (all of them when none are named)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    reason = f"User suspended at {world.now():%Y-%m-%dT%H:%M:%SZ}"
    for name in _processes(params):
        asg.suspended.setdefault(name, reason)
    return {}


@operation("autoscaling", "ResumeProcesses")
def resume_processes(world: World, params: dict) -> dict:
    """Resume the named processes (all of them when none are named)."""
    _required(params, "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    for name in _processes(params):
        asg.suspended.pop(name, None)
    return {}


# ----- tags ------------------------------------------------------------------------------------


def _tags_by_group(world: World, tags: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for tag in tags:
        _required(tag, "ResourceId", "Key")
        asg = _group(world, tag["ResourceId"])
        out.setdefault(asg.name, []).append(tag)
    return out


@operation("autoscaling", "CreateOrUpdateTags")
def create_or_update_tags(world: World, params: dict) -> dict:
    """Add or overwrite group tags. PropagateAtLaunch affects instances launched later."""
    _required(params, "Tags")
    for name, tags in _tags_by_group(world, params["Tags"]).items():
        asg = world.asgs[name]
        new = _tags_in(tags, name)
        keys = {t["Key"] for t in new}
        asg.tags = [t for t in asg.tags if t["Key"] not in keys] + new
    return {}


@operation("autoscaling", "DeleteTags")
def delete_tags(world: World, params: dict) -> dict:
    """Remove group tags by key."""
    _required(params, "Tags")
    for name, tags in _tags_by_group(world, params["Tags"]).items():
        asg = world.asgs[name]
        keys = {t["Key"] for t in tags}
        asg.tags = [t for t in asg.tags if t["Key"] not in keys]
    return {}


@operation("autoscaling", "DescribeTags")
def describe_tags(world: World, params: dict) -> dict:
    """Group tags sorted by group and key; filters auto-scaling-group, key, value and
    propagate-at-launch match exactly."""
    rows = [
        tag for asg in sorted(world.asgs.values(), key=lambda a: a.name) for tag in _tag_dicts(asg)
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
            raise _invalid(
                f"Filter type {name} is not correct. Allowed Filter types are: "
                "auto-scaling-group, key, value, propagate-at-launch"
            )
        if field == "PropagateAtLaunch":
            rows = [r for r in rows if str(r[field]).lower() in {v.lower() for v in values}]
        else:
            rows = [r for r in rows if r[field] in values]
    page, more = _page(rows, params, 50, 100, "DescribeTags")
    return {"Tags": page, **more}


# ----- lifecycle hooks -------------------------------------------------------------------------

MAX_HOOKS = 50  # lifecycle hooks per group


@operation("autoscaling", "PutLifecycleHook")
def put_lifecycle_hook(world: World, params: dict) -> dict:
    """Create or replace a hook. A launch hook holds instances launched from now on in
    Pending:Wait until every hook's action is completed (or times out)."""
    _required(params, "LifecycleHookName", "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    name = params["LifecycleHookName"]
    old = asg.lifecycle_hooks.get(name)
    transition = params.get("LifecycleTransition") or (old.transition if old else None)
    if transition not in (LAUNCHING, TERMINATING):
        raise _invalid(
            f"Invalid Lifecycle Transition: {transition}. Valid transitions are {LAUNCHING} "
            f"and {TERMINATING}"
        )
    result = params.get("DefaultResult") or (old.default_result if old else "ABANDON")
    if result not in ("CONTINUE", "ABANDON"):
        raise _invalid(f"Invalid DefaultResult: {result}. Valid values are CONTINUE and ABANDON")
    timeout = params.get("HeartbeatTimeout")
    timeout = int(timeout) if timeout is not None else (old.heartbeat_timeout if old else 3600)
    if not 30 <= timeout <= 7200:
        raise _invalid(
            f"Heartbeat timeout {timeout} must be between 30 and 7200 seconds inclusive."
        )
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
    name = params["LifecycleHookName"]
    if asg.lifecycle_hooks.pop(name, None) is None:
        raise _invalid(f"No Lifecycle Hook found with name {name} for group {asg.name}")
    return {}


def _waiting(world: World, params: dict) -> tuple[AutoScalingGroup, AsgMember]:
    """The member a lifecycle action call names, by InstanceId or LifecycleActionToken."""
    _required(params, "LifecycleHookName", "AutoScalingGroupName")
    asg = _group(world, params["AutoScalingGroupName"])
    hook = params["LifecycleHookName"]
    token, iid = params.get("LifecycleActionToken"), params.get("InstanceId")
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
    raise _invalid(f"No active Lifecycle Action found with {what}")


@operation("autoscaling", "CompleteLifecycleAction")
def complete_lifecycle_action(world: World, params: dict) -> dict:
    """CONTINUE or ABANDON a waiting launch: the instance then goes InService (and into its
    load balancers) once every hook has continued, or is terminated."""
    _required(params, "LifecycleActionResult")
    result = params["LifecycleActionResult"]
    if result not in ("CONTINUE", "ABANDON"):
        raise _invalid(f"Invalid LifecycleActionResult: {result}")
    asg, member = _waiting(world, params)
    asg_rules.complete_lifecycle_action(world, asg, member, params["LifecycleHookName"], result)
    return {}


@operation("autoscaling", "RecordLifecycleActionHeartbeat")
def record_lifecycle_action_heartbeat(world: World, params: dict) -> dict:
    """Restart a waiting launch's heartbeat timeout."""
    asg, member = _waiting(world, params)
    action = member.launch_actions[params["LifecycleHookName"]]
    hook = asg.lifecycle_hooks.get(action.hook)
    if hook is not None:
        action.deadline = world.elapsed() + hook.heartbeat_timeout
    return {}
